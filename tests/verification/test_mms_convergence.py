"""Method of manufactured solutions: the concentrated-solution electrolyte forms and the solid
diffusion form converge at order 2 in L2 with P1 elements (docs/physics.md §6.4).

The weak forms under test are exactly the pure functions the coupled solver uses
(:mod:`femsim.physics.electrochemistry`), with the Nyman2008 concentration-dependent κ(c), D(c)
and a thermodynamic factor of 2 so that every term of the ionic current is exercised.
"""

from __future__ import annotations

import numpy as np
import pytest

from femsim.mpi import import_dolfinx
from femsim.parameters import Nyman2008
from femsim.physics import electrochemistry as ec

L = 10e-6  # m
T = 298.15


def _solve(n: int) -> tuple[float, float, float]:
    import_dolfinx()
    import dolfinx.fem.petsc
    import ufl
    from mpi4py import MPI

    mesh = dolfinx.mesh.create_box(MPI.COMM_WORLD, [[0.0, 0.0, 0.0], [L, L, L]], [n, n, n])
    spaces = [dolfinx.fem.functionspace(mesh, ("Lagrange", 1)) for _ in range(3)]  # one per block (for the BCs)
    x = ufl.SpatialCoordinate(mesh)
    k = np.pi / L
    c_ex = 1000.0 + 300.0 * ufl.sin(k * x[0]) * ufl.cos(0.5 * k * x[1]) * ufl.cos(0.7 * k * x[2])
    phi_ex = 0.02 * ufl.cos(k * x[0]) * ufl.sin(0.8 * k * x[1]) + 0.01 * x[2] / L
    cs_ex = 2e4 + 5e3 * ufl.cos(k * x[0]) * ufl.cos(k * x[1]) * ufl.sin(0.5 * k * x[2])

    elyte = Nyman2008(thermodynamic_factor=2.0)
    eff = 0.35
    def props(c):
        return eff * elyte.conductivity(c, T), eff * elyte.diffusivity(c, T), elyte.transference(c, T)

    c, phi, cs = (dolfinx.fem.Function(W) for W in spaces)
    c.x.array[:], cs.x.array[:] = 1000.0, 2e4
    v, q, w = (ufl.TestFunction(W) for W in spaces)
    dx = ufl.Measure("dx", domain=mesh, metadata={"quadrature_degree": 4})
    kappa, diff, tp = props(c)
    current = ec.electrolyte_current(c, phi, kappa, tp, elyte.thermodynamic(c, T), T)
    kappa_e, diff_e, tp_e = props(c_ex)
    current_ex = ec.electrolyte_current(c_ex, phi_ex, kappa_e, tp_e, elyte.thermodynamic(c_ex, T), T)
    flux_ex = -diff_e * ufl.grad(c_ex) + tp_e * current_ex / ec.FARADAY
    D_s = 1e-14 * (1 + cs / 4e4)
    D_s_ex = 1e-14 * (1 + cs_ex / 4e4)
    one = dolfinx.fem.Constant(mesh, 1.0)
    F_c = (ec.electrolyte_salt_residual(c, c, v, one, 0.5, diff, tp, current, dx)
           - ufl.div(flux_ex) * v * dx)
    F_phi = ec.electrolyte_charge_residual(current, q, dx) - ufl.div(current_ex) * q * dx
    F_s = ec.solid_diffusion_residual(cs, cs, w, one, D_s, dx) + ufl.div(D_s_ex * ufl.grad(cs_ex)) * w * dx
    # weights making the three residuals commensurate (as in the solver)
    F = [(1 / (1e3 * L**3)) * F_c, (1 / L**2) * F_phi, (1 / (2e4 * L**3)) * F_s]

    mesh.topology.create_connectivity(2, 3)
    facets = dolfinx.mesh.exterior_facet_indices(mesh.topology)
    bcs = []
    for W, exact in zip(spaces, (c_ex, phi_ex, cs_ex)):
        g = dolfinx.fem.Function(W)
        g.interpolate(dolfinx.fem.Expression(exact, W.element.interpolation_points))
        bcs.append(dolfinx.fem.dirichletbc(g, dolfinx.fem.locate_dofs_topological(W, 2, facets)))
    opts = {"snes_type": "newtonls", "snes_rtol": 1e-12, "snes_atol": 1e-14, "snes_max_it": 20,
            "ksp_type": "preonly", "pc_type": "lu", "pc_factor_mat_solver_type": "mumps"}
    problem = dolfinx.fem.petsc.NonlinearProblem(F, [c, phi, cs], bcs=bcs, kind="mpi", petsc_options=opts,
                                                 petsc_options_prefix=f"mms{n}_")
    problem.solve()
    assert problem.solver.getConvergedReason() > 0

    def l2(u, exact, scale):
        e = dolfinx.fem.form((u - exact) ** 2 * dx)
        return np.sqrt(mesh.comm.allreduce(dolfinx.fem.assemble_scalar(e), op=MPI.SUM)) / (scale * L**1.5)

    return l2(c, c_ex, 300.0), l2(phi, phi_ex, 0.02), l2(cs, cs_ex, 5e3)


@pytest.mark.parallel
def test_mms_second_order_in_l2():
    sizes = (4, 8, 16)
    errors = np.array([_solve(n) for n in sizes])
    rates = np.log2(errors[:-1] / errors[1:])
    print("L2 errors (c_e, φ_e, c_s):", errors.tolist(), "rates:", rates.tolist())
    assert np.all(rates[-1] > 1.85), rates
    assert np.all(rates[-1] < 2.3), rates
