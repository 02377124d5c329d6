"""The one set of region and tag names: physical groups of the mesh files and the region codes
of the model's cell measure.

Cells: the matrix, the separator and one tag per particle (``PARTICLE_OFFSET + particle id``), so
every particle keeps its identity from the table to the results. Facets: named boundaries and the
particle/electrolyte interface. Coordinates: current collector at z = 0, cathode up to z = L_c,
separator up to z = L_c + L_s, Li-metal face on top.

These are the values written in ``meshes/*.msh`` and users' meshes: they never change. The
region code of :attr:`femsim.model.domain.Domain.dx` is the cell tag itself for the matrix and
the separator (``dx(MATRIX)``, ``dx(SEPARATOR)``) and :data:`PARTICLES` for every particle cell.
"""

#: cell tag of the carbon-binder/electrolyte matrix (and its region code)
MATRIX = 1
#: cell tag of the separator (and its region code)
SEPARATOR = 2
#: particle with table id k has cell tag PARTICLE_OFFSET + k (k >= 0)
PARTICLE_OFFSET = 1000
#: region code of all particle cells together in the model's cell measure (not a tag on disk;
#: below MATRIX so that the regions are assembled in the order particles, matrix, separator)
PARTICLES = 0
#: subdomain of the model's interior-facet measure ``dS`` holding the particle/matrix facets of the
#: interface (the particle/separator facets touch no carbon binder): the electronic contact of the
#: detachment model; the whole interface is :data:`INTERFACE`
PARTICLE_MATRIX_CONTACT = 1
#: subdomains of the model's ``ds_collector`` measure: its matrix facets and its particle facets
COLLECTOR_MATRIX, COLLECTOR_PARTICLES = 1, 2

#: particle surface facets facing the matrix or the separator (the reacting surface Γ_pm)
INTERFACE = 10
#: z = 0 (matrix and particle facets): the applied current enters here
CURRENT_COLLECTOR = 11
#: z = L_c + L_s: the Li-metal counter electrode
LI_METAL = 12
#: matrix/separator facets at z = L_c (interior)
CATHODE_SEPARATOR = 14
#: lateral faces, per side (matrix, particle and separator facets)
LATERAL_X_MIN = 21
LATERAL_X_MAX = 22
LATERAL_Y_MIN = 23
LATERAL_Y_MAX = 24
LATERAL = (LATERAL_X_MIN, LATERAL_X_MAX, LATERAL_Y_MIN, LATERAL_Y_MAX)

PHYSICAL_NAMES = {
    MATRIX: "matrix", SEPARATOR: "separator", INTERFACE: "particle_interface",
    CURRENT_COLLECTOR: "current_collector", LI_METAL: "li_metal", CATHODE_SEPARATOR: "cathode_separator",
    LATERAL_X_MIN: "lateral_x_min", LATERAL_X_MAX: "lateral_x_max", LATERAL_Y_MIN: "lateral_y_min",
    LATERAL_Y_MAX: "lateral_y_max",
}


def particle_tag(particle_id: int) -> int:
    return PARTICLE_OFFSET + int(particle_id)


def is_particle_tag(tag: int) -> bool:
    return tag >= PARTICLE_OFFSET
