"""Shared and unattended use: one run per results folder (lock), clean failures when the disk
fills up (injected ENOSPC) on 1 and 2 ranks, output files that honour the umask."""

from __future__ import annotations

import csv
import json
import logging
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from femsim.errors import InputError
from femsim.io import lock as L
from femsim.mpi import in_mpi_run

from _reliability_helpers import env, femsim_cmd, read_series, run_and_kill, run_femsim, write_restart_case

serial_only = pytest.mark.skipif(in_mpi_run(), reason="launches its own processes")


def _children_cpu_s() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_lock_refuses_a_second_holder_and_is_released_on_every_exit(tmp_path, caplog):
    folder = tmp_path / "out"
    folder.mkdir()
    with L.folder_lock(folder) as held:
        holder = json.loads(held.path.read_text())
        assert holder["pid"] == os.getpid() and holder["host"] == socket.gethostname()
        with pytest.raises(InputError, match=f"in use by another femsim run .*PID {os.getpid()}, started"):
            L.acquire(folder)
    assert not (folder / L.LOCK_NAME).exists()
    with pytest.raises(RuntimeError), L.folder_lock(folder):
        raise RuntimeError("boom")
    assert not (folder / L.LOCK_NAME).exists() and folder.is_dir()
    # a lock that created its folder removes it again when nothing was written
    with L.folder_lock(tmp_path / "fresh"):
        pass
    assert not (tmp_path / "fresh").exists()
    # stale: written on this host by a process that is gone → reported and taken over
    stale = {"host": socket.gethostname(), "pid": _dead_pid(), "started": "2026-01-01T00:00:00+00:00"}
    (folder / L.LOCK_NAME).write_text(json.dumps(stale))
    with caplog.at_level(logging.WARNING, logger="femsim"), L.folder_lock(folder):
        pass
    assert f"stale lock of a run that is no longer running (host {stale['host']}, PID {stale['pid']}" in caplog.text
    # another host: cannot be checked, refused unless forced
    (folder / L.LOCK_NAME).write_text(json.dumps(dict(stale, host="node-elsewhere")))
    with pytest.raises(InputError, match="locked by host node-elsewhere.*--force"):
        L.acquire(folder)
    with L.folder_lock(folder, force=True):
        pass
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="is a file, not a folder"):
        L.acquire(tmp_path / "file")


@serial_only
def test_second_run_into_one_folder_is_refused_and_the_first_stays_clean(tmp_path, meshed):
    case = write_restart_case(tmp_path, meshed)
    out = tmp_path / "out"
    first = subprocess.Popen(femsim_cmd(["run", str(case), "--out", str(out)]), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env())
    lock = out / L.LOCK_NAME
    t0 = time.monotonic()
    while not (lock.is_file() and lock.stat().st_size > 0):
        assert first.poll() is None and time.monotonic() - t0 < 60, "first run did not take the lock"
        time.sleep(0.02)
    t1, cpu1 = time.monotonic(), _children_cpu_s()
    second = run_femsim(["run", str(case), "--out", str(out)], timeout=60)
    refused_s, cpu_s = time.monotonic() - t1, _children_cpu_s() - cpu1  # the first is not reaped yet
    still_running = first.poll() is None
    _, err = first.communicate(timeout=240)
    # 2 s on an idle machine (0.34 s measured); a shared CI machine stretches wall time by its load
    load = max(1.0, os.getloadavg()[0] / (os.cpu_count() or 1))
    print(f"second run refused after {refused_s:.2f} s wall, {cpu_s:.2f} s CPU, load factor {load:.1f} "
          f"(first still running: {still_running}): {second.stderr.strip()}")
    assert still_running
    assert second.returncode == 2 and cpu_s <= 1.0 and refused_s <= 2.0 * load
    line, = [x for x in second.stderr.splitlines() if x.startswith("error:")]
    assert f"PID {first.pid}" in line and socket.gethostname() in line and "started" in line, line
    assert "Traceback" not in second.stderr
    assert first.returncode == 0, err[-2000:]
    rows = read_series(out / "timeseries.csv")
    times = [r[0] for r in rows]
    assert times == sorted(set(times)) and len(rows) == json.loads((out / "run.json").read_text())["summary"][
        "n_steps"] + 1
    assert not lock.exists()
    # killed with SIGKILL: the lock file stays; the next run reports it stale and takes over
    run_and_kill(["run", str(case), "--out", str(out)], 1, until=out / "snapshots" / "step_00000001")
    holder = json.loads(lock.read_text())
    resumed = run_femsim(["run", str(case), "--out", str(out), "--resume"])
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"stale lock of a run that is no longer running (host {holder['host']}, PID {holder['pid']}" \
        in resumed.stderr
    assert [r[0] for r in read_series(out / "timeseries.csv")] == times


def _whole_rows(path: Path) -> bool:
    with open(path, newline="") as fh:
        text = fh.read()
    rows = list(csv.reader(text.splitlines()))
    return text.endswith("\n") and all(len(r) == len(rows[0]) for r in rows)


@serial_only
@pytest.mark.parametrize("ranks,target", [(1, "timeseries.csv:4"), (2, "timeseries.csv:4"), (2, "*_p1_*.vtu:2")])
def test_disk_full_is_one_line_exit_3_and_run_json_failed(tmp_path, meshed, ranks, target):
    fields = target.endswith(".vtu:2")
    case = write_restart_case(tmp_path, meshed, **({"fields = false": "fields = true"} if fields else {}))
    out = tmp_path / "out"
    proc = run_femsim(["run", str(case), "--out", str(out)], ranks,
                      extra_env={"FEMSIM_IO_FAULT": f"ENOSPC:{target}"})
    errors = [x for x in proc.stderr.splitlines() if x.startswith("error:")]
    print(f"{ranks} rank(s), ENOSPC on {target}: exit {proc.returncode}: {errors}")
    assert proc.returncode == 3, proc.stderr[-3000:]
    assert len(errors) == 1 and "No space left on device" in errors[0] and "[ENOSPC]" in errors[0], proc.stderr
    assert ("timeseries.csv" if not fields else "_p1_000000.vtu") in errors[0]
    assert "Traceback" not in proc.stderr
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["status"] == "failed" and "No space left on device" in manifest["reason"]
    for series in ("timeseries.csv", "probes.csv"):
        assert _whole_rows(out / series), series
    assert not list(out.rglob("*.tmp")) and not (out / L.LOCK_NAME).exists()
    if fields:  # the index lists only complete piece sets; every listed file exists, none is partial
        for pvd in (out / "fields").glob("*.pvd"):
            for f in __import__("re").findall(r'file="([^"]+)"', pvd.read_text()):
                assert (out / "fields" / f).is_file()
        for vtk in [*(out / "fields").glob("*.vtu"), *(out / "fields").glob("*.pvtu")]:
            assert vtk.read_bytes().rstrip().endswith(b"</VTKFile>"), vtk
        assert not list((out / "fields").glob(".tmp_*"))  # the unfinished piece set is removed


def test_output_files_honour_the_umask(tmp_path):
    from femsim.io.atomic import CsvSeries, write_json

    old = os.umask(0o002)
    try:
        write_json(tmp_path / "a.json", {"x": 1})
        CsvSeries(tmp_path / "s.csv", ["t"])
    finally:
        os.umask(old)
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o664
    assert (tmp_path / "s.csv").stat().st_mode & 0o777 == 0o664
