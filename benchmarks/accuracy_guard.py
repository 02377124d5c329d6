"""Accuracy guard (issue 8): compare a fast run against a tight-tolerance, small-step reference.

    .venv/bin/python benchmarks/accuracy_guard.py FAST_RESULTS_DIR REFERENCE_RESULTS_DIR [--out file.json]

Reports max |ΔV| (mV) of the voltage curve and, for the P_s and P_cc probes, max |Δσ_eq| as a
percentage of the reference's peak σ_eq, over the common time window (the reference is
interpolated linearly at the fast run's times). Limits: 2 mV and 2 %.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np


def compare(fast: Path, ref: Path) -> dict:
    a = np.loadtxt(fast / "timeseries.csv", delimiter=",", skiprows=1, ndmin=2, usecols=range(9))
    b = np.loadtxt(ref / "timeseries.csv", delimiter=",", skiprows=1, ndmin=2, usecols=range(9))
    m = a[:, 0] <= b[-1, 0] + 1e-9
    dv = np.abs(a[m, 2] - np.interp(a[m, 0], b[:, 0], b[:, 2]))
    out = {"fast": str(fast), "reference": str(ref), "t_common_s": float(min(a[-1, 0], b[-1, 0])),
           "fast_steps": int(len(a) - 1), "reference_steps": int(len(b) - 1), "max_dV_mV": float(dv.max() * 1e3)}

    def probes(folder: Path) -> dict:
        series: dict = {}
        for r in csv.DictReader(open(folder / "probes.csv")):
            series.setdefault(r["probe"], []).append((float(r["time_s"]), float(r["sigma_eq_Pa"])))
        return {k: np.array(v) for k, v in series.items()}

    pa, pb = probes(fast), probes(ref)
    for name in sorted(set(pa) & set(pb)):
        x, y = pa[name], pb[name]
        mm = x[:, 0] <= y[-1, 0] + 1e-9
        d = np.abs(x[mm, 1] - np.interp(x[mm, 0], y[:, 0], y[:, 1]))
        out[f"max_dsigma_eq_{name}_percent"] = float(100 * d.max() / max(np.abs(y[:, 1]).max(), 1.0))
    out["pass"] = out["max_dV_mV"] <= 2.0 and all(v <= 2.0 for k, v in out.items() if k.endswith("_percent"))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("fast", type=Path)
    ap.add_argument("reference", type=Path)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    res = compare(args.fast, args.reference)
    print(json.dumps(res, indent=1))
    if args.out:
        args.out.write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
