"""Paris-law crack growth, Weibull accumulation, classes and cycle jumps (femsim/model/damage.py)."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from femsim.model.damage import DamageLaw, ParticleDamage, accelerate, paris_growth, paris_rate

R = np.array([5e-6])


def _ode_length(l0, sigma, n, law):
    # in units of l0 (well scaled), |y| so a trial step below zero stays finite
    sol = solve_ivp(lambda _n, y: paris_rate(np.abs(y) * l0, sigma, law) / l0, (0.0, n), [1.0],
                    rtol=1e-11, atol=1e-14)
    return float(sol.y[0, -1]) * l0


@pytest.mark.parametrize("m", [2.2, 2.0, 1.6])
def test_paris_closed_form_equals_the_integral(m):
    # k_cr chosen so the crack grows several-fold over 50 cycles: the closed form vs an ODE integral
    sigma, l0, b = 2.0e8, 2e-8, 1.12
    law = DamageLaw(k_cr=1.5 / (50 * (b * sigma * np.sqrt(np.pi)) ** m * l0 ** (m / 2 - 1)), m_cr=m)
    got = float(paris_growth(np.array([law.l_cr_0_m]), np.array([sigma]), 50, R, law)[0])
    ref = _ode_length(law.l_cr_0_m, sigma, 50.0, law)
    assert got > 3 * law.l_cr_0_m
    assert abs(got - ref) / ref < 1e-6


def test_cycle_by_cycle_equals_one_jump_at_constant_amplitude():
    law = DamageLaw(k_cr=1e-19)
    a, b = ParticleDamage([1], R, law), ParticleDamage([1], R, law)
    for _ in range(20):
        a.advance([1.5e8], [0.0])
    b.advance([1.5e8], [0.0], 20)
    assert abs(a.crack_length_m[0] - b.crack_length_m[0]) / b.crack_length_m[0] < 1e-12


def test_varying_amplitude_follows_the_per_cycle_integral():
    law = DamageLaw(k_cr=1e-19)
    amplitudes = 1e8 * (1.0 + 0.5 * np.sin(np.arange(30)))
    d = ParticleDamage([1], R, law)
    l_ref = law.l_cr_0_m
    for s in amplitudes:
        d.advance([s], [0.0])
        l_ref = _ode_length(l_ref, s, 1.0, law)
    assert abs(d.crack_length_m[0] - l_ref) / l_ref < 1e-6


def test_zero_damage_parameters_grow_nothing_and_compression_grows_nothing():
    law = DamageLaw(k_cr=0.0)
    d = ParticleDamage([1, 2], np.array([5e-6, 3e-6]), law)
    d.advance([3e8, 1e8], [0.0, 0.0], 50)
    assert np.array_equal(d.crack_length_m, np.full(2, law.l_cr_0_m))
    d2 = ParticleDamage([1], R, DamageLaw(k_cr=1e-10))
    d2.advance([-5e8], [0.0], 50)
    assert d2.crack_length_m[0] == DamageLaw().l_cr_0_m


def test_crack_stops_at_the_radius_and_classes_use_segment_thresholds():
    law = DamageLaw(k_cr=1e-6)
    d = ParticleDamage([7], R, law)
    d.advance([5e8], [0.0], 10)
    assert d.crack_length_m[0] == pytest.approx(5e-6)
    assert d.crack_fraction()[0] == pytest.approx(1.0)
    assert d.classes()[0] == "severe"
    # φ = 1 − (1 − l/R)³ against the segmentation thresholds 0.03 / 0.10
    e = ParticleDamage([1, 2, 3], np.full(3, 1e-5), DamageLaw())
    e.crack_length_m = 1e-5 * (1.0 - (1.0 - np.array([0.02, 0.05, 0.2])) ** (1 / 3))
    assert np.allclose(e.crack_fraction(), [0.02, 0.05, 0.2])
    assert list(e.classes()) == ["least", "mild", "severe"]
    assert np.allclose(e.factors()["area_factor"], 1.0)  # crack wetting off


def test_weibull_accumulates_independent_cycles():
    d = ParticleDamage([1], R, DamageLaw(model="weibull"))
    for _ in range(10):
        d.advance([1e8], [0.02])
    assert d.crack_fraction()[0] == pytest.approx(1 - 0.98 ** 10, rel=1e-12)
    assert d.classes()[0] == "severe"


def test_jumps_vs_every_cycle_with_feedback_within_2_percent():
    # amplitude relaxes as the crack grows (a stand-in for detachment feedback), 20 cycles
    law = DamageLaw(k_cr=1e-19)
    radius = np.array([5e-6, 4e-6, 3e-6])

    def cycle(dmg):
        return 2e8 / (1.0 + dmg.crack_length_m / 2e-7), np.zeros(3)

    every = ParticleDamage([1, 2, 3], radius, law)
    accelerate(every, 20, cycle, max_jump=1, tolerance=-1.0)
    fast = ParticleDamage([1, 2, 3], radius, law)
    report = accelerate(fast, 20, cycle, max_jump=8, tolerance=0.05)
    assert every.cycles_done == fast.cycles_done == 20
    assert report.cycles_simulated < 20
    assert np.max(np.abs(fast.crack_length_m - every.crack_length_m) / every.crack_length_m) < 0.02
