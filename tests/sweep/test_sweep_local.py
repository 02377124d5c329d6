"""Local executor on real runs of the tiny case: a failing point, skipping finished points, the table."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

from femsim.cli import main

from _sweep_helpers import write_sweep

# point 2 cannot converge: one Newton iteration per step, and the step may not be cut below 0.4 s
ZIPPED = """
[[axis]]
key = "protocol.c_rate"
values = [1.0, 2.0, 5.0]
label = "C"

[[axis]]
key = "solver.max_newton_iterations"
values = [15, 15, 1]
label = "it"

[[axis]]
key = "solver.dt_min_s"
values = [1e-5, 1e-5, 0.4]
label = "dtmin"

[local]
jobs = 2
"""


def test_failure_is_recorded_others_finish_and_rerun_skips(tmp_path, capsys):
    path = write_sweep(tmp_path, ZIPPED, name="local 'sweep' \"q\"", sweep_folder="out dir")
    text = path.read_text().replace("base =", 'combine = "zip"\nbase =')
    path.write_text(text)
    out = tmp_path / "out dir"

    assert main(["sweep", "run", str(path)]) == 1
    printed = capsys.readouterr().out
    assert "3 points, 0 already finished, 3 to run (2 at a time" in printed
    assert "[3/3]" in printed and "FAILED C5_it1_dtmin0.4" in printed
    manifest = json.loads((out / "sweep.json").read_text())
    assert len(manifest["meshes"]) == 1  # one mesh shared by the three points
    good, bad = manifest["points"][:2], manifest["points"][2]
    for e in good:
        run = json.loads((Path(e["folder"]) / "run.json").read_text())
        assert run["status"] == "finished" and run["case"]["mesh"]["file"] == manifest["points"][0]["mesh_file"]
    task = json.loads((Path(bad["folder"]) / "task.json").read_text())
    assert task["exit_status"] != 0 and task["error"] and Path(task["log"]).is_file()

    with open(out / "results.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["status"] for r in rows] == ["finished", "finished", "failed"]
    assert rows[2]["exit_status"] == str(task["exit_status"]) and rows[2]["error"]
    assert [float(r["protocol.c_rate"]) for r in rows] == [1.0, 2.0, 5.0]
    assert float(rows[1]["delivered_capacity_mAh_cm2"]) > float(rows[0]["delivered_capacity_mAh_cm2"]) > 0
    assert rows[0]["wall_time_s"] and rows[0]["soc_spread_end"] != ""

    assert main(["sweep", "status", str(path)]) == 0
    status = capsys.readouterr().out
    assert "3 points: 2 finished, 1 failed" in status and "run.log" in status and bad["dir"] in status

    # second run: finished points are skipped (their files untouched), the failed one is tried again
    stamps = {e["dir"]: os.stat(Path(e["folder"]) / "run.json").st_mtime_ns for e in manifest["points"]}
    logs = {e["dir"]: os.stat(Path(e["folder"]) / "run.log").st_mtime_ns for e in good}
    assert main(["sweep", "run", str(path), "--jobs", "1"]) == 1
    printed = capsys.readouterr().out
    assert "3 points, 2 already finished, 1 to run" in printed
    for e in good:
        assert os.stat(Path(e["folder"]) / "run.json").st_mtime_ns == stamps[e["dir"]]
        assert os.stat(Path(e["folder"]) / "run.log").st_mtime_ns == logs[e["dir"]]
    assert os.stat(Path(bad["folder"]) / "run.json").st_mtime_ns > stamps[bad["dir"]]

    # collect from the folder alone gives the same table
    assert main(["sweep", "collect", str(out), "--out", str(tmp_path / "again.csv")]) == 0
    with open(tmp_path / "again.csv", newline="") as fh:
        again = list(csv.DictReader(fh))
    assert [(r["label"], r["status"]) for r in again] == [(r["label"], r["status"]) for r in rows]
