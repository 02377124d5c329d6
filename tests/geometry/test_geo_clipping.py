"""Exact clipped-sphere measures against closed forms."""

from __future__ import annotations

import math

import pytest

from femsim.geometry.clipping import clip_sphere, disk_rect_area

R = 2.0
BOX = (10.0, 10.0, 10.0)
V, S = 4 / 3 * math.pi * R**3, 4 * math.pi * R**2


@pytest.mark.parametrize("centre, frac", [
    ((5, 5, 5), 1.0),      # inside
    ((0, 5, 5), 0.5),      # centred on a face
    ((0, 0, 5), 0.25),     # on an edge
    ((10, 10, 0), 0.125),  # on a corner
])
def test_symmetric_cuts(centre, frac):
    cs = clip_sphere(centre, R, BOX)
    assert cs.volume == pytest.approx(frac * V, rel=1e-10)
    assert cs.sphere_area == pytest.approx(frac * S, rel=1e-10)


def test_cap_and_top_interface():
    h = 0.7  # sphere pokes h above the top face z = 10
    cs = clip_sphere((5, 5, 10 + h - R), R, BOX)
    cap_v = math.pi * h * h * (3 * R - h) / 3
    assert cs.volume == pytest.approx(V - cap_v, rel=1e-10)
    assert cs.sphere_area == pytest.approx(S - 2 * math.pi * R * h, rel=1e-10)
    assert cs.face_areas[5] == pytest.approx(math.pi * (R * R - (R - h) ** 2), rel=1e-12)
    assert cs.interface_area == pytest.approx(cs.sphere_area + cs.face_areas[5])


def test_disk_rect_area():
    assert disk_rect_area(1.0, -2, 2, -2, 2) == pytest.approx(math.pi)
    assert disk_rect_area(1.0, 0, 2, 0, 2) == pytest.approx(math.pi / 4)
    assert disk_rect_area(2.0, -0.5, 0.5, -0.5, 0.5) == pytest.approx(1.0)
    assert disk_rect_area(1.0, 2, 3, 0, 1) == 0.0
