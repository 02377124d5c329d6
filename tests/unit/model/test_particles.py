"""femsim.model.particles: per-particle volumes, means, surface extrema and depth windows."""

from __future__ import annotations

import math

import numpy as np
import pytest

from femsim.geometry.clipping import clip_sphere
from femsim.model.particles import ParticleStatistics
from femsim.mpi import import_dolfinx
from femsim.units import UM

from _model_geometry import CATHODE_UM, ROWS

pytestmark = pytest.mark.parallel


def _statistics(domain, c_of_z_um, window_um: float = 4.0) -> ParticleStatistics:
    dolfinx = import_dolfinx()
    V = dolfinx.fem.functionspace(domain.particles.mesh, ("Lagrange", 1))
    c = dolfinx.fem.Function(V)
    c.interpolate(lambda x: c_of_z_um(x[2] / UM))
    return ParticleStatistics(domain, c, CATHODE_UM * UM, window=window_um * UM)


def test_geometry_per_particle(three_particles) -> None:
    st = _statistics(three_particles, lambda z: 0.0 * z + 1.0)
    assert st.ids.tolist() == [1, 2, 3]
    exact = [clip_sphere(r[1:4], r[4], [CATHODE_UM] * 3).volume for r in ROWS]
    assert exact[0] == pytest.approx(4.0 / 3.0 * math.pi * 8.0, rel=1e-12)
    np.testing.assert_allclose(st.volume / UM**3, exact, rtol=0.03)
    np.testing.assert_allclose(st.centroid[:2] / UM, [r[1:4] for r in ROWS[:2]], atol=0.02)
    np.testing.assert_allclose(st.depth, CATHODE_UM * UM - st.centroid[:, 2], rtol=1e-15)
    np.testing.assert_allclose(st.depth[:2] / UM, [7.0, 3.0], atol=0.02)


def test_mean_of_a_linear_field_is_its_value_at_the_centroid(three_particles) -> None:
    st = _statistics(three_particles, lambda z: 1000.0 + 1000.0 * z)  # mol/m³, z in µm
    np.testing.assert_allclose(st.mean_concentration(), 1000.0 + 1000.0 * st.centroid[:, 2] / UM, rtol=1e-10)


def test_surface_extrema_are_the_poles(three_particles) -> None:
    st = _statistics(three_particles, lambda z: 1000.0 + 1000.0 * z)
    lo, hi = st.surface_extrema()
    np.testing.assert_allclose(lo[:2], [2000.0, 6000.0], rtol=1e-12)  # z − r at the poles of the whole spheres
    np.testing.assert_allclose(hi[:2], [6000.0, 10000.0], rtol=1e-12)  # z + r
    # the clipped sphere (OCC intersection) has no vertices at its poles: within 0.05 µm of them
    assert 2500.0 <= lo[2] < 2550.0 and 5450.0 < hi[2] <= 5500.0


def test_window_means(three_particles) -> None:
    assert _statistics(three_particles, lambda z: 0.0 * z + 7.5).window_means() == pytest.approx((7.5, 7.5, 7.5))
    st = _statistics(three_particles, lambda z: 1000.0 * z)
    overall, separator, collector = st.window_means()
    total = np.sum(st.volume * 1000.0 * st.centroid[:, 2] / UM) / np.sum(st.volume)
    assert overall == pytest.approx(total, rel=1e-10)
    # separator window z >= 6 µm holds only particle 2's top (z up to 9 µm); collector window z <= 4 µm
    assert 6000.0 < separator < 9000.0 and 1000.0 < collector < 4000.0
    wide = _statistics(three_particles, lambda z: 1000.0 * z, window_um=10.0).window_means()
    assert wide == pytest.approx((overall, overall, overall), rel=1e-12)
