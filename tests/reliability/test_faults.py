"""Solver faults: Newton failures cut the step, a step below the minimum ends the run cleanly with
a diagnostic snapshot, non-finite values fail the Newton solve at once, and an exception on one
MPI rank aborts every rank within seconds."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from femsim.mpi import import_dolfinx, in_mpi_run

from _reliability_helpers import env, femsim_cmd, run_and_kill, run_femsim, stepped_restart_problem, write_restart_case

serial_only = pytest.mark.skipif(in_mpi_run(), reason="launches its own processes")


@serial_only
def test_newton_failure_cuts_step_then_stops_with_status_failed(tmp_path, meshed):
    # two Newton iterations are enough for the initial potentials, never for a time step
    case = write_restart_case(tmp_path, meshed, **{"dt_max_s = 1.0": "dt_max_s = 1.0\nmax_newton_iterations = 2\n"
                                                                      "dt_min_s = 0.1"})
    out = tmp_path / "out"
    proc = run_femsim(["run", str(case), "--out", str(out)])
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    rejected = [line for line in proc.stderr.splitlines() if "step rejected: Newton failed" in line]
    assert len(rejected) >= 2 and all("retrying with dt" in line for line in rejected), proc.stderr
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["status"] == "failed" and "dt_min_s" in manifest["reason"]
    assert manifest["summary"]["termination"] == "failed"
    diag = Path(manifest["diagnostic_snapshot"])
    assert diag.name.startswith("diagnostic_")
    assert json.loads((diag / "snapshot.json").read_text())["kind"] == "diagnostic"
    # a diagnostic snapshot is never resumed from
    proc = run_femsim(["run", str(case), "--out", str(out), "--resume"])
    assert proc.returncode == 2 and "no complete snapshot" in proc.stderr


@serial_only
def test_fault_on_one_rank_aborts_all_ranks(tmp_path, meshed):
    case = write_restart_case(tmp_path, meshed)
    e = env()
    e["FEMSIM_FAULT_INJECT"] = "rank=1,step=1"
    t0 = time.monotonic()
    proc = subprocess.run(femsim_cmd(["run", str(case), "--out", str(tmp_path / "out")], ranks=2),
                          capture_output=True, text=True, timeout=30, env=e)
    elapsed = time.monotonic() - t0
    print(f"injected fault: exit {proc.returncode} after {elapsed:.1f} s")
    assert proc.returncode != 0
    assert "injected fault on rank 1 at step 1" in proc.stderr
    assert "aborting all ranks" in proc.stderr
    assert elapsed < 30
    manifest = json.loads((tmp_path / "out" / "run.json").read_text())
    assert manifest["status"] == "failed" and "on rank 1" in manifest["reason"], manifest


@serial_only
def test_sigterm_marks_the_run_interrupted(tmp_path, meshed):
    case = write_restart_case(tmp_path, meshed)
    out = tmp_path / "out"
    rc = run_and_kill(["run", str(case), "--out", str(out)], 1, until=out / "snapshots" / "step_00000001",
                      sig=signal.SIGTERM)
    assert rc == 130
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["status"] == "interrupted" and manifest["reason"] == "signal SIGTERM"


@pytest.mark.parallel
def test_non_finite_value_in_any_field_fails_the_newton_solve():
    """NaN or Inf in any unknown on any one rank makes the step fail on every rank."""
    import_dolfinx()
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    folder = Path(comm.bcast(tempfile.mkdtemp(prefix="femsim_nan_") if comm.rank == 0 else None, root=0))
    if comm.rank == 0:
        write_restart_case(folder)
    comm.barrier()
    problem, current = stepped_restart_problem(folder, comm)
    problem.restore()
    bad_rank = comm.size - 1
    for k, u in enumerate(problem.unknowns):
        for value in (np.nan,) if k else (np.nan, np.inf):
            if comm.rank == bad_rank and u.x.array.size:
                u.x.array[0] = value
                problem.previous[k].x.array[0] = value
            ok, _, why = problem.step(0.5, current)
            assert not ok, f"unknown {u.name} = {value} not detected"
            problem.set_initial_state()
    comm.barrier()
    if comm.rank == 0:
        shutil.rmtree(folder, ignore_errors=True)
