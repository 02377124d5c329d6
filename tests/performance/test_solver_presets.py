"""Fast sanity checks of the solver presets (issue 8): ``auto`` picks the chord preset on large
meshes; the chord preset (MUMPS factors kept across Newton iterations and steps) and the iterative
preset (chord's lagged Jacobian, GMRES + fieldsplit/GAMG, no LU) give the same voltage series as the
direct one on the coarse CI geometry; chord assembles far fewer Jacobians than it takes iterations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from femsim.case import parse_case, read_toml
from femsim.solvers import presets

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "cases" / "ci" / "tiny.toml"


def test_auto_resolution_and_options():
    case = parse_case(read_toml(TINY), TINY)
    assert presets.resolve_preset("auto", 10_000) == "direct"
    assert presets.resolve_preset("auto", 98_000) == "chord"
    assert presets.resolve_preset("auto", 400_000) == "newton-krylov"
    fields = ["particle_concentration", "solid_potential", "electrolyte_concentration", "electrolyte_potential"]
    preset, opts = presets.solver_options(case.solver, 98_000, fields)
    assert preset == "chord" and opts["pc_factor_mat_solver_type"] == "mumps"
    assert opts["snes_max_it"] == presets.CHORD_ITERATION_FACTOR * case.solver.max_newton_iterations
    case.solver.preset = "iterative"
    preset, opts = presets.solver_options(case.solver, 98_000, fields)
    assert preset == "iterative" and opts["pc_type"] == "fieldsplit" and opts["ksp_type"] == "gmres"
    assert opts["snes_max_it"] == presets.CHORD_ITERATION_FACTOR * case.solver.max_newton_iterations
    lu = [k for k, v in opts.items() if v == "lu" and not k.endswith("mg_coarse_pc_type")]
    assert not lu, "no LU but GAMG's coarsest"
    splits = presets.field_splits(fields)
    assert sorted(k for g in splits for k in g) == [0, 1, 2, 3]
    ilu = [k for k, g in enumerate(splits) if all(fields[b] in presets.ILU_FIELDS for b in g)]
    assert all(opts[f"fieldsplit_{k}_sub_pc_type"] == "ilu" for k in ilu)
    assert sum(opts.get(f"fieldsplit_{k}_pc_type") == "gamg" for k in range(len(splits))) == len(splits) - len(ilu)
    # a two-field problem (the consistent initialisation) gets one split per field
    assert presets.field_splits(["solid_potential", "electrolyte_potential"]) == [[0], [1]]
    case.solver.preset = "newton-krylov"
    preset, opts = presets.solver_options(case.solver, 98_000, fields)
    assert preset == "newton-krylov" and (opts["ksp_type"], opts["pc_type"]) == ("gmres", "lu")
    assert opts["snes_max_it"] == case.solver.max_newton_iterations and opts["ksp_pc_side"] == "right"
    case.solver.preset = "auto"
    preset, opts = presets.solver_options(case.solver, 1_000, fields)
    assert preset == "direct" and opts["pc_factor_mat_solver_type"] == "mumps"


def _run(preset: str, folder: Path, comm, summary: dict | None = None) -> np.ndarray:
    from femsim.simulation import run_case

    data = read_toml(TINY)
    data["protocol"].update(end_time_s=12.0)
    data["solver"] = dict(data.get("solver", {}), preset=preset)
    data["mechanics"] = {"enabled": False}
    data["output"] = {"folder": str(folder), "fields": False, "times_s": [6.0], "progress": False}
    case = parse_case(data, TINY)
    result = run_case(case, comm=comm)
    assert result.status == "finished"
    if summary is not None:
        summary.update(result.summary)
    return np.loadtxt(folder / "timeseries.csv", delimiter=",", skiprows=1, ndmin=2, usecols=range(9))


@pytest.fixture(scope="module")
def direct_series(tmp_path_factory) -> np.ndarray:
    """The direct preset's series, the reference of the preset comparisons (run once)."""
    from femsim.mpi import comm_world

    comm = comm_world()
    root = Path(comm.bcast(str(tmp_path_factory.mktemp("direct")) if comm.rank == 0 else None, root=0))
    return _run("direct", root / "direct", comm)


def test_iterative_matches_direct(tmp_path_factory, direct_series):
    """The iterative preset (lagged Jacobian, GMRES + field split/GAMG, no LU) takes Newton + LU's
    steps to within 1 µV and assembles ≥ 3× fewer Jacobians than it iterates."""
    from femsim.mpi import comm_world

    comm = comm_world()
    root = Path(comm.bcast(str(tmp_path_factory.mktemp("presets")) if comm.rank == 0 else None, root=0))
    direct = direct_series
    summary: dict = {}
    iterative = _run("iterative", root / "iterative", comm, summary)
    assert direct.shape == iterative.shape, "same accepted steps"
    np.testing.assert_allclose(iterative[:, 0], direct[:, 0], rtol=0, atol=1e-9)  # times
    np.testing.assert_allclose(iterative[:, 2], direct[:, 2], rtol=0, atol=1e-6)  # voltage (V)
    assert summary["solver_preset"] == "iterative"
    assert 0 < 3 * summary["jacobian_assemblies"] <= summary["newton_iterations_total"], summary


@pytest.mark.parallel
def test_lagged_presets_match_direct(tmp_path_factory, direct_series):
    """chord and newton-krylov take Newton + LU's steps, their voltage within 1 µV and Δφ_l within
    0.1 µV; chord assembles ≥ 3× fewer Jacobians than it iterates, newton-krylov fewer than chord
    (GMRES keeps the lagged factors useful for longer)."""
    from femsim.mpi import comm_world

    comm = comm_world()
    root = Path(comm.bcast(str(tmp_path_factory.mktemp("lagged")) if comm.rank == 0 else None, root=0))
    direct = direct_series
    info: dict = {"chord": {}, "newton-krylov": {}}
    for preset, summary in info.items():
        series = _run(preset, root / preset, comm, summary)
        assert direct.shape == series.shape, f"{preset}: same accepted steps"
        np.testing.assert_allclose(series[:, 0], direct[:, 0], rtol=0, atol=1e-9)  # times
        np.testing.assert_allclose(series[:, 2], direct[:, 2], rtol=0, atol=1e-6)  # voltage (V)
        np.testing.assert_allclose(series[:, 3], direct[:, 3], rtol=0, atol=1e-7)  # Δφ_l (V)
        assert summary["solver_preset"] == preset
    chord, krylov = info["chord"], info["newton-krylov"]
    assert 0 < 3 * chord["jacobian_assemblies"] <= chord["newton_iterations_total"], chord
    assert 0 < krylov["jacobian_assemblies"] < chord["jacobian_assemblies"], info


def test_petsc_options_keep_their_toml_types():
    """Integers stay integers (PETSc rejects "2.0" for an integer option), booleans stay booleans."""
    data = read_toml(TINY)
    data["solver"] = dict(data.get("solver", {}), petsc_options={"mat_mumps_icntl_14": 300, "ksp_rtol": 1e-7,
                                                                 "snes_converged_reason": True, "pc_type": "lu"})
    case = parse_case(data, TINY)
    opts = case.solver.petsc_options
    assert opts == {"mat_mumps_icntl_14": 300, "ksp_rtol": 1e-7, "snes_converged_reason": True, "pc_type": "lu"}
    assert type(opts["mat_mumps_icntl_14"]) is int and type(opts["snes_converged_reason"]) is bool
    _, merged = presets.solver_options(case.solver, 1_000, ["solid_potential"])
    assert merged["mat_mumps_icntl_14"] == 300 and merged["snes_converged_reason"] == "true"


@pytest.mark.parallel
def test_difference_jacobian_action(tmp_path_factory):
    """The scaled finite-difference Jacobian action equals the assembled Jacobian's product to
    < 1e-8 (5e-10 measured) for directions mixing concentrations (10⁴ mol/m³) and potentials (V);
    a step from the global norm (PETSc's MFFD rule h = √ε·√(1+‖u‖)/‖a‖) is > 1000× less accurate
    here (1.4e-5)."""
    from femsim.mpi import comm_world, import_dolfinx
    from femsim.simulation import Simulation
    from femsim.solvers.stepping import stepper_for

    import_dolfinx()
    comm = comm_world()
    root = Path(comm.bcast(str(tmp_path_factory.mktemp("fdjac")) if comm.rank == 0 else None, root=0))
    data = read_toml(TINY)
    data["solver"] = dict(data.get("solver", {}), preset="newton-krylov")
    data["mechanics"] = {"enabled": False}
    data["output"] = {"folder": str(root / "out"), "fields": False, "progress": False}
    case = parse_case(data, TINY)
    sim = Simulation(case, comm)
    sim.setup()
    p = sim.problem
    stepper = stepper_for(p, case)
    p.set_initial_state()
    assert p.solve_potentials(stepper.current())[0]
    p.commit()
    p.dt.value = 2.0
    snes = p.newton.snes
    lazy = p.newton.lazy_jacobian
    x = p.newton.problem.x
    from dolfinx.fem.petsc import assign

    assign(p.unknowns, x)
    x.ghostUpdate()
    F = snes.getFunction()[0]
    snes.computeFunction(x, F)
    J = p.newton.problem.A
    lazy.pending = True
    lazy(snes, x, lazy.operator, J)  # assembles J at x and re-bases the difference operator
    assert lazy.assemblies == 1
    rng = np.random.default_rng(comm.rank)
    a = x.duplicate()  # ghosted vectors throughout: the residual callback writes ghosts
    a.setArray(rng.standard_normal(a.getLocalSize()) / lazy.action.weights)  # O(1) in every unknown's scale
    exact, fd = x.duplicate(), x.duplicate()
    J.mult(a, exact)
    lazy.operator.mult(a, fd)
    fd.axpy(-1.0, exact)
    error = fd.norm() / exact.norm()
    assert error < 1e-8, error
    # the same difference with a global-norm step
    h = np.sqrt(np.finfo(float).eps) * np.sqrt(1.0 + x.norm()) / a.norm()
    w = x.duplicate()
    w.waxpy(h, a, x)
    snes.computeFunction(w, fd)
    fd.axpy(-1.0, F)
    fd.scale(1.0 / h)
    fd.axpy(-1.0, exact)
    assert fd.norm() / exact.norm() > 1000 * error
