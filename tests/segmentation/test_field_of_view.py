"""Constant padding outside the field of view (femsim/segmentation/field_of_view.py): found, left out
of the grey-level statistics, and the particles it cuts flagged; a padded or framed image segments
like the image itself."""

from __future__ import annotations

import numpy as np
import pytest

from femsim.segmentation import field_of_view, pipeline, realistic


@pytest.fixture(scope="module")
def slice_u16() -> np.ndarray:
    """The 2D real-shape phantom as a 16-bit detector image (grey 0 is never measured)."""
    image = realistic.phantom_2d(seed=0).image
    return (1000 + 30000 * (image - image.min()) / np.ptp(image)).astype(np.uint16)


def _frame(image: np.ndarray, width: int, value: int) -> np.ndarray:
    out = np.full(tuple(n + 2 * width for n in image.shape), value, dtype=image.dtype)
    out[width:-width, width:-width] = image
    return out


def _segment(image: np.ndarray) -> pipeline.Segmentation:
    return pipeline.segment_image(image, 1.0, pipeline.SegmentConfig(sphericity=False))


def test_no_padding_found_in_measured_or_binary_images(slice_u16):
    assert field_of_view.outside_mask(slice_u16) is None
    assert field_of_view.outside_mask(slice_u16 > 16000) is None  # a phase map
    clipped = slice_u16.copy()
    clipped[clipped < 4000] = 1000  # clipped pores: constant, but no 9 x 9 block of it at the border
    assert field_of_view.outside_mask(clipped) is None  # 1.2 % of the voxels at 1000, no 9 x 9 block of it


def _identical_interior(plain: pipeline.Segmentation, framed: pipeline.Segmentation, width: int
                        ) -> list[tuple[int, int]]:
    """(plain id, framed id) of the plain image's interior particles found voxel for voxel again."""
    inner = framed.labels[width:-width, width:-width]
    pairs = []
    for i in np.flatnonzero(~plain.table["touches_border"]) + 1:
        region = plain.labels == i
        j = int(np.bincount(inner[region]).argmax())
        if j > 0 and np.array_equal(inner == j, region):
            pairs.append((int(i), j))
    return pairs


@pytest.mark.parametrize("value", [0, 16000, 65535])
def test_framed_image_segments_like_the_image(slice_u16, value, monkeypatch):
    """A 40-voxel frame of zeros, mid grey or white (48 % of the framed image): the same particles,
    crack fractions and classes as the image alone (only particles at the image edge may differ:
    the frame is pore to the filters where the image edge is not); without the padding rule the
    frame takes over the histogram (zeros: 57 particles, none of the 41 interior ones found again;
    white: 1 particle)."""
    plain = _segment(slice_u16)
    framed_image = _frame(slice_u16, 40, value)
    mask = field_of_view.outside_mask(framed_image)
    assert mask is not None and mask.sum() == framed_image.size - slice_u16.size
    framed = _segment(framed_image)
    assert framed.outside_fraction == pytest.approx(mask.mean())
    assert not framed.labels[mask].any()
    assert abs(len(framed.table["id"]) - len(plain.table["id"])) <= 1
    assert framed.threshold == pytest.approx(plain.threshold, abs=1e-3)
    for key in ("void", "fine", "particle"):
        assert framed.crack_levels[key] == pytest.approx(plain.crack_levels[key], abs=1e-3)
    pairs = _identical_interior(plain, framed, 40)
    assert len(pairs) >= 0.9 * np.count_nonzero(~plain.table["touches_border"])  # 37 of 41
    i, j = (np.array(k) - 1 for k in zip(*pairs, strict=True))
    np.testing.assert_allclose(framed.table["crack_fraction"][j], plain.table["crack_fraction"][i], atol=1e-3)
    np.testing.assert_array_equal(framed.table["damage_class"][j], plain.table["damage_class"][i])
    monkeypatch.setattr(field_of_view, "outside_mask", lambda image, source=None: None)
    unguarded = _segment(framed_image)
    assert len(_identical_interior(plain, unguarded, 40)) <= 2


def test_two_padding_values_and_a_circular_field_of_view(slice_u16):
    """A registered slice whose corner was filled with one value, then framed with another; and a
    circular field of view: each padding found, the particles it cuts counted as on the border."""
    image = slice_u16.copy()
    image[:30, :30] = 20000  # the fill of a rotation
    framed = _frame(image, 30, 0)
    mask = field_of_view.outside_mask(framed)
    assert mask is not None and mask[30:60, 30:60].all() and mask.sum() == framed.size - image.size + 900
    ny, nx = slice_u16.shape
    yy, xx = np.mgrid[:ny, :nx]
    circle = np.hypot((yy - ny / 2) / (ny / 2), (xx - nx / 2) / (nx / 2)) > 1.0
    fov = slice_u16.copy()
    fov[circle] = 0
    seg = _segment(fov)
    assert seg.outside_fraction == pytest.approx(circle.mean(), abs=1e-9)
    assert not seg.labels[circle].any()
    cut = set(field_of_view.touching(seg.labels, circle))
    assert cut and all(seg.table["touches_border"][i - 1] for i in cut)
