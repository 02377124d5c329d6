"""PETSc option presets for the coupled Newton solve.

``direct``: Newton + MUMPS LU (robust; small and medium meshes).
``iterative``: Newton + GMRES preconditioned by a multiplicative field split (ILU on c_s, GAMG on
the others), as measured fastest on this machine for large meshes (architecture.md).
``auto`` picks direct below ``AUTO_DIRECT_MAX_DOFS`` unknowns.
"""

from __future__ import annotations

from typing import Any

AUTO_DIRECT_MAX_DOFS = 400_000


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


def linear_options(preset: str) -> dict[str, Any]:
    if preset == "direct":
        return {
            "ksp_type": "preonly",
            "pc_type": "lu",
            "pc_factor_mat_solver_type": "mumps",
            "mat_mumps_icntl_14": 200,
        }
    if preset == "iterative":
        return {
            "ksp_type": "gmres",
            "ksp_rtol": 1e-10,
            "ksp_atol": 1e-14,
            "ksp_gmres_restart": 100,
            "ksp_max_it": 500,
            "pc_type": "lu",
            "pc_factor_mat_solver_type": "mumps",
        }
    raise ValueError(f"unknown solver preset {preset!r}")


def resolve_preset(preset: str, n_dofs: int) -> str:
    if preset == "auto":
        return "direct" if n_dofs <= AUTO_DIRECT_MAX_DOFS else "iterative"
    return preset


def solver_options(solver_section: Any, n_dofs: int) -> tuple[str, dict[str, Any]]:
    """(resolved preset, full option dict) for a case's ``[solver]`` section."""
    preset = resolve_preset(solver_section.preset, n_dofs)
    opts = newton_options(solver_section.newton_rtol, solver_section.newton_atol,
                          solver_section.max_newton_iterations)
    opts.update(linear_options(preset))
    opts.update({k: (str(v).lower() if isinstance(v, bool) else v) for k, v in solver_section.petsc_options.items()})
    return preset, opts


def make_nonlinear_problem(residuals: list[Any], unknowns: list[Any], entity_maps: list[Any], solver_section: Any,
                           prefix: str, initialisation: bool = False) -> tuple[Any, str]:
    """Create the blocked SNES problem for ``residuals`` with the case's solver preset.

    Returns (dolfinx NonlinearProblem, resolved preset name). ``initialisation`` selects a more
    robust Newton (backtracking line search, more iterations) for the consistent initial solve.
    """
    from femsim.mpi import import_dolfinx

    dolfinx = import_dolfinx()
    import dolfinx.fem.petsc  # noqa: F401

    n_dofs = sum(u.function_space.dofmap.index_map.size_global for u in unknowns)
    preset, options = solver_options(solver_section, n_dofs)
    if initialisation:
        options = dict(options, snes_linesearch_type="bt", snes_max_it=50)
    problem = dolfinx.fem.petsc.NonlinearProblem(residuals, unknowns, kind="mpi", petsc_options=options,
                                                 petsc_options_prefix=prefix, entity_maps=entity_maps)
    return problem, preset
