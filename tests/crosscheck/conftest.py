"""Shared fixtures of the cross-check tests: small regular sphere arrays meshed once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from femsim.crosscheck.arrays import SphereArray, write_array_case

#: a dilute array: 2 spheres (φ = 10 %) in a 5 × 5 × 10 µm cathode, fine enough for < 1 % error
DILUTE_MESH = {"size_surface_um": 1.0, "size_surface_per_radius": 0.15, "size_max_um": 1.0,
               "size_separator_um": 2.0, "size_particle_core_um": 1.0, "grading_distance_um": 1.0}


def array_case(folder: Path, array: SphereArray, name: str, **kwargs) -> Path:
    """Write an array case whose results go under ``folder/results``."""
    extra = kwargs.pop("extra", {})
    extra.setdefault("output", {})["folder"] = (folder / "results" / name).as_posix()
    return write_array_case(array, folder, name, extra=extra, **kwargs)


@pytest.fixture(scope="session")
def dilute_case(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("dilute")
    return array_case(folder, SphereArray((1, 1, 2), 5.0, 0.10), "dilute", separator_thickness_um=2.0,
                      mesh=DILUTE_MESH)
