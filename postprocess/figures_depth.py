"""Depth profiles: per-particle state of charge and peak σ_eq in 10-µm windows from the separator
(depth 0) to the collector, and the measured-versus-simulated fracture profile."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from postprocess.fracture import CLASSES
from postprocess.reader import Table
from postprocess.style import (
    CLASS_COLOURS, DOUBLE_COLUMN_IN, FigureResult, new_figure, save_figure, style,
)

log = logging.getLogger(__name__)

#: columns of the depth-profile table written beside the figure
DEPTH_COLUMNS = ("depth_min_um", "depth_max_um", "n_particles", "soc_mean", "soc_std", "soc_swing_mean",
                 "peak_sigma_eq_mean_Pa", "peak_sigma_eq_std_Pa", "peak_sigma_eq_max_Pa")


def depth_edges(thickness_um: float, width_um: float = 10.0) -> np.ndarray:
    """Window edges 0, w, 2w, ... up to the cathode thickness (µm); the last window may be shorter."""
    n = max(int(np.ceil(thickness_um / width_um - 1e-9)), 1)
    return np.minimum(np.arange(n + 1) * width_um, thickness_um)


def depth_profile(summary: Table, edges: np.ndarray) -> Table:
    """Per-window statistics of the per-particle summary (windows by particle-centre depth, µm).

    Columns: :data:`DEPTH_COLUMNS` (soc dimensionless, stresses in Pa); the last window is closed.
    """
    depth = summary["depth_um"]
    rows: dict[str, list[float]] = {c: [] for c in DEPTH_COLUMNS}
    for k in range(edges.size - 1):
        lo, hi = edges[k], edges[k + 1]
        m = (depth >= lo) & ((depth <= hi) if k == edges.size - 2 else (depth < hi))
        soc, swing, sig = summary["soc"][m], summary["soc_swing"][m], summary["peak_sigma_eq_Pa"][m]
        rows["depth_min_um"].append(float(lo))
        rows["depth_max_um"].append(float(hi))
        rows["n_particles"].append(float(m.sum()))
        rows["soc_mean"].append(_stat(np.nanmean, soc))
        rows["soc_std"].append(_stat(np.nanstd, soc))
        rows["soc_swing_mean"].append(_stat(np.nanmean, swing))
        rows["peak_sigma_eq_mean_Pa"].append(_stat(np.nanmean, sig))
        rows["peak_sigma_eq_std_Pa"].append(_stat(np.nanstd, sig))
        rows["peak_sigma_eq_max_Pa"].append(_stat(np.nanmax, sig))
    return {c: np.array(v) for c, v in rows.items()}


def _stat(fn: Any, v: np.ndarray) -> float:
    return float(fn(v)) if np.isfinite(v).any() else float("nan")


def fig_depth_profiles(name: str, summary: Table, profile: Table, out_dir: Path) -> FigureResult:
    """Per-particle state of charge (at the report time) and peak σ_eq over time (MPa) versus depth
    from the separator (µm): particles as dots, window means ± standard deviation as bars.

    Plotted data: ``particle_depth_um``, ``particle_soc``, ``particle_peak_sigma_eq_MPa`` and the
    window ``bin_centre_um``, ``bin_soc_mean``, ``bin_peak_sigma_eq_mean_MPa``.
    """
    centre = 0.5 * (profile["depth_min_um"] + profile["depth_max_um"])
    width = profile["depth_max_um"] - profile["depth_min_um"]
    t = float(summary["time_s"][0]) if summary["time_s"].size else float("nan")
    sig_p = summary["peak_sigma_eq_Pa"] * 1e-6
    sig_b, sig_e = profile["peak_sigma_eq_mean_Pa"] * 1e-6, profile["peak_sigma_eq_std_Pa"] * 1e-6
    with style():
        fig, (a1, a2) = new_figure(DOUBLE_COLUMN_IN, 2.8, ncols=2)
        a1.bar(centre, profile["soc_mean"], width=0.9 * width, yerr=profile["soc_std"], color="tab:blue",
               alpha=0.35, capsize=3, label="10-µm window mean ± s.d.")
        a1.plot(summary["depth_um"], summary["soc"], "o", color="tab:blue", ms=3, label="particles")
        a1.set(xlabel="depth from separator (µm)", ylabel=f"state of charge at t = {t:g} s (–)")
        a1.legend(loc="best")
        a2.bar(centre, sig_b, width=0.9 * width, yerr=sig_e, color="tab:red", alpha=0.35, capsize=3,
               label="10-µm window mean ± s.d.")
        a2.plot(summary["depth_um"], sig_p, "o", color="tab:red", ms=3, label="particles")
        a2.set(xlabel="depth from separator (µm)", ylabel=r"peak $\sigma_{eq}$ during the run (MPa)")
        a2.legend(loc="best")
        for a in (a1, a2):
            a.set_xlim(profile["depth_min_um"].min(), profile["depth_max_um"].max())
        fig.suptitle(f"{name}: per-particle state of charge and peak stress versus depth "
                     "(separator at 0, collector on the right)", fontsize=9)
        path = save_figure(fig, out_dir / "fig_depth_profiles.png")
    caption = (f"Per-particle state of charge at t = {t:g} s (left) and peak σ_eq over the output times "
               "(right, MPa) "
               "versus particle-centre depth from the separator (µm); bars: 10-µm window mean ± s.d.")
    return FigureResult("fig_depth_profiles", path, caption, fig, {
        "particle_depth_um": summary["depth_um"], "particle_soc": summary["soc"],
        "particle_peak_sigma_eq_MPa": sig_p, "bin_centre_um": centre, "bin_soc_mean": profile["soc_mean"],
        "bin_peak_sigma_eq_mean_MPa": sig_b,
    })


def fig_fracture_profile(name: str, comparison: dict[str, Any], out_dir: Path) -> FigureResult:
    """Side-by-side depth profiles: measured damage-class fractions and simulated stress-class
    fractions per depth window (stacked horizontal bars, depth in µm downwards).

    ``comparison`` is :func:`postprocess.fracture.compare_profile`'s result. Plotted data:
    ``window_centre_um``, ``measured_{class}`` and ``simulated_{class}`` fractions.
    """
    w = comparison["windows"]
    lo = np.array([x["depth_min_um"] for x in w])
    hi = np.array([x["depth_max_um"] for x in w])
    centre, height = 0.5 * (lo + hi), 0.85 * (hi - lo)
    data: dict[str, np.ndarray] = {"window_centre_um": centre}
    with style():
        fig, axes = new_figure(DOUBLE_COLUMN_IN, 3.0, ncols=2, sharey=True)
        for ax, kind, title in zip(axes, ("measured", "simulated"),
                                   ("measured fracture (tomography)", "simulated stress classes")):
            left = np.zeros(len(w))
            for c in CLASSES:
                frac = np.nan_to_num(np.array([x[f"{kind}_fraction_{c}"] for x in w]))
                ax.barh(centre, frac, height=height, left=left, color=CLASS_COLOURS[c], label=c)
                left += frac
                data[f"{kind}_{c}"] = frac
            counts = [x[f"{kind}_n_particles"] for x in w]
            for y, n in zip(centre, counts):
                ax.text(1.01, y, f"n={n:g}", va="center", fontsize=6, transform=ax.get_yaxis_transform())
            ax.set(xlim=(0, 1), xlabel="fraction of particles (–)", title=title)
            ax.grid(False)
        axes[0].set_ylabel("depth from separator (µm)")
        axes[0].set_ylim(hi.max(), lo.min())
        axes[1].legend(loc="upper left", bbox_to_anchor=(1.07, 1.0), title="class")
        rs = comparison["spearman_peak_sigma"]
        fig.suptitle(f"{name}: fracture versus stress by depth (Spearman ρ across windows, mean peak σ_eq vs "
                     f"damage index = {rs['rho']:.2f}, p = {rs['p']:.2g})", fontsize=8)
        path = save_figure(fig, out_dir / "fig_fracture_profile.png")
    caption = ("Measured damage-class fractions per depth window (left) beside the simulated particles split "
               "into stress classes with the measured overall proportions (right, least = lowest peak σ_eq); "
               "depth from the separator in µm.")
    return FigureResult("fig_fracture_profile", path, caption, fig, data)
