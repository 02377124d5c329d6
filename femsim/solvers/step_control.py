"""Step sizes of a current-controlled step from the observed voltage rate dV/dt.

A CC step whose voltage changes by more than ``solver.max_voltage_change_V`` is rejected. Near the
end of a 5C discharge (x → 1, where U(x) falls steeply and the kinetics saturate) |dV/dt| grows by
orders of magnitude within a few steps, so a controller that only grows dt after easy Newton solves
and halves it after a rejection cascades into rejected steps. The rules here size the next step
from the last accepted ones instead:

* the next voltage change is predicted as dt · r, with r the last step's dV/dt times its growth over
  the step before (at most :data:`MAX_RATE_GROWTH`, at least 1); a step whose predicted change
  exceeds :data:`VOLTAGE_SAFETY` × max_voltage_change_V is shortened to that change;
* dt grows by ``dt_growth`` (up to that voltage limit) after a step whose Newton solve needed at
  most ``easy_newton_iterations``, and also after a harder one (up to :data:`HARD_NEWTON_FRACTION` ×
  ``max_newton_iterations``): near x → 1 Newton needs ~10 iterations whatever dt (its residual
  stalls at a round-off floor), and a step cut small by a rejection would otherwise never grow back;
* a step rejected for a voltage jump ΔV is cut by the ratio VOLTAGE_SAFETY × max/|ΔV| (within
  :data:`CUT_BOUNDS`) rather than by a blind ``dt_cut``;
* after a failed Newton solve at dt_f, later attempts of the same protocol step stay below
  :data:`FAILURE_CAP_FRACTION` × dt_f, a cap that grows by :data:`FAILURE_CAP_GROWTH` per accepted
  step and is lifted after :data:`FAILURE_CAP_STEPS` accepted steps without a failure
  (:func:`capped_dt`). Where the step that converges is set by how far Newton's basin reaches, not
  by accuracy (the charge after a 5C discharge from over-full surfaces: the largest convergent dt
  grows roughly in proportion to the time since the switch), growing by ``dt_growth`` after each
  success and halving after each failure fails every second or third attempt, and a failed chord
  solve costs its whole budget of iterations;
* when an ``until`` voltage lies within the next step (or two), the step is aimed at the predicted
  crossing plus :data:`CUTOFF_AIM_FRACTION` × cutoff_tolerance_V past it, so that the crossing is
  usually located by the aimed step itself, or by one secant retry.

Every dt these rules produce is rounded to :data:`DT_DIGITS` significant digits, so that round-off
in the voltage (1 vs 2 ranks) does not change the step sequence.
"""

from __future__ import annotations

from typing import Any

#: aim for this fraction of ``max_voltage_change_V`` per step
VOLTAGE_SAFETY = 0.9
#: a CC step grows after Newton solves of up to this fraction of ``max_newton_iterations``
HARD_NEWTON_FRACTION = 0.75
#: the largest growth of |dV/dt| from one step to the next that the prediction assumes
MAX_RATE_GROWTH = 2.0
#: a voltage-jump rejection multiplies dt by a factor within these bounds
CUT_BOUNDS = (0.1, 0.9)
#: a step aimed at a voltage cut-off targets this fraction of ``cutoff_tolerance_V`` past it. Not
#: the whole tolerance: where a CV hold follows, the overshoot is charge the hold no longer takes
#: (1C cross-check, charge at 0.35 mV/s: 0.5 mV past 4.3 V ended the CC step 1.3 s late and made the
#: hold current 1.75 % lower throughout, 3.70 % RMS against PyBaMM; 0.1: 0.2 s, 2.14 %)
CUTOFF_AIM_FRACTION = 0.1
#: an aimed step is at least this fraction of the step the controller would take
AIM_MIN_FRACTION = 0.1
#: after a Newton failure at dt_f, attempts stay below this fraction of dt_f ...
FAILURE_CAP_FRACTION = 0.8
#: ... a cap that grows by this factor per accepted step ...
FAILURE_CAP_GROWTH = 1.15
#: ... and is lifted after this many accepted steps without a failure
FAILURE_CAP_STEPS = 10
#: significant digits of the step sizes chosen here
DT_DIGITS = 3


#: the last two accepted steps' dV/dt agreeing within this fraction mark a linear voltage
LINEAR_RATE_TOLERANCE = 0.02
#: a step beyond max_voltage_change_V in a linear stretch departs from the linear prediction by at
#: most this fraction of max_voltage_change_V
LINEAR_DEVIATION_FRACTION = 0.25


def allowed_voltage_change(rate_V_s: float, previous_rate_V_s: float, solver: Any) -> float:
    """The voltage change a CC step may take: ``max_voltage_change_V``, or
    ``linear_voltage_change_factor`` × it where the last two accepted steps' dV/dt agree within
    :data:`LINEAR_RATE_TOLERANCE` (the voltage is linear in time: the saturated end of a 5C
    discharge falls at a constant 28-32 mV/s from 3.05 to 2.5 V)."""
    max_change_V, factor = solver.max_voltage_change_V, getattr(solver, "linear_voltage_change_factor", 1.0)
    if factor > 1.0 and rate_V_s * previous_rate_V_s > 0.0 \
            and abs(rate_V_s / previous_rate_V_s - 1.0) <= LINEAR_RATE_TOLERANCE:
        return factor * max_change_V
    return max_change_V


def voltage_change_accepted(change_V: float, dt_s: float, rate_V_s: float, previous_rate_V_s: float,
                            solver: Any) -> bool:
    """Whether a CC step of ``dt_s`` that changed the voltage by ``change_V`` is accurate enough
    (``rate_V_s``, ``previous_rate_V_s``: dV/dt of the last two accepted steps): |ΔV| ≤
    ``max_voltage_change_V``, or, in a linear stretch (:func:`allowed_voltage_change`), |ΔV| within
    the allowance and within :data:`LINEAR_DEVIATION_FRACTION` × ``max_voltage_change_V`` of the
    linear prediction rate × dt."""
    max_change_V = solver.max_voltage_change_V
    if abs(change_V) <= max_change_V:
        return True
    allowed = allowed_voltage_change(rate_V_s, previous_rate_V_s, solver)
    return abs(change_V) <= allowed and abs(change_V - rate_V_s * dt_s) <= LINEAR_DEVIATION_FRACTION * max_change_V


def rounded(dt_s: float) -> float:
    """``dt_s`` to :data:`DT_DIGITS` significant digits."""
    return float(f"{dt_s:.{DT_DIGITS}g}")


def predicted_rate(rate_V_s: float, previous_rate_V_s: float) -> float:
    """The voltage rate expected over the next step: the last rate times its growth over the step
    before (1 ≤ growth ≤ :data:`MAX_RATE_GROWTH`; 1 without a previous rate of the same sign)."""
    if previous_rate_V_s * rate_V_s <= 0.0:
        return rate_V_s
    growth = min(max(abs(rate_V_s) / abs(previous_rate_V_s), 1.0), MAX_RATE_GROWTH)
    return rate_V_s * growth


def voltage_limited_dt(dt_s: float, rate_V_s: float, max_change_V: float, dt_min_s: float) -> float:
    """``dt_s``, shortened so that the predicted voltage change stays within VOLTAGE_SAFETY × max."""
    if rate_V_s == 0.0 or abs(rate_V_s) * dt_s <= VOLTAGE_SAFETY * max_change_V:
        return dt_s
    return max(rounded(VOLTAGE_SAFETY * max_change_V / abs(rate_V_s)), dt_min_s)


def next_cc_dt(dt_s: float, rate_V_s: float, newton_iterations: int, budget_factor: float, solver: Any,
               max_change_V: float | None = None) -> float:
    """The controller's dt after an accepted CC step (``dt_s``: the one it had; ``rate_V_s``: the
    predicted voltage rate; ``budget_factor``: the preset's Newton budget over
    ``max_newton_iterations``, e.g. 3 for chord; ``solver``: the case's ``[solver]``)."""
    if newton_iterations <= HARD_NEWTON_FRACTION * solver.max_newton_iterations * budget_factor:
        dt_s = min(dt_s * solver.dt_growth, solver.dt_max_s)
    limit = solver.max_voltage_change_V if max_change_V is None else max_change_V
    return voltage_limited_dt(dt_s, rate_V_s, limit, solver.dt_min_s)


def capped_dt(dt_s: float, failed_dt_s: float, accepted_since: int, dt_min_s: float) -> float:
    """``dt_s`` within the failure cap: after a Newton failure at ``failed_dt_s`` (0: none yet) and
    ``accepted_since`` accepted steps, at most FAILURE_CAP_FRACTION × failed_dt_s ×
    FAILURE_CAP_GROWTH^accepted_since (and at least ``dt_min_s``); no cap after FAILURE_CAP_STEPS."""
    if failed_dt_s <= 0.0 or accepted_since >= FAILURE_CAP_STEPS:
        return dt_s
    cap = rounded(FAILURE_CAP_FRACTION * failed_dt_s * FAILURE_CAP_GROWTH**accepted_since)
    return min(dt_s, max(cap, dt_min_s))


def cut_after_voltage_jump(dt_s: float, change_V: float, max_change_V: float) -> float:
    """The retry dt after a step of ``dt_s`` changed the voltage by ``change_V`` (> max)."""
    factor = min(max(VOLTAGE_SAFETY * max_change_V / abs(change_V), CUT_BOUNDS[0]), CUT_BOUNDS[1])
    return rounded(dt_s * factor)


def dt_aimed_at_cutoff(dt_s: float, gap_V: float, gap_rate_V_s: float, tolerance_V: float,
                       dt_min_s: float) -> float:
    """``dt_s``, or a shorter step towards a voltage cut-off.

    Args:
        dt_s: the step the controller would take.
        gap_V: signed distance past the cut-off (< 0 before it; see the stepper's ``_gap``).
        gap_rate_V_s: its predicted rate (> 0 when approaching).
        tolerance_V: ``cutoff_tolerance_V``.
        dt_min_s: the smallest step.

    The crossing is predicted at t_c = (−gap + CUTOFF_AIM_FRACTION × tolerance) / rate: within this
    step it is aimed at; within two, the distance is split into two equal steps (no sliver step
    after a long one); further away dt is left as it is.
    """
    if gap_rate_V_s <= 0.0 or gap_V >= 0.0:
        return dt_s
    t_cross = (-gap_V + CUTOFF_AIM_FRACTION * tolerance_V) / gap_rate_V_s
    if t_cross <= dt_s:  # not below AIM_MIN_FRACTION dt: a rate from tiny steps is round-off
        return max(rounded(max(t_cross, AIM_MIN_FRACTION * dt_s)), dt_min_s)
    if t_cross < 2.0 * dt_s:
        return max(rounded(0.5 * t_cross), dt_min_s)
    return dt_s
