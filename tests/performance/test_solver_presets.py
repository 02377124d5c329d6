"""Fast sanity checks of the solver presets (issue 8): ``auto`` picks the field-split preset on
large meshes, the iterative preset (fieldsplit + GAMG, lagged preconditioner, predictor) gives the
same voltage series as the direct one on the coarse CI geometry, on 1 and 2 ranks."""

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
    assert presets.resolve_preset("auto", 98_000) == "iterative"
    fields = ["particle_concentration", "solid_potential", "electrolyte_concentration", "electrolyte_potential"]
    preset, opts = presets.solver_options(case.solver, 98_000, fields)
    assert preset == "iterative" and opts["pc_type"] == "fieldsplit" and opts["ksp_type"] == "gmres"
    splits = presets.field_splits(fields)
    assert sorted(k for g in splits for k in g) == [0, 1, 2, 3]
    ilu = [k for k, g in enumerate(splits) if all(fields[b] in presets.ILU_FIELDS for b in g)]
    assert all(opts[f"fieldsplit_{k}_sub_pc_type"] == "ilu" for k in ilu)
    assert sum(opts.get(f"fieldsplit_{k}_pc_type") == "gamg" for k in range(len(splits))) == len(splits) - len(ilu)
    # a two-field problem (the consistent initialisation) gets one split per field
    assert presets.field_splits(["solid_potential", "electrolyte_potential"]) == [[0], [1]]
    _, opts = presets.solver_options(case.solver, 1_000, fields)
    assert opts["pc_factor_mat_solver_type"] == "mumps"


def _run(preset: str, folder: Path, comm) -> np.ndarray:
    from femsim.simulation import run_case

    data = read_toml(TINY)
    data["protocol"].update(end_time_s=12.0)
    data["solver"] = dict(data.get("solver", {}), preset=preset)
    data["mechanics"] = {"enabled": False}
    data["output"] = {"folder": str(folder), "fields": False, "times_s": [6.0], "progress": False}
    case = parse_case(data, TINY)
    result = run_case(case, comm=comm)
    assert result.status == "finished"
    return np.loadtxt(folder / "timeseries.csv", delimiter=",", skiprows=1, ndmin=2)


def test_iterative_matches_direct(tmp_path_factory):
    from femsim.mpi import comm_world

    comm = comm_world()
    root = Path(comm.bcast(str(tmp_path_factory.mktemp("presets")) if comm.rank == 0 else None, root=0))
    direct = _run("direct", root / "direct", comm)
    iterative = _run("iterative", root / "iterative", comm)
    assert direct.shape == iterative.shape, "same accepted steps"
    np.testing.assert_allclose(iterative[:, 0], direct[:, 0], rtol=0, atol=1e-9)  # times
    np.testing.assert_allclose(iterative[:, 2], direct[:, 2], rtol=0, atol=2e-5)  # voltage (V)
