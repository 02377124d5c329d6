"""The gmsh RVE: reference mesh accuracy, tags, near-contact handling, report and reuse."""

from __future__ import annotations

import json
import os

import pytest

from femsim.case import load_case
from femsim.geometry import mesh_case, tags as T
from femsim.geometry.pipeline import REPORT_NAME, input_hash

from _geometry_helpers import REPO, SMALL_ROWS, write_case, write_table


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The 5C mesh, built afresh in a temporary folder (~25 s on an idle 2-core machine): never the
    developer's ignored results/ folder, whose content a fresh clone (CI) does not have."""
    case = load_case(REPO / "cases" / "5C.toml")
    out = tmp_path_factory.mktemp("ref_mesh")
    msh = mesh_case(case, out_dir=out)
    assert json.loads((out / REPORT_NAME).read_text(encoding="utf-8"))["input_hash"] == input_hash(case)
    return case, msh, json.loads((out / REPORT_NAME).read_text(encoding="utf-8"))


def test_reference_mesh(reference):
    _, msh, r = reference
    assert msh.name == "rve.msh" and msh.stat().st_size > 0
    assert r["n_particles"] == 52
    assert abs(r["nmc_volume_fraction"] - 0.41) <= 0.01
    assert r["adjustments"] == []
    errors = {pid: p["rel_error"] for pid, p in r["particle_volumes"].items()}
    assert len(errors) == 52
    assert max(abs(e) for e in errors.values()) < 0.02, errors
    assert abs(r["interface_area_rel_error"]) < 0.02
    assert r["volumes_um3"]["particles"] + r["volumes_um3"]["matrix"] == pytest.approx(20 * 20 * 40, rel=1e-9)
    assert r["volumes_um3"]["separator"] == pytest.approx(20 * 20 * 25, rel=1e-9)
    for name in ("current_collector", "li_metal"):
        assert r["facet_areas_um2"][name] == pytest.approx(400.0, rel=1e-9)
    for side in ("x_min", "x_max", "y_min", "y_max"):
        assert r["facet_areas_um2"][f"lateral_{side}"] == pytest.approx(20 * 65, rel=1e-9)
    assert r["min_quality"] > 0.05
    for key in ("n_cells", "n_vertices", "elapsed_s", "input_hash"):
        assert key in r


def test_reference_mesh_reused(reference):
    case, msh, r = reference
    mtime = os.stat(msh).st_mtime_ns
    assert mesh_case(case, out_dir=msh.parent) == msh
    assert os.stat(msh).st_mtime_ns == mtime


def test_near_contacts_resolved_and_reported(tmp_path):
    # ids 1/2: 0.02 µm gap; id 3: 0.05 µm from the x = 0 face; id 5: 0.1 µm into the top face
    rows = ["1,3.0,3.0,3.0,2.0", "2,7.02,3.0,3.0,2.0", "3,2.05,7.5,6.0,2.0", "5,7.0,7.0,8.1,2.0"]
    case = load_case(write_case(tmp_path, write_table(tmp_path / "near.csv", rows)))
    msh = mesh_case(case)
    r = json.loads((msh.parent / REPORT_NAME).read_text(encoding="utf-8"))
    fired = {(a["rule"], a["id"]) for a in r["adjustments"]}
    # id 5 crosses the separator plane: shifted down (electrode-plane rule), then clear of it
    assert fired == {("pair_gap", 2), ("wall_clearance", 3), ("separator_shift", 5)}
    shift = next(a for a in r["adjustments"] if a["rule"] == "separator_shift")
    assert shift["new_um"][2] == pytest.approx(10.0 - 2.0 - 0.3)
    assert r["n_particles"] == 4 and r["min_quality"] > 0.05
    assert max(abs(p["rel_error"]) for p in r["particle_volumes"].values()) < 0.02


def test_small_case_tags_and_hash(tmp_path, small_table):
    case = load_case(write_case(tmp_path, small_table))
    msh = mesh_case(case)
    assert msh == tmp_path / "results" / "mesh" / "rve.msh"
    r = json.loads((msh.parent / REPORT_NAME).read_text(encoding="utf-8"))
    assert set(r["facet_areas_um2"]) == {
        T.PHYSICAL_NAMES[t] for t in (T.INTERFACE, T.CURRENT_COLLECTOR, T.LI_METAL, T.CATHODE_SEPARATOR, *T.LATERAL)
    }
    # particle 12 crossed the top face (z = 10): shifted below it, so the separator plane is whole
    assert [(a["rule"], a["id"]) for a in r["adjustments"]] == [("separator_shift", 12)]
    assert r["interface_area_rel_error"] == pytest.approx(0.0, abs=0.02)
    assert r["facet_areas_um2"]["cathode_separator"] == pytest.approx(100.0, rel=1e-9)
    first = r["input_hash"]
    write_table(small_table, SMALL_ROWS[:2])
    mesh_case(case)
    r2 = json.loads((msh.parent / REPORT_NAME).read_text(encoding="utf-8"))
    assert r2["input_hash"] != first and r2["n_particles"] == 2


def test_thin_caps_and_reproducible(tmp_path):
    # id 0: a 0.3 µm cap through x = 0; id 1: a 0.6 µm cap through z = 0 (current collector)
    rows = ["0,-1.7,5,5,2", "1,5,5,-3.0,3.6", "2,6,6,5,1.5"]
    case = load_case(write_case(tmp_path, write_table(tmp_path / "caps.csv", rows)))
    msh = mesh_case(case)
    r = json.loads((msh.parent / REPORT_NAME).read_text(encoding="utf-8"))
    assert max(abs(p["rel_error"]) for p in r["particle_volumes"].values()) < 0.02
    assert r["facet_areas_um2"]["current_collector"] == pytest.approx(100.0, rel=1e-9)
    # id 1 crosses the collector: kept, clipped, reported (its cut face is a mirror plane in M1)
    assert [(a["rule"], a["id"]) for a in r["adjustments"]] == [("collector_mirror", 1)]
    first = msh.read_bytes()
    mesh_case(case, force=True)
    assert msh.read_bytes() == first  # one gmsh thread + fixed seed: byte-identical
