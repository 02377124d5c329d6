"""The computational domain: parent mesh, one submesh per region, measures and the interface.

Regions (cells of the parent mesh, see :mod:`femsim.geometry.tags`):

* ``particles``   – all NMC particle cells (c_s lives here);
* ``conductor``   – particles + carbon-binder matrix (φ_s, continuous over both);
* ``electrolyte`` – matrix + separator (c_e, φ_e).

Every integral is written on the parent mesh (``dx(region)``, ``ds(tag)``, ``dS(INTERFACE)``) and
compiled with the submeshes' entity maps. The interface integration data are built here so that
the ``'+'`` restriction is always the particle cell and ``'-'`` the electrolyte cell, on any number
of ranks (taking the facet tags' arbitrary orientation silently drops facets).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from femsim.geometry import tags
from femsim.mpi import import_dolfinx

#: region code of a cell that carries no known tag (the codes are tags.PARTICLES, tags.MATRIX, tags.SEPARATOR)
UNKNOWN_REGION = -1


@dataclasses.dataclass
class Region:
    """A submesh of the parent mesh and its maps."""

    name: str
    mesh: Any
    cell_map: Any  # dolfinx.mesh.EntityMap (submesh cell ↔ parent cell)
    parent_cells: np.ndarray  # parent cell index of each local submesh cell (owned + ghost)

    @property
    def num_owned_cells(self) -> int:
        return self.mesh.topology.index_map(3).size_local


class Domain:
    """Parent mesh with tags → regions, measures and oriented interface data.

    Args:
        mesh: parent mesh (SI coordinates, ghost mode ``shared_facet``).
        cell_tags: cell tags (matrix, separator, 1000 + particle id).
        facet_tags: facet tags (interface, current collector, Li metal, lateral).
        interface_quadrature_degree: quadrature degree of the Butler–Volmer interface integrals.
        bulk_quadrature_degree: quadrature degree of the volume integrals (the nonlinear electrolyte
            properties would otherwise make UFL estimate degrees of 8 and more).
    """

    def __init__(self, mesh: Any, cell_tags: Any, facet_tags: Any, interface_quadrature_degree: int = 4,
                 bulk_quadrature_degree: int = 2):
        dolfinx = import_dolfinx()
        import ufl

        self.mesh, self.cell_tags, self.facet_tags = mesh, cell_tags, facet_tags
        self.comm = mesh.comm
        tdim = mesh.topology.dim
        mesh.topology.create_connectivity(tdim - 1, tdim)
        mesh.topology.create_connectivity(tdim, tdim - 1)
        n_cells = mesh.topology.index_map(tdim).size_local + mesh.topology.index_map(tdim).num_ghosts

        # region code of every local cell (owned and ghost) from the cell tags
        values = np.zeros(n_cells, dtype=np.int32)
        values[cell_tags.indices] = cell_tags.values
        self.cell_particle_id = np.where(values >= tags.PARTICLE_OFFSET, values - tags.PARTICLE_OFFSET, -1)
        region = np.full(n_cells, UNKNOWN_REGION, dtype=np.int32)
        region[values >= tags.PARTICLE_OFFSET] = tags.PARTICLES
        region[values == tags.MATRIX] = tags.MATRIX
        region[values == tags.SEPARATOR] = tags.SEPARATOR
        if np.any(region == UNKNOWN_REGION):
            raise ValueError(f"{int(np.sum(region == UNKNOWN_REGION))} cells carry no known region tag")
        self.cell_region = region
        all_cells = np.arange(n_cells, dtype=np.int32)
        self.region_tags = dolfinx.mesh.meshtags(mesh, tdim, all_cells, region)

        make = self._make_region
        self.particles = make("particles", region == tags.PARTICLES)
        self.conductor = make("conductor", (region == tags.PARTICLES) | (region == tags.MATRIX))
        self.electrolyte = make("electrolyte", (region == tags.MATRIX) | (region == tags.SEPARATOR))
        self.entity_maps = [self.particles.cell_map, self.conductor.cell_map, self.electrolyte.cell_map]
        # particle id of each local cell of the particle submesh
        self.particle_cell_ids = self.cell_particle_id[self.particles.parent_cells]
        #: the particle ids of all ranks, sorted: the slot order of every per-particle table
        n_owned = self.particles.mesh.topology.index_map(3).size_local
        owned = set(self.particle_cell_ids[:n_owned].tolist())
        self.particle_ids = np.array(sorted(set().union(*self.comm.allgather(owned))), dtype=np.int64)
        #: slot (index into ``particle_ids``) of each local cell of the particle submesh, owned + ghost
        self.particle_cell_slot = np.searchsorted(self.particle_ids, self.particle_cell_ids).astype(np.int64)

        self.dx = ufl.Measure("dx", domain=mesh, subdomain_data=self.region_tags,
                              metadata={"quadrature_degree": bulk_quadrature_degree})
        self.dx_exact = ufl.Measure("dx", domain=mesh, subdomain_data=self.region_tags)
        self.ds = ufl.Measure("ds", domain=mesh, subdomain_data=facet_tags)
        self.interface_data = self._oriented_interface_data()
        # one subdomain-data object per integral type in a form: the whole interface and its
        # particle/matrix part (the electronic contact of the detachment model) share it
        pairs = self.interface_data.reshape(-1, 4)
        contact = pairs[self.cell_region[pairs[:, 2]] == tags.MATRIX].reshape(-1)
        self.dS = ufl.Measure("dS", domain=mesh, subdomain_data=[(tags.INTERFACE, self.interface_data),
                                                                (tags.PARTICLE_MATRIX_CONTACT, contact)],
                              metadata={"quadrature_degree": interface_quadrature_degree})
        self.dS_exact = ufl.Measure("dS", domain=mesh, subdomain_data=[(tags.INTERFACE, self.interface_data)])
        # electrolyte-side planes for the electrolyte potential drop: matrix facets on the current
        # collector (exterior) and matrix/separator facets at z = L_c (interior)
        self.ds_collector_electrolyte = ufl.Measure(
            "ds", domain=mesh, subdomain_data=[(tags.CURRENT_COLLECTOR, self._collector_facets(tags.MATRIX))])
        self.ds_collector = ufl.Measure("ds", domain=mesh, subdomain_data=[
            (tags.COLLECTOR_MATRIX, self._collector_facets(tags.MATRIX)),
            (tags.COLLECTOR_PARTICLES, self._collector_facets(tags.PARTICLES))])
        sep = self.facet_tags.find(tags.CATHODE_SEPARATOR)
        sep_data = dolfinx.fem.compute_integration_domains(dolfinx.fem.IntegralType.interior_facet,
                                                           mesh.topology, sep)
        self.dS_cathode_separator = ufl.Measure(
            "dS", domain=mesh, subdomain_data=[(tags.CATHODE_SEPARATOR, np.asarray(sep_data, dtype=np.int32))])

    def _make_region(self, name: str, mask: np.ndarray) -> Region:
        # owned *and ghost* cells: an owned interface facet whose particle (or electrolyte) cell
        # is a ghost must find that cell in the submesh, or its entity map gives −1 and the
        # facet's coefficients on that side are read as zero
        dolfinx = import_dolfinx()
        tdim = self.mesh.topology.dim
        cells = np.flatnonzero(mask).astype(np.int32)
        sub, cmap, _, _ = dolfinx.mesh.create_submesh(self.mesh, tdim, cells)
        sub.topology.create_connectivity(tdim - 1, tdim)
        n_sub = sub.topology.index_map(tdim).size_local + sub.topology.index_map(tdim).num_ghosts
        parent = cmap.sub_topology_to_topology(np.arange(n_sub, dtype=np.int32), inverse=False)
        return Region(name, sub, cmap, np.asarray(parent, dtype=np.int32))

    def _oriented_interface_data(self) -> np.ndarray:
        """(particle cell, local facet, electrolyte cell, local facet) per owned interface facet."""
        dolfinx = import_dolfinx()
        facets = self.facet_tags.find(tags.INTERFACE)
        data = dolfinx.fem.compute_integration_domains(
            dolfinx.fem.IntegralType.interior_facet, self.mesh.topology, facets)
        data = np.asarray(data, dtype=np.int32).reshape(-1, 4).copy()
        first_is_particle = self.cell_region[data[:, 0]] == tags.PARTICLES
        second_is_particle = self.cell_region[data[:, 2]] == tags.PARTICLES
        if np.any(first_is_particle == second_is_particle):
            bad = int(np.sum(first_is_particle == second_is_particle))
            raise ValueError(f"{bad} interface facets do not separate a particle from the electrolyte")
        swap = ~first_is_particle
        data[swap] = data[swap][:, [2, 3, 0, 1]]
        return data.reshape(-1)

    def _collector_facets(self, region: int) -> np.ndarray:
        """(cell, local facet) of the collector facets whose cell is in ``region``."""
        dolfinx = import_dolfinx()
        facets = self.facet_tags.find(tags.CURRENT_COLLECTOR)
        data = dolfinx.fem.compute_integration_domains(dolfinx.fem.IntegralType.exterior_facet,
                                                       self.mesh.topology, facets)
        data = np.asarray(data, dtype=np.int32).reshape(-1, 2)
        return data[self.cell_region[data[:, 0]] == region].reshape(-1)

    @property
    def matrix(self) -> Region:
        """The carbon-binder matrix alone as a submesh (the matrix solid potential of the detachment
        model); built at the first call, its entity map then joins :attr:`entity_maps`."""
        region = getattr(self, "_matrix", None)
        if region is None:
            region = self._matrix = self._make_region("matrix", self.cell_region == tags.MATRIX)
            self.entity_maps.append(region.cell_map)
        return region

    # -- small conveniences -------------------------------------------------------------------
    def assemble_scalar(self, form: Any) -> float:
        """Assemble a scalar UFL form over all ranks (entity maps included)."""
        dolfinx = import_dolfinx()
        from mpi4py import MPI

        compiled = dolfinx.fem.form(form, entity_maps=self.entity_maps)
        return self.comm.allreduce(dolfinx.fem.assemble_scalar(compiled), op=MPI.SUM)

    def measure_of(self, region_code: int) -> float:
        """Volume of a region (m³)."""
        dolfinx = import_dolfinx()
        return self.assemble_scalar(dolfinx.fem.Constant(self.mesh, 1.0) * self.dx_exact(region_code))

    def interface_area(self) -> float:
        """Area of the particle/electrolyte interface (m²)."""
        dolfinx = import_dolfinx()
        return self.assemble_scalar(dolfinx.fem.Constant(self.mesh, 1.0) * self.dS_exact(tags.INTERFACE))

    def facet_area(self, tag: int) -> float:
        """Area of a tagged boundary (m²)."""
        dolfinx = import_dolfinx()
        return self.assemble_scalar(dolfinx.fem.Constant(self.mesh, 1.0) * self.ds(tag))
