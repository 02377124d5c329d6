"""ParaView-ready field output (VTK ``.pvd`` collections, coordinates in metres).

``fields/particles.pvd``: c/c_max, φ_s (transferred from the conductor submesh), particle id
(cell data) and, when mechanics is on, the stress fields. ``fields/electrolyte.pvd``: c_e, φ_e.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from femsim.mpi import import_dolfinx


class FieldWriter:
    """Writes the particle and electrolyte fields at output times."""

    def __init__(self, folder: str | Path, domain: Any, problem: Any):
        dolfinx = import_dolfinx()
        import dolfinx.io  # noqa: F401

        self.folder = Path(folder)
        if domain.comm.rank == 0:
            self.folder.mkdir(parents=True, exist_ok=True)
        domain.comm.barrier()
        self.domain, self.problem = domain, problem
        V_p = problem.particle_concentration.function_space
        self.c_over_cmax = dolfinx.fem.Function(V_p, name="c_over_cmax")
        self.solid_potential = dolfinx.fem.Function(V_p, name="solid_potential_V")
        dg0 = dolfinx.fem.functionspace(domain.particles.mesh, ("DG", 0))
        self.particle_id = dolfinx.fem.Function(dg0, name="particle_id")
        self.particle_id.x.array[:] = domain.particle_cell_ids
        V_e = problem.electrolyte_concentration.function_space
        self.c_e = dolfinx.fem.Function(V_e, name="electrolyte_concentration_mol_m3")
        self.phi_e = dolfinx.fem.Function(V_e, name="electrolyte_potential_V")
        # particle submesh cells ↔ conductor submesh cells (through the parent mesh)
        n_p = len(domain.particles.parent_cells)
        n_parent = domain.mesh.topology.index_map(3).size_local + domain.mesh.topology.index_map(3).num_ghosts
        import numpy as np

        parent_to_conductor = domain.conductor.cell_map.sub_topology_to_topology(
            np.arange(n_parent, dtype=np.int32), inverse=True)
        self._cells_p = np.arange(n_p, dtype=np.int32)
        self._cells_c = np.asarray(parent_to_conductor[domain.particles.parent_cells], dtype=np.int32)
        self._vtk_p = dolfinx.io.VTKFile(domain.comm, str(self.folder / "particles.pvd"), "w")
        self._vtk_e = dolfinx.io.VTKFile(domain.comm, str(self.folder / "electrolyte.pvd"), "w")
        self._vtk_vectors: Any = None

    def write(self, time_s: float, extra_particle_fields: list[Any] | None = None) -> None:
        p = self.problem
        self.c_over_cmax.x.array[:] = p.particle_concentration.x.array / p.c_max
        self.solid_potential.interpolate(p.solid_potential, self._cells_c, self._cells_p)
        self.c_e.x.array[:] = p.electrolyte_concentration.x.array
        self.phi_e.x.array[:] = p.electrolyte_potential.x.array
        scalars = [self.c_over_cmax, self.solid_potential]
        vectors = []
        for f in extra_particle_fields or []:
            (scalars if f.function_space.element == self.c_over_cmax.function_space.element else vectors).append(f)
        self._vtk_p.write_function(scalars + [self.particle_id], time_s)
        if vectors:
            # VTK files take one point-wise element per file: vector fields go beside the scalars
            if self._vtk_vectors is None:
                dolfinx = import_dolfinx()
                self._vtk_vectors = dolfinx.io.VTKFile(self.domain.comm, str(self.folder / "particles_vectors.pvd"),
                                                       "w")
            self._vtk_vectors.write_function(vectors, time_s)
        self._vtk_e.write_function([self.c_e, self.phi_e], time_s)

    def close(self) -> None:
        for vtk in (self._vtk_p, self._vtk_e, self._vtk_vectors):
            if vtk is not None:
                vtk.close()
