"""Three particles in a 10 µm cathode cube (two whole, one clipped by the x = 0 wall), meshed
once per module on rank 0 into a folder shared by all ranks; coordinates of the poles are exact
(the OCC sphere has vertices at its poles)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _model_geometry import CATHODE_UM, ROWS  # noqa: E402


@pytest.fixture(scope="module")
def three_particles() -> Any:
    """The :class:`femsim.model.domain.Domain` of :data:`ROWS`."""
    import tempfile

    from femsim.case import parse_case
    from femsim.geometry.load import load_mesh
    from femsim.geometry.pipeline import mesh_case
    from femsim.model.domain import Domain
    from femsim.mpi import comm_world

    comm = comm_world()
    folder = Path(comm.bcast(tempfile.mkdtemp(prefix="femsim-unit-model-") if comm.rank == 0 else None, root=0))
    table = folder / "particles.csv"
    if comm.rank == 0:
        table.write_text("id,x,y,z,radius\n" + "".join(",".join(map(str, r)) + "\n" for r in ROWS))
    comm.barrier()
    case = parse_case({"geometry": {"particle_table": str(table), "box_um": [CATHODE_UM] * 3,
                                    "separator_thickness_um": 2.0},
                       "mesh": {"size_surface_um": 0.6, "size_max_um": 2.0},
                       "output": {"folder": str(folder / "out")}}, folder / "case.toml")
    mesh, cell_tags, facet_tags = load_mesh(mesh_case(case, out_dir=folder / "mesh", comm=comm), comm)
    return Domain(mesh, cell_tags, facet_tags)
