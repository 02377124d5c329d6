"""End of life: stop a cycling run when its capacity has faded (``protocol.termination``).

The text has the form of PyBaMM's ``Experiment(..., termination=...)`` capacity criteria::

    "80% capacity"           stop after the first cycle whose discharge capacity is below 80 % of
                             cycle 1's
    "0.5 mAh/cm2 capacity"   ... below 0.5 mAh/cm² (also Ah/m2)

A cycle's discharge capacity is the charge passed at negative current in its steps (mAh/cm²), the
``discharge_capacity_mAh_cm2`` of ``cycles.csv``. PyBaMM compares its state-of-health capacity
(from the electrodes' stoichiometry windows) instead: a resolved electrode whose particles lose
contact keeps their lithium but cannot deliver it, so what it delivers is the capacity here. The
check runs at the end of every simulated cycle; cycles that a damage jump extrapolates
(``[damage] max_jump_cycles``) have no capacity of their own and are not checked.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from typing import Any

from femsim.protocol import CAPACITY_UNITS_TO_MAH_CM2, NUMBER_PATTERN, ProtocolError
from femsim.units import C_M2_PER_MAH_CM2

LOG = logging.getLogger(__name__)

_FORM = re.compile(rf"\s*({NUMBER_PATTERN})\s*(%|[a-z][a-z/^²0-9]*)\s+capacity\s*", re.I)


@dataclasses.dataclass(frozen=True)
class Termination:
    """A parsed capacity termination: one of ``fraction`` (of cycle 1's) or ``capacity_mAh_cm2``."""

    text: str
    fraction: float | None = None
    capacity_mAh_cm2: float | None = None

    def threshold_mAh_cm2(self, first_cycle_mAh_cm2: float) -> float:
        if self.fraction is not None:
            return self.fraction * first_cycle_mAh_cm2
        assert self.capacity_mAh_cm2 is not None
        return self.capacity_mAh_cm2


def parse_termination(text: str) -> Termination:
    """'80% capacity' / '0.5 mAh/cm2 capacity' → :class:`Termination`; one-line
    :class:`~femsim.protocol.ProtocolError` otherwise."""
    if not isinstance(text, str):
        raise ProtocolError(f"must be a string like '80% capacity', got {text!r}")
    m = _FORM.fullmatch(text)
    if not m:
        raise ProtocolError(f"{text.strip()!r}: expected '<p>% capacity' or '<x> mAh/cm2 capacity'")
    value, unit = float(m.group(1)), m.group(2).lower()
    if unit == "%":
        if not 0.0 < value < 100.0:
            raise ProtocolError(f"{text.strip()!r}: the percentage must be in (0, 100)")
        return Termination(text.strip(), fraction=value / 100.0)
    if unit not in CAPACITY_UNITS_TO_MAH_CM2:
        raise ProtocolError(f"{text.strip()!r}: unknown capacity unit {unit!r} (mAh/cm2 or Ah/m2)")
    if value <= 0.0:
        raise ProtocolError(f"{text.strip()!r}: the capacity must be > 0")
    return Termination(text.strip(), capacity_mAh_cm2=value * CAPACITY_UNITS_TO_MAH_CM2[unit])


def cycle_discharge_capacity(step_log: list[dict[str, Any]], cycle: int) -> float:
    """Charge passed at negative current in ``cycle`` (1-based), mAh/cm², from the stepper's step log."""
    return sum(-e["charge_C_m2"] for e in step_log if e["cycle"] == cycle and e["charge_C_m2"] < 0.0) \
        / C_M2_PER_MAH_CM2


def termination_reached(termination: Termination, step_log: list[dict[str, Any]], cycle: int) -> str | None:
    """The log line when ``cycle`` (just completed) has faded below ``termination``; None otherwise."""
    first = cycle_discharge_capacity(step_log, 1)
    capacity = cycle_discharge_capacity(step_log, cycle)
    threshold = termination.threshold_mAh_cm2(first)
    if capacity >= threshold:
        return None
    share = f" ({100 * capacity / first:.1f} % of cycle 1's {first:.4g})" if first > 0 else ""
    return (f"cycle {cycle}: discharge capacity {capacity:.4g} mAh/cm²{share} is below the termination "
            f"'{termination.text}' ({threshold:.4g} mAh/cm²): the run stops")


def termination_problems(protocol: Any, steps: list[Any]) -> list[str]:
    """One-line problems of ``protocol.termination`` (the section's typed ``steps`` of one cycle)."""
    if protocol.termination is None:
        return []
    try:
        parse_termination(protocol.termination)
    except ProtocolError as exc:
        return [f"protocol.termination: {exc}"]
    if steps and not any(s.kind == "discharge" for s in steps):
        return [f"protocol.termination: '{protocol.termination}' needs a discharge step in the cycle "
                f"(the capacity is the cycle's discharge capacity)"]
    return []


def stop_at_termination(protocol: Any, stepper_state: Any, entry: dict[str, Any]) -> bool:
    """At the end of a simulated cycle (``entry``: its last step-log entry): when the cycle has faded
    below ``protocol.termination`` and is not the last one, log why and end the run
    (``stepper_state.termination = "capacity_fade"``, ``finished``)."""
    if protocol.termination is None or entry["cycle"] >= protocol.cycles:
        return False
    message = termination_reached(parse_termination(protocol.termination), stepper_state.step_log, entry["cycle"])
    if message is None:
        return False
    LOG.warning("%s", message)
    stepper_state.termination, stepper_state.finished = "capacity_fade", True
    return True
