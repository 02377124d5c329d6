"""Far outliers (dead or saturated voxels of float / 16-bit reconstructions) do not set the grey
scale (femsim.segmentation.filters.grey_range); a wrong contrast gets its one-line error."""

from __future__ import annotations

import numpy as np
import pytest

from femsim.errors import InputError
from femsim.segmentation import filters, pipeline, realistic


@pytest.fixture(scope="module")
def grey() -> np.ndarray:
    return realistic.phantom_2d(seed=1).image.astype(np.float32)


def _segment(image: np.ndarray, **kw) -> pipeline.Segmentation:
    return pipeline.segment_image(image, 1.0, pipeline.SegmentConfig(sphericity=False, **kw))


def test_range_rule():
    data = np.linspace(0.0, 1.0, 10_001)
    assert filters.grey_range(data, 0.0, 1.0) == (0.0, 1.0)  # no outlier: the extremes
    assert filters.grey_range(data, -0.5, 1.9) == (-0.5, 1.9)  # beyond by less than the span: kept
    lo, hi = filters.grey_range(data, -1e6, 1e6)
    assert lo == pytest.approx(1e-4, abs=1e-6) and hi == pytest.approx(1 - 1e-4, abs=1e-6)
    assert filters.grey_range(np.zeros(10, dtype=bool), 0.0, 1.0) == (0.0, 1.0)


def test_outlier_voxels_change_nothing(grey):
    """Two voxels at ±1e6 in a float image (±32767 in int16): the same particles, crack fractions and
    classes as without them (the scale now ends at the 1e-4 quantiles: a few boundary voxels move);
    taken as the grey scale they left the data 1e-6 of it and the crack unmixing failed."""
    plain = _segment(grey)
    spiked = grey.copy()
    spiked[5, 7], spiked[60, 200] = 1e6, -1e6
    found = _segment(spiked)
    assert len(found.table["id"]) == len(plain.table["id"])
    assert np.count_nonzero((found.labels > 0) != (plain.labels > 0)) <= 8  # 4 of 43,200 measured
    np.testing.assert_allclose(found.table["crack_fraction"], plain.table["crack_fraction"], atol=1e-4)  # 4.5e-5
    assert list(found.table["damage_class"]) == list(plain.table["damage_class"])
    scaled = np.round((grey - grey.min()) / np.ptp(grey) * 2000 - 1000).astype(np.int16)
    scaled[5, 7], scaled[60, 200] = 32767, -32768
    assert len(_segment(scaled).table["id"]) == len(plain.table["id"])


def test_particles_darker_than_background_is_an_input_error():
    """The crack unmixing needs the particle grey above the background's: otherwise a one-line
    InputError (it was a ValueError traceback)."""
    from femsim.segmentation import measure

    labels = np.zeros((40, 40), dtype=np.int32)
    labels[10:30, 10:30] = 1
    raw = np.where(labels > 0, 0.2, 0.8).astype(np.float32)
    solid = labels > 0
    with pytest.raises(InputError, match=r"particle grey \(0.2\) is not above the background's \(0.8\).*--invert"):
        measure.crack_fraction_unmixed(labels, np.zeros_like(solid), raw, solid)
