"""Cycling and damage columns of the sweep results table, read from a point's ``cycles.csv`` and
``damage_profile.csv`` (docs/results_format.md).

A sweep over a cycling case is compared on what the cycles did, not only on the run summary:

* ``cycles_completed``: rows of cycles.csv;
* ``discharge_capacity_first_mAh_cm2`` / ``_last_mAh_cm2``: the discharge capacity of the first and
  of the last completed cycle, ``capacity_retention`` their ratio (last / first, dimensionless);
* ``coulombic_efficiency_mean`` / ``_last``: discharge / charge capacity, mean over the cycles and
  of the last one;
* ``peak_sigma_1_surface_p95_last_cycle_Pa``: the last cycle's peak of the surface p95 σ₁ (with
  mechanics);
* ``severe_fraction_last`` and ``severe_fraction_separator_last`` / ``_collector_last``: with
  damage, the fraction of particles classed severe after the last cycle, over the electrode and in
  the depth window next to the separator / the current collector (the depth-profile comparison of
  Xu et al. 2019).

Every column is empty where its file or its column is missing (a CC run, mechanics or damage off,
a point that failed before its first cycle ended).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

from femsim.io.columns import CYCLES, STRESS_METRIC_PEAKS, names
from femsim.segmentation.damage import PROFILE_HEADER


def _column(name: str, header: tuple[str, ...] | list[str]) -> str:
    """``name``, checked against the header that defines it (a renamed column fails at import)."""
    if name not in header:
        raise ImportError(f"column {name!r} is not in its file's header {tuple(header)}")
    return name


_CYCLES_HEADER = names(CYCLES)
CYCLE = _column("cycle", _CYCLES_HEADER)
DISCHARGE = _column("discharge_capacity_mAh_cm2", _CYCLES_HEADER)
EFFICIENCY = _column("coulombic_efficiency", _CYCLES_HEADER)
#: cycles.csv's per-cycle peak of a stress metric (femsim.io.cycles.cycle_rows: ``peak_<metric>``)
PEAK_SURFACE = "peak_" + _column("sigma_1_surface_p95_Pa", list(STRESS_METRIC_PEAKS))
DEPTH_MIN = _column("depth_min_um", PROFILE_HEADER)
N_PARTICLES = _column("n_particles", PROFILE_HEADER)
SEVERE = _column("fraction_severe", PROFILE_HEADER)
#: the columns, in table order
CYCLE_KEYS = ("cycles_completed", "discharge_capacity_first_mAh_cm2", "discharge_capacity_last_mAh_cm2",
              "capacity_retention", "coulombic_efficiency_mean", "coulombic_efficiency_last",
              "peak_sigma_1_surface_p95_last_cycle_Pa", "severe_fraction_last", "severe_fraction_separator_last",
              "severe_fraction_collector_last")


def _rows(path: Path) -> list[dict[str, str]]:
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))
    except (OSError, csv.Error, UnicodeDecodeError):
        return []


def _number(row: dict[str, str], key: str) -> float | None:
    try:
        value = float(row[key])
    except (KeyError, TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _cycles(folder: Path) -> dict[str, Any]:
    rows = _rows(folder / "cycles.csv")
    if not rows:
        return {}
    first, last = rows[0], rows[-1]
    q_first, q_last = _number(first, DISCHARGE), _number(last, DISCHARGE)
    ce = [v for v in (_number(r, EFFICIENCY) for r in rows) if v is not None]
    return {"cycles_completed": len(rows), "discharge_capacity_first_mAh_cm2": q_first,
            "discharge_capacity_last_mAh_cm2": q_last,
            "capacity_retention": q_last / q_first if q_first and q_last is not None else None,
            "coulombic_efficiency_mean": sum(ce) / len(ce) if ce else None,
            "coulombic_efficiency_last": _number(last, EFFICIENCY),
            "peak_sigma_1_surface_p95_last_cycle_Pa": _number(last, PEAK_SURFACE)}


def _damage(folder: Path) -> dict[str, Any]:
    rows = _rows(folder / "damage_profile.csv")
    cycles = [c for c in (_number(r, CYCLE) for r in rows) if c is not None]
    if not cycles:
        return {}
    windows = []
    for r in rows:
        n, severe, lo = _number(r, N_PARTICLES), _number(r, SEVERE), _number(r, DEPTH_MIN)
        if _number(r, CYCLE) == max(cycles) and n and severe is not None and lo is not None:
            windows.append((lo, n, severe))
    if not windows:
        return {}
    windows.sort()
    total = sum(n for _, n, _ in windows)
    return {"severe_fraction_last": sum(n * s for _, n, s in windows) / total,
            "severe_fraction_separator_last": windows[0][2], "severe_fraction_collector_last": windows[-1][2]}


def cycle_columns(folder: Path) -> dict[str, Any]:
    """The :data:`CYCLE_KEYS` of one point's results folder (None where not available)."""
    values = dict.fromkeys(CYCLE_KEYS)
    values.update(_cycles(folder))
    values.update(_damage(folder))
    return values
