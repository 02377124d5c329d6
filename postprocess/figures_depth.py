"""Depth profiles: per-particle state of charge and the fracture metric (by default the run peak of
the 95th-percentile σ_eq, mesh-converged) in 10-µm windows from the separator (depth 0) to the
collector, with bootstrap 90 % intervals of the window means and Spearman's ρ of the metric with
depth; and the measured-versus-simulated fracture profile."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from postprocess.fracture import CLASSES, fracture_metric
from postprocess.reader import Table
from postprocess.style import (
    CLASS_COLOURS,
    DOUBLE_COLUMN_IN,
    FigureResult,
    new_figure,
    save_figure,
    style,
)

log = logging.getLogger(__name__)

#: columns of the depth-profile table written beside the figure (stresses in Pa)
DEPTH_COLUMNS = ("depth_min_um", "depth_max_um", "n_particles", "soc_mean", "soc_std", "soc_swing_mean",
                 "fracture_metric_mean_Pa", "fracture_metric_ci05_Pa", "fracture_metric_ci95_Pa",
                 "fracture_metric_max_Pa")
#: bootstrap resamples of each window mean (seeded: the report is reproducible)
N_BOOTSTRAP = 2000


def bootstrap_interval(values: np.ndarray, level: float = 0.90, n: int = N_BOOTSTRAP,
                       seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values`` (NaN-free); (nan, nan) when empty."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, v.size, (n, v.size))].mean(axis=1)
    tail = 50.0 * (1.0 - level)
    return float(np.percentile(means, tail)), float(np.percentile(means, 100.0 - tail))


def depth_trend(summary: Table) -> tuple[float, float]:
    """Spearman ρ of the fracture metric with particle depth and its two-sided p-value
    (ρ < 0: the metric falls from the separator towards the collector)."""
    from postprocess.fracture import spearman

    return spearman(summary["depth_um"], fracture_metric(summary))


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
        soc, swing, sig = summary["soc"][m], summary["soc_swing"][m], fracture_metric(summary)[m]
        ci = bootstrap_interval(sig)
        rows["depth_min_um"].append(float(lo))
        rows["depth_max_um"].append(float(hi))
        rows["n_particles"].append(float(m.sum()))
        rows["soc_mean"].append(_stat(np.nanmean, soc))
        rows["soc_std"].append(_stat(np.nanstd, soc))
        rows["soc_swing_mean"].append(_stat(np.nanmean, swing))
        rows["fracture_metric_mean_Pa"].append(_stat(np.nanmean, sig))
        rows["fracture_metric_ci05_Pa"].append(ci[0])
        rows["fracture_metric_ci95_Pa"].append(ci[1])
        rows["fracture_metric_max_Pa"].append(_stat(np.nanmax, sig))
    return {c: np.array(v) for c, v in rows.items()}


def _stat(fn: Any, v: np.ndarray) -> float:
    return float(fn(v)) if np.isfinite(v).any() else float("nan")


def fig_depth_profiles(name: str, summary: Table, profile: Table, out_dir: Path,
                       metric_label: str = "peak p95 σ_eq") -> FigureResult:
    """Per-particle state of charge (at the report time) and the fracture metric (MPa; the run
    peak named by ``metric_label``) versus depth from the separator (µm): particles as dots, 10-µm
    window means as bars (state of charge: ± s.d.; metric: bootstrap 90 % interval of the mean),
    Spearman's ρ of the metric with depth and its p-value in the title of the panel.

    Plotted data: ``particle_depth_um``, ``particle_soc``, ``particle_fracture_metric_MPa``, the
    window ``bin_centre_um``, ``bin_soc_mean``, ``bin_fracture_metric_mean_MPa``,
    ``bin_fracture_metric_ci_MPa`` (2 × windows) and ``spearman_depth`` (ρ, p).
    """
    centre = 0.5 * (profile["depth_min_um"] + profile["depth_max_um"])
    width = profile["depth_max_um"] - profile["depth_min_um"]
    t = float(summary["time_s"][0]) if summary["time_s"].size else float("nan")
    sig_p = fracture_metric(summary) * 1e-6
    sig_b = profile["fracture_metric_mean_Pa"] * 1e-6
    ci = np.stack([profile["fracture_metric_ci05_Pa"], profile["fracture_metric_ci95_Pa"]]) * 1e-6
    yerr = np.nan_to_num(np.abs(ci - sig_b))
    rho, p = depth_trend(summary)
    with style():
        fig, (a1, a2) = new_figure(DOUBLE_COLUMN_IN, 2.8, ncols=2)
        a1.bar(centre, profile["soc_mean"], width=0.9 * width, yerr=profile["soc_std"], color="tab:blue",
               alpha=0.35, capsize=3, label="10-µm window mean ± s.d.")
        a1.plot(summary["depth_um"], summary["soc"], "o", color="tab:blue", ms=3, label="particles")
        a1.set(xlabel="depth from separator (µm)", ylabel=f"state of charge at t = {t:g} s (–)")
        a1.legend(loc="best")
        a2.bar(centre, sig_b, width=0.9 * width, yerr=yerr, color="tab:red", alpha=0.35, capsize=3,
               label="10-µm window mean, bootstrap 90 % interval")
        a2.plot(summary["depth_um"], sig_p, "o", color="tab:red", ms=3, label="particles")
        a2.set(xlabel="depth from separator (µm)", ylabel=f"{metric_label} during the run (MPa)",
               title=f"Spearman ρ with depth = {rho:.2f} (p = {p:.2g})")
        a2.legend(loc="best")
        for a in (a1, a2):
            a.set_xlim(profile["depth_min_um"].min(), profile["depth_max_um"].max())
        fig.suptitle(f"{name}: per-particle state of charge and {metric_label} versus depth "
                     "(separator at 0, collector on the right)", fontsize=9)
        path = save_figure(fig, out_dir / "fig_depth_profiles.png")
    caption = (f"Per-particle state of charge at t = {t:g} s (left) and {metric_label} over the run "
               "(right, MPa) versus particle-centre depth from the separator (µm); bars: 10-µm window mean "
               f"(left ± s.d., right bootstrap 90 % interval of the mean); Spearman ρ of the metric with depth "
               f"{rho:.2f}, p = {p:.2g}.")
    return FigureResult("fig_depth_profiles", path, caption, fig, {
        "particle_depth_um": summary["depth_um"], "particle_soc": summary["soc"],
        "particle_fracture_metric_MPa": sig_p, "bin_centre_um": centre, "bin_soc_mean": profile["soc_mean"],
        "bin_fracture_metric_mean_MPa": sig_b, "bin_fracture_metric_ci_MPa": ci,
        "spearman_depth": np.array([rho, p]),
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
        fig.suptitle(f"{name}: fracture versus stress by depth (Spearman ρ across windows, mean fracture metric vs "
                     f"damage index = {rs['rho']:.2f}, p = {rs['p']:.2g})", fontsize=8)
        path = save_figure(fig, out_dir / "fig_fracture_profile.png")
    caption = ("Measured damage-class fractions per depth window (left) beside the simulated particles split "
               "into stress classes with the measured overall proportions (right, least = lowest fracture metric, "
               "by default the run peak of the p95 σ_eq); "
               "depth from the separator in µm.")
    return FigureResult("fig_fracture_profile", path, caption, fig, data)
