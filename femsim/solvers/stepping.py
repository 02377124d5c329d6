"""Adaptive time stepping through a protocol: CC (dis)charge, CV hold and rest steps, cycles.

The stepper drives any problem with ``set_control_mode(mode)``, ``step(dt, control) -> (ok,
newton_its, reason)``, ``solve_potentials(control)``, ``commit()``, ``restore()``, ``voltage()``
and ``applied_current()`` (see :class:`femsim.solvers.halfcell.HalfCellProblem`). Rules:

* each step starts from the state the previous one ended in, with its own control: the potentials
  jump at once (concentrations frozen) and are re-solved and recorded at the same time; dt starts
  again from ``dt_initial_s`` (or from the dt the same step converged at in the previous cycle,
  where Newton failures had cut its start: ``StepperState.start_dt_s``);
* a failed Newton solve rejects the step and cuts dt by ``dt_cut``; below ``dt_min`` the run stops
  (status failed) with a message naming the protocol step;
* a current-controlled step whose voltage changes by more than ``max_voltage_change_V`` is
  rejected and cut by the ratio of the allowed to the observed change; a hold step whose current
  changes by more than the fraction ``max_hold_current_change`` of its previous value is rejected
  and halved;
* after a failed Newton solve the same protocol step's attempts are capped
  (:func:`~femsim.solvers.step_control.capped_dt`);
* dt grows by ``dt_growth`` after a step that needed at most ``easy_newton_iterations``; in a CC
  (dis)charge also after harder Newton solves, and it is shortened where the observed dV/dt
  predicts too large a voltage change, and aimed at a voltage cut-off that lies within the next
  step or two (:mod:`femsim.solvers.step_control`);
* output times, output periods and step ends by time (``for``) are hit exactly (dt is clipped to
  land on them); a CC step's capacity limit is hit exactly the same way;
* a step that crosses an ``until`` condition is repeated with a secant estimate of the crossing
  (the step fraction rounded to 1e-4) until it is within tolerance: voltage within
  ``cutoff_tolerance_V``, current within :data:`CURRENT_TOLERANCE` of the threshold, a hold's
  capacity within :data:`CAPACITY_TOLERANCE`.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

from femsim.errors import SolverError
from femsim.solvers import step_control
from femsim.solvers.stepper_state import StepperState, StepRecord
from femsim.units import C_M2_PER_MAH_CM2

LOG = logging.getLogger(__name__)
#: an ``until`` current is located within this fraction of the threshold (the issue asks for 1 %)
CURRENT_TOLERANCE = 0.005
#: a hold's ``until`` capacity is located within this fraction
CAPACITY_TOLERANCE = 1e-4
#: short names of the step-end reasons; ``voltage`` on a CC step is the classic cut-off
END_REASONS = ("time", "voltage", "current", "capacity", "end_time")
#: 1 mAh/cm² in C/m²
MAH_CM2 = C_M2_PER_MAH_CM2


class ProtocolStepper:
    """Runs ``cycles`` × ``steps`` (:class:`femsim.protocol.Step`).

    Args:
        problem: the coupled problem (see module docstring).
        steps: the steps of one cycle.
        cycles: number of cycles.
        solver: the case's ``[solver]`` section.
        output_times: times (s) to hit exactly and report through ``on_output``.
        end_time_s: stop the whole protocol here (None: no limit beyond the steps').
        state: the state to continue from (a run's :class:`~femsim.run_state.RunState` owns it;
            None: a fresh one). The stepper advances it in place.

    Hooks (lists of callables, called in order):

    * ``before_time_step()``: before each attempt to advance time (a due snapshot is written and
      an interrupt acted on here: the state is then exactly the loop-top state);
    * ``before_switch()``: before the potentials are re-solved at the start of a protocol step;
    * ``on_step(record)``: after an accepted time step or a step switch (:class:`StepRecord`);
    * ``on_accepted(state)``: after an accepted time step, once ``on_step`` has run;
    * ``on_output(time_s)``: at each output time reached;
    * ``on_step_end(entry)``: when a protocol step ends (its ``step_log`` entry).
    """

    def __init__(self, problem: Any, steps: list[Any], cycles: int, solver: Any, output_times: list[float],
                 end_time_s: float | None = None, state: StepperState | None = None):
        if not steps:
            raise ValueError("a protocol needs at least one step")
        self.problem, self.steps, self.cycles, self.solver = problem, list(steps), int(cycles), solver
        self.output_times = sorted(t for t in output_times if t > 0)
        self.end_time_s = end_time_s
        self.state = state if state is not None else StepperState(dt_s=solver.dt_initial_s)
        self.before_time_step: list[Callable[[], None]] = []
        self.before_switch: list[Callable[[], None]] = []
        self.on_step: list[Callable[[StepRecord], None]] = []
        self.on_accepted: list[Callable[[StepperState], None]] = []
        self.on_output: list[Callable[[float], None]] = []
        self.on_step_end: list[Callable[[dict[str, Any]], None]] = []

    @property
    def rejected_steps(self) -> int:
        return self.state.rejected_steps

    # -- the present step ----------------------------------------------------------------------
    @property
    def step(self) -> Any:
        return self.steps[min(self.state.step_index, len(self.steps) - 1)]

    def control(self) -> float:
        """The control value of the present step: the applied current (A/m²) or the held voltage (V)."""
        step = self.step
        return step.voltage_V if step.potentiostatic else step.applied_current_A_m2

    def current(self) -> float:
        """The applied current density of the present step at its start (A/m²; a hold's is solved for)."""
        return self.state.current_A_m2 if self.step.potentiostatic else self.step.applied_current_A_m2

    def label(self) -> str:
        """'cycle k/N step j/n: <text>' for progress lines and messages."""
        st = self.state
        return (f"cycle {st.cycle + 1}/{self.cycles} step {st.step_index + 1}/{len(self.steps)}: "
                f"\"{self.step.text}\"")

    def _apply_control(self) -> None:
        self.problem.set_control_mode("voltage" if self.step.potentiostatic else "current")

    def _step_end_time(self) -> float:
        st = self.state
        end = st.step_start_s + self.step.duration_s
        if self.end_time_s is not None:
            end = min(end, self.end_time_s)
        step = self.step
        if step.until_capacity_mAh_cm2 is not None and not step.potentiostatic and step.current_density_A_m2 > 0:
            remaining = step.until_capacity_mAh_cm2 * MAH_CM2 - abs(st.step_charge_C_m2)
            end = min(end, st.time_s + max(remaining, 0.0) / step.current_density_A_m2)
        return end

    def _next_event(self) -> float:
        st = self.state
        pending = [t for t in self.output_times if t > st.time_s + 1e-9 and t not in st.outputs_done]
        period = self.step.period_s
        if period:
            k = int((st.time_s - st.step_start_s) / period + 1e-9) + 1
            pending.append(st.step_start_s + k * period)
        return min(pending + [self._step_end_time()])

    def _gap(self, voltage: float, current: float, charge: float) -> tuple[str, float, float] | None:
        """The first ``until`` condition met: (reason, signed gap ≥ 0 past it, tolerance), else None."""
        step = self.step
        if step.until_voltage_V is not None:
            gap = step.sign * (voltage - step.until_voltage_V)
            if gap >= 0:
                return "voltage", gap, self.solver.cutoff_tolerance_V
        if step.until_current_A_m2 is not None:
            gap = step.until_current_A_m2 - abs(current)
            if gap >= 0:
                return "current", gap, CURRENT_TOLERANCE * step.until_current_A_m2
        if step.until_capacity_mAh_cm2 is not None:
            target = step.until_capacity_mAh_cm2 * MAH_CM2
            gap = abs(charge) - target
            if gap >= -1e-9 * target:
                return "capacity", max(gap, 0.0), CAPACITY_TOLERANCE * target
        return None

    def _gap_value(self, reason: str, voltage: float, current: float, charge: float) -> float:
        step = self.step
        if reason == "voltage":
            return step.sign * (voltage - step.until_voltage_V)
        if reason == "current":
            return step.until_current_A_m2 - abs(current)
        return abs(charge) - step.until_capacity_mAh_cm2 * MAH_CM2

    # -- the loop ------------------------------------------------------------------------------
    def run(self, deadline_s: float | None = None) -> str:
        """Step through the protocol; returns the termination reason of the run."""
        st, sv = self.state, self.solver
        t_wall0 = time.monotonic()
        if st.n_steps == 0 and st.voltage_V == 0.0:
            st.voltage_V = self.problem.voltage()
        while not st.finished:
            if not st.step_started:
                self._begin_step()
                continue
            self._apply_control()
            if st.time_s >= self._step_end_time() - 1e-9 * max(1.0, st.time_s):
                reason = "end_time" if (self.end_time_s is not None and
                                        st.time_s >= self.end_time_s - 1e-9 * max(1.0, st.time_s)) else "time"
                if reason == "time" and self.step.until_capacity_mAh_cm2 is not None and not self.step.potentiostatic \
                        and abs(st.step_charge_C_m2) >= self.step.until_capacity_mAh_cm2 * MAH_CM2 * (1 - 1e-9):
                    reason = "capacity"
                self._end_step(reason)
                continue
            event = self._next_event()
            st.dt_s = step_control.capped_dt(st.dt_s, st.failed_dt_s, st.accepted_since_failure, sv.dt_min_s)
            dt = min(st.dt_s, sv.dt_max_s, event - st.time_s)
            landing_on_event = abs(st.time_s + dt - event) < 1e-9 * max(1.0, event)
            if landing_on_event:
                dt = event - st.time_s
            aimed = self._aimed_dt(dt)
            if aimed < dt:
                dt, landing_on_event = aimed, False
            for hook in self.before_time_step:
                hook()
            ok, its, why = self.problem.step(dt, self.control())
            if not ok:
                st.failed_dt_s, st.accepted_since_failure = dt, 0
                self._reject(f"Newton failed ({why}) at t = {st.time_s:.6g} s, dt = {dt:.3g} s", dt)
                continue
            voltage = self.problem.voltage()
            current = self.problem.applied_current()
            charge = st.step_charge_C_m2 + current * dt
            if (not self.step.potentiostatic and dt > sv.dt_min_s * 1.0001
                    and not step_control.voltage_change_accepted(voltage - st.voltage_V, dt, st.voltage_rate_V_s,
                                                                 st.previous_voltage_rate_V_s, sv)):
                self._reject(f"voltage jump {voltage - st.voltage_V:+.4f} V at dt = {dt:.3g} s", dt, fatal=False,
                             new_dt=step_control.cut_after_voltage_jump(dt, voltage - st.voltage_V,
                                                                        sv.max_voltage_change_V))
                continue
            reference_A_m2 = max(abs(st.current_A_m2), 1e-12)
            if (self.step.potentiostatic and abs(current - st.current_A_m2) > sv.max_hold_current_change
                    * reference_A_m2 and dt > sv.dt_min_s * 1.0001):
                change = (current - st.current_A_m2) / reference_A_m2
                self._reject(f"hold current change {change:+.3f} (relative) at dt = {dt:.3g} s", dt, fatal=False)
                continue
            met = self._gap(voltage, current, charge)
            if met is not None:
                reason, gap, tol = met
                if gap > tol and dt > sv.dt_min_s * 1.0001:
                    # secant estimate of the crossing time, kept strictly inside the step
                    before = self._gap_value(reason, st.voltage_V, st.current_A_m2, st.step_charge_C_m2)
                    frac = (0.0 - before) / (gap - before) if gap != before else 0.5
                    # rounded so that round-off (e.g. 1 vs 2 ranks) does not change the step sequence
                    frac = round(min(max(frac, 0.05), 0.95), 4)
                    self.problem.restore()
                    st.dt_s = max(dt * frac, sv.dt_min_s)
                    st.secant_retry = True
                    continue
                self._accept(dt, its, voltage, current)
                LOG.info("%s: %s condition met (V = %.4f V, i = %.4g A/m²) at t = %.3f s", self.label(), reason,
                         voltage, current, st.time_s)
                self._end_step(reason)
                continue
            self._accept(dt, its, voltage, current)
            if landing_on_event and event in self.output_times:
                st.outputs_done.append(event)
                for cb in self.on_output:
                    cb(event)
            easy_its = getattr(self.problem, "easy_newton_iterations", sv.easy_newton_iterations)
            if self.step.sign != 0.0 and not self.step.potentiostatic:
                rate = step_control.predicted_rate(st.voltage_rate_V_s, st.previous_voltage_rate_V_s)
                limit = step_control.allowed_voltage_change(st.voltage_rate_V_s, st.previous_voltage_rate_V_s, sv)
                st.dt_s = step_control.next_cc_dt(st.dt_s, rate, its, easy_its / sv.easy_newton_iterations, sv,
                                                  limit)
            elif its <= easy_its:
                st.dt_s = min(st.dt_s * sv.dt_growth, sv.dt_max_s)
            if deadline_s is not None and time.monotonic() - t_wall0 > deadline_s:
                return "deadline"
        return st.termination

    def _begin_step(self) -> None:
        """Switch to the present step's control: the potentials jump at once (ohmic and kinetic
        parts), so they are re-solved with the concentrations frozen and recorded at the same time."""
        st = self.state
        st.step_started = True
        st.step_start_s = st.time_s
        st.step_charge_C_m2 = 0.0
        st.dt_s = min(self.solver.dt_initial_s, st.start_dt_s.get(str(st.step_index), math.inf))
        st.voltage_rate_V_s = st.previous_voltage_rate_V_s = 0.0
        st.secant_retry = False
        st.failed_dt_s, st.accepted_since_failure = 0.0, 0
        self._apply_control()
        LOG.info("%s at t = %.3f s", self.label(), st.time_s)
        for hook in self.before_switch:
            hook()
        ok, its, why = self.problem.solve_potentials(self.control())
        if not ok:
            raise SolverError(f"{self.label()}: potentials at the start of the step did not converge ({why}) "
                              f"at t = {st.time_s:.6g} s")
        self.problem.commit()
        st.voltage_V = self.problem.voltage()
        st.current_A_m2 = self.problem.applied_current()
        self._emit(0.0, its)
        met = self._gap(st.voltage_V, st.current_A_m2, 0.0)
        if met is not None and met[0] != "capacity":  # already past its condition: the step is empty
            LOG.warning("%s: the %s condition holds at the start; the step ends at once", self.label(), met[0])
            self._end_step(met[0])

    def _end_step(self, reason: str) -> None:
        st = self.state
        entry = {"cycle": st.cycle + 1, "step": st.step_index + 1, "kind": self.step.kind, "text": self.step.text,
                 "start_s": st.step_start_s, "end_s": st.time_s, "reason": reason, "charge_C_m2": st.step_charge_C_m2,
                 "voltage_end_V": st.voltage_V, "current_end_A_m2": st.current_A_m2}
        st.step_log.append(entry)
        if self.step.kind != "rest":
            st.termination = {"voltage": "cutoff", "time": "end_time"}.get(reason, reason)
        for cb in self.on_step_end:
            cb(entry)
        st.step_started = False
        if reason == "end_time":
            st.termination, st.finished = "end_time", True
        if st.finished:  # (also when a callback ended the run: protocol.termination)
            return
        st.step_index += 1
        if st.step_index >= len(self.steps):
            st.step_index = 0
            st.cycle += 1
            if st.cycle >= self.cycles:
                st.cycle, st.step_index = self.cycles - 1, len(self.steps) - 1
                st.finished = True

    def _emit(self, dt: float, its: int) -> None:
        st = self.state
        record = StepRecord(st.time_s, dt, st.current_A_m2, st.voltage_V, its, st.cycle + 1, st.step_index + 1,
                            self.step.kind)
        for cb in self.on_step:
            cb(record)

    def _accept(self, dt: float, its: int, voltage: float, current: float) -> None:
        st = self.state
        if st.time_s == st.step_start_s and st.failed_dt_s > 0.0:  # first accepted step, after failures
            st.start_dt_s[str(st.step_index)] = dt
        self.problem.commit()
        st.previous_voltage_rate_V_s, st.voltage_rate_V_s = st.voltage_rate_V_s, (voltage - st.voltage_V) / dt
        st.secant_retry = False
        st.time_s += dt
        st.voltage_V, st.current_A_m2 = voltage, current
        st.step_charge_C_m2 += current * dt
        st.n_steps += 1
        if st.failed_dt_s > 0.0:
            st.accepted_since_failure += 1
        self._emit(dt, its)
        for hook in self.on_accepted:
            hook(st)

    def _aimed_dt(self, dt: float) -> float:
        """``dt``, or a shorter step aimed at the predicted crossing of a CC step's ``until``
        voltage (not on a secant retry, which knows the crossing better)."""
        st, step = self.state, self.step
        if step.until_voltage_V is None or step.potentiostatic or step.sign == 0.0 or st.secant_retry:
            return dt
        rate = step_control.predicted_rate(st.voltage_rate_V_s, st.previous_voltage_rate_V_s)
        return step_control.dt_aimed_at_cutoff(dt, step.sign * (st.voltage_V - step.until_voltage_V),
                                               step.sign * rate, self.solver.cutoff_tolerance_V, self.solver.dt_min_s)

    def _reject(self, reason: str, dt: float, fatal: bool = True, new_dt: float | None = None) -> None:
        """Undo the attempted step of length ``dt`` and cut the step (to ``new_dt``, by default
        ``dt_cut`` × dt). Below ``dt_min`` a failed Newton solve ends the run (``fatal``); an accuracy
        rejection retries at ``dt_min``."""
        st, sv = self.state, self.solver
        self.problem.restore()
        st.rejected_steps += 1
        st.secant_retry = False
        new_dt = dt * sv.dt_cut if new_dt is None else new_dt
        if new_dt < sv.dt_min_s:
            if fatal:
                raise SolverError(f"{self.label()}: time step fell below solver.dt_min_s = {sv.dt_min_s:g} s at "
                                  f"t = {st.time_s:.6g} s ({reason})")
            new_dt = sv.dt_min_s
        LOG.warning("step rejected: %s; retrying with dt = %.3g s", reason, new_dt)
        st.dt_s = new_dt


def stepper_for(problem: Any, case: Any, state: StepperState | None = None) -> ProtocolStepper:
    """The stepper of a case's ``[protocol]`` (steps × cycles) and output times, continuing from
    ``state`` if given."""
    prot = case.protocol
    given_steps = prot.steps is not None or prot.step is not None
    return ProtocolStepper(problem, prot.cycle_steps(), prot.cycles, case.solver, case.output.times_s,
                           end_time_s=prot.end_time_s if given_steps else None, state=state)
