"""femsim.io.results: the results folder's manifest, series and tables (serial, rank 0 / rank 1)."""

from __future__ import annotations

import csv
import errno
import hashlib
import json
from pathlib import Path

import pytest

from femsim.io import results
from femsim.io.atomic import IO_FAULT_ENV
from femsim.io.results import (
    PROBES_HEADER,
    RESERVE_BYTES,
    RESERVE_NAME,
    TIMESERIES_HEADER,
    ResultsWriter,
    case_record,
)


class OneRank:
    """A communicator of one process, as rank ``rank`` (size 1: nothing is collective)."""

    size = 1

    def __init__(self, rank: int = 0):
        self.rank = rank


def _rows(path: Path) -> list[list[str]]:
    with open(path, newline="") as fh:
        return list(csv.reader(fh))


def _series_row(time_s: float) -> list[float]:
    return [time_s] + [0.5] * (len(TIMESERIES_HEADER) - 1)


def test_case_record_inline_or_by_reference(monkeypatch) -> None:
    case = {"protocol": {"c_rate": 5.0}}
    assert case_record(case, "c.toml") is case
    monkeypatch.setattr(results, "CASE_INLINE_MAX_BYTES", 10)
    text = json.dumps(case, sort_keys=True, default=str)
    assert case_record(case, "c.toml") == {"by_reference": "c.toml", "bytes": len(text),
                                           "sha256": hashlib.sha256(text.encode()).hexdigest()}
    assert len(text) == 29


def test_writer_creates_series_with_headers_and_a_reserve(tmp_path: Path) -> None:
    ResultsWriter(tmp_path / "out", OneRank())
    out = tmp_path / "out"
    assert _rows(out / "timeseries.csv") == [TIMESERIES_HEADER]
    assert _rows(out / "probes.csv") == [PROBES_HEADER]
    assert TIMESERIES_HEADER[:3] == ["time_s", "current_A", "voltage_V"] and PROBES_HEADER[:2] == ["time_s", "probe"]
    assert (out / RESERVE_NAME).stat().st_size == RESERVE_BYTES == 65536


def test_rows_manifest_and_restart_truncation(tmp_path: Path) -> None:
    w = ResultsWriter(tmp_path, OneRank())
    for t in (0.5, 1.0, 1.5):
        w.append_timeseries(_series_row(t))
    with pytest.raises(ValueError, match="timeseries.csv: row has 2 values"):
        w.append_timeseries([2.0, 1.0])
    assert [float(r[0]) for r in _rows(tmp_path / "timeseries.csv")[1:]] == [0.5, 1.0, 1.5]
    w.update_manifest(status="running", case={"protocol": {"c_rate": 5.0}}, case_file="c.toml")
    manifest = json.loads((tmp_path / "run.json").read_text())
    assert (manifest["status"], manifest["case"], manifest["case_file"]) == ("running", {"protocol": {"c_rate": 5.0}},
                                                                            "c.toml")
    assert "updated" in manifest and (tmp_path / RESERVE_NAME).is_file()
    w.truncate_after(1.0)
    assert [float(r[0]) for r in _rows(tmp_path / "timeseries.csv")[1:]] == [0.5, 1.0]
    # a resumed writer keeps the rows; finishing gives the reserve back
    w2 = ResultsWriter(tmp_path, OneRank(), resume=True)
    w2.append_timeseries(_series_row(2.0))
    assert [float(r[0]) for r in _rows(tmp_path / "timeseries.csv")[1:]] == [0.5, 1.0, 2.0]
    w2.update_manifest(status="finished")
    assert json.loads((tmp_path / "run.json").read_text())["status"] == "finished"
    assert not (tmp_path / RESERVE_NAME).exists()


def test_mark_failed_records_the_reason(tmp_path: Path) -> None:
    w = ResultsWriter(tmp_path, OneRank())
    assert w.mark_failed("before any manifest") is False and not (tmp_path / "run.json").exists()
    w.update_manifest(status="running")
    assert w.mark_failed("solver diverged at t = 3 s") is True
    manifest = json.loads((tmp_path / "run.json").read_text())
    assert (manifest["status"], manifest["reason"]) == ("failed", "solver diverged at t = 3 s")


def test_tables_are_rewritten_whole(tmp_path: Path) -> None:
    w = ResultsWriter(tmp_path, OneRank())
    w.write_cycles(["cycle", "capacity_mAh_cm2"], [[1, 0.25]])
    w.write_cycles(["cycle", "capacity_mAh_cm2"], [[1, 0.25], [2, 0.2475]])
    assert _rows(tmp_path / "cycles.csv") == [["cycle", "capacity_mAh_cm2"], ["1", "0.25"], ["2", "0.2475"]]
    w.write_table("damage.csv", ("id", "crack_length_m"), [[3, 2e-8]])
    assert _rows(tmp_path / "damage.csv") == [["id", "crack_length_m"], ["3", "2e-08"]]


def test_only_rank_0_writes(tmp_path: Path) -> None:
    w = ResultsWriter(tmp_path / "out", OneRank(rank=1))
    w.append_timeseries(_series_row(0.5))
    w.update_manifest(status="running")
    w.write_table("damage.csv", ("id",), [[1]])
    assert not (tmp_path / "out").exists()


def test_a_failed_append_leaves_whole_rows(tmp_path: Path, monkeypatch) -> None:
    w = ResultsWriter(tmp_path, OneRank())
    probe = [0.5, "Ps"] + [1.0] * (len(PROBES_HEADER) - 2)
    monkeypatch.setenv(IO_FAULT_ENV, "ENOSPC:prob?s.csv:2")  # the 2nd write of probes.csv fails
    w.append_probe(probe)
    with pytest.raises(OSError) as err:
        w.append_probe([1.0] + probe[1:])
    assert err.value.errno == errno.ENOSPC
    assert _rows(tmp_path / "probes.csv") == [PROBES_HEADER, ["0.5", "Ps"] + ["1.0"] * (len(PROBES_HEADER) - 2)]
