"""Load the tagged RVE mesh into DOLFINx (SI units, shared-facet ghosting).

gmsh writes µm; :func:`load_mesh` reads on rank 0, distributes with
``GhostMode.shared_facet`` (interior-facet integrals over process boundaries need it) and
scales the coordinates to metres once, so everything downstream is SI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from femsim.errors import InputError

UM = 1e-6


def load_mesh(path: str | Path, comm: Any = None, scale: float = UM) -> tuple[Any, Any, Any]:
    """Read a gmsh ``.msh`` (µm) on ``comm``; return ``(mesh, cell_tags, facet_tags)`` in metres.

    Args:
        path: the .msh file (format 4.1, physical groups as in :mod:`femsim.geometry.tags`).
        comm: MPI communicator (default COMM_WORLD).
        scale: factor applied to the coordinates (1e-6: µm → m; 1.0 keeps µm).
    """
    from femsim.mpi import import_dolfinx

    dolfinx = import_dolfinx()
    import dolfinx.io.gmsh
    from mpi4py import MPI

    comm = MPI.COMM_WORLD if comm is None else comm
    path = Path(path)
    exists = path.is_file() if comm.rank == 0 else None
    if not comm.bcast(exists, root=0):
        raise InputError("mesh file not found", file=str(path))
    partitioner = dolfinx.mesh.create_cell_partitioner(dolfinx.mesh.GhostMode.shared_facet, 2)
    data = dolfinx.io.gmsh.read_from_msh(str(path), comm, 0, gdim=3, partitioner=partitioner)
    mesh = data.mesh
    if scale != 1.0:
        mesh.geometry.x[:] *= scale
    if data.cell_tags is None or data.facet_tags is None:
        raise InputError("mesh has no cell or facet physical groups", file=str(path))
    return mesh, data.cell_tags, data.facet_tags
