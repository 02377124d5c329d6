"""Every interface facet a rank integrates finds both of its cells in the region submeshes.

An owned particle/electrolyte facet whose particle (or electrolyte) cell is a ghost on that rank
must find the ghost in the submesh: with owned-only submeshes its entity map gave −1 and that
side's coefficients were read as zero (NaN Jacobian on the coarse 5C mesh on 2 ranks).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from femsim.case import parse_case, read_toml

TINY = Path(__file__).resolve().parents[2] / "cases" / "ci" / "tiny.toml"


@pytest.mark.parallel
def test_interface_cells_are_in_the_submeshes(tmp_path_factory):
    from femsim.mpi import comm_world
    from femsim.simulation import Simulation

    comm = comm_world()
    root = Path(comm.bcast(str(tmp_path_factory.mktemp("ghosts")) if comm.rank == 0 else None, root=0))
    data = read_toml(TINY)
    data["mechanics"] = {"enabled": False}
    data["output"] = {"folder": str(root / "out"), "fields": False, "progress": False}
    sim = Simulation(parse_case(data, TINY), comm)
    sim.setup()
    d = sim.domain
    facets = d.interface_data.reshape(-1, 4)
    n = d.mesh.topology.index_map(3).size_local + d.mesh.topology.index_map(3).num_ghosts
    for region, column in ((d.particles, 0), (d.conductor, 0), (d.electrolyte, 2)):
        sub = np.asarray(region.cell_map.sub_topology_to_topology(np.arange(n, dtype=np.int32), inverse=True))
        assert (sub[facets[:, column]] >= 0).all(), region.name
    if comm.size > 1:
        assert comm.allreduce(d.particles.mesh.topology.index_map(3).num_ghosts) > 0
