"""What a protocol stepper records and restarts from: :class:`StepRecord` (one accepted step) and
:class:`StepperState` (the JSON-serialisable state a snapshot saves; see
:mod:`femsim.solvers.stepping`)."""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass
class StepRecord:
    """One accepted step (or a step switch, ``dt_s`` = 0)."""

    time_s: float
    dt_s: float
    current_density_A_m2: float
    voltage_V: float
    newton_iterations: int
    cycle: int  # 1-based
    step: int  # 1-based index in the cycle
    kind: str  # charge, discharge, hold, rest


@dataclasses.dataclass
class StepperState:
    """What a restart needs to continue the protocol exactly (JSON-serialisable)."""

    time_s: float = 0.0
    dt_s: float = 0.0
    voltage_V: float = 0.0
    current_A_m2: float = 0.0
    n_steps: int = 0
    termination: str = ""
    outputs_done: list[float] = dataclasses.field(default_factory=list)
    cycle: int = 0  # 0-based
    step_index: int = 0  # 0-based index into the cycle's steps
    step_started: bool = False
    step_start_s: float = 0.0
    step_charge_C_m2: float = 0.0  # ∫ i dt since the step started (signed)
    finished: bool = False
    #: one dict per finished protocol step: cycle, step, kind, text, start_s, end_s, reason, charge_C_m2
    step_log: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    #: attempted time steps that were undone (Newton failure or too large a voltage change)
    rejected_steps: int = 0
    #: dV/dt (V/s) of the last two accepted time steps of the present protocol step (0: none yet)
    voltage_rate_V_s: float = 0.0
    previous_voltage_rate_V_s: float = 0.0
    #: the next attempt is a secant retry of a step that overshot an ``until`` condition (not re-aimed)
    secant_retry: bool = False
    #: dt (s) of the last failed Newton solve of the present protocol step (0: none) and the steps
    #: accepted since (the cap of :func:`femsim.solvers.step_control.capped_dt`)
    failed_dt_s: float = 0.0
    accepted_since_failure: int = 0
    #: per step index (str): the first accepted dt (s) of that step in the last cycle whose start
    #: Newton failures cut; the step starts from it (at most dt_initial_s) in the next cycles
    start_dt_s: dict[str, float] = dataclasses.field(default_factory=dict)
