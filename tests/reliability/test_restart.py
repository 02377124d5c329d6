"""Kill a run with SIGKILL mid-charge, resume it, and compare with the uninterrupted run.

The resumed time series must repeat the uninterrupted run's step sequence and values (1e-6) on
1 and on 2 ranks. Runs femsim in child processes (so it is not ``parallel``-marked: the 2-rank
case launches its own ``mpiexec -n 2``).
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from femsim.io.snapshots import file_sha256, seal
from femsim.mpi import in_mpi_run

from _reliability_helpers import read_series, run_and_kill, run_femsim, write_restart_case

pytestmark = pytest.mark.skipif(in_mpi_run(), reason="launches its own processes")


def _kill_and_resume(tmp: Path, mesh: Path, ranks: int, **replace: str) -> Path:
    """Reference run (``ref``), a run killed by SIGKILL (copied as it was to ``killed``) and resumed
    (``cut``) in ``tmp``; returns the case file. The checks are :func:`_check_killed_and_resumed`."""
    case = write_restart_case(tmp, mesh, **replace)
    ref, cut = tmp / "ref", tmp / "cut"
    proc = run_femsim(["run", str(case), "--out", str(ref)], ranks)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # kill as soon as the snapshot after step 3 is complete (mid-charge: t = 2.25 s of 4 s)
    run_and_kill(["run", str(case), "--out", str(cut)], ranks, until=cut / "snapshots" / "step_00000003")
    shutil.copytree(cut, tmp / "killed")
    proc = run_femsim(["run", str(case), "--out", str(cut), "--resume"], ranks)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return case


def _check_killed_and_resumed(tmp: Path, ranks: int) -> None:
    """The killed run left whole rows and readable snapshots; the resumed run equals the reference."""
    ref, killed, cut = tmp / "ref", tmp / "killed", tmp / "cut"
    assert json.loads((killed / "run.json").read_text())["status"] == "running"
    killed_rows = len(read_series(killed / "timeseries.csv"))
    for series, width in (("timeseries.csv", 12), ("probes.csv", 9)):  # whole rows only after SIGKILL
        assert all(len(r) == width for r in _rows(killed / series)), series
    snapshots = sorted((killed / "snapshots").glob("step_*"))
    assert killed / "snapshots" / "step_00000003" in snapshots, snapshots
    for snap in snapshots:
        json.loads((snap / "snapshot.json").read_text())
    manifest = json.loads((cut / "run.json").read_text())
    assert manifest["status"] == "finished"
    assert manifest["resumed_from"]["step"] >= 3
    a, b = np.array(read_series(ref / "timeseries.csv")), np.array(read_series(cut / "timeseries.csv"))
    assert a.shape == b.shape, (a.shape, b.shape, killed_rows)
    np.testing.assert_array_equal(a[:, 0], b[:, 0])  # same step sequence
    np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-12)
    diff = float(np.max(np.abs(b - a) / np.maximum(np.abs(a), 1e-12)))
    print(f"{ranks} rank(s): {len(a)} rows, resumed from step {manifest['resumed_from']['step']}, "
          f"max relative difference {diff:.3g}")
    ref_summary = json.loads((ref / "run.json").read_text())["summary"]
    for key, value in ref_summary.items():
        if "wall_time" not in key and isinstance(value, float):
            assert manifest["summary"][key] == pytest.approx(value, rel=1e-6, abs=1e-12), key
        elif key == "protocol_steps":  # one entry per finished step: floats to 1e-6, the rest exactly
            for got, want in zip(manifest["summary"][key], value, strict=True):
                assert got == {k: pytest.approx(v, rel=1e-6, abs=1e-12) if isinstance(v, float) else v
                               for k, v in want.items()}
        elif "wall_time" not in key:
            assert manifest["summary"][key] == value, key
    if (ref / "probes.csv").stat().st_size > 100:  # with mechanics: stress probes and peaks
        qa = np.array([r[:1] + r[2:] for r in _rows(ref / "probes.csv")], dtype=float)
        qb = np.array([r[:1] + r[2:] for r in _rows(cut / "probes.csv")], dtype=float)
        np.testing.assert_allclose(qb, qa, rtol=1e-6, atol=1e-6)
    pa, pb = np.array(read_series(ref / "particles.csv")), np.array(read_series(cut / "particles.csv"))
    assert pa.shape == pb.shape and len(pa) > 0
    np.testing.assert_allclose(pb, pa, rtol=1e-6, atol=1e-12, equal_nan=True)


def _rows(path: Path) -> list[list[str]]:
    with open(path) as fh:
        return list(csv.reader(fh))[1:]


@pytest.fixture(scope="module")
def serial_runs(tmp_path_factory, meshed) -> Path:
    """1 rank, with mechanics (stress probes and peaks must survive the restart too)."""
    folder = tmp_path_factory.mktemp("restart_serial")
    _kill_and_resume(folder, meshed, 1, **{"enabled = false": "enabled = true"})
    return folder


def test_kill_and_resume_serial(serial_runs):
    _check_killed_and_resumed(serial_runs, 1)


def test_kill_and_resume_two_ranks(tmp_path, meshed):
    _kill_and_resume(tmp_path, meshed, 2)
    _check_killed_and_resumed(tmp_path, 2)


def test_resume_refuses_changed_case_and_rank_count(tmp_path, serial_runs):
    out = tmp_path / "out"
    shutil.copytree(serial_runs / "ref", out)
    case = tmp_path / "case.toml"
    case.write_text((serial_runs / "case.toml").read_text())
    shutil.copy(serial_runs / "table.csv", tmp_path / "table.csv")
    before = {p: p.stat().st_mtime_ns for p in out.iterdir() if p.is_file()}
    proc = run_femsim(["run", str(case), "--out", str(out), "--resume"], ranks=2)
    assert proc.returncode == 2 and "rank(s)" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    case.write_text(case.read_text().replace("c_rate = 5.0", "c_rate = 4.0"))
    proc = run_femsim(["run", str(case), "--out", str(out), "--resume"])
    assert proc.returncode == 2 and "the case changed" in proc.stderr and "Traceback" not in proc.stderr
    assert {p: p.stat().st_mtime_ns for p in out.iterdir() if p.is_file()} == before
    # a snapshot of another partition (owned cells differ) is refused after the mesh is loaded
    case.write_text(case.read_text().replace("c_rate = 4.0", "c_rate = 5.0"))
    newest = sorted((out / "snapshots").glob("step_*"))[-1]
    with np.load(newest / "rank_0.npz") as data:
        arrays = {k: data[k] for k in data.files}
    arrays["owned_cells"] = arrays["owned_cells"][::-1].copy()
    np.savez(newest / "rank_0.npz", **arrays)
    manifest = json.loads((newest / "snapshot.json").read_text())
    manifest["files"]["rank_0.npz"] = file_sha256(newest / "rank_0.npz")
    (newest / "snapshot.json").write_text(json.dumps(seal(manifest)))
    proc = run_femsim(["run", str(case), "--out", str(out), "--resume"])
    assert proc.returncode == 2 and "partition differs" in proc.stderr and "Traceback" not in proc.stderr
    # a corrupt newest snapshot is skipped, an incomplete (.tmp) one ignored, none at all refused
    (newest / "rank_0.npz").write_bytes(b"corrupt")
    from femsim.io.snapshots import newest_valid

    found = newest_valid(out / "snapshots")
    assert found is not None and found[0] != newest
    shutil.rmtree(out / "snapshots")
    proc = run_femsim(["run", str(case), "--out", str(out), "--resume"])
    assert proc.returncode == 2 and "no complete snapshot" in proc.stderr


def _edit_time(snapshot: Path, new_time: float) -> None:
    manifest = json.loads((snapshot / "snapshot.json").read_text())
    manifest["stepper_state"]["time_s"] = new_time
    (snapshot / "snapshot.json").write_text(json.dumps(manifest, indent=2))


def test_edited_manifest_falls_back_to_the_older_snapshot_or_is_refused(tmp_path, serial_runs):
    """An edited time in the newest manifest: resumed from the older snapshot with a warning, the
    series equals the uninterrupted run; both manifests edited: refused."""
    ref, out = serial_runs / "ref", tmp_path / "out"
    shutil.copytree(ref, out)
    case = tmp_path / "case.toml"
    case.write_text((serial_runs / "case.toml").read_text())
    shutil.copy(serial_runs / "table.csv", tmp_path / "table.csv")
    older, newest = sorted((out / "snapshots").glob("step_*"))[-2:]
    old_time = json.loads((newest / "snapshot.json").read_text())["stepper_state"]["time_s"]
    _edit_time(newest, old_time - 0.25)
    proc = run_femsim(["run", str(case), "--out", str(out), "--resume"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"skipping snapshot {newest}: checksum mismatch in snapshot.json" in proc.stderr
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["resumed_from"]["snapshot"] == str(older)
    a, b = np.array(read_series(ref / "timeseries.csv")), np.array(read_series(out / "timeseries.csv"))
    assert a.shape == b.shape
    np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-12)
    print(f"tampered newest manifest: resumed from {older.name}, {len(a)} rows, max relative difference "
          f"{float(np.max(np.abs(b - a) / np.maximum(np.abs(a), 1e-12))):.3g}")
    for snap in sorted((out / "snapshots").glob("step_*")):
        _edit_time(snap, 1.0)
    before = {p: p.stat().st_mtime_ns for p in out.iterdir() if p.is_file()}
    proc = run_femsim(["run", str(case), "--out", str(out), "--resume"])
    line, = [x for x in proc.stderr.splitlines() if x.startswith("error:")]
    assert proc.returncode == 2 and "no complete snapshot" in line and "checksum mismatch in snapshot.json" in line
    assert {p: p.stat().st_mtime_ns for p in out.iterdir() if p.is_file()} == before
