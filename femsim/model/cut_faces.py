"""Where the cathode box cuts the particles: flat cut faces and each particle's own curved surface.

The cathode box is the bounding box of the conductor submesh (particles + matrix): x and y span
the lateral faces, z runs from the current collector (z = 0) to the separator plane (z = L_c).
A boundary facet of the particle submesh whose three vertices lie on one of the six box planes
(within 1e-6 of the box size) is a *cut face* facet; every other boundary facet belongs to the
particle's own (curved) surface. A particle is *clipped* when it has cut-face area on any plane.

Face order (:data:`femsim.geometry.clipping.FACES`): x_min, x_max, y_min, y_max, z_min, z_max.
Only owned facets are listed, so sums over ranks count each facet once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from femsim.geometry.clipping import FACES
from femsim.mpi import import_dolfinx


def box_bounds(mesh: Any) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) corner (m) of a mesh's global bounding box, identical on all ranks."""
    from mpi4py import MPI

    x = mesh.geometry.x
    lo_local = x.min(axis=0) if len(x) else np.full(3, np.inf)
    hi_local = x.max(axis=0) if len(x) else np.full(3, -np.inf)
    lo, hi = np.empty(3), np.empty(3)
    mesh.comm.Allreduce(np.ascontiguousarray(lo_local, dtype=float), lo, op=MPI.MIN)
    mesh.comm.Allreduce(np.ascontiguousarray(hi_local, dtype=float), hi, op=MPI.MAX)
    return lo, hi


class CutFaces:
    """Boundary facets of the particle submesh split into cut faces (per box plane) and curved surface.

    Args:
        domain: the :class:`femsim.model.domain.Domain`.
        nodes: its :class:`femsim.model.probes.NodalParticleMap` (P1 nodes, particle slots).

    Attributes:
        lo, hi: cathode box corners (m).
        face_facets: per face (FACES order) the local indices of the owned particle facets on it.
        face_area: (n_particles, 6) cut-face area per particle and face (m², all ranks).
        clipped: (n_particles,) bool, cut by any box face.
        surface_dofs: (n_surface_facets, 3) P1 node indices of each owned curved-surface facet.
        surface_slot, surface_area: its particle slot and area (m²).
    """

    def __init__(self, domain: Any, nodes: Any):
        dolfinx = import_dolfinx()
        from mpi4py import MPI

        pmesh = domain.particles.mesh
        self.lo, self.hi = box_bounds(domain.conductor.mesh)
        tol = 1e-6 * float(np.max(self.hi - self.lo))
        tdim = pmesh.topology.dim
        pmesh.topology.create_connectivity(tdim - 1, tdim)
        facets = dolfinx.mesh.exterior_facet_indices(pmesh.topology)
        data = np.asarray(dolfinx.fem.compute_integration_domains(
            dolfinx.fem.IntegralType.exterior_facet, pmesh.topology, facets), dtype=np.int64).reshape(-1, 2)
        cells, local = data[:, 0], data[:, 1]
        # P1 on tetrahedra: local facet i is opposite local vertex i
        keep = np.array([[j for j in range(4) if j != i] for i in range(4)])
        dofs = nodes.cell_dofs[cells[:, None], keep[local]]  # (n_facets, 3)
        xyz = nodes.coords[dofs]  # (n_facets, 3 vertices, 3)
        area = 0.5 * np.linalg.norm(np.cross(xyz[:, 1] - xyz[:, 0], xyz[:, 2] - xyz[:, 0]), axis=1)
        slot = nodes.cell_slot[cells]
        on_face = np.full(len(facets), -1, dtype=np.int64)
        planes = [(axis, bound[axis]) for axis in range(3) for bound in (self.lo, self.hi)]
        for k, (axis, value) in enumerate(planes):
            hit = np.all(np.abs(xyz[:, :, axis] - value) < tol, axis=1)
            on_face[hit & (on_face < 0)] = k
        self.face_facets = [np.asarray(facets, dtype=np.int32)[on_face == k] for k in range(len(FACES))]
        local_area = np.zeros((nodes.n, len(FACES)))
        flat = on_face >= 0
        np.add.at(local_area, (slot[flat], on_face[flat]), area[flat])
        self.face_area = domain.comm.allreduce(local_area, op=MPI.SUM)
        self.clipped = self.face_area.sum(axis=1) > 0.0
        curved = ~flat
        self.surface_dofs, self.surface_slot, self.surface_area = dofs[curved], slot[curved], area[curved]

    def mirror_axes(self, slot: int, faces: tuple[int, ...]) -> set[int]:
        """Axes (0, 1, 2) of the given faces (FACES indices) on which particle ``slot`` has cut-face area."""
        return {f // 2 for f in faces if self.face_area[slot, f] > 0.0}
