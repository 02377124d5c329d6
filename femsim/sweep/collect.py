"""``femsim sweep collect``: one table with each point's parameters, status and key results.

Columns: ``index, label, hash`` then one column per axis key (the dotted key as its name), then
``status, exit_status, error``, the run summary values (units in the names, see
``docs/results_format.md``), the state-of-charge spread across depth (separator-side minus
collector-side 10-µm window, at 150 s and at the end of the run), the cycling and damage columns
(:mod:`femsim.sweep.cycle_columns`), the scheduler ids and the folder.
The table is written as CSV, and also as Parquet when pyarrow is installed. Identical whatever
executor ran the points.
"""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import Any

from femsim.io.atomic import atomic_open, write_csv
from femsim.sweep.cycle_columns import CYCLE_KEYS, cycle_columns
from femsim.sweep.state import PointState, sweep_states

LOG = logging.getLogger(__name__)

#: summary keys of run.json copied into the table
SUMMARY_KEYS = ("time_to_cutoff_s", "delivered_capacity_mAh_cm2", "mean_electrolyte_potential_drop_V",
                "peak_sigma_eq_separator_Pa", "peak_sigma_eq_collector_Pa", "peak_sigma_eq_Pa",
                "soc_separator_150s", "soc_collector_150s", "soc_end", "voltage_end_V", "time_end_s",
                "termination", "n_steps", "n_dofs", "wall_time_s")
EXTRA_KEYS = ("soc_spread_150s", "soc_spread_end", "n_ranks", "slurm_array_job_id", "slurm_array_task_id",
              "hostname", "log", "folder")


def _soc_spread_end(folder: Path) -> float | None:
    """Separator-side minus collector-side SOC in the last row of ``timeseries.csv``."""
    path = folder / "timeseries.csv"
    try:
        with open(path, encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        last = rows[-1]
        return float(last["soc_separator_10um"]) - float(last["soc_collector_10um"])
    except (OSError, IndexError, KeyError, ValueError, TypeError):
        return None


def _cell(value: Any) -> Any:
    if isinstance(value, list | tuple | dict):
        return json.dumps(value)
    return value


def row_of(state: PointState, param_keys: list[str]) -> dict[str, Any]:
    """One table row (a dict keyed by column name)."""
    e = state.entry
    row: dict[str, Any] = {"index": e["index"], "label": e["label"], "hash": e["hash"]}
    for key in param_keys:
        row[key] = _cell(e["params"].get(key))
    row.update(status=state.status, exit_status=state.exit_status, error=state.error)
    summary = (state.run or {}).get("summary") or {}
    for key in SUMMARY_KEYS:
        row[key] = summary.get(key)
    sep, cc = summary.get("soc_separator_150s"), summary.get("soc_collector_150s")
    env = (state.run or {}).get("environment") or {}
    task = state.task or {}
    row.update(soc_spread_150s=(sep - cc) if sep is not None and cc is not None else None,
               soc_spread_end=_soc_spread_end(state.folder) if state.run else None,
               n_ranks=(state.run or {}).get("n_ranks"),
               slurm_array_job_id=env.get("SLURM_ARRAY_JOB_ID") or task.get("array_job_id") or None,
               slurm_array_task_id=env.get("SLURM_ARRAY_TASK_ID") or task.get("array_task_id") or None,
               hostname=env.get("hostname"), log=str(state.log) if state.log.is_file() else None,
               folder=str(state.folder))
    row.update(cycle_columns(state.folder) if state.run else dict.fromkeys(CYCLE_KEYS))
    return row


def table(manifest: dict[str, Any], states: list[PointState] | None = None) -> tuple[list[str], list[dict[str, Any]]]:
    """(columns, rows) of the results table."""
    states = states if states is not None else sweep_states(manifest)
    keys = list(manifest.get("param_keys", []))
    columns = ["index", "label", "hash", *keys, "status", "exit_status", "error", *SUMMARY_KEYS, *CYCLE_KEYS,
               *EXTRA_KEYS]
    return columns, [row_of(s, keys) for s in states]


def write_table(columns: list[str], rows: list[dict[str, Any]], csv_path: Path) -> list[Path]:
    """Write the CSV (and ``.parquet`` beside it when pyarrow is importable); return the files."""
    write_csv(csv_path, columns, ([("" if r.get(c) is None else r.get(c)) for c in columns] for r in rows))
    written = [csv_path]
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        LOG.debug("pyarrow not installed: CSV only")
        return written
    data = {c: [r.get(c) for r in rows] for c in columns}
    for c, values in data.items():  # one type per column: mixed columns become text
        kinds = {type(v) for v in values if v is not None}
        if len(kinds) > 1 and not kinds <= {int, float}:
            data[c] = [None if v is None else str(v) for v in values]
        elif kinds == {int, float}:
            data[c] = [None if v is None else float(v) for v in values]
    pq_path = csv_path.with_suffix(".parquet")
    with atomic_open(pq_path, "wb") as fh:
        pq.write_table(pa.table(data), fh)
    written.append(pq_path)
    return written
