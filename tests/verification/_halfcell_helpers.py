"""Shared set-up for the half-cell verification tests (MPI-agnostic)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from femsim.case import parse_case

if TYPE_CHECKING:
    from femsim.case import Case


def shared_dir(name: str) -> Path:
    """A folder identical on all ranks (rank 0 creates it, the path is broadcast)."""
    import tempfile

    from femsim.mpi import comm_world

    comm = comm_world()
    path = tempfile.mkdtemp(prefix=f"femsim-{name}-") if comm.rank == 0 else None
    return Path(comm.bcast(path, root=0))


def make_case(folder: Path, table_rows: list[tuple], box: tuple = (10.0, 10.0, 10.0), separator: float = 5.0,
              mesh: dict | None = None, extra: dict | None = None) -> Any:
    """A validated case with its own particle table written into ``folder``."""
    from femsim.mpi import comm_world

    comm = comm_world()
    table = folder / "particles.csv"
    if comm.rank == 0:
        lines = ["id,x,y,z,radius"] + [",".join(str(v) for v in row) for row in table_rows]
        table.write_text("\n".join(lines) + "\n")
    comm.barrier()
    data = {"geometry": {"particle_table": str(table), "box_um": list(box), "separator_thickness_um": separator},
            "mesh": mesh or {}, "output": {"folder": str(folder / "out"), "fields": False, "progress": False},
            "mechanics": {"enabled": False}}
    for section, values in (extra or {}).items():
        data.setdefault(section, {}).update(values)
    return parse_case(data, folder / "case.toml")


def build(case: Case) -> tuple[Any, Any]:
    """Mesh (rank 0), load, and create (domain, problem)."""
    from femsim.geometry.load import load_mesh
    from femsim.geometry.pipeline import mesh_case
    from femsim.model.domain import Domain
    from femsim.mpi import comm_world
    from femsim.parameters import build_material_sets
    from femsim.solvers.halfcell import HalfCellProblem

    comm = comm_world()
    msh = mesh_case(case, comm=comm)
    mesh, ct, ft = load_mesh(msh, comm)
    domain = Domain(mesh, ct, ft, case.solver.interface_quadrature_degree, case.solver.bulk_quadrature_degree)
    problem = HalfCellProblem(domain, build_material_sets(case.materials), case)
    return domain, problem


def point_value(u: Any, point: np.ndarray) -> float:
    """Value of a dolfinx Function at a point (m), identical on all ranks."""
    from femsim.mpi import import_dolfinx

    dolfinx = import_dolfinx()

    mesh = u.function_space.mesh
    tree = dolfinx.geometry.bb_tree(mesh, mesh.topology.dim)
    pts = np.asarray(point, dtype=float).reshape(1, 3)
    candidates = dolfinx.geometry.compute_collisions_points(tree, pts)
    cells = dolfinx.geometry.compute_colliding_cells(mesh, candidates, pts)
    n_owned = mesh.topology.index_map(mesh.topology.dim).size_local
    links = [c for c in cells.links(0) if c < n_owned]
    value = float(u.eval(pts, np.array(links[:1], dtype=np.int32))[0]) if links else np.nan
    values = mesh.comm.allgather(value)
    finite = [v for v in values if np.isfinite(v)]
    return finite[0] if finite else np.nan
