"""Geometry: particle tables, packing generator, gmsh RVE builder, mesh quality and loading."""
