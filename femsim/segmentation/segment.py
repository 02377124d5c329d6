"""Binary stages: particle envelopes, distance-transform watershed, per-particle crack voids.

Steps (2D and 3D alike):

1. ``filled = fill_holes(closing(solid, r_close))``: the particle phase with pores and internal
   cracks filled (a small closing, default radius 2 voxels, also seals crack mouths).
   Grey 2D slices fill only holes of inscribed radius ≤ ``max_hole_radius`` and holes thin for their
   size (``thin_hole_ratio``, see :func:`fill_particles`), then open junction pores again
   and the hole decisions of :mod:`femsim.segmentation.holes` (junction pores, crack mouths, wide core cracks).
2. Watershed markers: maxima of the (slightly smoothed) Euclidean distance transform of
   ``filled``; a maximum lying inside the inscribed sphere of a higher one (distance below
   ``merge_factor`` × the higher one's distance value) or joined to it through a wide neck (saddle
   of the distance map ≥ ``saddle_ratio`` × its height) is dropped, as are maxima below
   ``min_radius_vox`` (see :func:`find_markers`). The watershed of −distance restricted to ``filled`` gives the labels.
3. Per particle: ``envelope = fill_holes(closing(solid ∩ label, r_envelope))`` (default radius 3
   voxels, so open cracks reaching the surface are counted) restricted to the label and to
   still-unclaimed background voxels; crack/void voxels are ``envelope ∖ solid``. The label image
   returned is the union of the envelopes.
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
    return np.asarray(sum(g * g for g in grids) <= r * r + 1e-9)


#: a hole wider than ``max_hole_radius`` is still filled when its size is at least this × its inscribed
#: radius^ndim (see :func:`fill_particles`; the default of ``SegmentConfig.thin_hole_ratio``)
THIN_HOLE_RATIO = 12.0


def fill_particles(solid: np.ndarray, close_radius: int = 1, max_hole_radius: float | None = None,
                   thin_hole_ratio: float | None = THIN_HOLE_RATIO) -> np.ndarray:
    """Particle phase with enclosed cracks filled (see module doc, step 1).

    ``max_hole_radius`` bounds the filling by what one particle can enclose: a hole (enclosed
    non-solid region) is filled only when its inscribed radius (largest distance from a hole voxel
    to the hole's edge, voxels) is at most this — cracks are thin, the pores that a ring of touching
    particles encloses are not; filling those joined neighbours across the pore. None fills every
    hole (the behaviour for binary input). A wider hole is still filled when it is thin for its size,
    ``voxels ≥ thin_hole_ratio × inscribed radius^ndim`` (None: never): where slab cracks cross (an
    X or a star) the inscribed radius exceeds the bound, but the hole is arms of crack width; left open,
    it splits its particle. On the 2D phantoms (seeds 0-3, 10-15) the crack holes wider than 3 voxels
    have areas of 5-32 × r² (13 of 23 above 12), every enclosed pore 4.3-8.2 × r² (a disk: π).
    """
    mask = closed_solid(solid, close_radius) if close_radius > 0 else solid
    full = fill_holes(mask)
    if max_hole_radius is None:
        return full
    lab, inscribed, size = region_sizes(full & ~mask)
    if len(inscribed) == 1:
        return full
    keep = inscribed <= max_hole_radius
    if thin_hole_ratio is not None:
        keep |= thin_for_size(size, inscribed, thin_hole_ratio, solid.ndim)
    keep[0] = False
    return mask | keep[lab]


def closed_solid(solid: np.ndarray, radius: int) -> np.ndarray:
    """``solid`` with a binary closing by a ball of ``radius`` voxels added, computed on a padded copy so
    that the image edge does not act as solid."""
    from scipy import ndimage

    pad = radius + 1
    closed = ndimage.binary_closing(np.pad(solid, pad), structure=footprint(solid.ndim, radius))
    return closed[tuple(slice(pad, -pad) for _ in range(solid.ndim))] | solid


def region_sizes(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Connected regions of ``mask``: (label image, inscribed radius per label in voxels — the largest
    distance from a region voxel to the region's edge —, voxel count per label); index 0 is the
    background (arrays of length 1 when ``mask`` is empty)."""
    from scipy import ndimage

    lab, n = ndimage.label(mask)
    inscribed = np.zeros(n + 1)
    if n:
        np.maximum.at(inscribed, lab.ravel(), distance_to_background(mask).ravel())
    return lab, inscribed, np.bincount(lab.ravel(), minlength=n + 1)


def thin_for_size(size: np.ndarray, inscribed: np.ndarray, ratio: float, ndim: int) -> np.ndarray:
    """Regions thin for their size: ``voxels >= ratio x inscribed radius^ndim`` (cracks, not round pores)."""
    return size >= ratio * np.maximum(inscribed, 1e-9) ** ndim


def distance_to_background(mask: np.ndarray) -> np.ndarray:
    """Euclidean distance (voxels, float32) of every True voxel to the nearest False one, 0 on False
    voxels; the image border is not background (as ``scipy.ndimage.distance_transform_edt``).
    Computed by the ``edt`` package (several times faster on volumes); a mask without any False voxel
    falls back to SciPy."""
    import edt

    mask = np.ascontiguousarray(mask, dtype=bool)
    if mask.all():
        from scipy import ndimage

        return ndimage.distance_transform_edt(mask).astype(np.float32)
    return edt.edt(mask, black_border=False, parallel=1).astype(np.float32, copy=False)


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """``mask`` with every enclosed background region filled (the result of
    ``scipy.ndimage.binary_fill_holes``: background components, face-connected, not touching the image
    border), by one connected-component labelling instead of an iterated dilation."""
    from scipy import ndimage

    background = ~mask
    lab, n = ndimage.label(background)
    if n == 0:
        return mask.copy()
    open_ = np.zeros(n + 1, dtype=bool)
    for axis in range(mask.ndim):
        for end in (0, -1):
            open_[np.take(lab, end, axis=axis)] = True
    open_[0] = True
    return mask | ~open_[lab]


def _line_min(distance: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """Smallest (linearly interpolated) distance value on the segment a–b (voxel coordinates)."""
    from scipy import ndimage

    steps = max(2, int(np.ceil(2 * np.linalg.norm(b - a))) + 1)
    pts = a[:, None] + (b - a)[:, None] * np.linspace(0.0, 1.0, steps)[None, :]
    return float(ndimage.map_coordinates(distance, pts, order=1, mode="nearest").min())


def find_markers(distance: np.ndarray, merge_factor: float = 1.0, min_radius_vox: float = 2.0,
                 saddle_ratio: float = 0.75) -> np.ndarray:
    """Label image of watershed seeds from a distance map (see module doc, step 2).

    Maxima (plateaus of the 3×3×3 maximum filter) are visited from the highest down; a maximum
    of height h is dropped when it lies within ``merge_factor`` × H of a kept maximum of height H
    (inside its inscribed sphere), or when the distance map never falls below
    ``saddle_ratio`` × h on the straight line to a kept maximum closer than h + H (the two
    inscribed spheres overlap through a wide neck: one particle, not two touching ones).
    """
    from scipy import ndimage
    from scipy.spatial import cKDTree

    maxf = ndimage.maximum_filter(distance, size=3, mode="constant", cval=0.0)
    peaks = (distance >= maxf) & (distance >= min_radius_vox)
    plateau, n = ndimage.label(peaks, structure=np.ones((3,) * distance.ndim))
    markers = np.zeros(distance.shape, dtype=np.int32)
    if n == 0:
        return markers
    flat_idx = np.flatnonzero(plateau)
    labs = plateau.ravel()[flat_idx]
    coords = np.column_stack(np.unravel_index(flat_idx, distance.shape)).astype(float)
    counts = np.bincount(labs, minlength=n + 1)[1:]
    centres = np.column_stack([np.bincount(labs, weights=coords[:, k], minlength=n + 1)[1:] / counts
                               for k in range(distance.ndim)])
    heights = np.zeros(n + 1)
    np.maximum.at(heights, labs, distance.ravel()[flat_idx])
    heights = heights[1:]
    # seed voxel of each plateau: its voxel nearest the plateau's centre of mass
    d2 = np.sum((coords - centres[labs - 1]) ** 2, axis=1)
    order_v = np.lexsort((d2, labs))
    first = order_v[np.searchsorted(labs[order_v], np.arange(1, n + 1))]
    seed_flat = flat_idx[first]
    order = np.argsort(-heights, kind="stable")
    tree = cKDTree(centres)
    kept: list[int] = []
    is_kept = np.zeros(n, dtype=bool)
    hmax = float(heights.max())
    for i in order:
        drop = False
        for j in tree.query_ball_point(centres[i], heights[i] + hmax):
            if not is_kept[j]:
                continue
            dist = float(np.linalg.norm(centres[j] - centres[i]))
            if dist < merge_factor * heights[j]:
                drop = True
            elif dist < heights[i] + heights[j] and saddle_ratio > 0:
                drop = _line_min(distance, centres[i], centres[j]) >= saddle_ratio * heights[i]
            if drop:
                break
        if not drop:
            is_kept[i] = True
            kept.append(i)
    markers.ravel()[seed_flat[kept]] = np.arange(1, len(kept) + 1, dtype=np.int32)
    log.debug("%d distance maxima, %d watershed seeds", n, len(kept))
    return markers


def watershed_split(filled: np.ndarray, merge_factor: float = 1.0, min_radius_vox: float = 2.0,
                    smooth_sigma: float = 0.5, cut: np.ndarray | None = None, saddle_ratio: float = 0.75
                    ) -> np.ndarray:
    """Distance-transform watershed of a filled particle mask → int32 labels (0 = background).

    Args:
        cut: optional boolean mask (e.g. edge voxels) removed from ``filled`` before the distance
            transform, to help separating touching particles.
    """
    from scipy import ndimage
    from skimage.segmentation import watershed

    base = filled if cut is None else (filled & ~cut)
    dist = distance_to_background(base)
    if smooth_sigma > 0:
        dist = ndimage.gaussian_filter(dist, smooth_sigma)
    markers = find_markers(dist, merge_factor, min_radius_vox, saddle_ratio)
    labels = watershed(-dist, markers, mask=filled)
    return labels.astype(np.int32, copy=False)


def _closing(mask: np.ndarray, radius: float, pad: int) -> np.ndarray:
    """Binary closing by a ball of ``radius`` voxels via two Euclidean distance transforms
    (exact for a Euclidean ball, and much faster than a large structuring element)."""
    padded = np.pad(mask, pad)
    dilated = distance_to_background(~padded) <= radius
    closed = distance_to_background(dilated) > radius
    return closed[tuple(slice(pad, -pad) for _ in range(mask.ndim))]


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
        if envelope_radius > 0:
            closed = _closing(own, envelope_radius, pad)
            env = fill_holes(closed | own) & free
        else:
            env = fill_holes(own) & free
        new_id += 1
        out_view = out[sl]
        out_view[env] = new_id
        void[sl] |= env & ~solid[sl]
    return Envelopes(labels=out, void=void)


def split_fragments(labels: np.ndarray, min_voxels: int) -> tuple[np.ndarray, np.ndarray]:
    """Split a label image into particles (≥ ``min_voxels``) and fragments (smaller), each
    renumbered 1..n in label order."""
    from skimage.segmentation import relabel_sequential

    counts = np.bincount(labels.ravel())
    small = counts < min_voxels
    small[0] = False
    is_small = small[labels]
    fragments = np.where(is_small, labels, 0)
    particles = np.where(is_small, 0, labels)
    return (relabel_sequential(particles)[0].astype(np.int32, copy=False),
            relabel_sequential(fragments)[0].astype(np.int32, copy=False))
