"""PETSc option presets for the coupled Newton solve.

``direct``: Newton + MUMPS LU of the Jacobian at every iteration (robust; small meshes). With
``LAG_LU`` > 1 the factors are lagged over that many iterations and GMRES runs on the true Jacobian.
``iterative``: Newton–chord like ``chord`` (the same lazily assembled Jacobian, kept across Newton
iterations and time steps, refreshed when the residual contracts by less than
``CHORD_REFRESH_CONTRACTION`` or dt left ``ITERATIVE_REFRESH_DT_RATIO``), but the lagged Jacobian is never factored:
each linear solve is GMRES on it to ``ITERATIVE_RTOL``, preconditioned by a multiplicative block
Gauss–Seidel field split over the unknowns (one split per field, index sets built from the block
layout of the ``kind="mpi"`` matrix, the electrolyte's migration coupling eliminated first, see
:class:`femsim.solvers.field_split.MigrationEliminationPC`): ILU (block Jacobi + ILU(0) in parallel) on the particle
concentration (mass-dominated: D_s Δt / h² ≪ 1), one V-cycle of GAMG with plain (unsmoothed)
aggregation on the potentials and the electrolyte concentration. Smoothed aggregation halves the
Krylov iterations but its Galerkin products on these operators cost ~10× more to set up (5C
Jacobian: 4.3 s vs 0.36 s per set-up, 16 ms per application, 36 GMRES iterations to 1e-6). Nothing
in it is super-linear in the mesh (no LU, no fill), and it is the only preset without a
factorisation anywhere (its consistent initialisation uses the field split too). The converged
solution is chord's (same residual and stopping test); the 5C reference takes 5.5 Newton
iterations per step (chord 5.3) and the same CPU time per step at 80k unknowns.
``chord``: Newton–chord with MUMPS: the Jacobian is assembled and factored only when the
iteration needs it and the factors are kept across Newton iterations *and* time steps
(:class:`femsim.solvers.callbacks.LazyJacobian`); every other iteration costs one residual
assembly and one pair of triangular solves (the unchanged matrix keeps its factors).
:class:`femsim.solvers.newton.NewtonSolver` asks for a fresh Jacobian (assembled and factored
once, at the next iteration) on the first step, when the residual contracts by less than
``CHORD_REFRESH_CONTRACTION`` per iteration and the factorisation pays (:func:`chord_refresh_pays`:
more than ``CHORD_REFRESH_ITERATIONS`` iterations still to go at that rate, or worse than
``CHORD_REFRESH_MAX_CONTRACTION``), when dt differs from the dt of the factored Jacobian by more
than ``CHORD_REFRESH_DT_RATIO``, before a step when the last ``CHORD_STALE_STEPS`` steps on the
same factors were each slow (:func:`chord_factors_stale`: factors that drift over many steps, which
the in-step test never sees as worth a refresh; 5C on the reference RVE, 2 ranks: 35 → 19
factorisations per charge, 109 → 78 per cycle, wall −20 % / −16 %, same step sequence), and before
retrying a failed step. The converged solution is the same as Newton's (same residual and stopping test).
``newton-krylov``: inexact Newton whose linear systems are solved by GMRES on the *exact*
Jacobian action, computed matrix-free by a scaled finite difference of the residual
(:class:`femsim.solvers.callbacks.DifferenceJacobian`: one residual assembly per Krylov
iteration, ~1/10 of a Jacobian assembly), preconditioned by the MUMPS factors of a lagged
assembled Jacobian, kept across Newton iterations and time steps like the chord preset's.
GMRES corrects for the staleness, so the factors stay useful far longer than in a chord
iteration: a fresh Jacobian is assembled and factored only on the first step, when a linear solve needs more than
``KRYLOV_REFRESH_ITERATIONS`` Krylov iterations (or fails), when the residual contracts by less
than ``KRYLOV_REFRESH_CONTRACTION``, when dt moved by more than ``KRYLOV_REFRESH_DT_RATIO`` from
the factored dt, or after a failed step (5C: 5–6 factorisations per charge instead of 23). The
super-linear factorisation then no longer sets the cost per step, which follows the (linear)
residual assembly and the (near-linear) triangular solves; below ~200k unknowns the chord
preset takes 2–25 % less time per step on two cores.
``auto`` picks direct up to ``AUTO_DIRECT_MAX_DOFS`` unknowns, chord up to ``AUTO_CHORD_MAX_DOFS``
and newton-krylov above (full 5C charges on 2 ranks, s per step, chord vs newton-krylov:
33.6k unknowns 0.44 vs 0.53–0.58, 80.1k 1.09 vs 1.34–1.36, 195.7k 3.33 vs 3.38–3.61; chord's
cost grows as DOFs^1.15 over these levels, newton-krylov's as DOFs^1.00–1.09).

Every option set here can be overridden from ``[solver] petsc_options``; the options that the
fieldsplit sub-solvers read at set-up time are left in the PETSc options database under the
problem's own prefix (``femsim_halfcell_``, ``femsim_potentials_``).
"""

from __future__ import annotations

import math
from typing import Any

#: coupled unknowns up to which ``auto`` uses the direct preset (5C reference: 80k → chord)
AUTO_DIRECT_MAX_DOFS = 30_000
#: coupled unknowns up to which ``auto`` uses the chord preset; newton-krylov above (the two cost
#: the same per step at ~200k unknowns on 2 cores, and chord's LU factorisation grows faster)
AUTO_CHORD_MAX_DOFS = 200_000
#: chord preset: refresh the Jacobian when ‖F_k‖/‖F_{k−1}‖ exceeds this
CHORD_REFRESH_CONTRACTION = 0.2
#: chord preset: ... but only when the iterations still needed at that contraction (to atol/rtol)
#: exceed this, or the contraction is worse than CHORD_REFRESH_MAX_CONTRACTION: a factorisation costs
#: ~20 chord iterations (80k unknowns, 2 ranks: 3.3-3.8 s against 0.17 s), and refreshing at every
#: ‖F_k‖/‖F_{k−1}‖ > 0.2 factored in 60 of 74 steps of a 5C discharge to 2.5 V
CHORD_REFRESH_ITERATIONS = 15
#: chord preset: a contraction ‖F_k‖/‖F_{k−1}‖ above this always refreshes the Jacobian
CHORD_REFRESH_MAX_CONTRACTION = 0.6
#: chord preset: refresh the Jacobian when dt / dt_factored leaves [1/r, r] (1.6 before: during the
#: dt ramp every other step factored, where 9 chord iterations instead of 4 cost less than the LU)
CHORD_REFRESH_DT_RATIO = 4.0
#: chord preset: refresh the Jacobian before a step when each of the last CHORD_STALE_STEPS steps
#: solved on the same (older) factors took at least max(CHORD_STALE_ITERATIONS, n_fresh +
#: CHORD_STALE_EXCESS) iterations, n_fresh being the iterations of the step that last factored: the
#: in-step test looks at one step only and lets a slowly drifting Jacobian cost 10-13 iterations a
#: step for 15-20 steps at dt_max (5C discharge at 3.8-3.65 V) where fresh factors take 3-4
CHORD_STALE_STEPS = 2
CHORD_STALE_ITERATIONS = 7
CHORD_STALE_EXCESS = 3
#: iterative preset: refresh the lagged Jacobian when dt / dt_factored leaves [1/r, r]
ITERATIVE_REFRESH_DT_RATIO = 1.6
#: chord preset: Newton iteration budget and "easy step" count, as multiples of the case's values
CHORD_ITERATION_FACTOR = 3
#: newton-krylov preset: GMRES relative tolerance of each Newton linear solve
KRYLOV_RTOL = 1e-2
#: newton-krylov preset: GMRES iteration cap (restart length) of one linear solve
KRYLOV_MAX_IT = 40
#: newton-krylov preset: refresh the lagged Jacobian when a linear solve needs more iterations
KRYLOV_REFRESH_ITERATIONS = 12
#: newton-krylov preset: refresh the lagged Jacobian when ‖F_k‖/‖F_{k−1}‖ exceeds this
KRYLOV_REFRESH_CONTRACTION = 0.5
#: newton-krylov preset: refresh the lagged Jacobian when dt / dt_factored leaves [1/r, r]
KRYLOV_REFRESH_DT_RATIO = 4.0
#: newton-krylov preset: finite-difference step of the Jacobian action, as the largest change of
#: any unknown in its own scale (c/c_ref, φ in V); see femsim.solvers.callbacks.DifferenceJacobian
KRYLOV_DIFFERENCE_STEP = 1e-6
#: iterative preset: GMRES relative tolerance of each (lagged-Jacobian) linear solve
ITERATIVE_RTOL = 1e-3
#: iterative preset: GMRES iteration cap (restart length) of one linear solve
ITERATIVE_MAX_IT = 200
#: iterative preset: GAMG prolongator smoothing steps (0: plain aggregation)
GAMG_PROLONGATOR_SMOOTHS = 0
#: Newton iterations between MUMPS factorisations for the direct preset (1: every iteration)
LAG_LU = 1
#: unknowns treated with (block-Jacobi) ILU in the iterative preset; all others get GAMG
ILU_FIELDS = ("particle_concentration",)
#: the splits of the iterative preset, in order (unknowns absent from a problem are skipped;
#: unknowns not listed get a split of their own)
SPLITS: list[tuple[str, ...]] = [("particle_concentration",), ("electrolyte_concentration",), ("solid_potential",),
                                 ("electrolyte_potential",)]
#: (concentration, potential) pair on one space whose migration coupling is eliminated in the
#: preconditioner (see :class:`femsim.solvers.field_split.MigrationEliminationPC`)
ELIMINATE = ("electrolyte_concentration", "electrolyte_potential")
ELIMINATE_MIGRATION = True


#: presets whose Jacobian is assembled lazily (see :class:`femsim.solvers.callbacks.LazyJacobian`),
#: with their refresh thresholds: (residual contraction ‖F_k‖/‖F_{k−1}‖, dt / dt_factored ratio)
LAGGED_PRESETS = {"chord": (CHORD_REFRESH_CONTRACTION, CHORD_REFRESH_DT_RATIO),
                  "newton-krylov": (KRYLOV_REFRESH_CONTRACTION, KRYLOV_REFRESH_DT_RATIO),
                  "iterative": (CHORD_REFRESH_CONTRACTION, ITERATIVE_REFRESH_DT_RATIO)}
#: lagged presets that take chord's Newton budget (CHORD_ITERATION_FACTOR × the case's)
CHORD_BUDGET_PRESETS = ("chord", "iterative")


def chord_refresh_pays(contraction: float, fnorm: float, target: float) -> bool:
    """chord: whether a contraction ‖F_k‖/‖F_{k−1}‖ (> CHORD_REFRESH_CONTRACTION) at the residual
    ``fnorm`` asks for a fresh Jacobian: when it exceeds CHORD_REFRESH_MAX_CONTRACTION, or when
    reaching ``target`` at that rate would take more than CHORD_REFRESH_ITERATIONS iterations."""
    if contraction >= CHORD_REFRESH_MAX_CONTRACTION:
        return True
    if fnorm <= target or contraction <= 0.0:
        return False
    return math.log(target / fnorm) / math.log(contraction) > CHORD_REFRESH_ITERATIONS


def chord_factors_stale(step_iterations: list[int], fresh_iterations: int) -> bool:
    """chord: whether the Newton iterations of the steps solved since the last factorisation
    (oldest first) show persistently stale factors (see CHORD_STALE_STEPS)."""
    if len(step_iterations) < CHORD_STALE_STEPS:
        return False
    floor = max(CHORD_STALE_ITERATIONS, fresh_iterations + CHORD_STALE_EXCESS)
    return all(n >= floor for n in step_iterations[-CHORD_STALE_STEPS:])


def field_splits(fields: list[str]) -> list[list[int]]:
    """Group the unknowns (by name) into the preset's splits: lists of block indices."""
    groups = [[fields.index(f) for f in split if f in fields] for split in SPLITS]
    groups = [g for g in groups if g]
    listed = {k for g in groups for k in g}
    return groups + [[k] for k in range(len(fields)) if k not in listed]


def newton_options(rtol: float, atol: float, max_it: int) -> dict[str, Any]:
    return {
        "snes_type": "newtonls",
        "snes_linesearch_type": "basic",
        "snes_rtol": rtol,
        "snes_atol": atol,
        "snes_stol": 0.0,
        "snes_max_it": max_it,
        "snes_divergence_tolerance": 1e12,
    }


def _gamg(prefix: str) -> dict[str, Any]:
    return {
        f"{prefix}ksp_type": "preonly",
        f"{prefix}pc_type": "gamg",
        f"{prefix}pc_gamg_type": "agg",
        f"{prefix}pc_gamg_agg_nsmooths": GAMG_PROLONGATOR_SMOOTHS,
        f"{prefix}pc_gamg_threshold": 0.02,
        f"{prefix}pc_gamg_coarse_eq_limit": 1000,
        f"{prefix}mg_levels_ksp_type": "chebyshev",
        f"{prefix}mg_levels_ksp_max_it": 2,
        f"{prefix}mg_levels_pc_type": "jacobi",
        f"{prefix}mg_coarse_ksp_type": "preonly",
        f"{prefix}mg_coarse_pc_type": "lu",
    }


def _ilu(prefix: str) -> dict[str, Any]:
    return {
        f"{prefix}ksp_type": "preonly",
        f"{prefix}pc_type": "bjacobi",
        f"{prefix}sub_pc_type": "ilu",
    }


def linear_options(preset: str, fields: list[str] | None = None) -> dict[str, Any]:
    """KSP/PC options of a preset; ``fields`` (unknown names) sets the per-split sub-solvers."""
    if preset == "direct":
        opts: dict[str, Any] = {
            "ksp_type": "preonly",
            "pc_type": "lu",
            "pc_factor_mat_solver_type": "mumps",
            "mat_mumps_icntl_14": 200,
        }
        if LAG_LU > 1:
            opts.update({"ksp_type": "gmres", "ksp_rtol": 1e-10, "ksp_max_it": 50,
                         "snes_lag_preconditioner": LAG_LU})
        return opts
    if preset == "chord":
        return {
            "ksp_type": "preonly",
            "pc_type": "lu",
            "pc_factor_mat_solver_type": "mumps",
            "mat_mumps_icntl_14": 200,
        }
    if preset == "newton-krylov":
        return {
            "ksp_type": "gmres",
            "ksp_pc_side": "right",
            "ksp_gmres_restart": KRYLOV_MAX_IT,
            "ksp_rtol": KRYLOV_RTOL,
            "ksp_atol": 0.0,
            "ksp_max_it": KRYLOV_MAX_IT,
            "snes_max_linear_solve_fail": 10_000,  # a capped GMRES solve still gives a usable step
            "pc_type": "lu",
            "pc_factor_mat_solver_type": "mumps",
            "mat_mumps_icntl_14": 200,
        }
    if preset == "iterative":
        opts = {
            "ksp_type": "gmres",
            "ksp_pc_side": "right",
            "ksp_rtol": ITERATIVE_RTOL,
            "ksp_atol": 0.0,
            "ksp_gmres_restart": ITERATIVE_MAX_IT,
            "ksp_max_it": ITERATIVE_MAX_IT,
            "snes_max_linear_solve_fail": 10_000,  # a capped GMRES solve still gives a usable step
            "pc_type": "fieldsplit",
            "pc_fieldsplit_type": "multiplicative",
        }
        names = fields or []
        for k, group in enumerate(field_splits(names)):
            prefix = f"fieldsplit_{k}_"
            ilu = all(names[b] in ILU_FIELDS for b in group)
            opts.update(_ilu(prefix) if ilu else _gamg(prefix))
        return opts
    raise ValueError(f"unknown solver preset {preset!r}")


def resolve_preset(preset: str, n_dofs: int) -> str:
    if preset == "auto":
        if n_dofs <= AUTO_DIRECT_MAX_DOFS:
            return "direct"
        return "chord" if n_dofs <= AUTO_CHORD_MAX_DOFS else "newton-krylov"
    return preset


def _petsc_value(v: Any) -> Any:
    return str(v).lower() if isinstance(v, bool) else v


def solver_options(solver_section: Any, n_dofs: int, fields: list[str] | None = None) -> tuple[str, dict[str, Any]]:
    """(resolved preset, full option dict) for a case's ``[solver]`` section."""
    preset = resolve_preset(solver_section.preset, n_dofs)
    opts = newton_options(solver_section.newton_rtol, solver_section.newton_atol,
                          solver_section.max_newton_iterations)
    opts.update(linear_options(preset, fields))
    if preset in CHORD_BUDGET_PRESETS:
        opts["snes_max_it"] = CHORD_ITERATION_FACTOR * solver_section.max_newton_iterations
    opts.update(solver_section.petsc_options)
    return preset, {k: _petsc_value(v) for k, v in opts.items()}
