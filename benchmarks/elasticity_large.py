"""Cost of the M1 elasticity solve at ≥ 1M displacement unknowns, in Poisson-solve equivalents.

In M1 every particle is its own elastic body, so the operator is block diagonal (one block per
particle) and a sparse direct factorisation fills only inside the blocks: its cost grows with the
number of particles times a per-particle cost, not with the square of the whole problem. This
benchmark loads a mesh (e.g. the 208-particle ``cases/region/region_40.toml`` mesh: P2 gives
about 1.4M unknowns), builds the M1 P2 solver with the given solver, imposes the synthetic c_s of
``benchmarks/mechanics_5C.py`` (radial parabola per particle) for ``--steps`` solves and reports
set-up (assembly + factorisation), time per later solve, its cost in Poisson-solve equivalents
(one CG + GAMG P1 Poisson solve on the whole mesh, :func:`solver_scaling.poisson_reference`),
peak σ_eq and peak RSS per rank.

Usage::

    .venv/bin/python benchmarks/elasticity_large.py MESH.msh [--solver mumps|gamg] [--steps 3] [--out JSON]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mechanics_5C import GAMG, MUMPS, Section  # noqa: E402
from solver_scaling import poisson_reference  # noqa: E402

from femsim.mpi import import_dolfinx  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mesh")
    ap.add_argument("--solver", choices=("mumps", "gamg"), default="mumps")
    ap.add_argument("--degree", type=int, default=2)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    dolfinx = import_dolfinx()
    from mpi4py import MPI

    from femsim.geometry.load import load_mesh
    from femsim.model.domain import Domain
    from femsim.parameters.nmc622 import NMC622
    from femsim.solvers.mechanics import MechanicsSolver

    comm = MPI.COMM_WORLD
    load0 = os.getloadavg()
    t0 = time.perf_counter()
    domain = Domain(*load_mesh(args.mesh, comm))
    t_domain = time.perf_counter() - t0
    p = NMC622()
    c0 = 0.917 * p.max_concentration
    options = dict(MUMPS, mat_mumps_icntl_14=50) if args.solver == "mumps" else dict(GAMG, ksp_rtol=1e-10)
    mech = MechanicsSolver(domain, p, Section(), c_ref=c0, petsc_options=options, degree=args.degree)
    c = dolfinx.fem.Function(mech.Vs)
    X = mech.Vs.tabulate_dof_coordinates()
    cen = mech.nodes.centroid[np.maximum(mech.nodes.dof_slot, 0)]
    r2 = np.sum((X - cen) ** 2, axis=1) / (3e-6) ** 2
    solve_s, cpu_s, its = [], [], []
    for k in range(args.steps):
        c.x.array[:] = c0 - 2000.0 * (k + 1) * (0.4 + r2)
        w, cp = time.perf_counter(), time.process_time()
        mech.solve(c)
        solve_s.append(comm.allreduce(time.perf_counter() - w, op=MPI.MAX))
        cpu_s.append(comm.allreduce(time.process_time() - cp, op=MPI.MAX))
        its.append(int(mech.iterations))
    peak = float(mech.particle_stress()["sigma_eq_max_Pa"].max())
    poisson = poisson_reference(domain.mesh, domain.facet_tags)
    later = float(np.mean(solve_s[1:])) if len(solve_s) > 1 else solve_s[0]
    later_cpu = float(np.mean(cpu_s[1:])) if len(cpu_s) > 1 else cpu_s[0]
    rss = comm.allreduce(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, op=MPI.MAX)
    res = {"mesh": args.mesh, "ranks": comm.size, "solver": args.solver, "degree": args.degree,
           "options": {k: str(v) for k, v in options.items()},
           "particle_cells": domain.particles.mesh.topology.index_map(3).size_global,
           "displacement_unknowns": int(mech.n_dofs), "domain_s": t_domain,
           "setup_s": mech.timings["setup"], "solve_wall_s": solve_s, "solve_cpu_s": cpu_s, "iterations": its,
           "later_solve_wall_s": later, "later_solve_cpu_s": later_cpu,
           "poisson": poisson, "pse_wall": later / poisson["wall_s"], "pse_cpu": later_cpu / poisson["cpu_s"],
           "sigma_eq_max_MPa": peak / 1e6, "peak_rss_max_rank_GB": rss,
           "loadavg_before": load0, "loadavg_after": os.getloadavg()}
    if comm.rank == 0:
        print(json.dumps(res, indent=1))
        if args.out:
            args.out.write_text(json.dumps(res, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
