"""The particles of the model unit tests (tests/unit/model/conftest.py meshes them)."""

#: id, x, y, z, radius (µm): two whole particles and one clipped by the x = 0 wall
ROWS = [(1, 3.0, 3.0, 3.0, 2.0), (2, 7.0, 7.0, 7.0, 2.0), (3, 0.5, 7.5, 3.0, 1.5)]
#: cathode box edge (µm): the box is [0, 10]³, the separator above z = 10
CATHODE_UM = 10.0
