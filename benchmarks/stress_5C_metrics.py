"""The issue-14 numbers of a finished 5C run: clipped vs whole particles, depth trend, probes.

Usage: ``.venv/bin/python benchmarks/stress_5C_metrics.py RESULTS_DIR [--out FILE.json]``
(RESULTS_DIR from ``femsim run cases/5C.toml``). Per stress metric (run peaks of particles.csv):
median over clipped and over whole particles and their ratio, the largest particle value over
the median, the separator-side (depth < 10 µm) and collector-side (depth > L_c − 10 µm) window
means with bootstrap 90 % intervals (particles by centre depth, as the report's depth figure),
Spearman's ρ of the metric with depth and its p-value; and the probes' particles.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from postprocess.figures_depth import bootstrap_interval  # noqa: E402
from postprocess.fracture import spearman  # noqa: E402
from postprocess.reader import ResultsFolder  # noqa: E402

METRICS = ("sigma_eq_p95_peak_Pa", "sigma_1_surface_p95_peak_Pa", "failure_probability_peak", "sigma_eq_peak_Pa")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    res = ResultsFolder.open(args.results)
    p = res.particles
    t_last = float(np.max(p["time_s"]))
    last = p["time_s"] == t_last
    ids = p["particle_id"][last]
    depth, clipped = p["depth_um"][last], p["clipped"][last] == 1
    lc = res.cathode_thickness_um
    out: dict[str, object] = {"results": str(res.path), "time_s": t_last, "n_particles": int(ids.size),
                              "n_clipped": int(clipped.sum()), "summary": res.summary, "metrics": {}}
    for m in METRICS:
        v = p[m][last]
        sep, col = v[depth < 10.0], v[depth > lc - 10.0]
        rho, pv = spearman(depth, v)
        out["metrics"][m] = {
            "median_clipped": float(np.median(v[clipped])), "median_whole": float(np.median(v[~clipped])),
            "clipped_over_whole": float(np.median(v[clipped]) / np.median(v[~clipped])),
            "median_all": float(np.median(v)), "max": float(v.max()), "max_particle": int(ids[np.argmax(v)]),
            "max_over_median": float(v.max() / np.median(v)),
            "separator_window": {"n": int(sep.size), "mean": float(sep.mean()), "ci90": bootstrap_interval(sep)},
            "collector_window": {"n": int(col.size), "mean": float(col.mean()), "ci90": bootstrap_interval(col)},
            "separator_minus_collector": float(sep.mean() - col.mean()),
            "window_means_10um": [float(np.mean(v[(depth >= a) & (depth < a + 10) | ((a + 10 >= lc) & (depth == lc))]))
                                  for a in np.arange(0.0, lc, 10.0)],
            "spearman_depth": {"rho": rho, "p": pv},
        }
    probes = {}
    for name in ("Ps", "Pcc"):
        h = res.probe_history(name)
        if h is not None:
            pid = int(h["particle_id"][0])
            k = int(np.flatnonzero(ids == pid)[0])
            probes[name] = {"particle_id": pid, "clipped": bool(clipped[k]), "x_um": float(h["x_um"][0]),
                            "y_um": float(h["y_um"][0]), "z_um": float(h["z_um"][0]),
                            "peak_sigma_eq_Pa": float(np.nanmax(h["sigma_eq_Pa"]))}
    out["probes"] = probes
    text = json.dumps(out, indent=1, default=float)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
