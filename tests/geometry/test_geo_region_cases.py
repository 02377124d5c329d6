"""The region cases of issue 20 (cases/region/): tables, fractions, preflight (no meshing here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from femsim.case import load_case
from femsim.geometry.contacts import apply_electrode_planes, resolve_near_contacts
from femsim.geometry.packing import summary, volume_fraction
from femsim.geometry.particles import ParticleTable, read_particle_table
from femsim.preflight import preflight

REGION = Path(__file__).resolve().parents[2] / "cases" / "region"


@pytest.mark.parametrize("name, n, box", [("region_40", 208, (40, 40, 40)), ("region_60", 468, (60, 60, 40)),
                                          ("region_120", 1872, (120, 120, 40)),
                                          ("region_120_coarse", 1872, (120, 120, 40)),
                                          ("region_120_x126", 1872, (120, 120, 40))])
def test_region_case_table_fraction_and_preflight(name: str, n: int, box: tuple[float, ...]) -> None:
    case = load_case(REGION / f"{name}.toml")
    assert tuple(case.geometry.box_um) == box
    table = read_particle_table(case.geometry.particle_table)
    assert len(table) == n
    assert volume_fraction(table, box) == pytest.approx(0.41, abs=0.002)
    # generated tables need no near-contact or electrode-plane adjustment
    table, planes = apply_electrode_planes(table, box, case.geometry.wall_clearance_um)
    _, contacts = resolve_near_contacts(table, box, case.geometry.min_gap_um, case.geometry.wall_clearance_um)
    assert planes == [] and contacts == []
    info = preflight(case)
    assert info["estimated_cells"] < 5e6  # the whole region (about 4.5e6) meshes without --allow-large


def test_double_rve_table() -> None:
    table = read_particle_table(REGION / "double_rve_particles.csv")
    assert len(table) == 104
    assert volume_fraction(table, (40, 20, 40)) == pytest.approx(0.41, abs=0.002)


def test_summary_min_gap_without_all_pairs() -> None:
    """summary() finds the smallest gap from nearby pairs only (it listed all n² pairs before)."""
    t = ParticleTable(np.arange(3), np.array([[0.0, 0, 0], [2.5, 0, 0], [50.0, 0, 0]]), np.array([1.0, 1.0, 1.0]))
    assert summary(t, (60.0, 10.0, 10.0))["min_gap_um"] == pytest.approx(0.5)
