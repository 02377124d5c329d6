"""The exchange current near c_s = 0 and c_s = c_max (femsim.parameters.base.saturating_power):
the closed form i0 = F k0 c_e^½ (c_s (c_max − c_s))^½ to 1e-12 wherever both factors are at
least 25 w (w = SATURATION_WIDTH c_max), a smooth positive floor (w ln 2)^½ at the limits that decays past
them (never negative: no spurious over-full branch), and the same numbers from numpy, UFL and
PyBaMM expressions."""

from __future__ import annotations

import numpy as np
import pytest

from femsim.parameters import FARADAY
from femsim.parameters.base import SATURATION_WIDTH, saturating_power
from femsim.parameters.nmc622 import NMC622

CATHODE = NMC622()
C_MAX = CATHODE.max_concentration
W = SATURATION_WIDTH * C_MAX


def _closed_form(c_e: float, c_s: np.ndarray) -> np.ndarray:
    return FARADAY * CATHODE.reaction_rate_constant * c_e**0.5 * (c_s * (C_MAX - c_s)) ** 0.5


def test_unchanged_away_from_the_limits():
    x = np.concatenate([[25 * SATURATION_WIDTH, 1 - 25 * SATURATION_WIDTH],
                        np.linspace(0.03, 0.97, 50)])
    i0 = CATHODE.exchange_current_density(900.0, x * C_MAX)
    np.testing.assert_allclose(i0, _closed_form(900.0, x * C_MAX), rtol=1e-12)
    # the 5C charge runs from x0 = 0.917 (83 w from full): bitwise the closed form there
    assert CATHODE.exchange_current_density(900.0, 0.917 * C_MAX) == _closed_form(900.0, 0.917 * C_MAX)


def test_positive_smooth_floor_at_saturation():
    def i0(c: float) -> float:
        return float(CATHODE.exchange_current_density(1000.0, c))

    scale = FARADAY * CATHODE.reaction_rate_constant * 1000.0**0.5 * C_MAX**0.5
    assert i0(C_MAX) == pytest.approx(scale * (W * np.log(2.0)) ** 0.5, rel=1e-9)
    assert i0(0.0) == pytest.approx(scale * (W * np.log(2.0)) ** 0.5, rel=1e-9)
    # over-full: positive, decaying like e^{y/(2w)} (the reaction never turns around)
    over = np.array([i0(C_MAX + k * W) for k in (0.0, 1.0, 5.0, 20.0, 60.0, 1e4)])
    assert (over > 0).all() and (np.diff(over[:5]) < 0).all() and over[5] < 1e-15
    assert over[3] / over[2] == pytest.approx(np.exp(-15.0 / 2), rel=1e-2)
    # increasing and smooth through the limit: central differences of the slope agree across 0
    y = np.linspace(-5 * W, 5 * W, 2001)
    p = saturating_power(y, 0.5, W)
    assert (np.diff(p) > 0).all()
    slope = np.gradient(p, y)
    assert np.abs(np.diff(slope)).max() < 0.01 * slope.max()
    # the derivative stays finite far past the floor (e^{-|y|/w} underflows to 0 there)
    assert np.isfinite(saturating_power(-1e3 * W, 0.5, W)) and saturating_power(-1e3 * W, 0.5, W) > 0


def test_ufl_and_pybamm_give_the_numbers():
    import pybamm
    import ufl

    for y in (0.3 * W, 2.0 * W, -0.2 * W, -50 * W, 1e3 * W):
        ref = saturating_power(y, 0.5, W)
        assert saturating_power(pybamm.Scalar(y), 0.5, W).evaluate() == pytest.approx(ref, rel=1e-14)
        expr = saturating_power(ufl.as_ufl(y), 0.5, W)
        assert float(expr) == pytest.approx(ref, rel=1e-14)
    # the UFL derivative is finite where the softplus has rounded to its floor
    c = ufl.variable(ufl.as_ufl(-1e3 * W))
    assert np.isfinite(float(ufl.diff(saturating_power(c, 0.5, W), c)))


def test_ufl_derivative_is_that_of_the_value_in_the_tail():
    """The Jacobian sees the function the residual evaluates: the UFL derivative equals a central
    difference of the UFL value, also past y = -37 w where ln(1 + e^{-|y|/w}) would round 1 + z
    to 1 (value at the floor, derivative still the exponential's: 3e6 times too steep at 39 w)."""
    import ufl

    for k in (3.0, 20.0, 39.0, 50.0, 200.0, -3.0, 60.0):
        y, h = -k * W, 1e-3 * W
        c = ufl.variable(ufl.as_ufl(y))
        slope = float(ufl.diff(saturating_power(c, 0.5, W), c))
        central = (float(saturating_power(ufl.as_ufl(y + h), 0.5, W))
                   - float(saturating_power(ufl.as_ufl(y - h), 0.5, W))) / (2 * h)
        assert slope == pytest.approx(central, rel=1e-5), k
        # and the value is the exponential tail (w e^{y/w})^½, not the floor
        if k > 37:
            assert float(saturating_power(ufl.as_ufl(y), 0.5, W)) == pytest.approx((W * np.exp(-k)) ** 0.5, rel=1e-9)
