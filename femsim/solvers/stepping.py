"""Adaptive time stepping of a galvanostatic protocol with output times and voltage cut-off.

The stepper drives any problem with ``step(dt, i_app) -> (ok, newton_its, reason)``,
``commit()``, ``restore()`` and ``voltage()``. Rules:

* a failed Newton solve rejects the step and cuts dt by ``dt_cut`` (below ``dt_min`` the run
  stops with status failed);
* a step whose voltage changes by more than ``max_voltage_change_V`` is rejected and halved;
* dt grows by ``dt_growth`` after a step that needed at most ``easy_newton_iterations`` (the
  problem's own count when it has one: the chord preset takes more, cheaper iterations);
* output times are hit exactly (dt is clipped to land on them);
* a step that crosses the cut-off voltage is repeated with a secant estimate of the crossing
  until the voltage is within ``cutoff_tolerance_V`` of the cut-off; then the current is switched
  off for ``rest_s`` (if any) and the run ends.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from typing import Any

from femsim.errors import SolverError

LOG = logging.getLogger(__name__)


@dataclasses.dataclass
class StepRecord:
    """One accepted step."""

    time_s: float
    dt_s: float
    current_density_A_m2: float
    voltage_V: float
    newton_iterations: int
    phase: str  # "load" or "rest"


@dataclasses.dataclass
class StepperState:
    """What a restart needs to continue the protocol exactly."""

    time_s: float = 0.0
    dt_s: float = 0.0
    phase: str = "load"
    rest_until_s: float = 0.0
    voltage_V: float = 0.0
    n_steps: int = 0
    termination: str = ""
    outputs_done: list[float] = dataclasses.field(default_factory=list)


class GalvanostaticStepper:
    """Runs a constant-current (dis)charge, then an optional rest.

    Args:
        problem: the coupled problem (see module docstring).
        protocol: the case's ``[protocol]`` section.
        solver: the case's ``[solver]`` section.
        output_times: times (s) to hit exactly and report through ``on_output``.
    """

    def __init__(self, problem: Any, protocol: Any, solver: Any, output_times: list[float]):
        self.problem, self.protocol, self.solver = problem, protocol, solver
        sign = 1.0 if protocol.mode == "charge" else -1.0
        self.load_current = sign * protocol.current_density_A_m2
        self.output_times = sorted(t for t in output_times if t > 0)
        self.state = StepperState(dt_s=solver.dt_initial_s)
        self.on_step: list[Callable[[StepRecord], None]] = []
        self.on_output: list[Callable[[float], None]] = []
        self.on_snapshot: Callable[[StepperState], None] | None = None
        self.rejected_steps = 0

    def _crossed(self, voltage: float) -> bool:
        cut = self.protocol.voltage_cutoff_V
        return voltage >= cut if self.protocol.mode == "charge" else voltage <= cut

    def current(self) -> float:
        return self.load_current if self.state.phase == "load" else 0.0

    def _end_time(self) -> float:
        st = self.state
        return st.rest_until_s if st.phase == "rest" else self.protocol.t_end_s

    def _next_event(self) -> float:
        st = self.state
        pending = [t for t in self.output_times if t > st.time_s + 1e-9 and t not in st.outputs_done]
        return min(pending + [self._end_time()])

    def run(self, deadline_s: float | None = None) -> str:
        """Step until the end; returns the termination reason ('cutoff', 'end_time')."""
        st, sv = self.state, self.solver
        t_wall0 = time.monotonic()
        if st.n_steps == 0 and st.voltage_V == 0.0:
            st.voltage_V = self.problem.voltage()
        while True:
            if st.time_s >= self._end_time() - 1e-9:
                if st.phase == "load" and self.protocol.rest_s > 0:
                    self._start_rest(st.termination or "end_time")
                    continue
                st.termination = st.termination or "end_time"
                return st.termination
            event = self._next_event()
            dt = min(st.dt_s, sv.dt_max_s, event - st.time_s)
            landing_on_event = abs(st.time_s + dt - event) < 1e-9 * max(1.0, event)
            ok, its, why = self.problem.step(dt, self.current())
            if not ok:
                self._reject(f"Newton failed ({why}) at t = {st.time_s:.6g} s, dt = {dt:.3g} s", dt)
                continue
            voltage = self.problem.voltage()
            if abs(voltage - st.voltage_V) > sv.max_voltage_change_V and dt > sv.dt_min_s * 1.0001:
                self._reject(f"voltage jump {voltage - st.voltage_V:+.4f} V at dt = {dt:.3g} s", dt, fatal=False)
                continue
            if st.phase == "load" and self._crossed(voltage):
                gap = voltage - self.protocol.voltage_cutoff_V
                if abs(gap) > sv.cutoff_tolerance_V and dt > sv.dt_min_s * 1.0001:
                    # secant estimate of the crossing time, kept strictly inside the step
                    frac = (self.protocol.voltage_cutoff_V - st.voltage_V) / (voltage - st.voltage_V)
                    frac = min(max(frac, 0.05), 0.95)
                    self.problem.restore()
                    st.dt_s = max(dt * frac, sv.dt_min_s)
                    continue
                self._accept(dt, its, voltage)
                LOG.info("cut-off %.4f V reached at t = %.3f s", voltage, st.time_s)
                st.termination = "cutoff"
                if self.protocol.rest_s > 0:
                    self._start_rest("cutoff")
                    continue
                return "cutoff"
            self._accept(dt, its, voltage)
            if landing_on_event and event in self.output_times:
                st.outputs_done.append(event)
                for cb in self.on_output:
                    cb(event)
            if its <= getattr(self.problem, "easy_newton_iterations", sv.easy_newton_iterations):
                st.dt_s = min(st.dt_s * sv.dt_growth, sv.dt_max_s)
            if deadline_s is not None and time.monotonic() - t_wall0 > deadline_s:
                return "deadline"

    def _start_rest(self, reason: str) -> None:
        """Switch the current off: the potentials jump at once (ohmic and kinetic parts relax),
        so they are re-solved with the concentrations frozen and recorded at the same time."""
        st = self.state
        st.termination = reason
        st.phase = "rest"
        st.rest_until_s = st.time_s + self.protocol.rest_s
        st.dt_s = self.solver.dt_initial_s
        LOG.info("rest for %.1f s", self.protocol.rest_s)
        ok, its, why = self.problem.solve_potentials(0.0)
        if not ok:
            raise SolverError(f"potentials at the start of the rest did not converge ({why})")
        self.problem.commit()
        st.voltage_V = self.problem.voltage()
        record = StepRecord(st.time_s, 0.0, 0.0, st.voltage_V, its, st.phase)
        for cb in self.on_step:
            cb(record)

    def _accept(self, dt: float, its: int, voltage: float) -> None:
        st = self.state
        self.problem.commit()
        st.time_s += dt
        st.voltage_V = voltage
        st.n_steps += 1
        record = StepRecord(st.time_s, dt, self.current(), voltage, its, st.phase)
        for cb in self.on_step:
            cb(record)
        if self.on_snapshot is not None:
            self.on_snapshot(st)

    def _reject(self, reason: str, dt: float, fatal: bool = True) -> None:
        """Undo the attempted step of length ``dt`` and cut the step. Below ``dt_min`` a failed
        Newton solve ends the run (``fatal``); an accuracy rejection retries at ``dt_min``."""
        st, sv = self.state, self.solver
        self.problem.restore()
        self.rejected_steps += 1
        new_dt = dt * sv.dt_cut
        if new_dt < sv.dt_min_s:
            if fatal:
                raise SolverError(f"time step fell below solver.dt_min_s = {sv.dt_min_s:g} s at "
                                  f"t = {st.time_s:.6g} s ({reason})")
            new_dt = sv.dt_min_s
        LOG.warning("step rejected: %s; retrying with dt = %.3g s", reason, new_dt)
        st.dt_s = new_dt
