"""Binary stages: particle envelopes, distance-transform watershed, per-particle crack voids.

Steps (2D and 3D alike):

1. ``filled = fill_holes(closing(solid, r_close))``: the particle phase with pores and internal
   cracks filled (a small closing, default radius 2 voxels, also seals crack mouths).
2. Watershed markers: maxima of the (slightly smoothed) Euclidean distance transform of
   ``filled``; a maximum lying inside the inscribed sphere of a higher one (distance below
   ``merge_factor`` × the higher one's distance value) is dropped, as are maxima below
   ``min_radius_vox``. The watershed of −distance restricted to ``filled`` gives the labels.
3. Per particle: ``envelope = fill_holes(closing(solid ∩ label, r_envelope))`` (default radius 3
   voxels, so open cracks reaching the surface are counted) restricted to the label and to
   still-unclaimed background voxels; crack/void voxels are ``envelope ∖ solid``. The label image returned is the union of the envelopes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)


def footprint(ndim: int, radius: int) -> np.ndarray:
    """Ball (3D) or disk (2D) structuring element of the given radius (voxels)."""
    r = int(radius)
    grids = np.ogrid[tuple(slice(-r, r + 1) for _ in range(ndim))]
    return sum(g * g for g in grids) <= r * r + 1e-9


def fill_particles(solid: np.ndarray, close_radius: int = 1) -> np.ndarray:
    """Particle phase with enclosed pores/cracks filled (see module doc, step 1)."""
    from scipy import ndimage

    mask = solid
    if close_radius > 0:
        pad = close_radius + 1
        padded = np.pad(solid, pad)
        padded = ndimage.binary_closing(padded, structure=footprint(solid.ndim, close_radius))
        mask = padded[tuple(slice(pad, -pad) for _ in range(solid.ndim))] | solid
    return ndimage.binary_fill_holes(mask)


def find_markers(distance: np.ndarray, merge_factor: float = 1.0, min_radius_vox: float = 2.0) -> np.ndarray:
    """Label image of watershed seeds from a distance map (see module doc, step 2)."""
    from scipy import ndimage
    from scipy.spatial import cKDTree

    maxf = ndimage.maximum_filter(distance, size=3, mode="constant", cval=0.0)
    peaks = (distance >= maxf) & (distance >= min_radius_vox)
    plateau, n = ndimage.label(peaks, structure=np.ones((3,) * distance.ndim))
    markers = np.zeros(distance.shape, dtype=np.int32)
    if n == 0:
        return markers
    idx = np.arange(1, n + 1)
    centres = np.asarray(ndimage.center_of_mass(peaks, plateau, idx)).reshape(n, distance.ndim)
    heights = np.asarray(ndimage.maximum(distance, plateau, idx))
    order = np.argsort(-heights, kind="stable")
    tree = cKDTree(centres)
    kept = np.zeros(n, dtype=bool)
    removed = np.zeros(n, dtype=bool)
    for i in order:
        if removed[i]:
            continue
        kept[i] = True
        for j in tree.query_ball_point(centres[i], merge_factor * heights[i]):
            if j != i and not kept[j]:
                removed[j] = True
    keep_ids = idx[kept]
    lut = np.zeros(n + 1, dtype=np.int32)
    lut[keep_ids] = np.arange(1, keep_ids.size + 1, dtype=np.int32)
    # one voxel per kept plateau: the voxel of the plateau nearest its centre of mass
    pos = np.round(centres[kept]).astype(int)
    for lab, p in zip(range(1, keep_ids.size + 1), pos):
        p = tuple(np.clip(p, 0, np.array(distance.shape) - 1))
        if plateau[p] == keep_ids[lab - 1]:
            markers[p] = lab
        else:
            markers[(plateau == keep_ids[lab - 1])] = lab
    log.debug("%d distance maxima, %d watershed seeds", n, keep_ids.size)
    return markers


def watershed_split(filled: np.ndarray, merge_factor: float = 1.0, min_radius_vox: float = 2.0,
                    smooth_sigma: float = 0.5, cut: np.ndarray | None = None) -> np.ndarray:
    """Distance-transform watershed of a filled particle mask → int32 labels (0 = background).

    Args:
        cut: optional boolean mask (e.g. edge voxels) removed from ``filled`` before the distance
            transform, to help separating touching particles.
    """
    from scipy import ndimage
    from skimage.segmentation import watershed

    base = filled if cut is None else (filled & ~cut)
    dist = ndimage.distance_transform_edt(base).astype(np.float32)
    if smooth_sigma > 0:
        dist = ndimage.gaussian_filter(dist, smooth_sigma)
    markers = find_markers(dist, merge_factor, min_radius_vox)
    labels = watershed(-dist, markers, mask=filled)
    return labels.astype(np.int32, copy=False)


@dataclass
class Envelopes:
    """Result of :func:`particle_envelopes`.

    Attributes:
        labels: int32 label image (0 background, 1..n particles, envelopes incl. cracks).
        void: bool image, crack/pore voxels inside some particle's envelope.
    """

    labels: np.ndarray
    void: np.ndarray


def particle_envelopes(labels: np.ndarray, solid: np.ndarray, envelope_radius: int = 3,
                       min_voxels: int = 8) -> Envelopes:
    """Per-particle envelopes and crack voids (see module doc, step 3); tiny regions are dropped.

    Labels are renumbered 1..n in the order of the input labels.
    """
    from scipy import ndimage

    ndim = labels.ndim
    fp = footprint(ndim, envelope_radius) if envelope_radius > 0 else None
    pad = max(envelope_radius, 0) + 1
    out = np.zeros(labels.shape, dtype=np.int32)
    void = np.zeros(labels.shape, dtype=bool)
    slices = ndimage.find_objects(labels)
    new_id = 0
    for lab, sl in enumerate(slices, start=1):
        if sl is None:
            continue
        region = labels[sl] == lab
        if int(region.sum()) < min_voxels:
            continue
        own = region & solid[sl]
        if not own.any():
            continue
        free = region | ((labels[sl] == 0) & (out[sl] == 0))  # may claim unlabelled crack voxels
        if fp is not None:
            padded = np.pad(own, pad)
            closed = ndimage.binary_closing(padded, structure=fp)[tuple(slice(pad, -pad) for _ in range(ndim))]
            env = ndimage.binary_fill_holes(closed | own) & free
        else:
            env = ndimage.binary_fill_holes(own) & free
        new_id += 1
        out_view = out[sl]
        out_view[env] = new_id
        void[sl] |= env & ~solid[sl]
    return Envelopes(labels=out, void=void)
