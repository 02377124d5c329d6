"""The damage page of the report (runs with ``[damage] enabled``; docs/damage.md): the depth profile
of the damage classes in the run's windows (``damage_profile.csv``, the paper's Fig. 4a) after the
first, a middle and the last completed cycle, and the severe fraction of every window versus cycle,
simulated cycles (rows of ``cycles.csv``) marked, cycles extrapolated by cycle jumps not."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from postprocess.fracture import CLASSES
from postprocess.reader import read_csv_table
from postprocess.style import CLASS_COLOURS, DOUBLE_COLUMN_IN, FigureResult, new_figure, save_figure, style


def fig_damage(name: str, results_dir: Path, out_dir: Path) -> FigureResult | None:
    """Depth profiles of the damage classes (fraction of particles per window, depth µm from the
    separator) at up to three cycles, and the severe fraction per window versus cycle. None
    without a damage_profile.csv row."""
    path = Path(results_dir) / "damage_profile.csv"
    if not path.is_file():
        return None
    prof = read_csv_table(path, required=("cycle", "depth_min_um", "depth_max_um", "n_particles",
                                          *(f"fraction_{c}" for c in CLASSES)))
    if not prof["cycle"].size:
        return None
    cycle = prof["cycle"].astype(int)
    cycles = sorted(set(cycle.tolist()))
    shown = sorted({cycles[0], cycles[len(cycles) // 2], cycles[-1]})
    simulated = set()
    if (Path(results_dir) / "cycles.csv").is_file():
        simulated = set(read_csv_table(Path(results_dir) / "cycles.csv", required=("cycle",))["cycle"].astype(int))
    lo = np.unique(prof["depth_min_um"])
    data: dict[str, np.ndarray] = {"cycle": np.array(cycles), "simulated": np.isin(cycles, list(simulated)),
                                   "window_min_um": lo, "cycles_shown": np.array(shown)}
    with style():
        fig, axes = new_figure(DOUBLE_COLUMN_IN, 3.0, ncols=len(shown) + 1)
        for ax, c in zip(axes, shown):
            m = cycle == c
            lo_c, hi_c = prof["depth_min_um"][m], prof["depth_max_um"][m]
            centre, height = 0.5 * (lo_c + hi_c), 0.85 * (hi_c - lo_c)
            left = np.zeros(int(m.sum()))
            for k in CLASSES:
                frac = np.nan_to_num(prof[f"fraction_{k}"][m])
                ax.barh(centre, frac, height=height, left=left, color=CLASS_COLOURS[k], label=k)
                left += frac
                data[f"cycle{c}_{k}"] = frac
            ax.set(xlim=(0, 1), ylim=(hi_c.max(), lo_c.min()), xlabel="fraction of particles",
                   title=f"cycle {c} ({'simulated' if c in simulated else 'extrapolated'})")
        axes[0].set_ylabel("depth from separator (µm)")
        axes[len(shown) - 1].legend(fontsize=6, loc="lower right")
        ax = axes[-1]
        for w in lo:
            sel = prof["depth_min_um"] == w
            n, severe = cycle[sel], prof["fraction_severe"][sel]
            line, = ax.plot(n, severe, "-", lw=1, label=f"{w:g}–{prof['depth_max_um'][sel][0]:g} µm")
            sim = np.isin(n, list(simulated))
            ax.plot(n[sim], severe[sim], "o", ms=3, color=line.get_color())
            data[f"severe_window_{w:g}um"] = severe
        ax.set(xlabel="cycle", ylabel="severe fraction", ylim=(-0.02, 1.02), title="severe (● simulated)")
        ax.legend(fontsize=6)
        fig.suptitle(f"{name}: damage classes by depth", fontsize=8)
        png = save_figure(fig, Path(out_dir) / "fig_damage.png")
    caption = ("Simulated damage classes (crack fraction with the segmentation's thresholds, docs/damage.md) per "
               "depth window from the separator after the first, a middle and the last completed cycle, and the "
               "severe fraction of each window versus cycle (dots: simulated cycles; the rest extrapolated by "
               "cycle jumps).")
    return FigureResult("fig_damage", png, caption, fig, data)
