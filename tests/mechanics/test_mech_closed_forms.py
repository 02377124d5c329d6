"""Closed-form checks of the diffusion-induced stress (docs/physics.md §6.2, §6.4).

* M1 traction-free sphere with the Crank constant-flux concentration profile at τ = 0.05 and 0.2:
  σ_r, σ_θ, σ_eq at x = r/a = 0, 0.5, 1 within 2 % of the peak |σ| (shell means of the nodal
  recovered stress; P2 displacement);
* uniform Δc in a free particle: stress ≤ 1e-6 E Ω Δc (patch test), strain = ΩΔc/3;
* M2 misfitting sphere in a large matrix: Eshelby/Lamé pressure within 3 %.
"""

from __future__ import annotations

import numpy as np
import pytest

from femsim.mpi import import_dolfinx
from femsim.parameters.nmc622 import NMC622
from femsim.physics.mechanics import bulk_modulus, lame

from _mech_helpers import Mech, check_crank_stress, sphere_domain

dolfinx = import_dolfinx()
from mpi4py import MPI  # noqa: E402

from femsim.solvers.mechanics import MechanicsSolver  # noqa: E402

A_UM, BOX_UM = 3.0, 7.0
CENTRE = np.full(3, BOX_UM / 2 * 1e-6)


@pytest.fixture(scope="module")
def sphere():
    return sphere_domain(MPI.COMM_WORLD, A_UM, BOX_UM, h_surface_um=0.25, h_core_um=0.5, h_box_um=2.0)


@pytest.fixture(scope="module")
def solver_p2(sphere):
    return MechanicsSolver(sphere, NMC622(), Mech(), c_ref=0.0, degree=2)


@pytest.mark.parallel
@pytest.mark.parametrize("degree", [1, 2])
def test_uniform_swelling_is_stress_free(sphere, solver_p2, degree):
    p = NMC622()
    mech = solver_p2 if degree == 2 else MechanicsSolver(sphere, p, Mech(), c_ref=0.0, degree=1)
    c = dolfinx.fem.Function(mech.Vs)
    c.x.array[:] = -1500.0
    mech.solve(c)
    scale = p.partial_molar_volume * p.youngs_modulus * 1500.0
    local = max(np.abs(mech.sigma_dg.x.array).max(), np.abs(mech.nodal_stress).max())
    assert MPI.COMM_WORLD.allreduce(local, op=MPI.MAX) <= 1e-6 * scale
    # free shrinkage: ε = ΩΔc/3 I, i.e. u = ε (x − x_A) + rigid motion; check via div u on cells
    u = mech.fields()["displacement_m"]
    import ufl
    div = dolfinx.fem.form(ufl.div(u) * ufl.dx(domain=mech.Vs.mesh))
    vol = dolfinx.fem.form(1.0 * ufl.dx(domain=mech.Vs.mesh))
    mean_div = MPI.COMM_WORLD.allreduce(dolfinx.fem.assemble_scalar(div), op=MPI.SUM) / MPI.COMM_WORLD.allreduce(
        dolfinx.fem.assemble_scalar(vol), op=MPI.SUM)
    assert mean_div == pytest.approx(-p.partial_molar_volume * 1500.0, rel=1e-9)
    assert all(s == pytest.approx(0.0, abs=1e-6 * scale) for s in mech.particle_stress()["sigma_eq_max_Pa"])


@pytest.mark.parallel
@pytest.mark.parametrize("tau", [0.05, 0.2])
def test_crank_sphere_stress(solver_p2, tau):
    check_crank_stress(solver_p2, CENTRE, A_UM, tau)


@pytest.mark.parallel
def test_eshelby_inclusion_m2():
    """Misfitting sphere (a = 1 µm) in a 10 µm matrix cube: p = 12 K_i μ_m ε*/(3K_i + 4μ_m)."""
    domain = sphere_domain(MPI.COMM_WORLD, 1.0, 10.0, h_surface_um=0.2, h_core_um=0.3, h_box_um=2.5)
    p = NMC622()
    sec = Mech(setting="M2", matrix_youngs_modulus_Pa=20e9, matrix_poisson_ratio=0.3)
    mech = MechanicsSolver(domain, p, sec, c_ref=20000.0)
    dc = 1000.0
    c = dolfinx.fem.Function(mech.Vs)
    c.x.array[:] = 20000.0 + dc
    mech.solve(c)
    eps_star = p.partial_molar_volume * dc / 3
    K_i = bulk_modulus(p.youngs_modulus, p.poisson_ratio)
    mu_m = lame(sec.matrix_youngs_modulus_Pa, sec.matrix_poisson_ratio)[1]
    pressure = 12 * K_i * mu_m * eps_star / (3 * K_i + 4 * mu_m)
    w = mech.nodes.cell_volume
    sig = mech.sigma_dg.x.array.reshape(-1, 3, 3)[np.asarray(mech.W.dofmap.list)[: len(w)]].mean(axis=1)
    tot = MPI.COMM_WORLD.allreduce(np.array([(np.trace(sig, axis1=1, axis2=2) / 3 * w).sum(), w.sum()]), op=MPI.SUM)
    sigma_h = tot[0] / tot[1]
    assert sigma_h == pytest.approx(-pressure, rel=0.03)
    # inside: nearly hydrostatic (σ_eq ≪ p)
    assert mech.particle_stress()["sigma_eq_mean_Pa"][0] < 0.1 * pressure
