"""femsim.solvers.callbacks on a two-field blocked problem small enough to reason about.

The problem (unit cube, no Dirichlet conditions, like all of femsim's):

    F_u(u, v; φ) = ∫ ∇u·∇φ + u³ φ − f φ dx,     F_v(u, v; ψ) = ∫ ∇v·∇ψ + (v − u) ψ dx,

with f = 1: the exact solution is u = v = 1 (constant), and at a constant state (u, v) = (a, b)
the residual blocks sum over the test functions to ∫ a³ − 1 dx = a³ − 1 and ∫ b − a dx = b − a.
"""

from __future__ import annotations

import numpy as np
import pytest

from femsim.mpi import import_dolfinx

import_dolfinx()
import dolfinx.fem.petsc  # noqa: E402
import ufl  # noqa: E402
from mpi4py import MPI  # noqa: E402
from petsc4py import PETSc  # noqa: E402

from femsim.solvers.callbacks import (  # noqa: E402
    BlockCoefficients,
    DifferenceJacobian,
    LazyJacobian,
    assemble_jacobian_by_block,
    residual_without_lifting,
)

pytestmark = pytest.mark.parallel


def _problem(prefix: str, options: dict[str, object], u0: float, v0: float) -> dolfinx.fem.petsc.NonlinearProblem:
    mesh = dolfinx.mesh.create_unit_cube(MPI.COMM_WORLD, 3, 3, 3)
    V = dolfinx.fem.functionspace(mesh, ("Lagrange", 1))
    u, v = dolfinx.fem.Function(V, name="u"), dolfinx.fem.Function(V, name="v")
    u.x.array[:], v.x.array[:] = u0, v0
    phi, psi = ufl.TestFunction(V), ufl.TestFunction(V)
    f = dolfinx.fem.Constant(mesh, 1.0)
    residuals = [(ufl.inner(ufl.grad(u), ufl.grad(phi)) + u**3 * phi - f * phi) * ufl.dx,
                 (ufl.inner(ufl.grad(v), ufl.grad(psi)) + (v - u) * psi) * ufl.dx]
    base = {"ksp_type": "preonly", "pc_type": "lu", "snes_linesearch_type": "basic", "snes_rtol": 1e-12,
            "snes_atol": 1e-13, "snes_stol": 1e-14, "snes_max_it": 60}
    return dolfinx.fem.petsc.NonlinearProblem(residuals, [u, v], kind="mpi", petsc_options_prefix=prefix,
                                              petsc_options=base | options)


def _use_residual_without_lifting(problem: dolfinx.fem.petsc.NonlinearProblem) -> None:
    b, (_, args, kwargs) = problem.solver.getFunction()
    problem.solver.setFunction(residual_without_lifting, b, args=args, kargs=kwargs)


def _block_sums(problem: dolfinx.fem.petsc.NonlinearProblem, vec: PETSc.Vec) -> tuple[float, float]:
    """Sums of the owned entries of the u block and of the v block of a blocked vector."""
    n = problem.u[0].function_space.dofmap.index_map.size_local
    arr = vec.getArray(readonly=True)
    return tuple(MPI.COMM_WORLD.allreduce(float(arr[k * n:(k + 1) * n].sum()), op=MPI.SUM) for k in (0, 1))


def test_residual_without_lifting_equals_dolfinx_residual() -> None:
    problem = _problem("test_cb_res_", {}, 2.0, 0.5)
    dolfinx.fem.petsc.assign(problem.u, problem.x)
    reference = problem.b.duplicate()
    problem.solver.computeFunction(problem.x, reference)
    _use_residual_without_lifting(problem)
    got = problem.b.duplicate()
    problem.solver.computeFunction(problem.x, got)
    assert _block_sums(problem, got) == pytest.approx((2.0**3 - 1.0, 0.5 - 2.0), rel=1e-12)
    np.testing.assert_allclose(got.getArray(), reference.getArray(), rtol=1e-13, atol=1e-15)


def test_jacobian_by_block_equals_dolfinx_jacobian() -> None:
    problem = _problem("test_cb_jac_", {}, 1.7, 0.4)
    snes, x = problem.solver, problem.x
    dolfinx.fem.petsc.assign(problem.u, x)
    reference = problem.A.duplicate()
    snes.computeJacobian(x, reference, reference)
    J, P, (_, args, kwargs) = snes.getJacobian()
    snes.setJacobian(assemble_jacobian_by_block, J, P, args=args, kargs=kwargs)
    got = problem.A.duplicate()
    snes.computeJacobian(x, got, got)
    # the (u, u) block at a constant state: stiffness + 3·1.7² mass, whose entries sum to 3·1.7²·|Ω|
    ones, row_sums = got.createVecRight(), got.createVecLeft()
    ones.set(1.0)
    got.mult(ones, row_sums)
    assert _block_sums(problem, row_sums) == pytest.approx((3 * 1.7**2, 1.0 - 1.0), abs=1e-12)
    got.axpy(-1.0, reference)
    assert reference.norm() > 1.0 and got.norm() <= 1e-13 * reference.norm()


def test_block_coefficients_pack_each_form_when_indexed() -> None:
    problem = _problem("test_cb_coeffs_", {}, 1.0, 1.0)
    residual, jacobian = problem.F, problem.J
    packed = BlockCoefficients(residual)
    assert len(packed) == 2 and len(list(packed)) == 2 and len(packed[0:1]) == 1
    direct = dolfinx.fem.pack_coefficients(residual[0])
    assert packed[0].keys() == direct.keys()
    for key in direct:
        np.testing.assert_array_equal(packed[0][key], direct[key])
    rows = BlockCoefficients(jacobian)
    assert isinstance(rows[0], BlockCoefficients) and len(rows[1]) == 2
    assert BlockCoefficients([None])[0] is None


def test_difference_jacobian_action_matches_the_assembled_jacobian() -> None:
    problem = _problem("test_cb_fd_", {}, 1.3, 0.7)
    _use_residual_without_lifting(problem)
    snes, x = problem.solver, problem.x
    dolfinx.fem.petsc.assign(problem.u, x)
    F = problem.b.duplicate()
    snes.computeFunction(x, F)
    snes.computeJacobian(x, problem.A, problem.A)
    action = DifferenceJacobian(snes, x, step=1e-7)
    action.set_base(x, F)
    a = x.duplicate()
    owned = a.getLocalSize()
    a.setArray(np.cos(np.arange(owned) + 7.0 * MPI.COMM_WORLD.rank))
    y_fd, y = a.duplicate(), a.duplicate()
    action.mult(None, a, y_fd)
    problem.A.mult(a, y)
    rel = (y_fd - y).norm() / y.norm()
    assert y.norm() > 0 and rel < 1e-5, rel
    zero = a.duplicate()
    zero.zeroEntries()
    action.mult(None, zero, y_fd)
    assert y_fd.norm() == 0.0


@pytest.mark.parametrize("difference_step", [None, 1e-7])
def test_lazy_jacobian_assembles_once_per_pending(difference_step: float | None) -> None:
    options = {} if difference_step is None else {"ksp_type": "gmres", "ksp_rtol": 1e-12}
    problem = _problem(f"test_cb_lazy_{difference_step is None}_", options, 0.9, 0.9)
    _use_residual_without_lifting(problem)
    lazy = LazyJacobian(problem.solver, problem.x, difference_step=difference_step)
    problem.solve()
    snes = problem.solver
    assert snes.getConvergedReason() > 0
    its = snes.getIterationNumber()
    for w in problem.u:
        np.testing.assert_allclose(w.x.array, 1.0, rtol=1e-9)
    assert lazy.assemblies == 1
    if difference_step is None:
        # chord on the Jacobian at u = 0.9: contraction |1 − 3·1²/(3·0.9²)| = 0.23 per iteration
        assert its >= 8
    else:
        # the difference action is the current Jacobian: Newton's iteration count, lagged preconditioner
        assert its <= 6
    lazy.pending = True
    for w in problem.u:
        w.x.array[:] = 1.1
    problem.solve()
    assert snes.getConvergedReason() > 0 and lazy.assemblies == 2
