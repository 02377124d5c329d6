"""Segmentation benchmarks (issue 5): the real NREL volume and a 256³ phantom, end to end.

Usage (from the repository root)::

    python benchmarks/segmentation_nrel.py nrel [--write-case]   # full NREL nmc-1-cal volume
    python benchmarks/segmentation_nrel.py phantom256            # 256^3 grey phantom with cracks

``nrel`` segments the full 251×301×301 NREL volume (0.398 µm voxels, ``../shared/data``) with the
default settings and a centred 20×20×40 µm window, and compares the mean equivalent radius of the
particles not touching the border with the independent SNOW/PoreSpy value (≈ 10.5 voxels,
``../shared/data/README.md``); ``--write-case`` refreshes ``cases/nrel/nrel_window_particles.csv``.
``phantom256`` renders a 256³ phantom (1100 particles, noise 0.1, cracks), writes it as .npy
and runs ``femsim segment`` on it in a separate process (read → segment → write), reporting
accuracy, wall time and the command's peak memory.

Recorded on the 2-core development machine (shared with other jobs), 2026-11-25:

* nrel: 1936 particles, 1221 not touching the border, mean equivalent radius 4.182 µm = 10.51 voxels
  (SNOW 10.5: +0.1 %), 33 s wall when the machine was quiet (56–72 s when shared), peak RSS
  1.33 GB; window: 20 particles.
* phantom256: 1100/1100 particles found (F1 1.0), class accuracy 1.0, median crack-fraction error
  0.0016; ``femsim segment`` 25.8 s wall end to end, peak RSS 1.13 GB.
* NREL window case: ``femsim mesh cases/nrel/nrel_window.toml`` meshes the 20 segmented particles
  (70k cells, min quality 0.088, 14 near-contact adjustments) in 35 s.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
NREL = ROOT.parent / "shared" / "data" / "nrel-nmc-1-cal" / "nmc_phase.npz"
SNOW_MEAN_RADIUS_VOX = 10.5


def bench_nrel(write_case: bool) -> dict:
    from femsim.segmentation.workflow import run_segmentation

    if not NREL.exists():
        sys.exit(f"NREL volume not found at {NREL}")
    out = Path(tempfile.mkdtemp(prefix="segment_nrel_"))
    rep = run_segmentation(NREL, out, 0.398, dataset="nmc", window_size_um=(20.0, 20.0, 40.0))
    res = {k: rep[k] for k in ("n_particles", "n_interior_particles", "mean_equivalent_radius_um",
                               "mean_equivalent_radius_vox", "class_counts", "elapsed_s", "peak_memory_mb",
                               "timings_s", "window")}
    res["relative_error_vs_snow"] = rep["mean_equivalent_radius_vox"] / SNOW_MEAN_RADIUS_VOX - 1
    if write_case:
        shutil.copy(out / "particles.csv", ROOT / "cases" / "nrel" / "nrel_window_particles.csv")
    shutil.rmtree(out)
    return res


def bench_phantom256(seed: int = 0) -> dict:
    from femsim.segmentation import phantom

    shape = (256, 256, 256)
    t0 = time.perf_counter()
    centres, radii = phantom.random_packing(shape, 1100, radius_mean=10.0, radius_sd=1.5, seed=seed)
    cf, branches = phantom.sample_crack_fractions(len(radii), seed=seed)
    img, truth = phantom.render_phantom(shape, centres, radii, cf, branches, noise=0.1, seed=seed + 1)
    t_render = time.perf_counter() - t0
    work = Path(tempfile.mkdtemp(prefix="segment_256_"))
    np.save(work / "phantom.npy", img)
    del img
    # the command in its own process, so that its peak memory is not the renderer's
    import csv
    import subprocess

    femsim = Path(sys.executable).parent / "femsim"
    subprocess.run([str(femsim), "-q", "segment", str(work / "phantom.npy"), "--voxel-size", "1",
                    "--out", str(work / "out")], check=True)
    rep = json.loads((work / "out" / "report.json").read_text())

    with open(work / "out" / "particles.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    found = np.array([[float(r["z"]), float(r["y"]), float(r["x"])] for r in rows]) - 0.5
    pairs = phantom.match_particles(truth.centres_vox, truth.radii_vox, found)
    ti, fi = np.array(pairs).T
    f1 = 2 * len(pairs) / (len(found) + len(radii))
    cls = np.array([rows[j]["damage_class"] for j in fi])
    cfe = np.abs(np.array([float(rows[j]["crack_fraction"]) for j in fi]) - truth.crack_fraction[ti])
    shutil.rmtree(work)
    return {"n_true": int(len(radii)), "n_found": rep["n_particles"], "f1": f1,
            "class_accuracy": float(np.mean(cls == truth.damage_class[ti])),
            "crack_fraction_abs_err_median": float(np.median(cfe)), "render_s": round(t_render, 1),
            "elapsed_s": rep["elapsed_s"], "peak_memory_mb": rep["peak_memory_mb"], "timings_s": rep["timings_s"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=("nrel", "phantom256"))
    ap.add_argument("--write-case", action="store_true", help="refresh cases/nrel/nrel_window_particles.csv")
    args = ap.parse_args()
    res = bench_nrel(args.write_case) if args.mode == "nrel" else bench_phantom256()
    print(json.dumps(res, indent=2, default=float))


if __name__ == "__main__":
    main()
