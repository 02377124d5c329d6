"""Bad-input catalogue: every malformed input ends with exit code 2, one ``error:`` line naming
the file and the key/row/value, no traceback, and no output file created or overwritten.

Each entry runs a femsim command (validate, run, mesh, segment) in a child process inside a fresh
folder holding the entry's input files (and, for ``run``/``mesh``, an earlier results folder whose
files must stay untouched).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from femsim.mpi import in_mpi_run

from _reliability_helpers import TABLE_TEXT, run_femsim

pytestmark = pytest.mark.skipif(in_mpi_run(), reason="launches its own processes")

CASE = """\
[case]
name = "bad"
[geometry]
particle_table = "table.csv"
box_um = [10.0, 10.0, 10.0]
separator_thickness_um = 5.0
[protocol]
c_rate = 5.0
areal_capacity_mAh_cm2 = 0.19
end_time_s = 2.0
[materials]
matrix_porosity = 0.5
[mechanics]
enabled = false
[output]
times_s = [1.0]
"""
TABLE = TABLE_TEXT
GOOD_ROW = "4,7.0,3.0,7.0,2.4"


def case(*edits: tuple[str, str]) -> str:
    text = CASE
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    return text


def table(new_row: str | None = None, text: str | None = None) -> str:
    return text if text is not None else TABLE.replace(GOOD_ROW, new_row if new_row is not None else GOOD_ROW)


def _tiff(path: Path, truncate: bool) -> None:
    import tifffile

    tifffile.imwrite(path, (np.arange(16 * 32 * 32) % 251).astype(np.uint8).reshape(16, 32, 32))
    if truncate:
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 3])


@dataclasses.dataclass
class Bad:
    """One malformed input: command, files to create, arguments, tokens the error line must hold."""

    name: str
    command: str
    args: list[str]
    expect: list[str]
    files: dict[str, str | bytes | Callable[[Path], None]] = dataclasses.field(default_factory=dict)


def _case_entry(name: str, command: str, expect: list[str], case_text: str | bytes = CASE,
                table_text: str = TABLE) -> Bad:
    """A case-file entry; the error names ``case.toml`` (or the table file, when it names it)."""
    file = [] if any(t.endswith((".csv", ".msh")) for t in expect) else ["case.toml"]
    return Bad(name, command, [command, "case.toml"], file + expect, {"case.toml": case_text, "table.csv": table_text})


def _seg(name: str, image: str, expect: list[str], maker: Callable[[Path], None] | bytes | None,
         voxel: str = "0.5") -> Bad:
    files = {image: maker} if maker is not None else {}
    return Bad(name, "segment", ["segment", image, "--voxel-size", voxel, "--out", "seg"], expect, files)


def _speck() -> np.ndarray:
    """A dark volume with one bright voxel: nothing large enough to be a particle."""
    vol = np.zeros((16, 32, 32), np.uint8)
    vol[8, 16, 16] = 255
    return vol


def _npy(array: np.ndarray) -> Callable[[Path], None]:
    return lambda path: np.save(path, array)


CATALOGUE: list[Bad] = [
    # --- case files: syntax, keys, types -------------------------------------------------------
    _case_entry("toml-syntax", "validate", ["TOML syntax error"], case(("c_rate = 5.0", "c_rate = = 5.0"))),
    _case_entry("toml-unclosed-table", "run", ["TOML syntax error"], case(("[protocol]", "[protocol"))),
    _case_entry("unknown-section", "validate", ["solverz"], CASE + "[solverz]\ndt_max_s = 1.0\n"),
    _case_entry("misspelt-key", "validate", ["protocol.c_rat"], case(("c_rate = 5.0", "c_rat = 5.0"))),
    _case_entry("misspelt-key-run", "run", ["mechanics.enabeld"], case(("enabled = false", "enabeld = false"))),
    _case_entry("wrong-type-string", "validate", ["protocol.c_rate", "fast"], case(("c_rate = 5.0", 'c_rate = "fast"'))),
    _case_entry("wrong-type-list", "validate", ["output.times_s"], case(("times_s = [1.0]", 'times_s = "1.0"'))),
    _case_entry("wrong-type-bool", "run", ["mechanics.enabled"], case(("enabled = false", "enabled = 3"))),
    _case_entry("wrong-type-box", "validate", ["geometry.box_um"], case(("box_um = [10.0, 10.0, 10.0]", "box_um = 10.0"))),
    _case_entry("not-utf8", "validate", ["UTF-8"], case() .encode() + b"# \xff\xfe\n"),
    # --- case files: values -----------------------------------------------------------------
    _case_entry("c-rate-zero", "validate", ["protocol.c_rate", "0"], case(("c_rate = 5.0", "c_rate = 0.0"))),
    _case_entry("c-rate-negative", "run", ["protocol.c_rate", "-1"], case(("c_rate = 5.0", "c_rate = -1.0"))),
    _case_entry("porosity-above-one", "validate", ["materials.matrix_porosity", "1.5"],
                case(("matrix_porosity = 0.5", "matrix_porosity = 1.5"))),
    _case_entry("porosity-zero", "run", ["materials.matrix_porosity", "0"],
                case(("matrix_porosity = 0.5", "matrix_porosity = 0.0"))),
    _case_entry("separator-porosity", "validate", ["materials.separator_porosity", "1"],
                case(("matrix_porosity = 0.5", "matrix_porosity = 0.5\nseparator_porosity = 1.0"))),
    _case_entry("negative-thickness", "validate", ["geometry.separator_thickness_um", "-5"],
                case(("separator_thickness_um = 5.0", "separator_thickness_um = -5.0"))),
    _case_entry("negative-box", "run", ["geometry.box_um", "-10"],
                case(("box_um = [10.0, 10.0, 10.0]", "box_um = [10.0, -10.0, 10.0]"))),
    _case_entry("cutoff-below-initial-voltage", "validate", ["protocol.voltage_cutoff_V", "3"],
                case(("c_rate = 5.0", "c_rate = 5.0\nvoltage_cutoff_V = 3.0"))),
    _case_entry("dt-min-above-dt-max", "run", ["solver.dt_min_s"],
                CASE + "[solver]\ndt_min_s = 5.0\ndt_max_s = 1.0\n"),
    _case_entry("negative-output-time", "validate", ["output.times_s", "-1"], case(("times_s = [1.0]", "times_s = [-1.0]"))),
    _case_entry("unknown-material-set", "validate", ["NMC999"], case(("[materials]", '[materials]\ncathode = "NMC999"'))),
    # --- missing files ----------------------------------------------------------------------
    Bad("missing-case-file", "validate", ["validate", "nope.toml"], ["nope.toml", "not found"]),
    Bad("missing-case-file-run", "run", ["run", "nope.toml"], ["nope.toml", "not found"]),
    _case_entry("missing-particle-table", "run", ["geometry.particle_table", "missing.csv"],
                case(('particle_table = "table.csv"', 'particle_table = "missing.csv"'))),
    _case_entry("missing-mesh-file", "validate", ["mesh.file", "missing.msh"], CASE + '[mesh]\nfile = "missing.msh"\n'),
    Bad("resume-without-snapshot", "run", ["run", "case.toml", "--resume"], ["case.toml", "no complete snapshot"],
        {"case.toml": CASE, "table.csv": TABLE}),
    # --- particle tables (checked when meshing / running) -------------------------------------
    _case_entry("table-nan", "mesh", ["table.csv", "row", "nan"], table_text=table("4,7.0,nan,7.0,2.4")),
    _case_entry("table-negative-radius", "run", ["table.csv", "row", "radius", "-2.4"],
                table_text=table("4,7.0,3.0,7.0,-2.4")),
    _case_entry("table-duplicate-id", "mesh", ["table.csv", "duplicate id 3"], table_text=table("3,7.0,3.0,7.0,2.4")),
    _case_entry("table-overlap", "mesh", ["table.csv", "rows", "ids"], table_text=table("4,2.9,2.9,2.9,2.4")),
    _case_entry("table-outside-box", "run", ["table.csv", "row", "outside"], table_text=table("4,30.0,3.0,7.0,2.4")),
    _case_entry("table-empty", "mesh", ["table.csv", "empty"], table_text="id,x,y,z,radius\n"),
    _case_entry("table-missing-column", "mesh", ["table.csv", "radius"],
                table_text="id,x,y,z\n1,2.8,2.8,2.8\n"),
    _case_entry("table-not-a-number", "run", ["table.csv", "row", "abc"], table_text=table("4,abc,3.0,7.0,2.4")),
    # --- images (femsim segment) ------------------------------------------------------------
    _seg("image-missing", "missing.tif", ["missing.tif", "not found"], None),
    _seg("tiff-corrupt", "corrupt.tif", ["corrupt.tif", "TIFF"], b"II*\x00" + bytes(range(256)) * 8),
    _seg("tiff-truncated", "truncated.tif", ["truncated.tif", "TIFF"], lambda p: _tiff(p, truncate=True)),
    _seg("wrong-dtype", "complex.npy", ["complex.npy", "complex"], _npy(np.ones((8, 16, 16), np.complex64))),
    _seg("empty-volume", "empty.npy", ["empty.npy", "empty"], _npy(np.zeros((0, 16, 16), np.uint8))),
    _seg("one-dimensional", "line.npy", ["line.npy", "shape"], _npy(np.ones(64, np.uint8))),
    _seg("nan-image", "nan.npy", ["nan.npy", "NaN"], _npy(np.full((8, 16, 16), np.nan, np.float32))),
    _seg("constant-image", "blank.npy", ["blank.npy", "constant"], _npy(np.zeros((16, 32, 32), np.uint8))),
    _seg("no-particles", "speck.npy", ["speck.npy", "no particles found"], _npy(_speck())),
    _seg("negative-voxel-size", "ok.tif", ["ok.tif", "voxel size", "-0.5"], lambda p: _tiff(p, truncate=False),
         voxel="-0.5"),
    _seg("unknown-format", "image.txt", ["image.txt", "format"], b"not an image\n"),
]


def _tree(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file's size and mtime, every folder's existence (a lock taken and released touches a
    folder's mtime, not its content)."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) if p.is_file() else (0, 0)
            for p in folder.rglob("*")}


def _prepare(entry: Bad, folder: Path) -> None:
    folder.mkdir(parents=True)
    for name, content in entry.files.items():
        path = folder / name
        if callable(content):
            content(path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    if entry.command in ("run", "mesh"):  # an earlier run's files must not be touched
        old = folder / "results" / "case"
        (old / "mesh").mkdir(parents=True)
        (old / "run.json").write_text('{"status": "finished"}\n')
        (old / "timeseries.csv").write_text("time_s\n0.0\n")
        (old / "mesh" / "rve.msh").write_text("old mesh\n")


def _check(entry: Bad, folder: Path) -> str | None:
    """Run one entry; returns a description of what went wrong, or None."""
    before = _tree(folder)
    proc = run_femsim(entry.args, cwd=folder, timeout=120, extra_env={"MPLBACKEND": "Agg"})
    problems = []
    if proc.returncode != 2:
        problems.append(f"exit code {proc.returncode}")
    if "Traceback" in proc.stderr:
        problems.append("traceback")
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    if len(errors) != 1:
        problems.append(f"{len(errors)} 'error:' lines")
    else:
        missing = [t for t in entry.expect if t.lower() not in errors[0].lower()]
        if missing:
            problems.append(f"error line lacks {missing}")
    after = _tree(folder)
    if after != before:
        changed = sorted(set(after.items()) ^ set(before.items()))
        problems.append(f"files created/changed: {[c[0] for c in changed][:5]}")
    if problems:
        return f"{entry.name}: {'; '.join(problems)}\n  stderr: {proc.stderr.strip()[-600:]}"
    return None


def test_catalogue_is_large_enough():
    assert len(CATALOGUE) >= 30
    assert len({e.name for e in CATALOGUE}) == len(CATALOGUE)
    assert {e.command for e in CATALOGUE} == {"validate", "run", "mesh", "segment"}


def test_bad_inputs(tmp_path):
    """All entries, two at a time; every failure is reported at once."""
    for entry in CATALOGUE:
        _prepare(entry, tmp_path / entry.name)
    workers = 2 if (os.cpu_count() or 1) > 1 else 1
    with ThreadPoolExecutor(workers) as pool:
        failures = [f for f in pool.map(lambda e: _check(e, tmp_path / e.name), CATALOGUE) if f]
    assert not failures, f"{len(failures)} of {len(CATALOGUE)} bad inputs mishandled:\n" + "\n".join(failures)


def test_corrupt_mesh_file_leaves_results_untouched(tmp_path):
    entry = _case_entry("corrupt-mesh-file", "run", ["bad.msh"], CASE + '[mesh]\nfile = "bad.msh"\n')
    entry.files["bad.msh"] = "not a gmsh file\n"
    _prepare(entry, tmp_path / entry.name)
    failure = _check(entry, tmp_path / entry.name)
    assert failure is None, failure


def test_debug_shows_the_traceback(tmp_path):
    (tmp_path / "case.toml").write_text(case(("c_rate = 5.0", "c_rat = 5.0")))
    proc = run_femsim(["--debug", "validate", "case.toml"], cwd=tmp_path, timeout=60)
    assert proc.returncode != 0 and "Traceback" in proc.stderr and "protocol.c_rat" in proc.stderr
