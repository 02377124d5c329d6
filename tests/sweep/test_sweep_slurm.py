"""A real scheduler: a 4-point sweep of the tiny case through a single-node SLURM on localhost.

The set-up installs Debian's slurm-wlm and munge when ``sbatch`` is missing (root + network), then
starts a private munged, slurmctld and slurmd (see ``_slurm_cluster.py``); it skips, with the
reason, only where the packages cannot be installed.
"""

from __future__ import annotations

import csv
import json
import subprocess
import time
from pathlib import Path

import pytest

from femsim.cli import main

from _slurm_cluster import LocalSlurm, ensure_installed
from _sweep_helpers import write_sweep

AXES = """
[[axis]]
key = "protocol.c_rate"
values = [1.0, 2.0]
label = "C"

[[axis]]
key = "materials.matrix_porosity"
values = [0.4, 0.5]
label = "eps"
"""


@pytest.fixture(scope="module")
def slurm_cluster(tmp_path_factory):
    reason = ensure_installed()
    if reason is not None:
        pytest.skip(f"no SLURM for this test: {reason}")
    cluster = LocalSlurm(tmp_path_factory.mktemp("slurm"))
    try:
        cluster.start()
    except (RuntimeError, OSError) as exc:
        cluster.stop()
        pytest.fail(f"could not start the local SLURM: {exc}\n{cluster.logs()}")
    yield cluster
    cluster.stop()


def test_slurm_array_sweep_end_to_end(slurm_cluster, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SLURM_CONF", str(slurm_cluster.conf))
    path = write_sweep(tmp_path, AXES, name="slurm 'test' sweep", sweep_folder="sweep out")
    out = tmp_path / "sweep out"

    # a held submission is reported as queued, then cancelled
    held = tmp_path / "held"
    assert main(["sweep", "run", str(path), "--dir", str(held), "--executor", "slurm", "--no-mesh",
                 "--sbatch-option=--hold"]) == 0
    capsys.readouterr()
    assert main(["sweep", "status", str(held)]) == 0
    assert "4 points: 4 queued" in capsys.readouterr().out
    job = json.loads((held / "slurm" / "jobs.json").read_text())["jobs"][0]["job_id"]
    subprocess.run(["scancel", job], env=slurm_cluster.env, check=True, timeout=30)
    for _ in range(40):  # cancelled tasks leave the queue without an exit status: failed, with the reason
        assert main(["sweep", "status", str(held)]) == 0
        status = capsys.readouterr().out
        if "4 points: 4 failed" in status:
            break
        time.sleep(0.25)
    assert "4 points: 4 failed" in status and "left the SLURM queue without an exit status" in status

    try:
        rc = main(["sweep", "run", str(path), "--executor", "slurm", "--wait", "--poll-s", "1",
                   "--wait-timeout-min", "4"])
    finally:
        printed = capsys.readouterr().out
    assert rc == 0, printed + slurm_cluster.logs()
    assert "submitted job array" in printed and "4 points: 4 finished" in printed
    manifest = json.loads((out / "sweep.json").read_text())
    for e in manifest["points"]:
        run = json.loads((Path(e["folder"]) / "run.json").read_text())
        assert run["status"] == "finished"
        assert run["environment"]["SLURM_ARRAY_TASK_ID"] == str(e["index"])
        task = json.loads((Path(e["folder"]) / "task.json").read_text())
        assert task["exit_status"] == 0 and task["array_task_id"] == str(e["index"])
    with open(out / "results.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["status"] for r in rows] == ["finished"] * 4
    assert [r["slurm_array_task_id"] for r in rows] == ["0", "1", "2", "3"]
    assert len({r["slurm_array_job_id"] for r in rows}) == 1

    assert main(["sweep", "status", str(path)]) == 0
    assert "4 points: 4 finished" in capsys.readouterr().out
    # nothing left to submit
    assert main(["sweep", "run", str(path), "--executor", "slurm"]) == 0
    assert "nothing to submit" in capsys.readouterr().out
