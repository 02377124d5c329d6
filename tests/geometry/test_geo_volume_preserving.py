"""Volume-preserving particle surfaces (issue 20): radius growth by the facets' mean sag."""

from __future__ import annotations

import json

import numpy as np
import pytest

from femsim.case import load_case
from femsim.geometry import mesh_case
from femsim.geometry.builder import FACET_SAG_PER_H2_OVER_R, MeshSizes, surface_offsets, surface_sizes
from femsim.geometry.pipeline import REPORT_NAME

from _geometry_helpers import SMALL_ROWS, write_case, write_table


def test_offsets_sag_and_caps() -> None:
    # 0: alone; 1/2: 0.02 µm apart; 3: 0.01 µm from x = 30 (not crossing it); 4: crosses y = 0
    c = np.array([[5.0, 5, 5], [15.0, 5, 5], [19.02, 5, 5], [28.0, 15, 5], [10.0, 1, 5]])
    r = np.array([2.0, 2.0, 2.0, 1.99, 2.0])
    box = (30.0, 30.0, 10.0)
    h = surface_sizes(c, r, box, MeshSizes())
    off = surface_offsets(c, r, box, h)
    assert h[0] == pytest.approx(0.4) and off[0] == pytest.approx(FACET_SAG_PER_H2_OVER_R * 0.4**2 / 2.0)
    assert off[1] == pytest.approx(0.005) and off[2] == pytest.approx(0.005)  # a quarter of the gap
    assert off[3] == pytest.approx(0.0025)  # a quarter of the wall clearance
    assert off[4] == pytest.approx(FACET_SAG_PER_H2_OVER_R * h[4] ** 2 / 2.0)  # clipped: no wall cap


def test_meshed_volume_matches_exact(tmp_path) -> None:
    """Three particles (whole, cut by x = 10, shifted under the top): -1.3 % without the growth."""
    case = load_case(write_case(tmp_path, write_table(tmp_path / "t.csv", SMALL_ROWS),
                                extra_mesh="volume_preserving = true"))
    r = json.loads((mesh_case(case).parent / REPORT_NAME).read_text(encoding="utf-8"))
    assert r["nmc_volume_fraction"] / r["table_volume_fraction"] - 1.0 == pytest.approx(0.0, abs=0.003)
    assert r["particle_volume_max_rel_error"] < 0.005
    assert abs(r["interface_area_rel_error"]) < 0.005
    assert 0.0 < r["surface_offset_um"]["max"] < 0.02
