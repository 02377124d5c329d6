"""Time-series figures: φ_ext and Δφ_l versus time (paper Fig. 5c), probe histories at P_s and
P_cc (Fig. 5e), and the overlay of several runs."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from postprocess.reader import PROBES, ResultsFolder
from postprocess.style import (
    DOUBLE_COLUMN_IN,
    PROBE_COLOURS,
    PROBE_LABELS,
    SINGLE_COLUMN_IN,
    FigureResult,
    new_figure,
    save_figure,
    style,
)

log = logging.getLogger(__name__)


def fig_potentials(results: ResultsFolder, out_dir: Path, time_s: float | None = None) -> FigureResult:
    """Fig. 5c: external voltage φ_ext (V) and electrolyte potential drop Δφ_l (mV) vs time (s).

    ``time_s`` (s) is marked with a dotted line when given. Plotted data: ``time_s``,
    ``voltage_V`` and ``dphi_l_mV`` (= 1000 × ``electrolyte_potential_drop_V``).
    """
    ts = results.timeseries
    t, v, d = ts["time_s"], ts["voltage_V"], 1e3 * ts["electrolyte_potential_drop_V"]
    with style():
        fig, (ax1, ax2) = new_figure(SINGLE_COLUMN_IN, 3.6, nrows=2, sharex=True)
        ax1.plot(t, v, color="k", label=r"$\varphi_{ext}$")
        ax1.set_ylabel(r"external voltage $\varphi_{ext}$ (V)")
        ax2.plot(t, d, color="tab:blue", label=r"$\Delta\varphi_l$")
        ax2.set_ylabel(r"electrolyte drop $\Delta\varphi_l$ (mV)")
        ax2.set_xlabel("time $t$ (s)")
        cutoff = results.summary.get("time_to_cutoff_s")
        for ax in (ax1, ax2):
            if time_s is not None:
                ax.axvline(time_s, color="0.5", ls=":", lw=0.8)
            if cutoff is not None:
                ax.axvline(float(cutoff), color="tab:red", ls="--", lw=0.8)
        ax1.set_title(f"{results.name}: cell voltage and electrolyte potential drop")
        path = save_figure(fig, out_dir / "fig5c_potentials.png")
    caption = ("External voltage φ_ext (top, V) and electrolyte potential drop Δφ_l between the collector "
               "and the separator/cathode boundary (bottom, mV) versus time (s); dotted: report time"
               + ("; dashed: cut-off." if cutoff is not None else "."))
    return FigureResult("fig5c_potentials", path, caption, fig,
                        {"time_s": t, "voltage_V": v, "dphi_l_mV": d})


def fig_probes(results: ResultsFolder, out_dir: Path) -> FigureResult | None:
    """Fig. 5e: σ_eq (MPa) and c/c_max histories at P_s and P_cc vs time (s).

    Returns None when ``probes.csv`` is absent or empty. Plotted data per probe ``p``:
    ``{p}_time_s``, ``{p}_sigma_eq_MPa`` (= ``sigma_eq_Pa`` / 1e6), ``{p}_c_over_cmax``.
    """
    histories = {p: h for p in PROBES if (h := results.probe_history(p)) is not None}
    if not histories:
        return None
    data: dict[str, np.ndarray] = {}
    with style():
        fig, (ax1, ax2) = new_figure(SINGLE_COLUMN_IN, 3.6, nrows=2, sharex=True)
        for p, h in histories.items():
            t = h["time_s"]
            s = h["sigma_eq_Pa"] / 1e6
            c = h["c_over_cmax"]
            label = f"{PROBE_LABELS[p]}, particle {int(h['particle_id'][0])}"
            ax1.plot(t, s, color=PROBE_COLOURS[p], label=label)
            ax2.plot(t, c, color=PROBE_COLOURS[p], label=label)
            data.update({f"{p}_time_s": t, f"{p}_sigma_eq_MPa": s, f"{p}_c_over_cmax": c})
        ax1.set_ylabel(r"von Mises stress $\sigma_{eq}$ (MPa)")
        ax2.set_ylabel(r"$c/c_{max}$ (–)")
        ax2.set_xlabel("time $t$ (s)")
        ax1.legend(loc="best")
        ax1.set_title(f"{results.name}: histories at the probe points")
        path = save_figure(fig, out_dir / "fig5e_probes.png")
    caption = ("Equivalent (von Mises) stress σ_eq (top, MPa) and normalised concentration c/c_max (bottom) "
               "versus time (s) at the probe points P_s (particle near the separator) and P_cc "
               "(particle near the current collector).")
    return FigureResult("fig5e_probes", path, caption, fig, data)


def compare_runs(dirs: Sequence[str | Path] | Sequence[ResultsFolder], out_path: str | Path) -> FigureResult:
    """Overlay the time series of several runs (e.g. 1C vs 5C) in one 2 × 2 figure.

    Panels: φ_ext (V) vs time (s); Δφ_l (mV) vs time; φ_ext vs mean state of charge (–);
    σ_eq (MPa) at P_s (solid) and P_cc (dashed) vs time when probes exist. Plotted data per run
    label ``r``: ``{r}_time_s``, ``{r}_voltage_V``, ``{r}_dphi_l_mV``, ``{r}_soc_mean``.
    """
    runs = [d if isinstance(d, ResultsFolder) else ResultsFolder.open(d) for d in dirs]
    out_path = Path(out_path)
    labels = _unique_labels([r.name for r in runs])
    data: dict[str, np.ndarray] = {}
    with style():
        fig, axes = new_figure(DOUBLE_COLUMN_IN, 5.0, nrows=2, ncols=2)
        (a_v, a_d), (a_s, a_p) = axes
        colours = [f"C{i % 10}" for i in range(len(runs))]
        any_probe = False
        for r, lab, col in zip(runs, labels, colours):
            ts = r.timeseries
            t, v, d, soc = ts["time_s"], ts["voltage_V"], 1e3 * ts["electrolyte_potential_drop_V"], ts["soc_mean"]
            a_v.plot(t, v, color=col, label=lab)
            a_d.plot(t, d, color=col, label=lab)
            a_s.plot(soc, v, color=col, label=lab)
            data.update({f"{lab}_time_s": t, f"{lab}_voltage_V": v, f"{lab}_dphi_l_mV": d, f"{lab}_soc_mean": soc})
            for p, ls in zip(PROBES, ("-", "--")):
                h = r.probe_history(p)
                if h is not None and np.isfinite(h["sigma_eq_Pa"]).any():
                    any_probe = True
                    a_p.plot(h["time_s"], h["sigma_eq_Pa"] / 1e6, color=col, ls=ls, label=f"{lab} {p}")
        a_v.set(xlabel="time $t$ (s)", ylabel=r"$\varphi_{ext}$ (V)")
        a_d.set(xlabel="time $t$ (s)", ylabel=r"$\Delta\varphi_l$ (mV)")
        a_s.set(xlabel="mean state of charge (–)", ylabel=r"$\varphi_{ext}$ (V)")
        a_p.set(xlabel="time $t$ (s)", ylabel=r"$\sigma_{eq}$ at $P_s$ (solid), $P_{cc}$ (dashed) (MPa)")
        if not any_probe:
            a_p.text(0.5, 0.5, "no probe data", ha="center", va="center", transform=a_p.transAxes)
        a_v.legend(loc="best")
        fig.suptitle("Comparison of runs: " + ", ".join(labels), fontsize=9)
        save_figure(fig, out_path)
    caption = ("Overlay of runs " + ", ".join(labels) + ": φ_ext (V) and Δφ_l (mV) versus time (s), φ_ext "
               "versus mean state of charge, and σ_eq (MPa) at P_s (solid) and P_cc (dashed) versus time.")
    return FigureResult(out_path.stem, out_path, caption, fig, data)


def _unique_labels(names: list[str]) -> list[str]:
    """Make run labels unique by appending #2, #3, ... to repeats."""
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n}#{seen[n]}")
    return out
