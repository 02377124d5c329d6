"""Regular sphere arrays and the homogenised-limit case files."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from femsim.case import load_case
from femsim.crosscheck.arrays import SphereArray, write_array_case
from femsim.geometry.particles import read_particle_table

REPO = Path(__file__).resolve().parents[2]


def test_array_geometry_is_exact():
    arr = SphereArray((2, 1, 3), 4.0, 0.3)
    table = arr.table()
    assert len(table) == 6 and arr.box_um == [8.0, 4.0, 12.0]
    volume = np.sum(4 / 3 * math.pi * table.radii**3)
    assert volume / np.prod(arr.box_um) == pytest.approx(0.3, rel=1e-12)
    assert np.all(table.centres - table.radii[:, None] >= arr.wall_gap_um - 1e-12)
    assert SphereArray.from_radius((1, 1, 1), arr.radius_um, 0.3).cell_um == pytest.approx(4.0)


@pytest.mark.parametrize("fraction", [0.0, 0.53, -0.1])
def test_array_rejects_touching_or_empty(fraction):
    with pytest.raises(ValueError):
        SphereArray((1, 1, 1), 5.0, fraction)


def test_written_case_validates_and_capacity_matches_geometry(tmp_path):
    arr = SphereArray((1, 1, 8), 5.0, 0.3)
    case = load_case(write_array_case(arr, tmp_path, "h", c_rate=5.0))
    table = read_particle_table(case.geometry.particle_table)
    assert len(table) == 8 and case.geometry.box_um == [5.0, 5.0, 40.0]
    # 1C = the array's own capacity between x = 0.917 and 0.258 (c_max 47664, F)
    q = 47664.0 * 0.3 * 40e-6 * (0.917 - 0.258) * 96485.33212  # C/m²
    assert case.protocol.current_density_A_m2 == pytest.approx(5.0 * q / 3600.0, rel=1e-5)
    assert case.mechanics.enabled is False and case.materials.electrolyte == "Nyman2008"


def test_shipped_cases_validate():
    paths = sorted((REPO / "cases" / "homogenised").glob("*.toml"))
    assert len(paths) >= 5
    for path in paths:
        case = load_case(path)
        assert case.protocol.mode == "charge"
