"""ProtocolStepper on a scalar stand-in problem (no mesh, milliseconds): a step whose Newton solve
keeps failing is cut to dt_min and ends with an error naming the step; a hold's current change per
step is bounded by ``max_hold_current_change``."""

from __future__ import annotations

import dataclasses
import itertools
import math

import pytest

from femsim.case import Solver
from femsim.errors import SolverError
from femsim.protocol import parse_step
from femsim.solvers.stepping import ProtocolStepper

ONE_C_A_M2 = 10.0


class ScalarCell:
    """A cell of capacity Q (C/m²) with V = U(q) − R i, U linear in the charge q; in a hold the
    current relaxes as i = (V_hold − U(q)) / R (backward Euler). ``fail_after_s``: every step that
    would end after that time fails (a Newton solve that cannot converge there)."""

    def __init__(self, fail_after_s: float = math.inf):
        self.q = self.q_old = 0.0
        self.mode, self.control_value, self.t, self.t_old = "current", 0.0, 0.0, 0.0
        self.i = 0.0
        self.resistance, self.slope = 0.01, 1e-4  # Ω m², V per C/m²
        self.fail_after_s = fail_after_s
        self.easy_newton_iterations = 4

    def ocp(self, q: float) -> float:
        return 3.7 + self.slope * q

    def set_control_mode(self, mode: str) -> None:
        self.mode = mode

    def _solve(self, dt: float, control: float) -> None:
        if self.mode == "current":
            self.i = control
        else:  # i = (V − U(q_old + i dt)) / R
            self.i = (control - self.ocp(self.q_old)) / (self.resistance + self.slope * dt)
        self.q = self.q_old + self.i * dt

    def step(self, dt: float, control: float) -> tuple[bool, int, str]:
        if self.t_old + dt > self.fail_after_s:
            return False, 15, "SNES reason -5"
        self._solve(dt, control)
        self.t = self.t_old + dt
        return True, 2, "SNES reason 2"

    def solve_potentials(self, control: float) -> tuple[bool, int, str]:
        self._solve(0.0, control)
        return True, 1, ""

    def commit(self) -> None:
        self.q_old, self.t_old = self.q, self.t

    def restore(self) -> None:
        self.q, self.t = self.q_old, self.t_old

    def voltage(self) -> float:
        return self.ocp(self.q) + self.resistance * self.i

    def applied_current(self) -> float:
        return self.i


def _stepper(problem: ScalarCell, texts: list[str], **solver: float) -> ProtocolStepper:
    steps = [parse_step(t, ONE_C_A_M2) for t in texts]
    sv = dataclasses.replace(Solver(), **({"dt_initial_s": 1.0, "dt_max_s": 10.0} | solver))
    return ProtocolStepper(problem, steps, 1, sv, [])


def test_step_cut_to_dt_min_fails_naming_it():
    """Newton fails from t = 25 s on: dt is halved 1 → ... below dt_min = 1e-3 s, then the run stops
    with the step's label, the time and the last Newton reason."""
    stepper = _stepper(ScalarCell(fail_after_s=25.0), ["Rest for 5 seconds", "Charge at 1C for 100 seconds"],
                       dt_min_s=1e-3)
    with pytest.raises(SolverError) as err:
        stepper.run()
    message = str(err.value)
    assert message.startswith('cycle 1/1 step 2/2: "Charge at 1C for 100 seconds": time step fell below '
                              'solver.dt_min_s = 0.001 s at t = '), message
    assert "Newton failed (SNES reason -5)" in message
    t_stop = float(message.split("at t = ")[1].split(" s")[0])
    assert 24.9 < t_stop <= 25.0
    assert stepper.rejected_steps >= 10  # 1 s → < 1e-3 s by halving, at least once per failure


def test_hold_current_change_per_step_is_bounded():
    """Hold at 3.8 V from rest (i jumps to 10 A/m² and decays with τ = R/slope = 100 s) until C/20:
    every accepted step changes the current by at most 5 % (the default), and the end is located."""
    problem = ScalarCell()
    stepper = _stepper(problem, ["Hold at 3.8 V until C/20"], dt_max_s=1000.0)
    records = []
    stepper.on_step.append(records.append)
    assert stepper.run() == "current"
    hold = [r.current_density_A_m2 for r in records]
    changes = [abs(b / a - 1) for a, b in itertools.pairwise(hold)]
    assert max(changes) <= 0.05 + 1e-12
    assert abs(hold[-1] - 0.5) <= 0.005 * 0.5
    # the decay is exp(-t/τ) with τ = 100 s: C/20 is reached at ~100 ln(20) = 300 s
    assert records[-1].time_s == pytest.approx(100.0 * math.log(20.0), rel=0.03)
    loose = _stepper(ScalarCell(), ["Hold at 3.8 V until C/20"], dt_max_s=1000.0, max_hold_current_change=10.0)
    loose_records = []
    loose.on_step.append(loose_records.append)
    loose.run()
    assert len(loose_records) < len(records)  # the bound, not dt_max, set the steps


class PlungingCell(ScalarCell):
    """U(q) = 3.7 + slope q − 2/(Q + q): it plunges as the inserted charge −q nears the capacity Q
    (dV/dt grows ~100-fold over the discharge)."""

    capacity = 400.0  # C/m²

    def ocp(self, q: float) -> float:
        room = max(self.capacity + q, 1e-9)
        return 3.7 + self.slope * q - 2.0 / room


def test_cc_discharge_plunge_sized_by_voltage_rate():
    """A 1C discharge into the plunge until 2.5 V: every accepted step changes V by at most
    max_voltage_change_V, the cut-off is within 1 mV, and (nearly) no solve is wasted: 69 steps,
    71 solves, 2 rejected (the halving controller before step_control: 84 steps, 119 solves, 35
    rejected)."""
    problem = PlungingCell()
    stepper = _stepper(problem, ["Discharge at 1C until 2.5 V"], dt_max_s=10.0)
    records, solves = [], []
    stepper.on_step.append(records.append)
    original = problem.step
    problem.step = lambda dt, control: solves.append(dt) or original(dt, control)
    assert stepper.run() == "cutoff"
    volts = [r.voltage_V for r in records]
    assert 2.499 <= volts[-1] <= 2.5 and min(volts[:-1]) > 2.5
    assert max(abs(b - a) for a, b in itertools.pairwise(volts)) <= 0.02
    assert stepper.rejected_steps <= 3
    assert len(solves) - (len(records) - 1) <= 4  # retries (rejections + secant) in all
    late = [r.dt_s for r in records if r.voltage_V < 3.0]
    assert len(late) >= 10 and min(late) < 0.1 * max(r.dt_s for r in records)  # the steps did shrink


def test_linear_voltage_takes_larger_steps_within_the_deviation_bound():
    """V linear in time (dV/dt = −10 mV/s at 1C): with ``linear_voltage_change_factor`` 4 the CC steps
    grow past max_voltage_change_V (0.02 V) up to 4 × it, still meeting the cut-off within 1 mV, in
    about a third of the steps; with 1 every step stays within 0.02 V as before."""
    results = {}
    for factor in (1.0, 4.0):
        problem = ScalarCell()
        problem.slope = 1e-3
        stepper = _stepper(problem, ["Discharge at 1C until 3.0 V"], dt_max_s=30.0,
                           linear_voltage_change_factor=factor)
        records: list = []
        stepper.on_step.append(records.append)
        assert stepper.run() == "cutoff"
        volts = [r.voltage_V for r in records]
        changes = [abs(b - a) for a, b in itertools.pairwise(volts)]
        assert 2.999 <= volts[-1] <= 3.0 and stepper.rejected_steps == 0
        results[factor] = (len(records), max(changes))
    assert results[1.0][1] <= 0.02 + 1e-12
    assert 0.02 < results[4.0][1] <= 0.08 + 1e-12
    assert results[4.0][0] < 0.5 * results[1.0][0]


def test_curved_voltage_keeps_max_voltage_change():
    """The allowance needs two steps with the same dV/dt (within 2 %): on the plunge it never applies."""
    problem = PlungingCell()
    stepper = _stepper(problem, ["Discharge at 1C until 2.5 V"], dt_max_s=10.0, linear_voltage_change_factor=4.0)
    records: list = []
    stepper.on_step.append(records.append)
    assert stepper.run() == "cutoff"
    volts = [r.voltage_V for r in records if r.voltage_V < 3.5]
    assert max(abs(b - a) for a, b in itertools.pairwise(volts)) <= 0.02


class BasinCell(ScalarCell):
    """Newton converges only for dt ≤ ``reach`` × (time since the step started + ``t0_s``): the
    charge after a 5C discharge from over-full surfaces, where the largest convergent step grows
    with the time since the switch (coarse reference RVE: ~0.15-0.3 of it over the first seconds)."""

    reach, t0_s = 0.2, 0.01

    def __init__(self) -> None:
        super().__init__()
        self.step_start_s = 0.0

    def solve_potentials(self, control: float) -> tuple[bool, int, str]:
        self.step_start_s = self.t_old
        return super().solve_potentials(control)

    def step(self, dt: float, control: float) -> tuple[bool, int, str]:
        if dt > self.reach * (self.t_old - self.step_start_s + self.t0_s):
            return False, 45, "SNES reason -5"
        return super().step(dt, control)


def test_failure_cap_stops_the_grow_and_fail_cycle(monkeypatch):
    """In a step whose convergent dt grows like the time since its start, growing by dt_growth 1.5
    after each success and halving after each failure fails every second or third attempt; the
    failure cap (attempts below 0.8 × the failed dt, the cap growing 1.15 per accepted step, lifted
    after 10) takes fewer steps and fewer failed solves: 20 s of a 5C charge from dt_initial 0.5 s,
    59 accepted steps / 31 failed solves without the cap, 52 / 13 with it (8 of them the first step's
    cuts from 0.5 s down)."""
    from femsim.solvers import step_control

    out = {}
    for steps in (0, step_control.FAILURE_CAP_STEPS):
        monkeypatch.setattr(step_control, "FAILURE_CAP_STEPS", steps)
        problem = BasinCell()
        stepper = _stepper(problem, ["Charge at 5C for 20 seconds"], dt_initial_s=0.5, dt_growth=1.5,
                           dt_max_s=40.0, easy_newton_iterations=8, dt_min_s=1e-6)
        assert stepper.run() == "end_time"
        assert stepper.state.time_s == pytest.approx(20.0)
        out[steps] = (stepper.state.n_steps, stepper.rejected_steps)
    print(out)
    (steps_off, failed_off), (steps_on, failed_on) = out[0], out[step_control.FAILURE_CAP_STEPS]
    assert failed_on <= 0.5 * failed_off and steps_on < steps_off


def test_step_starts_from_last_cycles_first_dt():
    """A step whose first attempt Newton failures cut (dt_initial 0.5 s → 0.00195 s: 8 failed solves,
    in both steps of the cycle here) starts the next cycles at the dt that converged, not at
    dt_initial_s again: 23 failed solves in cycle 1, 7 in cycles 2 and 3 (those after the start).
    The start memory is part of the stepper state (restarts keep it)."""
    problem = BasinCell()
    steps = [parse_step(t, ONE_C_A_M2) for t in ("Charge at 5C for 2 seconds", "Rest for 1 second")]
    sv = dataclasses.replace(Solver(), dt_initial_s=0.5, dt_max_s=1.0, dt_growth=1.5, dt_min_s=1e-6)
    stepper = ProtocolStepper(problem, steps, 3, sv, [])
    failed: dict[int, int] = {}
    original = problem.step

    def counted(dt: float, control: float) -> tuple[bool, int, str]:
        ok, its, why = original(dt, control)
        failed[stepper.state.cycle] = failed.get(stepper.state.cycle, 0) + (not ok)
        return ok, its, why

    problem.step = counted
    assert stepper.run() == "end_time"
    assert stepper.state.start_dt_s == {"0": 0.5 / 2**8, "1": 0.5 / 2**8}
    assert failed[0] == failed[1] + 2 * 8 and failed[2] == failed[1]
