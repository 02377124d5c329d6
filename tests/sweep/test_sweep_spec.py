"""Sweep files: validation (all problems at once, named), axes, expansion, names, generated cases."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

from femsim.errors import InputError
from femsim.sweep import tomlw
from femsim.sweep.plan import build_points, plan
from femsim.sweep.spec import load_sweep, point_hash

from _sweep_helpers import REPO, TINY, write_sweep

AXES = """
[[axis]]
key = "protocol.c_rate"
values = [1.0, 2.0, 5.0]
label = "C"

[[axis]]
key = "materials.matrix_porosity"
linspace = { start = 0.3, stop = 0.5, num = 2 }
"""


def test_product_and_zip_expansion(tmp_path):
    sweep = load_sweep(write_sweep(tmp_path, AXES))
    assert len(sweep.points) == 6
    assert [p.params["protocol.c_rate"] for p in sweep.points] == [1.0, 1.0, 2.0, 2.0, 5.0, 5.0]
    assert [p.params["materials.matrix_porosity"] for p in sweep.points[:2]] == [0.3, 0.5]
    assert sweep.points[0].label == "C1_matrix_porosity0.3"
    assert sweep.points[0].dirname == f"C1_matrix_porosity0.3-{sweep.points[0].hash}"
    zipped = AXES.replace("num = 2", "num = 3")
    path = write_sweep(tmp_path, zipped, file_name="z.toml")
    path.write_text(path.read_text().replace('base =', 'combine = "zip"\nbase ='))
    sweep = load_sweep(path)
    assert [(p.params["protocol.c_rate"], p.params["materials.matrix_porosity"]) for p in sweep.points] == \
        [(1.0, 0.3), (2.0, 0.4), (5.0, 0.5)]


def test_logspace_and_hash_stability(tmp_path):
    path = write_sweep(tmp_path, '[[axis]]\nkey = "materials.wetted_fraction"\n'
                                 'logspace = { start = 0.01, stop = 1.0, num = 3 }\n')
    values = [p.params["materials.wetted_fraction"] for p in load_sweep(path).points]
    assert values == pytest.approx([0.01, 0.1, 1.0])
    # the hash depends on the parameters only, not on the axis order or the run
    assert point_hash({"a": 1.0, "b": "x"}) == point_hash({"b": "x", "a": 1.0})
    assert point_hash({"a": 1.0}) != point_hash({"a": 2.0})
    assert load_sweep(path).points[1].hash == load_sweep(path).points[1].hash


def test_all_problems_reported_at_once_with_names(tmp_path):
    body = """
[[axis]]
key = "protocol.c_rat"
values = [1.0]

[[axis]]
key = "materials.wetted_fraction"
logspace = { start = 0.0, stop = 1.0, num = 3 }

[[axis]]
key = "geometry.box_um[5]"
values = [10.0]

[[axis]]
key = "solver.dt_max_s"
values = [1.0]
linspace = { start = 1.0, stop = 2.0, num = 1 }

[slurm]
partition = "a b"
extra = ["--mem=4G; rm -rf /"]
"""
    path = write_sweep(tmp_path, body)
    path.write_text(path.read_text().replace("[sweep]\n", '[sweep]\ncombin = "zip"\n'))
    with pytest.raises(InputError) as err:
        load_sweep(path)
    text = err.value.format()
    assert str(path) in text
    for expected in ("sweep.combin: unknown key (did you mean 'combine'?)",
                     "axis[0].key: unknown case key 'protocol.c_rat' (did you mean 'protocol.c_rate'?)",
                     "axis[1].logspace: start and stop must be > 0",
                     "axis[2].key: 'geometry.box_um[5]': index out of range",
                     "axis[3].linspace.num: must be >= 2",
                     "slurm.partition: must be a plain name",
                     "slurm.extra: each entry must be one sbatch option"):
        assert expected in text, text


def test_zip_needs_equal_lengths_and_set_keys_checked(tmp_path):
    path = write_sweep(tmp_path, AXES, extra_set='"mechanics.enabeld" = true\n')
    path.write_text(path.read_text().replace('base =', 'combine = "zip"\nbase ='))
    with pytest.raises(InputError) as err:
        load_sweep(path)
    text = err.value.format()
    assert "sweep.combine: 'zip' needs axes of equal length" in text
    assert "set.mechanics.enabeld: unknown case key 'mechanics.enabeld' (did you mean 'mechanics.enabled'?)" in text


def test_bad_values_are_named_by_axis_at_plan(tmp_path):
    path = write_sweep(tmp_path, '[[axis]]\nkey = "protocol.c_rate"\nvalues = [1.0, -2.0, "fast"]\n')
    sweep = load_sweep(path)
    with pytest.raises(InputError) as err:
        build_points(sweep)
    text = err.value.format()
    assert "axis[0] (protocol.c_rate = -2.0): protocol.c_rate: must be > 0, got -2" in text
    assert "axis[0] (protocol.c_rate = 'fast'): protocol.c_rate: must be a number" in text


def test_planned_cases_are_self_contained(tmp_path):
    """Absolute paths, own output folder, index keys, relative axis paths against the sweep file."""
    from femsim.case import load_case, load_case as _load

    base = _load(TINY)
    table, z = base.geometry.particle_table, base.geometry.box_um[2]
    (tmp_path / "sw" / "tables").mkdir(parents=True)
    (tmp_path / "sw" / "tables" / "t.csv").write_bytes(table.read_bytes())
    body = """
[[axis]]
key = "geometry.box_um[2]"
values = [Z, Z2]
label = "L"

[[axis]]
key = "geometry.particle_table"
values = ["tables/t.csv"]
label = "tab"
"""
    body = body.replace("Z2", repr(z + 2.0)).replace("Z", repr(z))
    path = write_sweep(tmp_path / "sw", body, name='name with "quotes" and \'apostrophes\'',
                       sweep_folder="out dir/it's here")
    sweep = load_sweep(path)
    manifest = plan(sweep, share_meshes=False)
    assert Path(manifest["folder"]) == (tmp_path / "sw" / "out dir" / "it's here").resolve()
    assert len(manifest["points"]) == 2
    for entry in manifest["points"]:
        case = load_case(entry["case_file"])
        assert case.results_dir() == Path(entry["folder"])
        assert case.geometry.particle_table.is_absolute() and case.geometry.particle_table.is_file()
        assert case.case.name == f'name with "quotes" and \'apostrophes\' {entry["label"]}'
        assert case.geometry.box_um[2] == entry["params"]["geometry.box_um[2]"]
        assert case.geometry.box_um[:2] == [10.0, 10.0]
        assert case.mechanics.enabled is False and case.protocol.end_time_s == 1.0
    # re-planning rewrites nothing
    mtimes = [os.stat(e["case_file"]).st_mtime_ns for e in manifest["points"]]
    plan(load_sweep(path), share_meshes=False)
    assert mtimes == [os.stat(e["case_file"]).st_mtime_ns for e in manifest["points"]]


def test_toml_writer_round_trips_awkward_values():
    data = {"a": {"s": 'q"uote\\back\nnew\ttab \x01 ü \u2028', "f": 1e-300, "g": 3.0, "i": -4, "b": True,
                  "l": [[1.0, 2.5], [3.0]], "d": {"weird key": 1.5, "x.y": "z"}, "none": None},
            "top": "level"}
    back = tomllib.loads(tomlw.dumps(data, header="line one\nline 'two'"))
    assert back["a"]["s"] == data["a"]["s"]
    assert back["a"]["f"] == 1e-300 and isinstance(back["a"]["g"], float) and back["a"]["i"] == -4
    assert back["a"]["l"] == [[1.0, 2.5], [3.0]] and back["a"]["d"] == {"weird key": 1.5, "x.y": "z"}
    assert "none" not in back["a"] and back["top"] == "level"


def test_shipped_c_rate_sweep_is_valid():
    sweep = load_sweep(REPO / "cases" / "sweeps" / "c_rate.toml")
    planned = build_points(sweep)
    assert [p.point.params["protocol.c_rate"] for p in planned] == [1.0, 2.0, 5.0]
    assert all(p.case.mesh.size_max_um == 3.0 and p.case.geometry.particle_table.is_file() for p in planned)


def test_diffusivity_axis_through_overrides(tmp_path):
    ok = write_sweep(tmp_path, '[[axis]]\nkey = "materials.cathode_overrides.diffusivity"\n'
                               'logspace = { start = 1e-15, stop = 1e-13, num = 3 }\nlabel = "D"\n')
    planned = build_points(load_sweep(ok))
    assert [p.case.materials.cathode_overrides["diffusivity"] for p in planned] == pytest.approx([1e-15, 1e-14, 1e-13])
    assert planned[0].point.label == "D1e-15"
    bad = write_sweep(tmp_path, '[[axis]]\nkey = "materials.cathode_overrides.difusivity"\nvalues = [1e-14]\n',
                      file_name="bad.toml")
    with pytest.raises(InputError, match="difusivity"):
        build_points(load_sweep(bad))


def test_step_list_cases_sweep_without_shorthand_conflicts(tmp_path):
    """A base case with ``protocol.steps`` (the cycling cases) and a step list swept over a
    shorthand base both plan: the resolved base's shorthand keys (mode, voltage_cutoff_V, rest_s)
    are dropped where the point has a step list; the same keys set by the sweep are still errors."""
    cycling = REPO / "cases" / "ci" / "tiny_cycling_5C.toml"
    ok = write_sweep(tmp_path / "a", '[[axis]]\nkey = "solver.dt_max_s"\nvalues = [5.0, 8.0]\n',
                     base=cycling, fast=False)
    planned = build_points(load_sweep(ok))
    assert [p.case.solver.dt_max_s for p in planned] == [5.0, 8.0]
    assert all("mode" not in p.case_dict["protocol"] and p.case.protocol.cycles == 2 for p in planned)
    steps = write_sweep(tmp_path / "b", '[[axis]]\nkey = "protocol.steps"\n'
                        'values = [["Charge at 1C until 4.2 V"], ["Charge at 2C until 4.2 V", "Rest for 1 minute"]]\n')
    texts = [[s.text for s in p.case.protocol.cycle_steps()] for p in build_points(load_sweep(steps))]
    assert texts == [["Charge at 1C until 4.2 V"], ["Charge at 2C until 4.2 V", "Rest for 1 minute"]]
    bad = write_sweep(tmp_path / "c", '[[axis]]\nkey = "protocol.rest_s"\nvalues = [1.0]\n', base=cycling,
                      fast=False)
    with pytest.raises(InputError, match=r"axis\[0\] \(protocol.rest_s = 1.0\): protocol.rest_s: not used"):
        build_points(load_sweep(bad))
