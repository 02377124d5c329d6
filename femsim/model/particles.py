"""Per-particle and per-depth-window statistics without loops over cells in Python.

Every cell of the particle submesh knows its particle id (from the cell tags), so per-particle
integrals are cell-wise integrals (one DG0 vector assembly) summed with ``np.bincount`` and
reduced over ranks. Surface extrema use the c_s degrees of freedom on each particle's interface.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from femsim.mpi import import_dolfinx


class ParticleStatistics:
    """Per-particle geometry and concentration statistics.

    Args:
        domain: the :class:`femsim.model.domain.Domain`.
        concentration: c_s (P1 on the particle submesh).
        cathode_thickness: L_c (m), for depths and the 10 µm windows.
        window: width of the separator-side and collector-side windows (m).
    """

    def __init__(self, domain: Any, concentration: Any, cathode_thickness: float, window: float = 10e-6):
        dolfinx = import_dolfinx()
        import ufl
        from mpi4py import MPI

        self.domain, self.c = domain, concentration
        comm = domain.comm
        pmesh = domain.particles.mesh
        n_owned = pmesh.topology.index_map(3).size_local
        self.ids = domain.particle_ids
        self._cell_slot = domain.particle_cell_slot
        self._owned_slot = self._cell_slot[:n_owned]
        n = len(self.ids)

        self.dg0 = dolfinx.fem.functionspace(pmesh, ("DG", 0))
        v0 = ufl.TestFunction(self.dg0)
        dxp = ufl.Measure("dx", domain=pmesh)
        x = ufl.SpatialCoordinate(pmesh)
        self._cell_volume = self._cellwise(dolfinx.fem.form(v0 * dxp))
        self._mean_form = dolfinx.fem.form(self.c * v0 * dxp)
        self.volume = self._sum(self._cell_volume)
        #: radius of the sphere of each particle's meshed volume (m)
        self.equivalent_radius = (3 * self.volume / (4 * np.pi)) ** (1 / 3)
        self.centroid = np.stack([self._sum(self._cellwise(dolfinx.fem.form(x[i] * v0 * dxp))) for i in range(3)],
                                 axis=1) / self.volume[:, None]
        self.cathode_thickness = cathode_thickness
        self.depth = cathode_thickness - self.centroid[:, 2]

        # windows by cell midpoint (owned cells)
        mid = dolfinx.mesh.compute_midpoints(pmesh, 3, np.arange(n_owned, dtype=np.int32))
        self._in_separator_window = mid[:, 2] >= cathode_thickness - window
        self._in_collector_window = mid[:, 2] <= window

        # c_s dofs on each particle's interface (for surface extrema)
        d = domain

        parent_to_sub = d.particles.cell_map.sub_topology_to_topology(
            np.arange(d.mesh.topology.index_map(3).size_local + d.mesh.topology.index_map(3).num_ghosts,
                      dtype=np.int32), inverse=True)
        data = d.interface_data.reshape(-1, 4)
        sub_cells = parent_to_sub[data[:, 0]]
        V = self.c.function_space
        pmesh.topology.create_connectivity(3, 2)
        pmesh.topology.create_connectivity(2, 0)
        c2f = pmesh.topology.connectivity(3, 2)
        f2v = pmesh.topology.connectivity(2, 0)
        surf_dofs, surf_slot = [], []
        for cell, lf in zip(sub_cells, data[:, 1]):  # the submesh holds ghost cells too (Domain)
            facet = c2f.links(cell)[lf]
            for vertex in f2v.links(facet):
                surf_dofs.append(vertex)
                surf_slot.append(self._cell_slot[cell])
        # P1 dofs are vertex-based; map vertices to dofs through the cell dof layout
        self._surface_dofs, self._surface_slot = self._vertices_to_dofs(V, np.array(surf_dofs, dtype=np.int32),
                                                                        np.array(surf_slot, dtype=np.int64))
        self._n = n
        self._comm = comm
        self._mpi = MPI

    @staticmethod
    def _vertices_to_dofs(V: Any, vertices: np.ndarray, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dolfinx = import_dolfinx()
        mesh = V.mesh
        if len(vertices) == 0:
            return vertices, slots
        mesh.topology.create_connectivity(0, 3)
        v2c = mesh.topology.connectivity(0, 3)
        geom_cells = mesh.topology.connectivity(3, 0)
        dofs = np.empty(len(vertices), dtype=np.int32)
        for k, v in enumerate(vertices):
            cell = v2c.links(v)[0]
            local = int(np.flatnonzero(geom_cells.links(cell) == v)[0])
            dofs[k] = V.dofmap.cell_dofs(cell)[local]
        del dolfinx
        return dofs, slots

    def _cellwise(self, form: Any) -> np.ndarray:
        dolfinx = import_dolfinx()
        vec = dolfinx.fem.assemble_vector(form)
        return vec.array[: self.domain.particles.num_owned_cells].copy()

    def _sum(self, cell_values: np.ndarray) -> np.ndarray:
        local = np.bincount(self._owned_slot, weights=cell_values, minlength=len(self.ids))
        return self.domain.comm.allreduce(local, op=self._mpi_sum())

    @staticmethod
    def _mpi_sum() -> Any:
        from mpi4py import MPI

        return MPI.SUM

    def mean_concentration(self) -> np.ndarray:
        """Volume-averaged c_s per particle (mol/m³)."""
        return self._sum(self._cellwise(self._mean_form)) / self.volume

    def surface_extrema(self) -> tuple[np.ndarray, np.ndarray]:
        """(min, max) of c_s over each particle's reacting surface (mol/m³)."""
        from mpi4py import MPI

        vals = self.c.x.array[self._surface_dofs]
        lo = np.full(len(self.ids), np.inf)
        hi = np.full(len(self.ids), -np.inf)
        np.minimum.at(lo, self._surface_slot, vals)
        np.maximum.at(hi, self._surface_slot, vals)
        lo_all, hi_all = np.empty_like(lo), np.empty_like(hi)
        self._comm.Allreduce(lo, lo_all, op=MPI.MIN)
        self._comm.Allreduce(hi, hi_all, op=MPI.MAX)
        lo, hi = lo_all, hi_all
        return lo, hi

    def window_means(self) -> tuple[float, float, float]:
        """Mean c_s (mol/m³) over all particles, the separator-side and the collector-side windows."""
        cell_c = self._cellwise(self._mean_form)
        vol = self._cell_volume
        sums = np.array([cell_c.sum(), vol.sum(), cell_c[self._in_separator_window].sum(),
                         vol[self._in_separator_window].sum(), cell_c[self._in_collector_window].sum(),
                         vol[self._in_collector_window].sum()])
        sums = self._comm.allreduce(sums, op=self._mpi_sum())
        safe = lambda a, b: a / b if b > 0 else float("nan")  # noqa: E731
        return safe(sums[0], sums[1]), safe(sums[2], sums[3]), safe(sums[4], sums[5])
