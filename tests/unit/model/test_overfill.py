"""femsim.solvers.overfill: the lithium past c_max goes back into its own particle, conserved.

Uses the three-particle domain of this folder's conftest (its particle statistics give the
per-particle lithium independently of the projection's own nodal volumes).
"""

from __future__ import annotations

import numpy as np
import pytest

from femsim.model.particles import ParticleStatistics
from femsim.mpi import import_dolfinx
from femsim.solvers.overfill import OverfillReturn
from femsim.units import UM

from _model_geometry import CATHODE_UM

pytestmark = pytest.mark.parallel

C_MAX = 40_000.0  # mol/m³


def _concentration(domain, c_of_z_um):
    dolfinx = import_dolfinx()
    c = dolfinx.fem.Function(dolfinx.fem.functionspace(domain.particles.mesh, ("Lagrange", 1)))
    c.interpolate(lambda x: c_of_z_um(x[2] / UM))
    c.x.scatter_forward()  # ghosts = owners' values (interpolated ones may differ in the last bit)
    return c


def _global_max(domain, c) -> float:
    from mpi4py import MPI

    n = c.function_space.dofmap.index_map.size_local
    return domain.comm.allreduce(float(c.x.array[:n].max(initial=-np.inf)), op=MPI.MAX)


def test_overfill_is_returned_into_the_same_particle(three_particles) -> None:
    # c rises with z: particle 2 (z 5–9 µm) is past c_max above z = 7.8 µm, particles 1 and 3 are not
    c = _concentration(three_particles, lambda z: 1000.0 + 5000.0 * z)
    stats = ParticleStatistics(three_particles, c, CATHODE_UM * UM)
    lithium_before = stats.mean_concentration() * stats.volume
    untouched = c.x.array.copy()
    assert _global_max(three_particles, c) > 1.1 * C_MAX

    projection = OverfillReturn(three_particles, c, C_MAX)
    projection.apply()

    lithium_after = stats.mean_concentration() * stats.volume
    np.testing.assert_allclose(lithium_after, lithium_before, rtol=1e-13)
    assert _global_max(three_particles, c) <= C_MAX * (1 + 1e-15)
    assert 0.0 < projection.moved_mol < 0.02 * lithium_before[1]
    # particles 1 and 3 hold no node past c_max: their nodes are left bit for bit
    z = c.function_space.tabulate_dof_coordinates()[:, 2] / UM
    below = z < 5.0 - 1e-9  # nodes of particles 1 and 3 only (particle 2 spans z 5–9 µm)
    assert np.array_equal(c.x.array[below], untouched[below])


def test_nothing_changes_below_c_max(three_particles) -> None:
    c = _concentration(three_particles, lambda z: 1000.0 + 3000.0 * z)
    before = c.x.array.copy()
    projection = OverfillReturn(three_particles, c, C_MAX)
    projection.apply()
    assert projection.moved_mol == 0.0
    assert np.array_equal(c.x.array, before)


def _particle_one_full(domain):
    """Particle 1 (centre (3, 3, 3) µm, radius 2) at 1.05 c_max to its core, the others well below."""
    dolfinx = import_dolfinx()
    c = dolfinx.fem.Function(dolfinx.fem.functionspace(domain.particles.mesh, ("Lagrange", 1)))
    inside = lambda x: np.linalg.norm(x / UM - np.array([[3.0], [3.0], [3.0]]), axis=0) <= 2.01  # noqa: E731
    c.interpolate(lambda x: np.where(inside(x), 1.05 * C_MAX, 10_000.0 + 1000.0 * x[2] / UM))
    c.x.scatter_forward()
    return c


@pytest.mark.parametrize("connected", [None, (True, False, True), (False, True, True)])
def test_a_particle_full_to_the_core_gives_the_rest_to_connected_particles(three_particles, connected) -> None:
    c = _particle_one_full(three_particles)
    stats = ParticleStatistics(three_particles, c, CATHODE_UM * UM)
    before = stats.mean_concentration() * stats.volume
    flags = None if connected is None else (lambda: np.array(connected))
    OverfillReturn(three_particles, c, C_MAX, flags).apply()
    after = stats.mean_concentration() * stats.volume
    assert after.sum() == pytest.approx(before.sum(), rel=1e-13)
    mean_x = stats.mean_concentration() / C_MAX
    if connected is not None and not connected[0]:  # isolated: keeps its lithium, nothing moves
        np.testing.assert_allclose(after, before, rtol=1e-13)
        assert mean_x[0] == pytest.approx(1.05, rel=1e-12)
        return
    assert mean_x[0] == pytest.approx(1.0, rel=1e-12)  # filled to c_max, not past it
    assert _global_max(three_particles, c) <= C_MAX * (1 + 1e-15)
    gained = after - before
    receivers = [1, 2] if connected is None else [k for k in (1, 2) if connected[k]]
    assert all(gained[k] > 0.0 for k in receivers)
    assert sum(gained[k] for k in receivers) == pytest.approx(-gained[0], rel=1e-12)
    for k in {1, 2} - set(receivers):
        assert gained[k] == pytest.approx(0.0, abs=1e-13 * before[k])


def test_isolated_particles_from_the_run_factors_keep_their_lithium(three_particles) -> None:
    """The run's wiring: ``connected`` from :meth:`ParticleFactors.global_values` (collective, the
    same on every rank; on 2 ranks the pickled reduction of an array raised ValueError at the first
    step switch after a particle was isolated)."""
    from femsim.physics.damage_feedback import ParticleFactors

    factors = ParticleFactors(three_particles, 1e9)
    factors.set({"contact_conductance_S_m2": np.array([1e9, 0.0, 1e9])})  # particle 2 isolated
    flags = factors.global_values("contact_conductance_S_m2")
    np.testing.assert_array_equal(flags, [1e9, 0.0, 1e9])
    c = _particle_one_full(three_particles)
    stats = ParticleStatistics(three_particles, c, CATHODE_UM * UM)
    before = stats.mean_concentration() * stats.volume
    projection = OverfillReturn(three_particles, c, C_MAX,
                                connected=lambda: factors.global_values("contact_conductance_S_m2") > 0.0)
    projection.apply()
    after = stats.mean_concentration() * stats.volume
    assert after[1] == pytest.approx(before[1], rel=1e-13)  # the isolated particle: untouched
    assert after[2] > before[2] and after.sum() == pytest.approx(before.sum(), rel=1e-13)


def test_full_connected_network_is_filled_and_the_rest_dropped(three_particles) -> None:
    """Particle 1 full to the core and the only connected one: nothing can take its excess, so it is
    clipped to c_max and the excess is dropped (``dropped_mol``, warned); the isolated particles are
    left bit for bit."""
    c = _particle_one_full(three_particles)
    stats = ParticleStatistics(three_particles, c, CATHODE_UM * UM)
    before = stats.mean_concentration() * stats.volume
    untouched = c.x.array.copy()
    projection = OverfillReturn(three_particles, c, C_MAX, lambda: np.array([True, False, False]))
    projection.apply()
    after = stats.mean_concentration() * stats.volume
    assert stats.mean_concentration()[0] / C_MAX == pytest.approx(1.0, rel=1e-12)
    assert _global_max(three_particles, c) <= C_MAX * (1 + 1e-15)
    np.testing.assert_allclose(after[1:], before[1:], rtol=1e-13)
    assert projection.dropped_mol == pytest.approx(before[0] - after[0], rel=1e-9)
    assert projection.dropped_mol == pytest.approx(0.05 / 1.05 * before[0], rel=1e-6)
    z = c.function_space.tabulate_dof_coordinates()[:, 2] / UM
    far = z > 5.0 + 1e-9  # nodes of particles 2 and 3 only
    assert np.array_equal(c.x.array[far], untouched[far])
