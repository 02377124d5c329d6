"""femsim.model.probes: particle slot of every P1 node, per-particle reductions, P_s / P_cc."""

from __future__ import annotations

import math

import numpy as np
import pytest

from femsim.model.probes import NodalParticleMap, Probes
from femsim.mpi import import_dolfinx
from femsim.units import UM

from _model_geometry import ROWS

pytestmark = pytest.mark.parallel


@pytest.fixture(scope="module")
def nodes(three_particles):
    dolfinx = import_dolfinx()
    V = dolfinx.fem.functionspace(three_particles.particles.mesh, ("Lagrange", 1))
    return NodalParticleMap(three_particles, V)


def test_slots_volumes_centroids(nodes) -> None:
    assert nodes.n == 3 and nodes.ids.tolist() == [1, 2, 3]
    sphere = 4.0 / 3.0 * math.pi * 2.0**3  # µm³, particles 1 and 2
    np.testing.assert_allclose(nodes.volume[:2] / UM**3, sphere, rtol=0.03)  # inscribed polyhedra: below
    assert np.all(nodes.volume[:2] / UM**3 < sphere)
    np.testing.assert_allclose(nodes.centroid[:2] / UM, [r[1:4] for r in ROWS[:2]], atol=0.02)
    # particle 3 is cut by x = 0: its centroid lies inside the box, to the +x side of its centre
    assert 0.5 < nodes.centroid[2, 0] / UM < 1.5
    owned = nodes.dof_slot[: nodes.n_owned]
    assert owned.min() >= 0  # every node of the particle mesh belongs to a particle


def test_max_nodes_reads_the_poles(nodes) -> None:
    z = np.ascontiguousarray(nodes.coords[:, 2])
    top = nodes.max_nodes(z) / UM
    np.testing.assert_allclose(top[:2], [5.0, 9.0], rtol=1e-12)  # z + r: the poles of the whole spheres
    assert 4.45 < top[2] <= 4.5  # the clipped sphere (OCC intersection) has no vertex at its pole


def test_nearest_and_value_at(nodes) -> None:
    dof = nodes.nearest(np.array([3.0, 3.0, 5.3]) * UM)
    np.testing.assert_allclose(nodes.coords_of(dof) / UM, [3.0, 3.0, 5.0], atol=1e-9)
    assert nodes.value_at(dof, nodes.coords[:, 2]) == pytest.approx(5.0 * UM, rel=1e-12)


def test_probes_pick_the_extreme_whole_particle_vertices(nodes) -> None:
    probes = Probes(nodes, clipped=np.array([False, False, True]))
    sigma = np.ascontiguousarray(nodes.coords[:, 2]) * 1e9  # a 'stress' that reads back z (Pa per m)
    c_over_cmax = np.ascontiguousarray(nodes.coords[:, 0]) / (10 * UM)
    ps, pcc = probes.evaluate(sigma, c_over_cmax)
    assert (ps["probe"], ps["particle_id"], pcc["probe"], pcc["particle_id"]) == ("Ps", 2, "Pcc", 1)
    assert [ps["x_um"], ps["y_um"], ps["z_um"]] == pytest.approx([7.0, 7.0, 9.0], abs=1e-9)  # top of particle 2
    assert [pcc["x_um"], pcc["y_um"], pcc["z_um"]] == pytest.approx([3.0, 3.0, 1.0], abs=1e-9)  # bottom of 1
    assert (ps["sigma_eq_Pa"], pcc["sigma_eq_Pa"]) == pytest.approx((9.0e3, 1.0e3), rel=1e-12)
    assert (ps["c_over_cmax"], pcc["c_over_cmax"]) == pytest.approx((0.7, 0.3), rel=1e-12)


def test_probe_points_from_the_case(nodes) -> None:
    probes = Probes(nodes, separator_um=[0.9, 7.5, 4.8], collector_um=[7.0, 7.0, 4.0])
    ps, pcc = probes.evaluate(np.zeros(len(nodes.coords)), np.zeros(len(nodes.coords)))
    assert ps["particle_id"] == 3 and 4.45 < ps["z_um"] <= 4.5  # near the top of the clipped one
    assert pcc["particle_id"] == 2 and pcc["z_um"] == pytest.approx(5.0, abs=1e-9)  # bottom pole of particle 2


def test_all_clipped_falls_back_to_every_particle(nodes) -> None:
    probes = Probes(nodes, clipped=np.array([True, True, True]))
    ps, pcc = probes.evaluate(np.zeros(len(nodes.coords)), np.zeros(len(nodes.coords)))
    assert (ps["particle_id"], pcc["particle_id"]) == (2, 1)
