"""chord preset: the cross-step stale-factors rule (presets.chord_factors_stale) and its bookkeeping
in NewtonSolver (iterations per solve since the last factorisation)."""

from __future__ import annotations

from types import SimpleNamespace

from femsim.solvers import presets
from femsim.solvers.newton import NewtonSolver


def test_stale_needs_persistent_excess_over_fresh_factors():
    floor = max(presets.CHORD_STALE_ITERATIONS, 4 + presets.CHORD_STALE_EXCESS)  # fresh factors: 4
    assert not presets.chord_factors_stale([], 4)
    assert not presets.chord_factors_stale([floor], 4)  # one slow step is not persistent
    assert presets.chord_factors_stale([floor] * presets.CHORD_STALE_STEPS, 4)
    assert not presets.chord_factors_stale([floor, floor - 1], 4)  # the last steps decide
    assert presets.chord_factors_stale([3, floor, floor + 5], 4)
    # where fresh factors already need many iterations a refresh would not pay: the floor rises
    assert not presets.chord_factors_stale([10, 10], 9)
    assert presets.chord_factors_stale([12, 12], 9)


def _solver() -> SimpleNamespace:
    """The attributes of NewtonSolver that its stale bookkeeping and prepare_step use."""
    refreshed: list[bool] = []
    fake = SimpleNamespace(lagged=True, preset="chord", jacobian_dt=1.0, _fresh_iterations=0,
                           _stale_iterations=[], refreshed=refreshed)
    fake.refresh_jacobian = lambda: refreshed.append(True)
    return fake


def test_prepare_step_refreshes_after_persistently_slow_steps():
    s = _solver()
    NewtonSolver._record_step(s, True, 4, True)  # factored: fresh factors take 4
    for its in (4, 5, 10):
        NewtonSolver._record_step(s, True, its, False)
        NewtonSolver.prepare_step(s, 1.0)
    assert s.refreshed == []
    NewtonSolver._record_step(s, True, 11, False)
    NewtonSolver.prepare_step(s, 1.0)  # two steps at >= 7 on old factors
    assert s.refreshed == [True]
    NewtonSolver._record_step(s, True, 4, True)  # the refreshed step
    assert s._stale_iterations == [] and s._fresh_iterations == 4
    NewtonSolver._record_step(s, False, 30, False)  # a failed solve is not counted (recover refreshes)
    assert s._stale_iterations == []
    s.preset = "newton-krylov"  # only chord
    s._stale_iterations = [20, 20]
    NewtonSolver.prepare_step(s, 1.0)
    assert s.refreshed == [True]
