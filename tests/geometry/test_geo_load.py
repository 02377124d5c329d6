"""Loading the tagged mesh into DOLFINx: same tags, volumes and areas on 1 and on N ranks.

Runs serially and under ``mpiexec -n 2 python -m pytest -m parallel`` (CI): the mesh is built on
rank 0 into a folder shared by all ranks, then loaded on COMM_WORLD and on COMM_SELF and the
per-tag volumes and facet areas compared (1e-12 relative).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pytest

from femsim.case import load_case
from femsim.errors import InputError
from femsim.geometry import mesh_case, tags as T
from femsim.geometry.pipeline import REPORT_NAME
from femsim.mpi import import_dolfinx

from _geometry_helpers import SMALL_ROWS, write_case, write_table

import_dolfinx()
from mpi4py import MPI  # noqa: E402


@pytest.fixture(scope="module")
def shared_dir():
    comm = MPI.COMM_WORLD
    holder = tempfile.TemporaryDirectory(prefix="femsim_geo_") if comm.rank == 0 else None
    path = Path(comm.bcast(holder.name if holder else None, root=0))
    yield path
    comm.barrier()
    if holder:
        holder.cleanup()


def _measures(msh: Path, comm) -> dict[tuple[str, int], float]:
    import dolfinx
    import ufl

    from femsim.geometry.load import load_mesh

    mesh, cells, facets = load_mesh(msh, comm)
    one = dolfinx.fem.Constant(mesh, 1.0)
    out = {}
    cell_tags = sorted(comm.allreduce(set(np.unique(cells.values).tolist()), op=MPI.BOR))
    facet_tags = sorted(comm.allreduce(set(np.unique(facets.values).tolist()), op=MPI.BOR))
    dx = ufl.Measure("dx", mesh, subdomain_data=cells)
    ds = ufl.Measure("ds", mesh, subdomain_data=facets)
    dS = ufl.Measure("dS", mesh, subdomain_data=facets)
    for tag in cell_tags:
        out[("cell", tag)] = dolfinx.fem.assemble_scalar(dolfinx.fem.form(one * dx(tag)))
    for tag in facet_tags:
        form = one * dS(tag) if tag in (T.INTERFACE, T.CATHODE_SEPARATOR) else one * ds(tag)
        out[("facet", tag)] = dolfinx.fem.assemble_scalar(dolfinx.fem.form(form))
    return {k: comm.allreduce(v, op=MPI.SUM) for k, v in out.items()}


@pytest.mark.parallel
def test_load_same_on_world_and_self(shared_dir):
    comm = MPI.COMM_WORLD
    if comm.rank == 0:
        write_table(shared_dir / "small.csv", SMALL_ROWS)
        write_case(shared_dir, shared_dir / "small.csv")
    comm.barrier()
    case = load_case(shared_dir / "small.toml")
    msh = mesh_case(case, comm=comm)
    world = _measures(msh, comm)
    serial = _measures(msh, MPI.COMM_SELF)
    assert world.keys() == serial.keys()
    expected_cells = {T.MATRIX, T.SEPARATOR, 1003, 1007, 1012}
    assert {t for kind, t in world if kind == "cell"} == expected_cells
    assert {t for kind, t in world if kind == "facet"} == {T.INTERFACE, T.CURRENT_COLLECTOR, T.LI_METAL,
                                                          T.CATHODE_SEPARATOR, *T.LATERAL}
    for key in world:
        assert world[key] == pytest.approx(serial[key], rel=1e-12), key
    # SI units, and the same numbers as the gmsh report (µm)
    report = json.loads((msh.parent / REPORT_NAME).read_text(encoding="utf-8"))
    assert world[("cell", T.SEPARATOR)] == pytest.approx(10 * 10 * 5 * 1e-18, rel=1e-12)
    assert world[("facet", T.INTERFACE)] == pytest.approx(report["interface_area_um2"] * 1e-12, rel=1e-9)
    for pid, p in report["particle_volumes"].items():
        assert world[("cell", T.particle_tag(int(pid)))] == pytest.approx(p["meshed_um3"] * 1e-18, rel=1e-9)


@pytest.mark.parallel
def test_rank0_failure_raises_everywhere(shared_dir):
    comm = MPI.COMM_WORLD
    sub = shared_dir / "bad"
    if comm.rank == 0:
        sub.mkdir(exist_ok=True)
        write_table(sub / "bad.csv", ["0,5,5,5,2", "0,1,1,1,1"])
        write_case(sub, sub / "bad.csv")
    comm.barrier()
    case = load_case(sub / "small.toml")
    with pytest.raises(InputError, match="duplicate id 0"):
        mesh_case(case, comm=comm)
    comm.barrier()


@pytest.mark.parallel
def test_missing_mesh_file(shared_dir):
    from femsim.geometry.load import load_mesh

    with pytest.raises(InputError, match="not found"):
        load_mesh(shared_dir / "nope.msh", MPI.COMM_WORLD)


@pytest.mark.parallel
def test_corrupt_mesh_file(shared_dir):
    from femsim.geometry.load import load_mesh

    bad = shared_dir / "corrupt.msh"
    if MPI.COMM_WORLD.rank == 0:
        bad.write_text("$MeshFormat\n4.1 0 8\n$EndMeshFormat\n$Nodes\ngarbage\n", encoding="utf-8")
    MPI.COMM_WORLD.barrier()
    with pytest.raises(InputError, match="cannot read mesh|no cell"):
        load_mesh(bad, MPI.COMM_WORLD)
