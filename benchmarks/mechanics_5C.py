"""Timing of the mechanics solve on the reference RVE (cases/5C.toml mesh) by solver and degree.

Usage: python benchmarks/mechanics_5C.py MESH.msh [--degree 1 2] [--solvers mumps gamg] [--steps 3]
(mpiexec -n N works). A synthetic c_s (radial parabola per particle, as in a charge) is imposed;
prints setup / first solve / later solve times (s) and the peak σ_eq (MPa).

Recorded (reference RVE, 129 010 cells, 59 097 particle cells; serial, shared 2-core VM):

* quiet machine (load ≈ 2):
  M1 P1 MUMPS  73 587 dofs: setup 0.33 s, first step 0.47 s, later 0.12 s/step
  M1 P1 GAMG   73 587 dofs: setup 0.31 s, first step 0.83 s, later 0.44 s/step (26 CG its)
  M1 P2 MUMPS 395 847 dofs: setup 1.74 s, first step 5.6 s (factorisation), later 0.31 s/step
  M1 P2 GAMG  395 847 dofs: later 43 s/step (64 CG its; 52 disconnected bodies)
* loaded machine (load ≈ 7, times inflated ~3x):
  M1 P1 MUMPS: setup 1.2 s, first 1.7 s, later 0.43 s;  M1 P2 MUMPS: setup 6.4 s, first 17.7 s, later 1.1 s
  M2 P1 MUMPS  82 074 dofs: setup 5.7 s, first 5.9 s, later 0.50 s
  M2 P2 MUMPS 566 733 dofs: setup 17 s, first 278 s, later 3.2 s;
  M2 P2 GAMG: setup 32 s, first 240 s, later 137 s/step (229 its)
Peak σ_eq of the synthetic profile: P1 underestimates P2 by 15 % (M1), hence P2 + MUMPS by default.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from femsim.mpi import import_dolfinx

GAMG = {"ksp_type": "cg", "pc_type": "gamg", "ksp_rtol": 1e-8}
MUMPS = {"ksp_type": "preonly", "pc_type": "lu", "pc_factor_mat_solver_type": "mumps"}


class Section:
    setting = "M1"
    strain_model = "linear"
    matrix_youngs_modulus_Pa = 1e9
    matrix_poisson_ratio = 0.3
    probe_separator_um = None
    probe_collector_um = None
    weibull_modulus = 5.0
    weibull_strength_Pa = 375e6
    weibull_volume_um3 = 100.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mesh")
    parser.add_argument("--degree", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--solvers", nargs="+", default=["mumps", "gamg"])
    parser.add_argument("--settings", nargs="+", default=["M1"])
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()
    dolfinx = import_dolfinx()
    from mpi4py import MPI

    from femsim.geometry.load import load_mesh
    from femsim.model.domain import Domain
    from femsim.parameters.nmc622 import NMC622
    from femsim.solvers.mechanics import MechanicsSolver

    comm = MPI.COMM_WORLD
    t0 = time.perf_counter()
    domain = Domain(*load_mesh(args.mesh, comm))
    p = NMC622()
    c0 = 0.917 * p.max_concentration
    if comm.rank == 0:
        print(f"domain {time.perf_counter() - t0:.1f} s, particle cells "
              f"{domain.particles.mesh.topology.index_map(3).size_global}, ranks {comm.size}")
    for setting in args.settings:
        for degree in args.degree:
            for name in args.solvers:
                sec = Section()
                sec.setting = setting
                mech = MechanicsSolver(domain, p, sec, c_ref=c0, petsc_options=MUMPS if name == "mumps" else GAMG,
                                       degree=degree)
                c = dolfinx.fem.Function(mech.Vs)
                X = mech.Vs.tabulate_dof_coordinates()
                cen = mech.nodes.centroid[np.maximum(mech.nodes.dof_slot, 0)]
                r2 = np.sum((X - cen) ** 2, axis=1) / (3e-6) ** 2
                times = []
                for k in range(args.steps):
                    c.x.array[:] = c0 - 2000.0 * (k + 1) * (0.4 + r2)
                    before = dict(mech.timings)
                    mech.solve(c)
                    times.append(sum(mech.timings[key] - before[key] for key in ("assemble", "solve", "recover")))
                peak = mech.particle_stress()["sigma_eq_max_Pa"].max() / 1e6
                if comm.rank == 0:
                    print(f"{setting} P{degree} {name:5s}: dofs {mech.n_dofs}, setup {mech.timings['setup']:.2f} s, "
                          f"first step {times[0]:.2f} s, later {np.mean(times[1:]):.3f} s "
                          f"(its {mech.iterations}), peak sigma_eq {peak:.2f} MPa")
                mech.ksp.destroy()


if __name__ == "__main__":
    main()
