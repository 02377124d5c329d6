"""The cycling page of the report: voltage and current versus time coloured by cycle, charge and
discharge capacity versus cycle, and the per-cycle peak of each per-particle stress metric
(``cycles.csv``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from postprocess.reader import CYCLES_COLUMNS, ResultsFolder, Table, read_csv_table
from postprocess.style import DOUBLE_COLUMN_IN, FigureResult, new_figure, save_figure, style


def read_cycles(results: ResultsFolder) -> Table | None:
    """``cycles.csv`` of a results folder, or None (a run from before cycling, or no row yet)."""
    path = results.path / "cycles.csv"
    if not path.is_file():
        return None
    table = read_csv_table(path, required=CYCLES_COLUMNS)
    return table if table["cycle"].size else None


def fig_cycling(results: ResultsFolder, out_dir: Path) -> FigureResult | None:
    """Voltage (V) and current (mA/cm²) vs time (s) coloured by cycle; capacities (mAh/cm²) and
    coulombic efficiency vs cycle; per-cycle peak stress (MPa) vs cycle. None without cycles.csv."""
    cycles = read_cycles(results)
    ts = results.timeseries
    if cycles is None or "cycle" not in ts:
        return None
    area_cm2 = float((results.run.get("mesh") or {}).get("area_m2") or np.nan) * 1e4
    t, v, cyc = ts["time_s"], ts["voltage_V"], ts["cycle"].astype(int)
    i = 1e3 * ts["current_A"] / area_cm2  # mA/cm²
    n = cycles["cycle"].astype(int)
    peaks = [k for k in cycles if k.startswith("peak_") and np.isfinite(cycles[k]).any()]
    with style():
        fig, axes = new_figure(DOUBLE_COLUMN_IN, 5.2, nrows=2, ncols=2)
        (ax_v, ax_q), (ax_i, ax_s) = axes
        import matplotlib

        cmap = matplotlib.colormaps["viridis"]
        for k in sorted(set(cyc.tolist())):
            m = cyc == k
            colour = cmap((k - 1) / max(len(n) - 1, 1))
            ax_v.plot(t[m], v[m], color=colour, lw=0.9, label=f"cycle {k}" if len(n) <= 8 else None)
            ax_i.plot(t[m], i[m], color=colour, lw=0.9)
        ax_v.set_ylabel("voltage (V)")
        ax_i.set_ylabel("current (mA/cm², > 0 charge)")
        ax_i.set_xlabel("time (s)")
        if len(n) <= 8:
            ax_v.legend(fontsize=7)
        ax_q.plot(n, cycles["charge_capacity_mAh_cm2"], "o-", label="charge")
        ax_q.plot(n, cycles["discharge_capacity_mAh_cm2"], "s-", label="discharge")
        ax_q.set_ylabel("capacity (mAh/cm²)")
        ax_q.legend(fontsize=7)
        for key in peaks:
            ax_s.plot(n, 1e-6 * cycles[key], "o-", label=key.removeprefix("peak_"))
        ax_s.set_ylabel("per-cycle peak stress (MPa)")
        ax_s.set_xlabel("cycle")
        if peaks:
            ax_s.legend(fontsize=7)
        else:
            ax_s.text(0.5, 0.5, "no mechanics in this run", ha="center", va="center", transform=ax_s.transAxes)
        for ax in (ax_q, ax_s):
            ax.set_xticks(n if len(n) <= 12 else ax.get_xticks())
        ax_v.set_title(f"{results.name}: {len(n)} cycle(s)")
        path = save_figure(fig, out_dir / "fig_cycling.png")
    caption = ("Cycling: voltage (V) and current density (mA/cm²) versus time (s) coloured by cycle (left); "
               "charge and discharge capacity (mAh/cm²) and the per-cycle peak of each per-particle stress "
               "metric (MPa) versus cycle (right).")
    data = {"time_s": t, "voltage_V": v, "current_mA_cm2": i, "cycle": n,
            "charge_capacity_mAh_cm2": cycles["charge_capacity_mAh_cm2"],
            "discharge_capacity_mAh_cm2": cycles["discharge_capacity_mAh_cm2"]}
    data.update({k: cycles[k] for k in peaks})
    return FigureResult("fig_cycling", path, caption, fig, data)


def cycles_html(results: ResultsFolder, esc: object) -> str:
    """The cycles.csv table as HTML rows (capacities, efficiency, mean voltages, energy, duration)."""
    cycles = read_cycles(results)
    if cycles is None:
        return ""
    cols = [("cycle", "cycle", "{:.0f}"), ("charge_capacity_mAh_cm2", "Q charge (mAh/cm²)", "{:.4f}"),
            ("discharge_capacity_mAh_cm2", "Q discharge (mAh/cm²)", "{:.4f}"),
            ("coulombic_efficiency", "CE", "{:.5f}"), ("mean_charge_voltage_V", "V̄ charge (V)", "{:.4f}"),
            ("mean_discharge_voltage_V", "V̄ discharge (V)", "{:.4f}"),
            ("discharge_energy_mWh_cm2", "E discharge (mWh/cm²)", "{:.4f}"), ("duration_s", "duration (s)", "{:.1f}")]
    cols += [(k, f"{k.removeprefix('peak_')} peak (MPa)", "{:.1f}") for k in cycles if k.startswith("peak_")]
    head = "".join(f"<th>{esc(lab)}</th>" for _, lab, _ in cols)  # type: ignore[operator]
    body = ""
    for r in range(cycles["cycle"].size):
        cells = []
        for key, _, fmt in cols:
            value = float(cycles[key][r]) * (1e-6 if key.startswith("peak_") else 1.0)
            cells.append(f"<td>{fmt.format(value) if np.isfinite(value) else '–'}</td>")
        body += "<tr>" + "".join(cells) + "</tr>"
    return f"<table class='num'><tr>{head}</tr>{body}</table>"
