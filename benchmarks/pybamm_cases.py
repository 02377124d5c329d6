"""Write the homogenised-limit case family into ``cases/homogenised/``.

Usage: python benchmarks/pybamm_cases.py [--out cases/homogenised]

Simple-cubic columns of equal spheres (one unit cell across, insulated lateral faces = the
periodic array), cathode 40 µm, separator 25 µm (except the dilute tortuosity cases):

* ``dilute_f05``, ``dilute_f10``: φ = 5 % / 10 %, a = 5 µm, 4 cells, fine mesh (tortuosity check);
* ``sc_r2_f30_1C``, ``sc_r2_f30_5C``: 8 spheres, R = 2.08 µm, φ = 30 % (the PyBaMM comparison);
* ``sc_r3_f41_5C``: 6 spheres, R = 3.07 µm, φ = 41 % (the reference loading, R̄ of the 52-particle RVE);
* ``ci_coarse_5C``: ``sc_r2_f30`` on a coarse mesh, 60 s (what CI runs, tests/crosscheck).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from femsim.crosscheck.arrays import SphereArray, write_array_case

FINE = {"size_surface_um": 0.4, "size_surface_per_radius": 0.2, "size_max_um": 1.5, "size_separator_um": 3.0,
        "size_particle_core_um": 1.0, "grading_distance_um": 1.0}
COARSE = {"size_surface_um": 1.0, "size_surface_per_radius": 0.3, "size_max_um": 2.0, "size_separator_um": 4.0,
          "size_particle_core_um": 1.5, "grading_distance_um": 1.0}
DILUTE = {"size_surface_um": 1.0, "size_surface_per_radius": 0.15, "size_max_um": 1.0, "size_separator_um": 5.0,
          "size_particle_core_um": 1.0, "grading_distance_um": 1.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="cases/homogenised")
    out = Path(parser.parse_args().out)
    for fraction in (0.05, 0.10):
        write_array_case(SphereArray((1, 1, 4), 5.0, fraction), out, f"dilute_f{round(100 * fraction):02d}",
                         separator_thickness_um=5.0, mesh=DILUTE)
    r2 = SphereArray((1, 1, 8), 5.0, 0.30)
    write_array_case(r2, out, "sc_r2_f30_1C", c_rate=1.0, mesh=FINE, extra={"solver": {"dt_max_s": 20.0}})
    write_array_case(r2, out, "sc_r2_f30_5C", c_rate=5.0, mesh=FINE, extra={"solver": {"dt_max_s": 4.0}})
    write_array_case(SphereArray((1, 1, 6), 40.0 / 6.0, 0.41), out, "sc_r3_f41_5C", c_rate=5.0, mesh=FINE,
                     extra={"solver": {"dt_max_s": 4.0}})
    write_array_case(r2, out, "ci_coarse_5C", c_rate=5.0, mesh=COARSE,
                     extra={"protocol": {"end_time_s": 60.0}, "solver": {"dt_max_s": 5.0}})
    print(f"wrote the homogenised-limit cases into {out}")


if __name__ == "__main__":
    main()
