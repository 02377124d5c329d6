"""A linear-solver breakdown inside SNES does not poison the rest of the run.

PETSc leaves a SNES whose residual or factorisation raised with read-locked vectors (error 73 at
every later residual) or with a preconditioner that fails again at every solve; a 5C damage-study
run died that way in cycle 4 (MUMPS factorisation failed, then every retry failed at any dt).
:meth:`femsim.solvers.newton.NewtonSolver.recover` rebuilds the SNES/KSP/PC after such a
breakdown and the step is retried: the result equals an undisturbed step.
"""

from __future__ import annotations

import numpy as np
import pytest

from femsim.mpi import import_dolfinx

from _reliability_helpers import stepped_restart_problem, write_restart_case


@pytest.fixture(scope="module", params=["direct", "chord"])
def problem(request, meshed, tmp_path_factory):
    """The tiny restart case after one accepted step, predictor off (retries start from the
    previous level, so the disturbed and the undisturbed step start alike)."""
    import_dolfinx()
    from mpi4py import MPI

    folder = tmp_path_factory.mktemp(f"breakdown_{request.param}")
    write_restart_case(folder, meshed)
    prob, current = stepped_restart_problem(folder, MPI.COMM_SELF, preset=request.param, predictor=False)
    prob.commit()
    prob.current = current
    return prob


def _undisturbed(problem) -> list[np.ndarray]:
    problem.newton.refresh_jacobian()
    ok, _, _ = problem.step(0.5, problem.current)
    assert ok
    values = [u.x.array.copy() for u in problem.unknowns]
    problem.restore()
    return values


def _assert_same(problem, reference: list[np.ndarray]) -> None:
    for u, ref in zip(problem.unknowns, reference):
        scale = max(float(np.max(np.abs(ref))) if ref.size else 0.0, 1.0)
        assert np.max(np.abs(u.x.array - ref), initial=0.0) <= 1e-9 * scale, u.name


def test_exception_inside_the_residual_is_recovered(problem):
    from petsc4py import PETSc

    reference = _undisturbed(problem)
    snes = problem.newton.snes
    b, (residual, args, kwargs) = snes.getFunction()
    calls = {"n": 0}

    def failing_once(snes_, x, f, *a, **k):
        calls["n"] += 1
        if calls["n"] == 2:  # inside the Newton loop, after the first residual
            raise PETSc.Error(76)
        residual(snes_, x, f, *a, **k)

    snes.setFunction(failing_once, b, args=args, kargs=kwargs)
    rebuilds = problem.newton.rebuilds
    problem.newton.refresh_jacobian()
    ok, its, why = problem.step(0.5, problem.current)
    assert calls["n"] == 2, "the injected failure did not happen"
    assert ok, why
    assert problem.newton.rebuilds == rebuilds + 1
    _assert_same(problem, reference)
    problem.restore()
    ok, _, why = problem.step(0.5, problem.current)  # and later steps stay healthy
    assert ok, why
    problem.restore()


def test_failed_factorisation_is_recovered(problem):
    reference = _undisturbed(problem)
    # a factor package that cannot factor this matrix type (PETSc's own LU on MPIAIJ / a blocked
    # matrix): the PC fails at set-up, as MUMPS does when it runs out of memory
    pc = problem.newton.snes.getKSP().getPC()
    pc.reset()
    pc.setFactorSolverType("petsc")
    rebuilds = problem.newton.rebuilds
    problem.newton.refresh_jacobian()
    ok, its, why = problem.step(0.5, problem.current)
    assert ok, why
    assert problem.newton.rebuilds == rebuilds + 1
    assert problem.newton.snes.getKSP().getPC().getFactorSolverType() == "mumps"
    _assert_same(problem, reference)
    problem.restore()
