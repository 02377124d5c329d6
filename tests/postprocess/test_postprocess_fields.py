"""Field files as DOLFINx writes them (Lagrange cells, parallel pieces with ghost cells)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from postprocess.reader import read_field


def test_ghost_cells_are_dropped(tmp_path: Path) -> None:
    import pyvista as pv

    box = pv.ImageData(dimensions=(3, 3, 3), spacing=(1e-6, 1e-6, 1e-6)).cast_to_unstructured_grid()
    ghost = np.zeros(box.n_cells, dtype=np.uint8)
    ghost[:3] = 1  # duplicated from a neighbouring rank
    box.cell_data["vtkGhostType"] = ghost
    box.point_data["c_over_cmax"] = box.points[:, 2] * 1e5
    box.save(str(tmp_path / "p_000000.vtu"))
    (tmp_path / "p.pvd").write_text('<?xml version="1.0"?><VTKFile type="Collection" version="1.0"><Collection>'
                                    '<DataSet timestep="5" part="0" file="p_000000.vtu"/></Collection></VTKFile>')
    grid, t = read_field(tmp_path / "p.pvd", 150.0)
    assert t == 5.0 and grid.n_cells == box.n_cells - 3


def test_reads_dolfinx_vtkfile(tmp_path: Path) -> None:
    MPI = pytest.importorskip("mpi4py.MPI")  # before dolfinx, which needs libmpi loaded
    pytest.importorskip("dolfinx")
    import dolfinx.io
    from dolfinx import fem, mesh

    from postprocess.figures_fields import section, to_micrometres

    msh = mesh.create_box(MPI.COMM_SELF, [[0, 0, 0], [20e-6, 20e-6, 40e-6]], [2, 2, 4], mesh.CellType.tetrahedron)
    c = fem.Function(fem.functionspace(msh, ("Lagrange", 1)), name="c_over_cmax")
    pid = fem.Function(fem.functionspace(msh, ("DG", 0)), name="particle_id")
    pid.interpolate(lambda x: 1.0 + (x[2] > 20e-6))
    path = tmp_path / "fields" / "particles.pvd"
    with dolfinx.io.VTKFile(MPI.COMM_SELF, str(path), "w") as f:
        for t in (0.0, 150.0):
            c.interpolate(lambda x, t=t: 0.9 - t / 1000 * x[2] / 40e-6)
            f.write_function([c, pid], t)
    grid, t_read = read_field(path, 140.0)
    assert t_read == 150.0
    assert set(np.unique(grid.cell_data["particle_id"])) == {1.0, 2.0}
    g = to_micrometres(grid)
    sec = section(g, "y", (10.0, 10.0, 20.0), ("c_over_cmax",))
    np.testing.assert_allclose(sec["points"][:, 1], 10.0)
    np.testing.assert_allclose(sec["c_over_cmax"], 0.9 - 0.15 * sec["points"][:, 2] / 40.0, atol=1e-12)
