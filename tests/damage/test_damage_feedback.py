"""The feedback laws of [damage] against hand numbers (femsim/model/damage_feedback.py)."""

import numpy as np
import pytest

from femsim.model import damage_feedback as fb
from femsim.model.damage import CycleJumps, DamageLaw, ParticleDamage


def test_wetting_area_factor_hand_numbers():
    # Ai2020: 2 ρ_cr w_cr = 2 · 3.18e15 · 1.5e-8 = 9.54e7 m⁻¹; l − l0 = 30 nm → 1 + 2.862 (f_wet 1), 1 + 1.431 (0.5)
    got = fb.wetting_area_factor(np.array([2e-8, 5e-8, 5e-8]), 2e-8, 3.18e15, 1.5e-8, 1.0)
    assert got == pytest.approx([1.0, 3.862, 3.862], rel=1e-12)
    assert fb.wetting_area_factor(np.array([5e-8]), 2e-8, 3.18e15, 1.5e-8, 0.5)[0] == pytest.approx(2.431, rel=1e-12)


def test_contact_conductance_falls_linearly_to_isolation():
    law = fb.FeedbackLaw(detachment=True, contact_conductance_S_m2=1e9, isolation_damage=0.1)
    assert fb.contact_conductance(np.array([0.0, 0.025, 0.05, 0.1, 0.3]), law) == pytest.approx(
        [1e9, 7.5e8, 5e8, 0.0, 0.0], rel=1e-12)


def test_lam_active_fraction_hand_numbers():
    # Ai2020 β 2.78e-13 s⁻¹, σ_crit 375 MPa, m 2: σ_t 562.5 MPa → σ_h 375 MPa → loss β t per cycle
    law = fb.FeedbackLaw(loss_of_active_material=True, lam_rate_per_s=1e-4)
    a = fb.lam_active_fraction(np.ones(3), np.array([562.5e6, 281.25e6, -1e8]), 1000.0, law)
    assert a == pytest.approx([0.9, 0.975, 1.0], rel=1e-12)
    assert fb.lam_active_fraction(np.ones(1), np.array([562.5e6]), 1000.0, law, n_cycles=20)[0] == 0.0


def test_undamaged_factors_are_exactly_neutral():
    law = DamageLaw(k_cr=0.0, feedback=fb.FeedbackLaw(crack_wetting=True, detachment=True,
                                                       loss_of_active_material=True, lam_rate_per_s=0.0))
    d = ParticleDamage([1, 2], np.array([2e-6, 5e-6]), law)
    for _ in range(5):
        d.advance([3e8, 1e8], [0.1, 0.0], 1, cycle_duration_s=1000.0)
    f = d.factors()
    assert list(f["area_factor"]) == [1.0, 1.0]
    assert list(f["contact_conductance_S_m2"]) == [1e9, 1e9]
    assert list(f["active_fraction"]) == [1.0, 1.0]


def test_damage_drives_the_factors_in_the_right_direction():
    law = DamageLaw(k_cr=1e-18, feedback=fb.FeedbackLaw(crack_wetting=True, detachment=True, isolation_damage=0.05,
                                                         loss_of_active_material=True, lam_rate_per_s=1e-6))
    d = ParticleDamage([1, 2], np.array([3e-6, 3e-6]), law)
    d.advance([3e8, 0.0], [0.0, 0.0], 10, cycle_duration_s=1000.0)
    f = d.factors()
    gained = d.crack_fraction() - d.crack_fraction(np.full(2, law.l_cr_0_m))
    assert f["area_factor"][0] == pytest.approx(1 + 9.54e7 * (d.crack_length_m[0] - 2e-8), rel=1e-12)
    assert f["area_factor"][0] > 1.5 and f["area_factor"][1] == 1.0
    assert f["contact_conductance_S_m2"][0] == pytest.approx(1e9 * max(0.0, 1 - gained[0] / 0.05), rel=1e-12)
    assert f["contact_conductance_S_m2"][0] < 1e9 and f["contact_conductance_S_m2"][1] == 1e9
    assert f["active_fraction"][0] == pytest.approx(1 - 10 * 1e-6 * 1000 * (2e8 / 375e6) ** 2, rel=1e-12)
    assert f["active_fraction"][1] == 1.0
    # the factors are recorded in damage.csv's rows
    assert d.rows[-2][-3:] == (f["area_factor"][0], f["contact_conductance_S_m2"][0], f["active_fraction"][0])


def test_jump_controller_states_and_snapshot():
    jumps = CycleJumps(10, max_jump=4, tolerance=0.05)
    assert jumps.after_cycle([1.0, 2.0], 1) == 0  # first cycle: nothing to compare with
    assert jumps.after_cycle([1.01, 2.0], 2) == 1  # agrees within 5 %: jump 1, then 2, 4
    assert jumps.after_cycle([1.02, 2.0], 4) == 2
    saved = jumps.to_dict()
    assert jumps.after_cycle([1.5, 2.0], 7) == 0  # 25 % change: simulate every cycle again
    again = CycleJumps(10)
    again.restore(saved)
    assert again.after_cycle([1.02, 2.0], 7) == 2  # left = 10 - 7 - 1 = 2 caps the jump of 4
    assert again.report.jumps == [(3, 1), (5, 2), (8, 2)]
    assert again.report.cycles_simulated == 4


def _section(**kw):
    import dataclasses

    from femsim.case import Damage
    return dataclasses.replace(Damage(enabled=True, cracking_rate=1e-18), **kw)


def test_cycle_jumps_of_a_run_survive_a_resume():
    # the run's cycle-end logic over a synthetic amplitude history; a copy restored from the
    # history's snapshot halfway takes the same jumps (the controller is rebuilt from the history)
    from femsim.model.damage_cycles import DamageCycles
    from femsim.model.damage_history import CycleStressHistory

    def drive(cycles, history, start=1, stop=None):
        cycle, taken = start, []
        while cycle <= (stop or 12):
            history.update(cycle, {"sigma_1_surface_p95_Pa": np.array([1.5e8, 1.0e8]) * (1 + 0.01 * cycle),
                                   "failure_probability": np.zeros(2)})
            k = cycles.end_cycle(cycle, 100.0)
            taken.append((cycle, k))
            cycle += k + 1
        return taken, cycle

    def make(history):
        return DamageCycles(_section(max_jump_cycles=4, jump_tolerance=0.05), history, np.array([1, 2]),
                            np.array([3e-6, 3e-6]), np.array([5.0, 15.0]), np.zeros((2, 3)), 20.0, 12)

    every = make(CycleStressHistory(2))
    full, _ = drive(every, every.history)
    # amplitudes grow 1 %/cycle (increments ~2.2 %/cycle): jumps of 1, 2, then the 3-cycle gap exceeds 5 %
    assert full == [(1, 0), (2, 1), (4, 2), (7, 0), (8, 1), (10, 1), (12, 0)]
    assert every.summary() == {"cycles_requested": 12, "cycles_simulated": 7,
                               "cycle_jumps": [[3, 1], [5, 2], [9, 1], [11, 1]]}
    first = make(CycleStressHistory(2))
    head, next_cycle = drive(first, first.history, stop=4)
    resumed_history = CycleStressHistory(2)
    resumed_history.restore(first.history.to_dict())
    tail, _ = drive(make(resumed_history), resumed_history, start=next_cycle)
    assert head + tail == full
    damage, tables = every.tables(every.cycles_completed(12))
    assert damage.cycles_done == 12 and [r[0] for r in tables["damage.csv"][1][::2]] == list(range(1, 13))


def test_warns_when_half_the_particles_are_detached(caplog):
    """Detachment isolating half the particles or more is warned about with the counts (the rest carry
    the whole applied current), once per state; fewer, no warning."""
    import logging
    from types import SimpleNamespace

    from femsim.model.damage_cycles import DamageCycles

    cycles = DamageCycles.__new__(DamageCycles)
    cycles.section = SimpleNamespace(detachment=True)
    cycles._warned = (-1, -1)
    for conductance, expected in (([1e9, 1e9, 0.0, 5e8], None), ([0.0, 1e9, 0.0, 0.0], "3 of 4 particles detached"),
                                  ([0.0] * 4, "every particle is detached")):
        caplog.clear()
        damage = SimpleNamespace(cycles_done=6, factors=lambda c=conductance: {"contact_conductance_S_m2": np.array(c)})
        with caplog.at_level(logging.WARNING, logger="femsim.model.damage_cycles"):
            cycles.feedback_factors(damage)
        messages = [r.getMessage() for r in caplog.records]
        assert (not messages) if expected is None else (len(messages) == 1 and expected in messages[0])
        with caplog.at_level(logging.WARNING, logger="femsim.model.damage_cycles"):
            cycles.feedback_factors(damage)  # the same state again (the run's last write): no second warning
        assert len(caplog.records) == len(messages)
