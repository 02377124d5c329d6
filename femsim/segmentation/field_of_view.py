"""Padding outside the reconstructed field of view.

A reconstructed CT slice is valid inside the circle (cylinder) the detector saw; outside it, and
around a volume padded to a larger frame, reconstruction software writes one constant value (0,
the mean, the dtype's minimum). Taken as image, that constant is a phase: it shifts every histogram
threshold (the NMC811 holotomography slice in a 200-voxel frame of zeros: 111 particles instead of
82, severe 8 instead of 36; inside a circular mask: 113) and reads as pore around the particles it
cuts. :func:`outside_mask` finds it as the most frequent grey value when that value covers at least
:data:`MIN_FRACTION` of the image in a region touching the image border that holds a solid block of
(2 :data:`CORE_RADIUS_VOX` + 1) voxels per axis: exactly constant over such a block, a measured
grey is not (pores carry noise, and a clipped pore block that passes is pore anyway). The
segmentation then leaves those voxels out of the grey-level statistics, fills them with the darkest
grey of the image (pore) and counts the particles they cut as touching the border.
"""

from __future__ import annotations

import logging

import numpy as np

log = logging.getLogger(__name__)

#: the padding covers at least this fraction of the image
MIN_FRACTION = 0.01
#: ... and holds a block of (2 × this + 1) voxels per axis of exactly its value
CORE_RADIUS_VOX = 4
#: at most this many padding values
MAX_VALUES = 3
#: voxels sampled for the most frequent value
_SAMPLE = 2_000_000


def outside_mask(image: np.ndarray, source: str | None = None, announce: bool = True) -> np.ndarray | None:
    """Boolean mask of the constant padding outside the field of view, or None when there is none
    (binary and two-level images never have one). Up to :data:`MAX_VALUES` padding values are found
    (a registered slice padded with its fill value, then framed with zeros)."""
    img = np.asarray(image)
    if img.dtype == bool or img.size < 64:
        return None
    step = max(1, img.size // _SAMPLE)
    outside = np.zeros(img.shape, dtype=bool)
    for _ in range(MAX_VALUES):
        sample = img.ravel()[::step][~outside.ravel()[::step]]
        values, counts = np.unique(sample, return_counts=True)
        if values.size <= 2 or counts.max() < MIN_FRACTION * img.size / step:
            break
        value = values[np.argmax(counts)]
        region = _padding_of(img, value, outside)
        if region is None:
            break
        outside |= region
        say = log.info if announce else log.debug
        say("%s: %.1f %% of the image is constant padding (grey %s) outside the field of view: left out",
            source or "image", 100 * float(region.mean()), f"{float(value):g}")
    return outside if outside.any() else None


def _padding_of(img: np.ndarray, value: float, outside: np.ndarray) -> np.ndarray | None:
    """The voxels of ``value`` in regions that touch the image border (or the padding found before,
    ``outside``) and hold a constant block."""
    from scipy import ndimage

    constant = img == value
    core = ndimage.minimum_filter(constant, size=2 * CORE_RADIUS_VOX + 1, mode="nearest")
    if not core.any():
        return None
    regions, _ = ndimage.label(constant)
    faces = np.concatenate([np.take(regions, i, axis=a).ravel() for a in range(img.ndim) for i in (0, -1)])
    if outside.any():
        faces = np.concatenate([faces, regions[ndimage.binary_dilation(outside)]])
    ids = np.intersect1d(np.unique(regions[core]), np.unique(faces))
    ids = ids[ids > 0]
    if ids.size == 0:
        return None
    region = np.isin(regions, ids)
    return region if region.mean() >= MIN_FRACTION else None


def grey_range(blocks: list[tuple[np.ndarray, np.ndarray | None]]) -> tuple[float, float]:
    """The grey values a segmentation maps to 0 and 1 (:func:`femsim.segmentation.filters.grey_range`)
    over ``blocks``: (image or z slab, its padding mask or None) pairs; extremes inside the field of
    view, far outliers left out."""
    from femsim.segmentation import filters

    lo, hi = np.inf, -np.inf
    samples = []
    step = max(1, sum(block.size for block, _ in blocks) // _SAMPLE)
    for block, outside in blocks:
        values = block if outside is None else block[~outside]
        if values.size:
            lo, hi = min(lo, float(values.min())), max(hi, float(values.max()))
            sample = block.ravel()[::step]
            samples.append(sample if outside is None else sample[~outside.ravel()[::step]])
    return filters.grey_range(np.concatenate(samples), lo, hi) if samples else (lo, hi)


def grey_range_of_slabs(image: np.ndarray, slabs: list[tuple[int, int]]) -> tuple[float, float]:
    """:func:`grey_range` of a volume segmented in z slabs (``slabs``: (start, stop) of each), the
    padding found slab by slab as the segmentation does."""
    return grey_range([(block, outside_mask(block, announce=False))
                       for block in (np.asarray(image[s0:s1]) for s0, s1 in slabs)])


def touching(labels: np.ndarray, outside: np.ndarray) -> np.ndarray:
    """Labels (sorted, > 0) of the regions next to the padding (cut by the field of view)."""
    from scipy import ndimage

    near = ndimage.binary_dilation(outside) & ~outside
    found = np.unique(labels[near])
    return found[found > 0]
