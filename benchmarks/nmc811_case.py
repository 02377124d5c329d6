"""The NMC811 case: the holotomography slice's particle sizes → a generated 3D packing with NMC811_Chen2020.

Usage: python benchmarks/nmc811_case.py [--slice ../shared/data/liulab-nmc811-slice/nmc811_holotomo_xy.tif]
                                        [--pixel-um 0.1] [--out cases/nmc811]

The slice is 2D: ``femsim segment`` gives section circles (centre in the slice plane, equivalent
radius) but no through-plane positions, so it has **no usable 3D particle table** (a monolayer of
spheres with section radii is not the electrode). What it does give is the size of the particles:
the sections of at least 1 µm equivalent radius (smaller ones are crack fragments and noise; the
slice has many) have a mean r̄; for random planar sections of spheres of radius R the mean section
radius is πR/4, so the spheres' mean radius is 4r̄/π. A seeded packing
(:func:`femsim.geometry.packing.generate_packing`) with that mean radius (log-normal, σ_ln = 0.3:
the section radii are wider than the spheres' because a plane cuts spheres off-centre) at 50 %
NMC in a 30 × 30 × 45 µm box, with as many spheres as keep the packed mean radius within 5 % of
that (the generator scales radii to reach the box-clipped fraction), is the case's particle table.
The pixel size is not stated with the data (the source paper has 70 nm and 100 nm sets): 0.1 µm is assumed and recorded.

Writes ``nmc811_slice_packing_particles.csv``, ``nmc811_slice_packing.toml`` and
``nmc811_slice_statistics.json`` into ``--out``; the slice itself (GPL-3.0) is not copied.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
BOX_UM = (30.0, 30.0, 45.0)
FRACTION = 0.5
SIGMA_LN = 0.3
MIN_SECTION_RADIUS_UM = 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slice", default=str(REPO.parent / "shared/data/liulab-nmc811-slice/nmc811_holotomo_xy.tif"))
    parser.add_argument("--pixel-um", type=float, default=0.1)
    parser.add_argument("--out", default=str(REPO / "cases" / "nmc811"))
    parser.add_argument("--seed", type=int, default=811)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    import csv

    from femsim.geometry.packing import generate_packing, summary
    from femsim.geometry.particles import write_particle_table
    from femsim.parameters import NMC811_Chen2020
    from femsim.units import C_M2_PER_MAH_CM2, FARADAY, UM

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "femsim.cli", "-q", "segment", args.slice, "--out", tmp,
                        "--voxel-size", str(args.pixel_um)], check=True)
        with open(Path(tmp) / "particles.csv", newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    interior = np.array([float(r["equivalent_radius_um"]) for r in rows if r["touches_border"] == "0"])
    sections = interior[interior >= MIN_SECTION_RADIUS_UM]
    mean_section = float(sections.mean())
    radius_mean = 4.0 * mean_section / math.pi
    volume = float(np.prod(BOX_UM))
    n = max(1, round(FRACTION * volume / (4.0 / 3.0 * math.pi * radius_mean**3 * math.exp(3.0 * SIGMA_LN**2))))
    # box clipping removes volume, so the generator scales the radii up: add spheres until the
    # packed mean radius is within 5 % of the slice's
    for _ in range(12):
        table = generate_packing(n, BOX_UM, FRACTION, radius_mean, SIGMA_LN, min_gap_um=0.3, seed=args.seed)
        if table.radii.mean() <= 1.05 * radius_mean:
            break
        n = round(n * min(1.25, (table.radii.mean() / radius_mean) ** 3))
    name = "nmc811_slice_packing"
    write_particle_table(table, out / f"{name}_particles.csv")
    stats = {"slice": Path(args.slice).name, "pixel_um_assumed": args.pixel_um, "n_sections": len(rows),
             "n_interior_sections": int(interior.size), "n_sections_used": int(sections.size),
             "min_section_radius_um": MIN_SECTION_RADIUS_UM, "mean_section_radius_um": mean_section,
             "median_interior_section_radius_um": float(np.median(interior)),
             "sphere_mean_radius_um": radius_mean, "sigma_ln": SIGMA_LN, "box_um": list(BOX_UM),
             "target_fraction": FRACTION, "seed": args.seed, "packing": summary(table, BOX_UM),
             "chen2020_radius_um": 5.22}
    (out / "nmc811_slice_statistics.json").write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
    cathode = NMC811_Chen2020()
    x0, x_end = 0.9, cathode.minimum_stoichiometry
    fraction = stats["packing"]["volume_fraction"]
    capacity = cathode.max_concentration * fraction * BOX_UM[2] * UM * (x0 - x_end) * FARADAY / C_M2_PER_MAH_CM2
    (out / f"{name}.toml").write_text(f"""\
# NMC811 (Chen2020 electrochemistry, literature mechanics: femsim/parameters/nmc811.py) in a generated
# packing whose mean radius comes from the NMC811 holotomography slice (benchmarks/nmc811_case.py:
# {stats['n_sections_used']} section circles >= {MIN_SECTION_RADIUS_UM} um, mean {mean_section:.3f} um at an assumed
# {args.pixel_um} um pixel -> sphere mean radius 4 r/pi = {radius_mean:.3f} um; Chen2020 gives 5.22 um).
# The 2D slice has no through-plane positions, hence no 3D particle table of its own.
[case]
name = "{name}"
description = "NMC811_Chen2020, {n} spheres, mean R {radius_mean:.2f} um from the holotomography slice"

[geometry]
particle_table = "{name}_particles.csv"
box_um = [{BOX_UM[0]}, {BOX_UM[1]}, {BOX_UM[2]}]
separator_thickness_um = 20.0

[mesh]
size_surface_um = 1.5
size_surface_per_radius = 0.3
size_max_um = 3.0
size_separator_um = 5.0
size_particle_core_um = 3.0

[materials]
cathode = "NMC811_Chen2020"
electrolyte = "Nyman2008"

[protocol]
mode = "charge"
c_rate = 1.0
areal_capacity_mAh_cm2 = {capacity:.6f}
initial_stoichiometry = {x0}
voltage_cutoff_V = 4.3

[mechanics]
enabled = true
strain_model = "linear"

[output]
times_s = [600.0]
""", encoding="utf-8")
    print(json.dumps(stats, indent=2))


if __name__ == "__main__":
    main()
