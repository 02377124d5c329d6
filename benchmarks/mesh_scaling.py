"""Meshing cost against particle count (issue 20): time, peak memory and tag checks.

Runs ``femsim mesh --force --allow-large`` on each case in its own process under
``/usr/bin/time -v`` (wall time, peak resident memory of the whole command) and checks the
mesh report: every particle of the table present as its own tagged volume (meshed volume > 0)
and the meshed NMC fraction within 1 % of the exact box-clipped fraction of the table.

Usage (repository root; one case at a time, niced; results appended after every case)::

    .venv/bin/python benchmarks/mesh_scaling.py cases/5C.toml cases/region/region_40.toml \\
        cases/region/region_60.toml cases/region/region_120.toml

Results: ``benchmarks/results/mesh_scaling_<stamp>.json`` (one entry per case, with the load
average before and after, since the development machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
#: accepted |meshed / exact - 1| of the NMC volume fraction
FRACTION_TOLERANCE = 0.01


def _time_v(stderr: str) -> dict[str, float]:
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)
    user = re.search(r"User time \(seconds\): (\S+)", stderr)
    system = re.search(r"System time \(seconds\): (\S+)", stderr)
    parts = [float(p) for p in wall.group(1).split(":")] if wall else []
    seconds = sum(p * 60 ** k for k, p in enumerate(reversed(parts)))
    return {"wall_s": seconds, "peak_rss_gb": int(rss.group(1)) / 1024**2 if rss else float("nan"),
            "user_s": float(user.group(1)) if user else float("nan"),
            "system_s": float(system.group(1)) if system else float("nan")}


def check_report(report: dict) -> dict:
    """Tag checks of a mesh report: particles present, fraction error."""
    per = report["particle_volumes"]
    missing = [pid for pid, p in per.items() if not p["meshed_um3"] > 0.0]
    frac_err = report["nmc_volume_fraction"] / report["table_volume_fraction"] - 1.0
    return {"n_particles": report["n_particles"], "n_particles_tagged": len(per) - len(missing),
            "missing_particles": missing, "nmc_fraction_mesh": report["nmc_volume_fraction"],
            "nmc_fraction_exact": report["table_volume_fraction"], "fraction_rel_error": frac_err,
            "fraction_ok": abs(frac_err) <= FRACTION_TOLERANCE and not missing,
            "particle_volume_max_rel_error": report["particle_volume_max_rel_error"],
            "n_cells": report["n_cells"], "n_vertices": report["n_vertices"],
            "min_quality": report["min_quality"], "n_cells_quality_below_0.1": report["n_cells_quality_below_0.1"],
            "n_adjustments": len(report["adjustments"]), "builder_timing_s": report["timing_s"]}


def mesh_one(case: Path, out: Path, nice: int = 10) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cmd = ["/usr/bin/time", "-v", "nice", "-n", str(nice), sys.executable, "-m", "femsim.cli", "mesh", "--force",
           "--allow-large", "--out", str(out), str(case)]
    load0 = os.getloadavg()
    t0 = time.time()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
    entry = {"case": str(case), "returncode": proc.returncode, "loadavg_before": load0,
             "loadavg_after": os.getloadavg(), "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0)),
             **_time_v(proc.stderr)}
    if proc.returncode != 0:
        entry["error"] = proc.stderr[-2000:]
        return entry
    entry.update(check_report(json.loads((out / "mesh_report.json").read_text(encoding="utf-8"))))
    entry["msh_size_mb"] = (out / "rve.msh").stat().st_size / 1e6
    return entry


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cases", nargs="+", type=Path)
    ap.add_argument("--keep", type=Path, help="keep the meshes under this folder (one sub-folder per case)")
    ap.add_argument("--nice", type=int, default=10, help="niceness of the meshing process (default 10)")
    ap.add_argument("--tag", default="", help="suffix of the results file name")
    args = ap.parse_args(argv)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"mesh_scaling_{stamp}{'_' + args.tag if args.tag else ''}.json"
    result = {"machine": {"hostname": platform.node(), "cpus": os.cpu_count(),
                          "note": "shared development machine: see loadavg per case"}, "cases": []}
    for case in args.cases:
        out = (args.keep / case.stem) if args.keep else Path(tempfile.mkdtemp(prefix=f"mesh_{case.stem}_"))
        entry = mesh_one(case, out, args.nice)
        result["cases"].append(entry)
        path.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        print(
            f"{case}: rc {entry['returncode']} {entry['wall_s']:.0f} s, peak {entry['peak_rss_gb']:.2f} GB, "
            f"{entry.get('n_cells', 0)} cells, particles {entry.get('n_particles_tagged')}/{entry.get('n_particles')},"
            f" fraction error {entry.get('fraction_rel_error', float('nan')):+.4f}",
            flush=True,
        )
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
