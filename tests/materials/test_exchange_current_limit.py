"""The exchange current near c_s = 0 and c_s = c_max (femsim.parameters.base.vanishing_power):
the closed form i0 = F k0 c_e^½ (c_s (c_max − c_s))^½ wherever both factors are at least
w = 1e-6 c_max, zero at saturation, value and slope continuous at w, negative past the limit, and
the same numbers from numpy, UFL and PyBaMM expressions."""

from __future__ import annotations

import numpy as np
import pytest

from femsim.parameters import FARADAY
from femsim.parameters.base import VANISHING_POWER_WIDTH, vanishing_power
from femsim.parameters.nmc622 import NMC622

CATHODE = NMC622()
C_MAX = CATHODE.max_concentration


def _closed_form(c_e: float, c_s: np.ndarray) -> np.ndarray:
    return FARADAY * CATHODE.reaction_rate_constant * c_e**0.5 * (c_s * (C_MAX - c_s)) ** 0.5


def test_unchanged_away_from_the_limits():
    x = np.concatenate([[VANISHING_POWER_WIDTH, 1e-4, 1 - 1e-4, 1 - VANISHING_POWER_WIDTH],
                        np.linspace(0.01, 0.99, 50)])
    i0 = CATHODE.exchange_current_density(900.0, x * C_MAX)
    np.testing.assert_allclose(i0, _closed_form(900.0, x * C_MAX), rtol=1e-12)


def test_vanishes_at_saturation_with_finite_slope():
    w = VANISHING_POWER_WIDTH * C_MAX
    def i0(c: float) -> float:
        return float(CATHODE.exchange_current_density(1000.0, c))

    assert i0(C_MAX) == 0.0 and i0(0.0) == 0.0
    assert i0(C_MAX + 0.1 * w) < 0 < i0(C_MAX - 0.1 * w)  # over-full: the reaction turns around
    # value and slope continuous at y = w (the quadratic meets y^½ with its slope)
    for y in (w, 0.5 * w):
        h = 1e-6 * w
        left, right = vanishing_power(y - h, 0.5, w), vanishing_power(y + h, 0.5, w)
        assert right > left
    h = 1e-4 * w
    slope_below = (vanishing_power(w, 0.5, w) - vanishing_power(w - h, 0.5, w)) / h
    slope_above = (vanishing_power(w + h, 0.5, w) - vanishing_power(w, 0.5, w)) / h
    assert slope_below == pytest.approx(0.5 * w**-0.5, rel=1e-3)
    assert slope_above == pytest.approx(0.5 * w**-0.5, rel=1e-3)
    # the slope at saturation is finite: (2 − a) w^(a − 1)
    assert vanishing_power(h, 0.5, w) / h == pytest.approx(1.5 * w**-0.5, rel=1e-3)


def test_ufl_and_pybamm_give_the_numbers():
    import pybamm
    import ufl

    w = VANISHING_POWER_WIDTH * C_MAX
    for y in (0.3 * w, 2.0 * w, -0.2 * w):
        ref = vanishing_power(y, 0.5, w)
        assert vanishing_power(pybamm.Scalar(y), 0.5, w).evaluate() == pytest.approx(ref, rel=1e-14)
        expr = vanishing_power(ufl.as_ufl(y), 0.5, w)
        assert float(expr) == pytest.approx(ref, rel=1e-14)
