"""Run M1 and M2 on a small sphere mesh and print the outputs as JSON (serial vs mpiexec check).

``python _mpi_compare.py`` (under mpiexec or not) prints one JSON line on rank 0.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def compute() -> dict:
    from femsim.mpi import import_dolfinx

    from _mech_helpers import Mech, crank_u, sphere_domain

    dolfinx = import_dolfinx()
    from mpi4py import MPI

    from femsim.parameters.nmc622 import NMC622
    from femsim.solvers.mechanics import MechanicsSolver

    domain = sphere_domain(MPI.COMM_WORLD, 2.0, 5.0, h_surface_um=0.4, h_core_um=0.6, h_box_um=1.5)
    p = NMC622()
    c0 = 0.9 * p.max_concentration
    out = {}
    for setting in ("M1", "M2"):
        mech = MechanicsSolver(domain, p, Mech(setting=setting), c_ref=c0, degree=2)
        c = dolfinx.fem.Function(mech.Vs)
        X = mech.Vs.tabulate_dof_coordinates()
        r = np.minimum(np.linalg.norm(X - 2.5e-6, axis=1) / 2e-6, 1.0)
        c.x.array[:] = c0 - 3000.0 * crank_u(r, 0.1)
        mech.solve(c)
        stats = mech.particle_stress()
        out[setting] = {"stats": {k: np.asarray(v).tolist() for k, v in stats.items()}, "probes": mech.probes()}
    return out


if __name__ == "__main__":
    from femsim.mpi import import_dolfinx

    import_dolfinx()
    from mpi4py import MPI

    result = compute()
    if MPI.COMM_WORLD.rank == 0:
        print("RESULT " + json.dumps(result))
