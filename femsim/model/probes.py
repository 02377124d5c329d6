"""Per-particle bookkeeping on the particle submesh for nodal (P1) fields: ids, probe points.

Every local cell of the particle submesh carries its particle id (``Domain.particle_cell_ids``);
each P1 node inherits the id of a cell containing it. Particles are numbered by *slot* (the index
in the sorted global list of ids, the order of :class:`femsim.model.particles.ParticleStatistics`).

Probe points (docs/physics.md §2.5; the paper's P_s and P_cc):

* ``Ps``  – the surface point facing the separator of the *whole* (unclipped) particle nearest the
  separator (z = L_c): the vertex with the largest z over all whole particles (ties: nearest
  its particle's vertical axis, then the lowest global index);
* ``Pcc`` – likewise the vertex with the smallest z over the whole particles (collector, z = 0).

Clipped particles are skipped (their flat cut faces are mirror planes, not surfaces); only when
every particle is clipped do the probes fall back to all particles.

A point given in the case (µm) selects the nearest vertex of the particle mesh instead. Values are
read at that vertex (nodal, recovered fields), so the probe sits exactly on the particle surface.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from femsim.units import UM


class NodalParticleMap:
    """Particle slot of every P1 node and per-particle reductions of nodal / cell arrays.

    Args:
        domain: the :class:`femsim.model.domain.Domain`.
        V: a scalar P1 space on ``domain.particles.mesh``.
    """

    def __init__(self, domain: Any, V: Any):
        from mpi4py import MPI

        self.comm, self._mpi = domain.comm, MPI
        pmesh = domain.particles.mesh
        n_owned_cells = pmesh.topology.index_map(3).size_local
        self.ids = domain.particle_ids
        self.cell_slot = domain.particle_cell_slot  # owned + ghost cells
        self.cell_dofs = np.asarray(V.dofmap.list, dtype=np.int64)  # (n_cells, 4)
        imap = V.dofmap.index_map
        self.n_owned = imap.size_local
        n_all = imap.size_local + imap.num_ghosts
        self.dof_slot = np.full(n_all, -1, dtype=np.int64)
        self.dof_slot[self.cell_dofs.reshape(-1)] = np.repeat(self.cell_slot, self.cell_dofs.shape[1])
        self.global_index = np.asarray(imap.local_to_global(np.arange(n_all, dtype=np.int32)), dtype=np.int64)
        self.coords = V.tabulate_dof_coordinates()[:n_all]
        self.n_cells_owned = n_owned_cells
        geo = pmesh.geometry
        xc = geo.x[np.asarray(geo.dofmaps[0])[:n_owned_cells]]
        self.cell_volume = np.abs(np.linalg.det(xc[:, 1:, :] - xc[:, :1, :])) / 6.0
        self.volume = self.sum_cells(self.cell_volume)
        mid = xc.mean(axis=1)
        self.centroid = np.stack([self.sum_cells(self.cell_volume * mid[:, i]) for i in range(3)], axis=1)
        self.centroid /= np.maximum(self.volume, 1e-300)[:, None]

    @property
    def n(self) -> int:
        return len(self.ids)

    def sum_cells(self, values: np.ndarray) -> np.ndarray:
        """Per-particle sum of an owned-cell array (identical on all ranks)."""
        local = np.bincount(self.cell_slot[: self.n_cells_owned], weights=values, minlength=self.n)
        return self.comm.allreduce(local, op=self._mpi.SUM)

    def max_nodes(self, values: np.ndarray) -> np.ndarray:
        """Per-particle maximum of a nodal array over owned nodes (identical on all ranks)."""
        out = np.full(self.n, -np.inf)
        owned = slice(0, self.n_owned)
        np.maximum.at(out, self.dof_slot[owned], values[owned])
        result = np.empty_like(out)
        self.comm.Allreduce(out, result, op=self._mpi.MAX)
        return result

    def select(self, slot: int, key: np.ndarray) -> int:
        """Local dof (or −1) of the node of particle ``slot`` minimising ``key``; ties → lowest global index.

        The choice is the same on every rank; each rank gets its local index of that node (owned
        or ghost) or −1.
        """
        return self.select_among(self.dof_slot == slot, key)

    def nearest(self, point: np.ndarray) -> int:
        """Local dof (or −1) of the particle-mesh node nearest to ``point`` (m), same node on all ranks."""
        dist = np.linalg.norm(self.coords - point, axis=1)
        return self.select_any(dist)

    def select_any(self, key: np.ndarray) -> int:
        """Like :meth:`select` over the nodes of all particles."""
        return self.select_among(self.dof_slot >= 0, key)

    def select_among(self, mine: np.ndarray, key: np.ndarray) -> int:
        """Local index (or −1) of the node among ``mine`` minimising ``key`` over all ranks."""
        kmin = self.comm.allreduce(float(key[mine].min()) if mine.any() else np.inf, op=self._mpi.MIN)
        cand = mine & (key == kmin)
        gmin = self.comm.allreduce(int(self.global_index[cand].min()) if cand.any() else np.iinfo(np.int64).max,
                                   op=self._mpi.MIN)
        hit = np.flatnonzero(self.global_index == gmin)
        return int(hit[0]) if len(hit) else -1

    def value_at(self, dof: int, values: np.ndarray) -> float:
        """The value of a nodal array at a node chosen by :meth:`select` (broadcast from its owner)."""
        v = float(values[dof]) if 0 <= dof < self.n_owned else 0.0
        return float(self.comm.allreduce(v, op=self._mpi.SUM))

    def coords_of(self, dof: int) -> np.ndarray:
        x = self.coords[dof] if 0 <= dof < self.n_owned else np.zeros(3)
        return self.comm.allreduce(np.asarray(x, dtype=float), op=self._mpi.SUM)


class Probes:
    """The P_s / P_cc probe nodes on the particle mesh.

    Args:
        nodes: the :class:`NodalParticleMap` of the particle P1 space.
        separator_um, collector_um: optional points (µm) from the case; default automatic.
    """

    def __init__(self, nodes: NodalParticleMap, separator_um: Any = None, collector_um: Any = None,
                 clipped: np.ndarray | None = None):
        self.nodes = nodes
        self.points: list[tuple[str, int]] = []
        z = nodes.coords[:, 2]
        whole = np.ones(nodes.n, dtype=bool) if clipped is None else ~np.asarray(clipped, dtype=bool)
        if not whole.any():
            whole[:] = True
        node_slot = np.maximum(nodes.dof_slot, 0)
        candidates = (nodes.dof_slot >= 0) & whole[node_slot]
        axis = np.linalg.norm(nodes.coords[:, :2] - nodes.centroid[node_slot, :2], axis=1)
        for name, given, sign in (("Ps", separator_um, -1.0), ("Pcc", collector_um, 1.0)):
            if given is not None:
                dof = nodes.nearest(np.asarray(given, dtype=float) * UM)
            else:
                # lexicographic: extreme z first (to 1e-9 µm), then nearest the particle's vertical axis
                key = np.round(sign * z / UM, 9) + 1e-12 * axis / UM
                dof = nodes.select_among(candidates, key)
            self.points.append((name, dof))
        self.slots = [nodes.comm.allreduce(int(nodes.dof_slot[d]) if 0 <= d < nodes.n_owned else -1,
                                           op=nodes._mpi.MAX) for _, d in self.points]
        self.xyz = [nodes.coords_of(d) for _, d in self.points]

    def evaluate(self, sigma_eq: np.ndarray, c_over_cmax: np.ndarray) -> list[dict[str, Any]]:
        """Probe records (identical on all ranks): coordinates in µm, σ_eq in Pa, c/c_max."""
        out = []
        for (name, dof), slot, x in zip(self.points, self.slots, self.xyz):
            out.append({"probe": name, "x_um": float(x[0] / UM), "y_um": float(x[1] / UM), "z_um": float(x[2] / UM),
                        "particle_id": int(self.nodes.ids[slot]) if slot >= 0 else -1,
                        "sigma_eq_Pa": self.nodes.value_at(dof, sigma_eq),
                        "c_over_cmax": self.nodes.value_at(dof, c_over_cmax)})
        return out
