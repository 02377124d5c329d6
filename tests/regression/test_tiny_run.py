"""The coarse CI version of the 5C charge (``cases/ci/tiny.toml``) run end to end through the CLI,
serially and on two MPI ranks: outputs complete and consistent, two ranks equal one rank."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
CASE = REPO / "cases" / "ci" / "tiny.toml"
BIN = Path(sys.executable).parent


def _run(out: Path, ranks: int) -> subprocess.CompletedProcess:
    cmd = [str(BIN / "femsim"), "-q", "run", str(CASE), "--out", str(out)]
    if ranks > 1:
        cmd = [str(BIN / "mpiexec"), "-n", str(ranks)] + cmd
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, cwd=REPO)


def _table(path: Path) -> tuple[list[str], np.ndarray]:
    with open(path) as fh:
        rows = list(csv.reader(fh))
    numeric = [k for k, name in enumerate(rows[0]) if name != "step_kind"]
    return [rows[0][k] for k in numeric], np.array([[float(r[k]) for k in numeric] for r in rows[1:]])


@pytest.fixture(scope="module")
def serial_run(tmp_path_factory):
    from femsim.mpi import world_rank_size

    if world_rank_size()[1] > 1:
        pytest.skip("launches its own runs; run serially")
    out = tmp_path_factory.mktemp("tiny") / "serial"
    proc = _run(out, 1)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def test_tiny_run_writes_complete_results(serial_run):
    out = serial_run
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["status"] == "finished"
    s = manifest["summary"]
    assert s["termination"] == "end_time" and s["time_end_s"] == pytest.approx(20.0)
    head, ts = _table(out / "timeseries.csv")
    assert head[:4] == ["time_s", "current_A", "voltage_V", "electrolyte_potential_drop_V"]
    t, volt, drop = ts[:, 0], ts[:, 2], ts[:, 3]
    assert 10.0 in t and t[-1] == pytest.approx(20.0)  # output time hit exactly
    assert np.all(np.diff(volt) > 0), "the voltage rises during a charge"
    late = drop[t > 2.0]
    assert np.all(late > 0), "Δφ_l (collector side − separator side) is positive on charge"
    assert np.ptp(late) < 0.2 * np.mean(late), "Δφ_l is roughly constant after the first seconds"
    # delivered charge = ∫ I dt and the mean state of charge agree (Li conservation)
    q = np.sum(0.5 * (ts[1:, 1] + ts[:-1, 1]) * np.diff(t))
    assert s["delivered_capacity_mAh_cm2"] == pytest.approx(q / 1e-10 / 36e3, rel=1e-9)
    assert ts[-1, 4] == pytest.approx(s["delivered_capacity_mAh_cm2"] / 0.30, rel=2e-3)
    phead, parts = _table_with_text(out / "particles.csv")
    assert len(parts) == 12  # 6 particles × (10 s output + final 20 s)
    assert {r["particle_id"] for r in parts} == {"1", "2", "3", "4", "5", "6"}
    assert all(float(r["sigma_eq_max_Pa"]) > 0 for r in parts)
    probes = _table_with_text(out / "probes.csv")[1]
    assert {r["probe"] for r in probes} == {"Ps", "Pcc"}
    for name in ("particles", "electrolyte"):  # one piece set per output time, each complete on disk
        index = (out / "fields" / f"{name}.pvd").read_text()
        assert [float(t) for t in re.findall(r'timestep="([^"]+)"', index)] == [10.0, 20.0], name
        pieces = re.findall(r'file="([^"]+)"', index)
        assert len(pieces) == 2 and all((out / "fields" / p).is_file() for p in pieces), (name, pieces)
    assert s["peak_sigma_eq_separator_Pa"] > 0 and s["peak_sigma_eq_collector_Pa"] > 0


def _table_with_text(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path) as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def test_two_ranks_equal_serial(serial_run, tmp_path):
    out = tmp_path / "two"
    proc = _run(out, 2)
    assert proc.returncode == 0, proc.stderr[-3000:]
    head, serial = _table(serial_run / "timeseries.csv")
    _, parallel = _table(out / "timeseries.csv")
    assert serial.shape == parallel.shape, "same step sequence"
    for k, name in enumerate(head):
        if name == "newton_iterations":
            continue
        scale = max(np.max(np.abs(serial[:, k])), 1e-30)
        assert np.max(np.abs(serial[:, k] - parallel[:, k])) <= 1e-8 * scale, name
    _, p1 = _table_with_text(serial_run / "particles.csv")
    _, p2 = _table_with_text(out / "particles.csv")
    for col in ("c_mean_over_cmax", "c_surface_min_over_cmax", "c_surface_max_over_cmax", "sigma_eq_max_Pa"):
        a = np.array([float(r[col]) for r in p1])
        b = np.array([float(r[col]) for r in p2])
        assert np.allclose(a, b, rtol=1e-8, atol=0), col


def test_report_builds_from_the_real_run(serial_run, tmp_path):
    """``femsim report`` on a real (coarse) run: the page and every figure, each a valid non-blank PNG."""
    import postprocess

    index = postprocess.build_report(serial_run, out_dir=tmp_path / "report", time_s=10.0)
    assert index.is_file() and "<img" in index.read_text()
    pngs = sorted((tmp_path / "report").glob("*.png"))
    assert len(pngs) >= 5
    import matplotlib.image as mpimg

    for png in pngs:
        img = mpimg.imread(png)
        assert img.ndim == 3 and img.shape[0] > 100 and np.std(img[..., :3]) > 0.01, png.name
