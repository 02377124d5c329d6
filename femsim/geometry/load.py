"""Load the tagged RVE mesh into DOLFINx (SI units, shared-facet ghosting).

gmsh writes µm; :func:`load_mesh` reads on rank 0, distributes with
``GhostMode.shared_facet`` (interior-facet integrals over process boundaries need it) and
scales the coordinates to metres once, so everything downstream is SI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from femsim.errors import InputError
from femsim.units import UM


def load_mesh(path: str | Path, comm: Any = None, scale: float = UM) -> tuple[Any, Any, Any]:
    """Read a gmsh ``.msh`` (µm) on ``comm``; return ``(mesh, cell_tags, facet_tags)`` in metres.

    Args:
        path: the .msh file (format 4.1, physical groups as in :mod:`femsim.geometry.tags`).
        comm: MPI communicator (default COMM_WORLD).
        scale: factor applied to the coordinates (1e-6: µm → m; 1.0 keeps µm).
    """
    from femsim.mpi import import_dolfinx

    import_dolfinx()
    import dolfinx.io.gmsh
    import dolfinx.mesh
    from mpi4py import MPI

    comm = MPI.COMM_WORLD if comm is None else comm
    path = Path(path)
    exists = path.is_file() if comm.rank == 0 else None
    if not comm.bcast(exists, root=0):
        raise InputError("mesh file not found", file=str(path))
    # (mode, max_facet_to_cell_links) is a functools.singledispatch overload mypy cannot see
    partitioner = dolfinx.mesh.create_cell_partitioner(dolfinx.mesh.GhostMode.shared_facet, 2)  # type: ignore[call-arg]
    import gmsh

    error = None
    if comm.rank == 0:  # read quietly; a broken file raises on every rank instead of hanging
        gmsh.initialize(interruptible=False)
        gmsh.option.setNumber("General.Terminal", 0)
        try:
            gmsh.model.add("rve")
            gmsh.merge(str(path))
        except Exception as exc:  # noqa: BLE001 - gmsh raises plain Exception
            error = f"cannot read mesh: {exc}"
            gmsh.finalize()
    error = comm.bcast(error, root=0)
    if error:
        raise InputError(error, file=str(path))
    try:
        data = dolfinx.io.gmsh.model_to_mesh(gmsh.model, comm, 0, gdim=3, partitioner=partitioner)
    finally:
        if comm.rank == 0:
            gmsh.finalize()
    mesh = data.mesh
    if scale != 1.0:
        mesh.geometry.x[:] *= scale
    if data.cell_tags is None or data.facet_tags is None:
        raise InputError("mesh has no cell or facet physical groups", file=str(path))
    return mesh, data.cell_tags, data.facet_tags
