"""Near-contact rules: pairs closer than the gap are shrunk, near-tangent walls are cleared."""

from __future__ import annotations

import numpy as np
import pytest

from femsim.errors import InputError
from femsim.geometry.contacts import apply_electrode_planes, resolve_near_contacts
from femsim.geometry.particles import ParticleTable


def table(rows):
    a = np.array(rows, dtype=float)
    return ParticleTable(a[:, 0].astype(np.int64), a[:, 1:4], a[:, 4])


def test_pair_gap_shrinks_smaller():
    t, log = resolve_near_contacts(table([[0, 5, 5, 5, 2.0], [1, 9.05, 5, 5, 2.0], [2, 14, 14, 14, 1.0]]),
                                   (20, 20, 20), 0.3, 0.3)
    assert len(log) == 1 and log[0]["rule"] == "pair_gap" and log[0]["id"] == 1
    assert np.linalg.norm(t.centres[1] - t.centres[0]) - t.radii[0] - t.radii[1] == pytest.approx(0.3)
    assert t.radii[0] == 2.0


def test_small_overlap_shrunk():
    t, log = resolve_near_contacts(table([[0, 5, 5, 5, 2.0], [1, 8.0, 5, 5, 1.2]]), (20, 20, 20), 0.3, 0.3)
    assert log[0]["id"] == 1 and log[0]["gap_um"] == pytest.approx(-0.2)
    assert t.radii[1] == pytest.approx(0.7)


@pytest.mark.parametrize("x, expected", [(2.05, 2.3), (1.9, 1.7), (2.2, 2.3), (-1.9, -1.7)])
def test_wall_clearance(x, expected):
    t, log = resolve_near_contacts(table([[0, x, 10, 10, 2.0]]), (20, 20, 20), 0.3, 0.3)
    assert [e["feature"] for e in log] == ["face x_min"]
    assert t.centres[0, 0] == pytest.approx(expected)
    assert t.radii[0] == 2.0


def test_edge_near_tangent_moved():
    c = 10.0 - 2.05 / np.sqrt(2)  # 2.05 from the edge x = y = 10, 0.55 from each face: edge only
    t, log = resolve_near_contacts(table([[0, c, c, 10, 2.0]]), (10, 10, 20), 0.3, 0.3)
    assert [e["feature"] for e in log] == ["edge x_max/y_max"]
    assert np.hypot(10 - t.centres[0, 0], 10 - t.centres[0, 1]) == pytest.approx(2.3)


def test_clean_table_untouched():
    t0 = table([[0, 5, 5, 5, 2.0], [1, 12, 5, 5, 2.0]])
    t, log = resolve_near_contacts(t0, (20, 20, 20), 0.3, 0.3)
    assert log == [] and np.array_equal(t.centres, t0.centres) and np.array_equal(t.radii, t0.radii)


def test_unresolvable_gap_is_input_error():
    with pytest.raises(InputError, match="cannot restore"):
        resolve_near_contacts(table([[0, 5, 5, 5, 2.0], [1, 5.5, 5, 5, 0.3]]), (20, 20, 20), 0.3, 0.3)


def test_electrode_planes_shift_at_separator_mirror_at_collector():
    # id 0 crosses the separator plane z = 20, id 1 the collector z = 0, id 2 is inside
    t0 = table([[0, 5, 5, 19.0, 2.0], [1, 15, 15, 1.0, 2.0], [2, 10, 10, 10, 2.0]])
    t, log = apply_electrode_planes(t0, (20, 20, 20), 0.3)
    assert [(a["rule"], a["id"]) for a in log] == [("separator_shift", 0), ("collector_mirror", 1)]
    assert t.centres[0, 2] == pytest.approx(20 - 2.0 - 0.3) and t.centres[1, 2] == 1.0
    assert np.array_equal(t.centres[2], t0.centres[2]) and np.array_equal(t.radii, t0.radii)
