"""Geometry: particle tables, packing generator, gmsh RVE builder, mesh quality and loading.

Entry points: :func:`mesh_case` (case → ``rve.msh`` + ``mesh_report.json``),
:func:`femsim.geometry.load.load_mesh` (→ DOLFINx mesh and tags, metres),
:func:`femsim.geometry.particles.read_particle_table`,
:func:`femsim.geometry.packing.generate_packing`.
"""

from femsim.geometry.pipeline import mesh_case

__all__ = ["mesh_case"]
