"""``cycles.csv``: one row per protocol cycle, computed from the time-series rows.

Charge and discharge capacities are the backward-Euler sums Σ i_n dt_n of the positive and
negative currents (the same quadrature as the solver, so a cycle's charge balances the Li moved
in the particles to the Newton tolerance); energies are Σ V_n i_n dt_n; mean voltages are
energy / capacity (capacity-weighted). The per-cycle peaks of every per-particle stress metric
come from the run (max over the particles and the mechanics solves of the cycle).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from femsim.io.columns import CYCLES, names
from femsim.units import C_M2_PER_MAH_CM2

CYCLES_HEADER = list(names(CYCLES))


def cycle_rows(series: Mapping[str, np.ndarray], area_m2: float, peaks: dict[int, dict[str, float]],
               stress_keys: list[str]) -> tuple[list[str], list[list[Any]]]:
    """The header and rows of ``cycles.csv``.

    Args:
        series: time-series columns by name (:class:`femsim.io.columns.SeriesRecord`; ``time_s``,
            ``current_A``, ``voltage_V``, ``dt_s`` and ``cycle`` are used).
        area_m2: cross-section of the cell (current = density × area).
        peaks: {cycle: {stress metric: peak (Pa)}} of the run.
        stress_keys: the per-particle stress metrics, in column order (``peak_<key>``).
    """
    header = CYCLES_HEADER + [f"peak_{key}" for key in stress_keys]
    out: list[list[Any]] = []
    if len(series["time_s"]) == 0:
        return header, out
    cycles = np.asarray(series["cycle"]).astype(int)
    for cycle in sorted(set(cycles.tolist())):
        rows = cycles == cycle
        t, dt = np.asarray(series["time_s"])[rows], np.asarray(series["dt_s"])[rows]
        i = np.asarray(series["current_A"])[rows] / area_m2
        v = np.asarray(series["voltage_V"])[rows]
        q = i * dt
        q_ch, q_dis = float(q[q > 0].sum()), float(-q[q < 0].sum())
        e_ch, e_dis = float((v * q)[q > 0].sum()), float(-(v * q)[q < 0].sum())
        start = float(t[0] - dt[0])
        row = [cycle, start, float(t[-1]), float(t[-1] - start), q_ch / C_M2_PER_MAH_CM2, q_dis / C_M2_PER_MAH_CM2,
               q_dis / q_ch if q_ch > 0 else float("nan"), e_ch / q_ch if q_ch > 0 else float("nan"),
               e_dis / q_dis if q_dis > 0 else float("nan"), e_ch / C_M2_PER_MAH_CM2, e_dis / C_M2_PER_MAH_CM2,
               int(np.count_nonzero(dt > 0))]
        cycle_peaks = peaks.get(cycle, {})
        out.append(row + [cycle_peaks.get(key, float("nan")) for key in stress_keys])
    return header, out
