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

from _reliability_helpers import TABLE_TEXT, run_femsim, small_case

pytestmark = pytest.mark.skipif(in_mpi_run(), reason="launches its own processes")

CASE = small_case("""\
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
""", name="bad")
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
    code: int = 2  # 3: a problem of the environment (read-only, disk full)
    env: dict[str, str] = dataclasses.field(default_factory=dict)


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
    _case_entry("wrong-type-string", "validate", ["protocol.c_rate", "fast"],
                case(("c_rate = 5.0", 'c_rate = "fast"'))),
    _case_entry("wrong-type-list", "validate", ["output.times_s"], case(("times_s = [1.0]", 'times_s = "1.0"'))),
    _case_entry("wrong-type-bool", "run", ["mechanics.enabled"], case(("enabled = false", "enabled = 3"))),
    _case_entry("wrong-type-box", "validate", ["geometry.box_um"],
                case(("box_um = [10.0, 10.0, 10.0]", "box_um = 10.0"))),
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
    _case_entry("negative-output-time", "validate", ["output.times_s", "-1"],
                case(("times_s = [1.0]", "times_s = [-1.0]"))),
    _case_entry("unknown-material-set", "validate", ["NMC999"],
                case(("[materials]", '[materials]\ncathode = "NMC999"'))),
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
    # --- validate checks everything run would refuse (issue 17): the particle table ----------------
    _case_entry("validate-table-nan", "validate", ["table.csv", "row", "nan"], table_text=table("4,7.0,nan,7.0,2.4")),
    _case_entry("validate-table-duplicate-id", "validate", ["table.csv", "duplicate id 3"],
                table_text=table("3,7.0,3.0,7.0,2.4")),
    _case_entry("validate-table-empty", "validate", ["table.csv", "empty"], table_text="id,x,y,z,radius\n"),
    _case_entry("validate-table-outside-box", "validate", ["table.csv", "row", "outside"],
                table_text=table("4,30.0,3.0,7.0,2.4")),
    _case_entry("validate-table-overlap", "validate", ["table.csv", "rows", "ids"],
                table_text=table("4,2.9,2.9,2.9,2.4")),
    _case_entry("validate-table-missing-column", "validate", ["table.csv", "radius"],
                table_text="id,x,y,z\n1,2.8,2.8,2.8\n"),
    _case_entry("validate-table-bom-bad-row", "validate", ["table.csv", "row", "abc"],
                table_text="\ufeff" + table("4,abc,3.0,7.0,2.4")),
    # geometry feasibility
    _case_entry("radius-larger-than-box", "validate", ["table.csv", "radius 12", "smallest edge (10"],
                table_text=table("4,7.0,3.0,7.0,12.0")),
    _case_entry("radius-larger-than-box-run", "run", ["table.csv", "radius 12", "too large"],
                table_text=table("4,7.0,3.0,7.0,12.0")),
    _case_entry("radius-larger-than-box-mesh", "mesh", ["table.csv", "radius 12"],
                table_text=table("4,7.0,3.0,7.0,12.0")),
    # PETSc options, checked by PETSc
    _case_entry("petsc-option-unknown", "validate", ["solver.petsc_options.ksp_typo", "not a PETSc option"],
                CASE + '[solver.petsc_options]\nksp_typo = "gmres"\n'),
    _case_entry("petsc-option-bad-type", "run", ["solver.petsc_options.ksp_type", "nonsense"],
                CASE + '[solver.petsc_options]\nksp_type = "nonsense"\n'),
    _case_entry("petsc-option-bad-number", "validate", ["solver.petsc_options.ksp_rtol", "abc"],
                CASE + '[solver.petsc_options]\nksp_rtol = "abc"\n'),
    _case_entry("petsc-option-unknown-mumps", "validate",
                ["solver.petsc_options.mat_mumps_icntl_typo", "not a PETSc option"],
                CASE + '[solver.petsc_options]\nmat_mumps_icntl_typo = 3\n'),
    _case_entry("petsc-option-bad-mumps-value", "validate", ["solver.petsc_options.mat_mumps_icntl_14", "refuses"],
                CASE + '[solver.petsc_options]\nmat_mumps_icntl_14 = "abc"\n'),
    _case_entry("petsc-option-bad-int", "validate", ["solver.petsc_options.snes_max_it", "many"],
                CASE + '[solver.petsc_options]\nsnes_max_it = "many"\n'),
    # physically impossible values, with the bound stated
    _case_entry("c-rate-1e300", "validate", ["protocol.c_rate", "1e+300", "diffusion-limited", "at most 1.618e+04 C"],
                case(("c_rate = 5.0", "c_rate = 1e300"))),
    _case_entry("c-rate-1e300-run", "run", ["protocol.c_rate", "diffusion-limited"],
                case(("c_rate = 5.0", "c_rate = 1e300"))),
    _case_entry("c-rate-inf", "validate", ["protocol.c_rate", "finite"], case(("c_rate = 5.0", "c_rate = inf"))),
    _case_entry("c-rate-nan", "validate", ["protocol.c_rate", "nan"], case(("c_rate = 5.0", "c_rate = nan"))),
    _case_entry("validate-corrupt-mesh-file", "validate", ["mesh.file", "bad.msh", "not a gmsh"],
                CASE + '[mesh]\nfile = "bad.msh"\n'),
    # unbounded work: the mesh-size estimate
    _case_entry("mesh-size-tiny", "validate", ["mesh.size_surface_um", "cells", "--allow-large"],
                CASE + "[mesh]\nsize_surface_um = 0.001\n"),
    _case_entry("mesh-size-tiny-run", "run", ["mesh.size_surface_um", "--allow-large"],
                CASE + "[mesh]\nsize_surface_um = 0.001\n"),
    _case_entry("mesh-size-tiny-mesh", "mesh", ["mesh.size_surface_um", "--allow-large"],
                CASE + "[mesh]\nsize_surface_um = 0.001\n"),
    # integers against their type's range
    _case_entry("seed-above-int64", "validate", ["mesh.seed", "9223372036854775808", "64-bit"],
                CASE + "[mesh]\nseed = 9223372036854775808\n"),
    _case_entry("seed-above-c-int", "validate", ["mesh.seed", "2147483647", "2147483648"],
                CASE + "[mesh]\nseed = 2147483648\n"),
    _case_entry("threads-float", "validate", ["mesh.threads", "2.5"], CASE + "[mesh]\nthreads = 2.5\n"),
    _case_entry("snapshot-every-negative", "validate", ["output.snapshot_every_steps", "-1"],
                case(("times_s = [1.0]", "times_s = [1.0]\nsnapshot_every_steps = -1"))),
    # a folder where a file is expected, a file where a folder is expected
    Bad("case-file-is-a-folder", "validate", ["validate", "cases"], ["cases", "is a folder"], {"cases/keep.txt": "x"}),
    _case_entry("particle-table-is-a-folder", "validate", ["geometry.particle_table", "is a folder"],
                case(('particle_table = "table.csv"', 'particle_table = "tables"'))),
    Bad("run-out-is-a-file", "run", ["run", "case.toml", "--out", "table.csv"],
        ["table.csv", "is a file, not a folder"],
        {"case.toml": CASE, "table.csv": TABLE}),
    Bad("segment-out-is-a-file", "segment", ["segment", "ok.tif", "--voxel-size", "0.5", "--out", "out.txt"],
        ["out.txt", "--out", "is a file"], {"ok.tif": lambda p: _tiff(p, truncate=False), "out.txt": "x"}),
    # the results folder: locked by another run, read-only, disk full (environment: exit 3)
    Bad("results-locked-by-other-host", "run", ["run", "case.toml"], ["locked by host node-elsewhere", "PID 4242",
                                                                      "--force"],
        {"case.toml": CASE, "table.csv": TABLE, "results/case/.femsim.lock":
         '{"host": "node-elsewhere", "pid": 4242, "started": "2026-01-01T00:00:00+00:00"}\n'}),
    Bad("results-read-only", "run", ["run", "case.toml"], ["results/case/.femsim.lock", "read-only file system",
                                                           "[EROFS]"],
        {"case.toml": CASE, "table.csv": TABLE}, code=3, env={"FEMSIM_IO_FAULT": "EROFS:.femsim.lock:1"}),
    Bad("results-disk-full", "run", ["run", "case.toml"], ["No space left on device", "[ENOSPC]"],
        {"case.toml": CASE, "table.csv": TABLE}, code=3, env={"FEMSIM_IO_FAULT": "ENOSPC:.femsim.lock:1"}),
    Bad("results-permission", "run", ["run", "case.toml"], ["Permission denied", "[EACCES]"],
        {"case.toml": CASE, "table.csv": TABLE}, code=3, env={"FEMSIM_IO_FAULT": "EACCES:.femsim.lock:1"}),
    # images: crop, downsampling
    Bad("crop-outside-image", "segment", ["segment", "ok.tif", "--voxel-size", "0.5", "--out", "seg", "--crop",
                                          "100:200,0:10,0:10"], ["ok.tif", "--crop", "leaves nothing"],
        {"ok.tif": lambda p: _tiff(p, truncate=False)}),
    Bad("downsample-too-large", "segment", ["segment", "ok.npy", "--voxel-size", "0.5", "--out", "seg",
                                            "--downsample", "100000"],
        ["ok.npy", "--downsample 100000", "leaves nothing"],
        {"ok.npy": _npy(np.ones((16, 32, 32), np.uint8))}),
    _seg("folder-without-slices", "slices", ["slices", "folder", "no .tif"], lambda p: p.mkdir()),
    # sweeps: point-count guard (refused before any point is built), a file as the sweep folder
    Bad("sweep-million-points", "sweep", ["sweep", "plan", "sweep.toml", "--dir", "sw"],
        ["sweep.toml", "1,000,000 points", "1000 x 1000", "sweep.max_points = 10,000"],
        {"case.toml": CASE, "table.csv": TABLE, "sweep.toml":
         '[sweep]\nbase = "case.toml"\n[[axis]]\nkey = "protocol.c_rate"\n'
         'linspace = {start = 1.0, stop = 5.0, num = 1000}\n'
         '[[axis]]\nkey = "protocol.end_time_s"\nlinspace = {start = 1.0, stop = 2.0, num = 1000}\n'}),
    Bad("sweep-folder-locked-by-other-host", "sweep", ["sweep", "plan", "sweep.toml", "--dir", "sw", "--no-mesh"],
        ["sw", "sweep folder is locked by host node-elsewhere", "PID 4242", "--break-lock"],
        {"case.toml": CASE, "table.csv": TABLE, "sw/.femsim.lock":
         '{"host": "node-elsewhere", "pid": 4242, "started": "2026-01-01T00:00:00+00:00"}\n', "sweep.toml":
         '[sweep]\nbase = "case.toml"\n[[axis]]\nkey = "protocol.c_rate"\nvalues = [1.0, 2.0]\n'}),
    Bad("sweep-dir-is-a-file", "sweep", ["sweep", "plan", "sweep.toml", "--dir", "table.csv", "--no-mesh"],
        ["table.csv", "sweep folder is a file"],
        {"case.toml": CASE, "table.csv": TABLE, "sweep.toml":
         '[sweep]\nbase = "case.toml"\n[[axis]]\nkey = "protocol.c_rate"\nvalues = [1.0, 2.0]\n'}),
]


for _entry in CATALOGUE:  # a folder where the case expects the particle table
    if _entry.name == "particle-table-is-a-folder":
        _entry.files["tables/keep.txt"] = "x"
    if _entry.name == "validate-corrupt-mesh-file":
        _entry.files["bad.msh"] = "not a gmsh file\n"


def _tree(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file's size and mtime, every folder's existence (a lock taken and released touches a
    folder's mtime, not its content)."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) if p.is_file() else (0, 0)
            for p in folder.rglob("*")}


def _prepare(entry: Bad, folder: Path) -> None:
    folder.mkdir(parents=True)
    for name, content in entry.files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if callable(content):
            content(path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    if entry.command in ("run", "mesh"):  # an earlier run's files must not be touched
        old = folder / "results" / "case"
        (old / "mesh").mkdir(parents=True, exist_ok=True)
        (old / "run.json").write_text('{"status": "finished"}\n')
        (old / "timeseries.csv").write_text("time_s\n0.0\n")
        (old / "mesh" / "rve.msh").write_text("old mesh\n")


def _check(entry: Bad, folder: Path) -> str | None:
    """Run one entry; returns a description of what went wrong, or None."""
    before = _tree(folder)
    proc = run_femsim(entry.args, cwd=folder, timeout=120, extra_env={"MPLBACKEND": "Agg", **entry.env})
    problems = []
    if proc.returncode != entry.code:
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
    assert len(CATALOGUE) >= 60
    assert len({e.name for e in CATALOGUE}) == len(CATALOGUE)
    assert {e.command for e in CATALOGUE} == {"validate", "run", "mesh", "segment", "sweep"}


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


def test_utf8_bom_is_dropped_from_case_and_table(tmp_path):
    """A UTF-8 byte-order mark (Excel's CSV export, some Windows editors) is not an error."""
    (tmp_path / "case.toml").write_bytes(b"\xef\xbb\xbf" + CASE.encode())
    (tmp_path / "table.csv").write_bytes(b"\xef\xbb\xbf" + TABLE.encode())
    proc = run_femsim(["validate", "case.toml"], cwd=tmp_path, timeout=60)
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stderr
    assert "\ufeff" not in proc.stdout + proc.stderr


def test_large_case_is_kept_in_run_json_by_reference(tmp_path):
    from femsim.io.results import CASE_INLINE_MAX_BYTES, case_record
    from femsim.sweep.plan import case_digest

    small = {"case": {"description": "x"}}
    assert case_record(small, "c.toml") is small
    big = {"case": {"description": "x" * (CASE_INLINE_MAX_BYTES + 1)}}
    record = case_record(big, "c.toml")
    assert record["by_reference"] == "c.toml" and record["bytes"] > CASE_INLINE_MAX_BYTES
    assert record["sha256"][:16] == case_digest(big)  # sweep status still spots a stale point
