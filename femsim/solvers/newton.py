"""Newton solve of a blocked residual: the preset, the convergence test and the lagged Jacobian.

:class:`NewtonSolver` wraps DOLFINx's ``NonlinearProblem`` (PETSc SNES, ``kind="mpi"``) and owns
what femsim adds to it as its own attributes: the resolved solver preset
(:mod:`femsim.solvers.presets`), the lazily assembled Jacobian of the lagged presets
(:class:`femsim.solvers.callbacks.LazyJacobian`), the preconditioner context of the iterative
preset and the convergence test (:class:`ConvergenceTest`).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from femsim.solvers import field_split, presets

LOG = logging.getLogger(__name__)

#: a residual within this factor of ``newton_atol`` that no longer contracts (‖F_k‖ ≥
#: ``STALLED_CONTRACTION`` ‖F_{k−1}‖) has reached its round-off floor: converged. Near the end of a
#: fast discharge the saturated particle surfaces make the Jacobian ill-conditioned and the floor
#: rises above atol (6-particle RVE, 5C at 2.57 V: ‖F‖ 1.3–1.5e-6 for 25 iterations, atol 1e-6;
#: 4-particle coarse RVE, 5C at 2.55 V: 1.3–1.6e-5 for 15 iterations, where a factor 10 failed every
#: solve and cut dt from 0.6 s to 6e-4 s)
STALLED_ATOL_FACTOR = 100.0
STALLED_CONTRACTION = 0.9
#: PETSc's SNES_DIVERGED_LINEAR_SOLVE and KSP_DIVERGED_PC_FAILED
SNES_DIVERGED_LINEAR_SOLVE = -3
KSP_DIVERGED_PC_FAILED = -11


class ConvergenceTest:
    """SNES convergence test: the weighted residual (atol/rtol; or a residual stalled within
    ``STALLED_ATOL_FACTOR`` atol) or a negligible update.

    The update test (max |δu_b| / scale_b ≤ ``newton_update_tol`` over the blocks, with
    concentrations scaled by c_max or c_e0 and potentials in V) recognises convergence when the
    residual has reached its round-off floor, which depends on the conductivities.
    With ``chord`` the test also asks for a fresh Jacobian at the next iteration when the
    residual contracted by less than ``CHORD_REFRESH_CONTRACTION`` and the factorisation pays
    (:func:`~femsim.solvers.presets.chord_refresh_pays`: more than ``CHORD_REFRESH_ITERATIONS``
    iterations still to go at that rate, or a contraction above ``CHORD_REFRESH_MAX_CONTRACTION``).
    With ``newton-krylov`` a fresh Jacobian is asked for when the last linear solve took more
    than ``KRYLOV_REFRESH_ITERATIONS`` GMRES iterations or failed, or the residual contracted
    by less than ``KRYLOV_REFRESH_CONTRACTION``.
    """

    def __init__(self, solver: NewtonSolver, weights: np.ndarray, solver_section: Any):
        self.solver = solver
        self.weights = weights
        self.rtol, self.atol = solver_section.newton_rtol, solver_section.newton_atol
        self.update_tol = solver_section.newton_update_tol
        self.max_it = solver.snes.getTolerances()[3]  # the preset's budget (chord: ×3; initialisation: 50)
        self.theta = presets.LAGGED_PRESETS[solver.preset][0] if solver.lagged else 0.0
        self.krylov = solver.preset == "newton-krylov"
        self.initial_norm = 0.0  # set at iteration 0 of every solve
        self.previous_norm: float | None = None

    def __call__(self, snes: Any, it: int, norms: tuple[float, float, float]) -> int:
        _, _, fnorm = norms
        previous, self.previous_norm = self.previous_norm, fnorm
        if it == 0:
            self.initial_norm = fnorm
            return 2 if fnorm <= self.atol else 0
        if not np.isfinite(fnorm):
            return -4  # DIVERGED_FNORM_NAN
        if fnorm <= self.atol:
            return 2  # CONVERGED_FNORM_ABS
        if fnorm <= self.rtol * self.initial_norm:
            return 3  # CONVERGED_FNORM_RELATIVE
        if previous is not None and STALLED_CONTRACTION * previous <= fnorm <= STALLED_ATOL_FACTOR * self.atol:
            return 2  # stalled at its round-off floor within a few atol: converged (CONVERGED_FNORM_ABS)
        dx = snes.getSolutionUpdate().getArray(readonly=True)
        local = float(np.max(np.abs(dx) * self.weights)) if dx.size else 0.0
        if self.solver.comm.allreduce(local, op=_mpi("MAX")) <= self.update_tol:
            return 4  # CONVERGED_SNORM_RELATIVE (negligible update)
        if it >= self.max_it:
            return -5  # DIVERGED_MAX_IT
        if self.solver.lagged:
            slow = bool(previous) and fnorm > self.theta * (previous or 0.0)
            if slow and self.solver.preset == "chord" and previous:
                target = max(self.atol, self.rtol * self.initial_norm)
                slow = presets.chord_refresh_pays(fnorm / previous, fnorm, target)
            if self.krylov:
                ksp = snes.getKSP()
                slow |= ksp.getConvergedReason() < 0 or ksp.getIterationNumber() > presets.KRYLOV_REFRESH_ITERATIONS
            if slow:
                self.solver.refresh_jacobian()
        return 0


class NewtonSolver:
    """Blocked Newton solve of ``residuals`` for ``unknowns`` with a case's ``[solver]`` preset.

    Args:
        residuals: one UFL form per unknown.
        unknowns: the DOLFINx Functions (block order).
        scales: the scale of each unknown in its unit (update test, difference Jacobian step).
        entity_maps: the submeshes' entity maps.
        solver_section: the case's ``[solver]``.
        prefix: PETSc options prefix of this problem.
        initialisation: a more robust Newton (backtracking line search, more iterations, plain
            LU) for the one-off consistent initial solve.
        time_step: the dt Constant of the residual (the lagged Jacobian remembers its dt).
    """

    def __init__(self, residuals: list[Any], unknowns: list[Any], scales: list[float], entity_maps: list[Any],
                 solver_section: Any, prefix: str, initialisation: bool = False, time_step: Any = None):
        self.unknowns = list(unknowns)
        self.comm = unknowns[0].function_space.mesh.comm
        self.time_step = time_step
        self._definition = (list(residuals), solver_section, prefix, list(entity_maps), initialisation)
        self.weights = np.concatenate([np.full(u.function_space.dofmap.index_map.size_local
                                               * u.function_space.dofmap.index_map_bs, 1.0 / sc)
                                       for u, sc in zip(self.unknowns, scales)])
        #: Jacobians assembled by the lazy Jacobians of earlier (rebuilt) problems
        self._earlier_assemblies = 0
        #: times the SNES/KSP/PC was rebuilt after a linear-solver breakdown
        self.rebuilds = 0
        #: the last solve broke the linear solver (PETSc error, failed preconditioner): rebuild
        self.broken = False
        self._build()
        #: dt (s) of the Jacobian held by a lagged preset (None: refresh at the next solve)
        self.jacobian_dt: float | None = None
        #: chord: iterations of the step that last factored, and of each step solved since on its factors
        self._fresh_iterations = 0
        self._stale_iterations: list[int] = []
        #: the stepper grows dt after a step that needed at most this many iterations
        self.easy_newton_iterations = solver_section.easy_newton_iterations * (
            presets.CHORD_ITERATION_FACTOR if self.preset in presets.CHORD_BUDGET_PRESETS else 1)

    def _build(self) -> None:
        """The NonlinearProblem (SNES, KSP, PC, vectors, matrices), its lazy Jacobian and its
        convergence test, from the stored definition."""
        residuals, solver_section, prefix, entity_maps, initialisation = self._definition
        #: the LazyJacobian of a lagged preset (None: SNES assembles the Jacobian at every iteration)
        self.lazy_jacobian: Any = None
        #: the Python preconditioner of the iterative preset (MigrationEliminationPC) or None
        self.preconditioner: Any = None
        self.problem, self.preset = self._make_problem(residuals, solver_section, prefix, entity_maps, initialisation)
        self.lagged = self.lazy_jacobian is not None
        self.convergence_test = ConvergenceTest(self, self.weights, solver_section)
        self.snes.setConvergenceTest(self.convergence_test)
        if self.lazy_jacobian is not None and self.lazy_jacobian.action is not None:
            self.lazy_jacobian.action.weights = self.weights

    @property
    def snes(self) -> Any:
        """The PETSc SNES."""
        return self.problem.solver

    def _make_problem(self, residuals: list[Any], solver_section: Any, prefix: str, entity_maps: list[Any],
                      initialisation: bool) -> tuple[Any, str]:
        from femsim.mpi import import_dolfinx

        import_dolfinx()
        import dolfinx.fem.petsc
        from petsc4py import PETSc

        from femsim.solvers.callbacks import LazyJacobian, assemble_jacobian_by_block, residual_without_lifting

        # options left in PETSc's global database under this prefix by an earlier problem (the field
        # split keeps its sub-solver options there) must not reach this one
        database = PETSc.Options()
        for key in list(database.getAll()):
            if key.startswith(prefix):
                database.delValue(key)
        n_dofs = sum(u.function_space.dofmap.index_map.size_global for u in self.unknowns)
        fields = [u.name for u in self.unknowns]
        preset, options = presets.solver_options(solver_section, n_dofs, fields)
        if initialisation:
            options = dict(options, snes_linesearch_type="bt", snes_max_it=50)
            if preset in presets.LAGGED_PRESETS and preset != "iterative":  # plain Newton + LU (iterative: no LU)
                options = ({k: v for k, v in options.items() if not k.startswith("ksp_")}
                           | presets.linear_options("direct"))
            options.pop("snes_lag_preconditioner", None)
            options.pop("snes_lag_preconditioner_persists", None)
        problem = dolfinx.fem.petsc.NonlinearProblem(residuals, self.unknowns, kind="mpi", petsc_options=options,
                                                     petsc_options_prefix=prefix, entity_maps=entity_maps)
        snes: Any = problem.solver
        b, (_, args, kwargs) = snes.getFunction()
        snes.setFunction(residual_without_lifting, b, args=args, kargs=kwargs)
        J, P, (_, args, kwargs) = snes.getJacobian()
        snes.setJacobian(assemble_jacobian_by_block, J, P, args=args, kargs=kwargs)
        if preset in presets.LAGGED_PRESETS and not initialisation:
            step = presets.KRYLOV_DIFFERENCE_STEP if preset == "newton-krylov" else None
            self.lazy_jacobian = LazyJacobian(problem.solver, problem.x, difference_step=step)
        self.preconditioner = field_split.configure_field_split(problem, self.unknowns, options, prefix)
        return problem, preset

    # -- the lagged Jacobian ------------------------------------------------------------------------
    def refresh_jacobian(self) -> None:
        """Lagged presets: assemble and factor the Jacobian at the next Newton iteration (once);
        nothing for the others."""
        if self.lazy_jacobian is None:
            return
        self.lazy_jacobian.pending = True
        self.jacobian_dt = float(self.time_step.value) if self.time_step is not None else None

    def prepare_step(self, dt: float) -> None:
        """Before a time step of length dt (s): a lagged Jacobian is refreshed when none is held
        or when dt left [1/r, r] × its dt (r: the preset's dt ratio)."""
        if not self.lagged:
            return
        r = presets.LAGGED_PRESETS[self.preset][1]
        if self.jacobian_dt is None or not 1.0 / r <= dt / self.jacobian_dt <= r:
            self.refresh_jacobian()
        elif self.preset == "chord" and presets.chord_factors_stale(self._stale_iterations, self._fresh_iterations):
            LOG.debug("chord factors stale (%s iterations per step): refreshed", self._stale_iterations)
            self.refresh_jacobian()

    def recover(self) -> None:
        """After a failed solve: a fresh Jacobian for lagged presets, and a lagged preconditioner
        (possibly stale) rebuilt at the next linear solve. After a linear-solver breakdown (a PETSc
        error inside SNES, or a failed factorisation/preconditioner: MUMPS out of memory or a zero
        pivot) the whole SNES/KSP/PC is rebuilt: PETSc leaves such a solver with read-locked
        vectors (error 73) or a preconditioner that fails again at every later solve."""
        if self.broken:
            self._rebuild()
            return
        if self.lagged:
            self.refresh_jacobian()
        pc = self.snes.getKSP().getPC()
        if pc.getType() != "fieldsplit":  # (resetting a field split would drop its index sets)
            pc.reset()

    def _rebuild(self) -> None:
        if self.lazy_jacobian is not None:
            self._earlier_assemblies += self.lazy_jacobian.assemblies
        old = self.problem
        self._build()
        self.broken = False
        self.rebuilds += 1
        self.jacobian_dt = None
        try:
            old.solver.destroy()
        except Exception:  # pragma: no cover - a broken solver may refuse to be destroyed
            pass
        LOG.warning("linear solver broke down: SNES/KSP/PC rebuilt (%d so far)", self.rebuilds)

    @property
    def jacobian_assemblies(self) -> int | None:
        """Jacobians assembled (and factored) so far by a lagged preset; None for other presets."""
        if self.lazy_jacobian is None:
            return None
        return self._earlier_assemblies + self.lazy_jacobian.assemblies

    # -- solve ----------------------------------------------------------------------------------
    def solve(self) -> tuple[bool, int, str]:
        """Run SNES from the unknowns' present values. Returns (converged and finite on every
        rank, iterations, reason)."""
        from petsc4py import PETSc

        broken = False
        assemblies = self.jacobian_assemblies
        try:
            self.problem.solve()
        except PETSc.Error as exc:  # a linear-solver breakdown inside SNES (PETSc error code)
            lines = str(exc).strip().splitlines() or ["?"]
            broken, ok, why = True, False, f"PETSc {lines[0]}: {lines[-1].removeprefix('[0] ').strip()}"
        else:
            reason = self.snes.getConvergedReason()
            ok = reason > 0 and all(np.isfinite(u.x.array).all() for u in self.unknowns)
            why = f"SNES reason {reason}"
            ksp = self.snes.getKSP()
            if reason == SNES_DIVERGED_LINEAR_SOLVE and ksp.getConvergedReason() == KSP_DIVERGED_PC_FAILED:
                broken, why = True, f"{why} (preconditioner failed, PC reason {ksp.getPC().getFailedReason()})"
        its = self.snes.getIterationNumber()
        ok = bool(self.comm.allreduce(ok, op=_mpi("LAND")))
        self.broken = bool(self.comm.allreduce(broken, op=_mpi("LOR")))
        if assemblies is not None:
            self._record_step(ok, its, self.jacobian_assemblies != assemblies)
        return ok, its, why

    def _record_step(self, ok: bool, its: int, factored: bool) -> None:
        """Lagged presets: remember the iterations per solve on the present factors (the stale test
        of :meth:`prepare_step`)."""
        if factored:
            self._fresh_iterations, self._stale_iterations = its, []
        elif ok:
            self._stale_iterations = self._stale_iterations[-presets.CHORD_STALE_STEPS:] + [its]


def _mpi(name: str) -> Any:
    from mpi4py import MPI

    return getattr(MPI, name)
