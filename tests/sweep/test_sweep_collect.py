"""The results table from hand-made point folders (no solver): columns, states, stale results, Parquet."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from femsim.io.atomic import write_json
from femsim.sweep.collect import table, write_table
from femsim.sweep.plan import case_digest
from femsim.sweep.state import error_line, sweep_states


def _manifest(tmp_path: Path) -> dict:
    points = []
    for i, c in enumerate([1.0, 2.0, 5.0, 10.0]):
        folder = tmp_path / "points" / f"C{c:g}"
        folder.mkdir(parents=True)
        points.append({"index": i, "label": f"C{c:g}", "hash": f"h{i}", "dir": f"C{c:g}-h{i}", "folder": str(folder),
                       "case_file": str(folder / "case.toml"), "params": {"protocol.c_rate": c},
                       "case_digest": case_digest({"protocol": {"c_rate": c}})})
    return {"name": "t", "folder": str(tmp_path), "param_keys": ["protocol.c_rate"], "points": points}


def test_table_rows_states_and_soc_spread(tmp_path):
    m = _manifest(tmp_path)
    p0, p1, p2, p3 = (Path(e["folder"]) for e in m["points"])
    summary = {"time_to_cutoff_s": 100.0, "delivered_capacity_mAh_cm2": 0.5, "mean_electrolyte_potential_drop_V": 0.01,
               "peak_sigma_eq_separator_Pa": 2e8, "peak_sigma_eq_collector_Pa": 1e8, "soc_separator_150s": 0.4,
               "soc_collector_150s": 0.1, "wall_time_s": 12.0}
    write_json(p0 / "run.json", {"status": "finished", "case": {"protocol": {"c_rate": 1.0}}, "summary": summary,
                                 "environment": {"SLURM_ARRAY_TASK_ID": "0", "hostname": "n1"}, "n_ranks": 4})
    (p0 / "timeseries.csv").write_text("time_s,soc_separator_10um,soc_collector_10um\n0,0,0\n9,0.5,0.2\n")
    write_json(p1 / "run.json", {"status": "finished", "case": {"protocol": {"c_rate": 99.0}}, "summary": {}})
    (p2 / "run.log").write_text("12:00:00 INFO start\n12:00:01 ERROR run failed: Newton diverged\nbye\n")
    write_json(p2 / "task.json", {"exit_status": 1})
    columns, rows = table(m, sweep_states(m))
    assert columns[:5] == ["index", "label", "hash", "protocol.c_rate", "status"]
    assert [r["status"] for r in rows] == ["finished", "stale", "failed", "not run"]
    assert rows[0]["soc_spread_150s"] == pytest.approx(0.3) and rows[0]["soc_spread_end"] == pytest.approx(0.3)
    assert rows[0]["slurm_array_task_id"] == "0" and rows[0]["n_ranks"] == 4
    assert rows[2]["error"] == "12:00:01 ERROR run failed: Newton diverged" and rows[2]["exit_status"] == 1
    assert rows[2]["log"] == str(p2 / "run.log")
    files = write_table(columns, rows, tmp_path / "results.csv")
    with open(files[0], newline="") as fh:
        back = list(csv.DictReader(fh))
    assert back[0]["peak_sigma_eq_separator_Pa"] == "200000000.0" and back[3]["time_to_cutoff_s"] == ""
    json.dumps(rows)  # plain data


def test_error_line_prefers_logged_errors_then_exceptions(tmp_path):
    log = tmp_path / "run.log"
    log.write_text("Traceback (most recent call last):\n  File x\nValueError: bad thing\n"
                   "During handling of the above exception, another exception occurred:\nWARNING! unused option\n")
    assert error_line(log) == "ValueError: bad thing"
    log.write_text("error: case.toml: protocol.c_rate: must be > 0\n")
    assert error_line(log).startswith("error: case.toml")
    assert error_line(tmp_path / "missing.log") == ""


def test_parquet_beside_csv_when_pyarrow_is_present(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow not installed: CSV only")
    m = _manifest(tmp_path)
    columns, rows = table(m, sweep_states(m))
    files = write_table(columns, rows, tmp_path / "results.csv")
    assert files[1].suffix == ".parquet"
    assert pq.read_table(files[1]).num_rows == 4


def test_cycle_and_damage_columns(tmp_path):
    """A cycling point's cycles.csv and damage_profile.csv give its retention, coulombic efficiency,
    last-cycle peak stress and severe fractions; a CC point leaves them empty."""
    m = _manifest(tmp_path)
    p0, p1 = (Path(e["folder"]) for e in m["points"][:2])
    for p, c in ((p0, 1.0), (p1, 2.0)):
        write_json(p / "run.json", {"status": "finished", "case": {"protocol": {"c_rate": c}}, "summary": {}})
    (p0 / "cycles.csv").write_text(
        "cycle,charge_capacity_mAh_cm2,discharge_capacity_mAh_cm2,coulombic_efficiency,peak_sigma_1_surface_p95_Pa\n"
        "1,1.00,0.98,0.98,1.0e9\n2,0.97,0.96,0.9896907216,1.1e9\n3,0.95,0.931,0.98,nan\n")
    (p0 / "damage_profile.csv").write_text(
        "cycle,depth_min_um,depth_max_um,n_particles,fraction_least,fraction_mild,fraction_severe\n"
        "2,0,10,10,0.5,0.3,0.2\n2,10,20,10,0.9,0.1,0.0\n"
        "3,10,20,30,0.8,0.1,0.1\n3,0,10,10,0.2,0.4,0.4\n")
    columns, rows = table(m, sweep_states(m))
    assert columns.index("cycles_completed") > columns.index("wall_time_s")
    r = rows[0]
    assert r["cycles_completed"] == 3 and r["discharge_capacity_first_mAh_cm2"] == pytest.approx(0.98)
    assert r["capacity_retention"] == pytest.approx(0.931 / 0.98, rel=1e-12)
    assert r["coulombic_efficiency_mean"] == pytest.approx((0.98 + 0.9896907216 + 0.98) / 3, rel=1e-12)
    assert r["coulombic_efficiency_last"] == pytest.approx(0.98)
    assert r["peak_sigma_1_surface_p95_last_cycle_Pa"] is None  # nan in the file: no number
    assert r["severe_fraction_last"] == pytest.approx((10 * 0.4 + 30 * 0.1) / 40, rel=1e-12)
    assert r["severe_fraction_separator_last"] == 0.4 and r["severe_fraction_collector_last"] == 0.1
    assert all(rows[1][k] is None for k in ("cycles_completed", "capacity_retention", "severe_fraction_last"))
    assert all(rows[3][k] is None for k in ("cycles_completed", "severe_fraction_last"))  # not run
