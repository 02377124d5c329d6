"""``cycles.csv``: one row per protocol cycle, computed from the time-series rows.

Charge and discharge capacities are the backward-Euler sums Σ i_n dt_n of the positive and
negative currents (the same quadrature as the solver, so a cycle's charge balances the Li moved
in the particles to the Newton tolerance); energies are Σ V_n i_n dt_n; mean voltages are
energy / capacity (capacity-weighted). The per-cycle peaks of every per-particle stress metric
come from the run (max over the particles and the mechanics solves of the cycle).
"""

from __future__ import annotations

from typing import Any

import numpy as np

CYCLES_HEADER = ["cycle", "start_s", "end_s", "duration_s", "charge_capacity_mAh_cm2", "discharge_capacity_mAh_cm2",
                 "coulombic_efficiency", "mean_charge_voltage_V", "mean_discharge_voltage_V",
                 "charge_energy_mWh_cm2", "discharge_energy_mWh_cm2", "n_steps"]
#: 1 mAh/cm² = 36 000 C/m² (and 1 mWh/cm² = 36 000 J/m²)
C_M2_PER_MAH_CM2 = 36.0e3


def cycle_rows(series: np.ndarray, area_m2: float, peaks: dict[int, dict[str, float]],
               stress_keys: list[str]) -> tuple[list[str], list[list[Any]]]:
    """The header and rows of ``cycles.csv``.

    Args:
        series: time-series rows (columns of :data:`femsim.io.results.TIMESERIES_HEADER`, the step
            kind as its code).
        area_m2: cross-section of the cell (current = density × area).
        peaks: {cycle: {stress metric: peak (Pa)}} of the run.
        stress_keys: the per-particle stress metrics, in column order (``peak_<key>``).
    """
    from femsim.io.results import TIMESERIES_HEADER

    col = {name: k for k, name in enumerate(TIMESERIES_HEADER)}
    header = CYCLES_HEADER + [f"peak_{key}" for key in stress_keys]
    out: list[list[Any]] = []
    if len(series) == 0:
        return header, out
    cycles = series[:, col["cycle"]].astype(int)
    for cycle in sorted(set(cycles.tolist())):
        rows = series[cycles == cycle]
        t, dt = rows[:, col["time_s"]], rows[:, col["dt_s"]]
        i = rows[:, col["current_A"]] / area_m2
        v = rows[:, col["voltage_V"]]
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
