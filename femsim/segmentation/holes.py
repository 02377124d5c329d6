"""2D grey slices: which enclosed holes of the particle mask are cracks (filled) and which are pores between
touching sections (left open), beyond the bounds of :func:`femsim.segmentation.segment.fill_particles`.

Each test opens or fills one hole alone and compares the largest smoothed distance near it: a crack runs through
its particle's core, so filling it roughly doubles that maximum; a pore where sections meet is smaller than they
are, so opening it keeps most of it (measured rules and their numbers: docs/segmentation.md).

* :func:`reopen_junction_pores`: filled binder-grey holes deep in a blob whose opening keeps the maximum;
* :func:`seal_crack_mouths`: thin cracks whose narrow mouth reaches the open pore space, sealed by a radius-1
  closing and filled;
* :func:`fill_core_cracks`: wide holes left open whose filling doubles the maximum (a ring of one particle).
"""

from __future__ import annotations

import logging

import numpy as np

from femsim.segmentation.segment import (
    THIN_HOLE_RATIO,
    closed_solid,
    distance_to_background,
    fill_holes,
    find_markers,
    region_sizes,
    thin_for_size,
)

log = logging.getLogger(__name__)


#: a filled hole is reopened as a junction pore when opening it keeps this share of the local distance
#: maximum (see :func:`reopen_junction_pores`; the default of ``SegmentConfig.pore_core_ratio``)
PORE_CORE_RATIO = 0.88


def reopen_junction_pores(solid: np.ndarray, filled: np.ndarray, grey: np.ndarray, void_grey: float,
                          binder_grey: float, core_ratio: float = PORE_CORE_RATIO, height_factor: float = 1.25,
                          smooth_sigma: float = 0.5) -> np.ndarray:
    """``filled`` with the filled holes that are pores between touching sections opened again (2D grey).

    A pore enclosed where three or four sections meet, filled, becomes the centre of one large inscribed
    disk spanning them all (the marker rule then joins the sections). A crack runs through its particle's
    core instead. Test per filled hole (``filled & ~solid``) whose filled distance reaches ``height_factor`` x
    the median height of the watershed seeds (a hole deep inside a large blob): open it alone and compare the
    largest smoothed distance within the hole's filled distance of it, on the part of ``filled`` connected to
    it there: a crack through the core drops it to about half (the halves' inscribed disks), a junction pore
    keeps ``core_ratio`` or more of it (the sections' own disks). Only holes of binder grey (lower quartile of
    ``grey`` above the void-binder midpoint) qualify: an open crack has a void core. On the 2D phantoms (seeds 0-3)
    the two enclosed junction pores that join 2-4 sections each are reopened (ratio 0.88-0.95), and 0-3
    crack holes per seed (fine-crack arms, cracks next to a pore); docs/segmentation.md has the numbers."""
    from scipy import ndimage

    holes = filled & ~solid
    lab, n = ndimage.label(holes)
    if n == 0 or core_ratio <= 0:
        return filled
    dist = distance_to_background(filled)
    if smooth_sigma > 0:
        dist = ndimage.gaussian_filter(dist, smooth_sigma)
    seeds = find_markers(dist, saddle_ratio=0.75)
    if not seeds.any():
        return filled
    min_height = height_factor * float(np.median(dist[seeds > 0]))
    grey_min = 0.5 * (void_grey + binder_grey)
    out = filled.copy()
    for i, sl in enumerate(ndimage.find_objects(lab), start=1):
        hole = lab[sl] == i
        height = float(dist[sl][hole].max())
        if height < min_height or float(np.percentile(grey[sl][hole], 25)) < grey_min:
            continue
        pad = int(np.ceil(height)) + 3
        box = tuple(slice(max(s.start - pad, 0), s.stop + pad) for s in sl)
        h = lab[box] == i
        near = distance_to_background(~h) <= height
        comp, _ = ndimage.label(filled[box] & near)
        ids = np.unique(comp[h])
        part = np.isin(comp, ids[ids > 0])
        opened = distance_to_background(filled[box] & ~h)
        if smooth_sigma > 0:
            opened = ndimage.gaussian_filter(opened, smooth_sigma)
        if float(opened[part].max()) >= core_ratio * float(dist[box][part].max()):
            out[box] &= ~h
    log.debug("%d filled holes reopened as junction pores", int(np.count_nonzero(filled & ~out)))
    return out


#: a wide hole left open is filled as a crack when, open, the local distance maximum is below this share of the
#: filled one (see :func:`fill_core_cracks`; the default of ``SegmentConfig.crack_core_ratio``)
CRACK_CORE_RATIO = 0.58


def fill_core_cracks(solid: np.ndarray, filled: np.ndarray, core_ratio: float = CRACK_CORE_RATIO,
                     max_hole_radius: float = 3.0, smooth_sigma: float = 0.5) -> np.ndarray:
    """``filled`` with the wide holes it left open (inscribed radius > ``max_hole_radius``) filled where they are
    cracks through a particle's core: filling one alone raises the largest smoothed distance within the hole's
    filled distance of it (on the part of the mask connected to it there) to more than 1 / ``core_ratio`` x its
    open value. A crossing crack with short arms leaves a ring of its particle around it (2D phantoms: ratio
    0.47-0.60, the ring split into 2-4 pieces); a pore enclosed by touching sections is smaller than they are
    (0.62-0.95)."""
    from scipy import ndimage

    full = fill_holes(solid)
    wide = full & ~filled
    lab, n = ndimage.label(wide)
    if n == 0 or core_ratio <= 0:
        return filled
    depth = distance_to_background(wide)
    dist_full = distance_to_background(full)
    if smooth_sigma > 0:
        dist_full = ndimage.gaussian_filter(dist_full, smooth_sigma)
    out = filled.copy()
    for i, sl in enumerate(ndimage.find_objects(lab), start=1):
        hole = lab[sl] == i
        if float(depth[sl][hole].max()) <= max_hole_radius:
            continue
        height = float(dist_full[sl][hole].max())
        pad = int(np.ceil(height)) + 3
        box = tuple(slice(max(s.start - pad, 0), s.stop + pad) for s in sl)
        h = lab[box] == i
        closed = filled[box] | h
        d_closed = distance_to_background(closed)
        d_open = distance_to_background(filled[box])
        if smooth_sigma > 0:
            d_closed = ndimage.gaussian_filter(d_closed, smooth_sigma)
            d_open = ndimage.gaussian_filter(d_open, smooth_sigma)
        comp, _ = ndimage.label(closed & (distance_to_background(~h) <= height))
        ids = np.unique(comp[h])
        part = np.isin(comp, ids[ids > 0])
        if float(d_open[part].max()) < core_ratio * float(d_closed[part].max()):
            out[box] |= h
    return out


def seal_crack_mouths(solid: np.ndarray, filled: np.ndarray, thin_hole_ratio: float = THIN_HOLE_RATIO,
                      max_hole_radius: float = 3.0, radius: int = 1) -> np.ndarray:
    """``filled`` with thin cracks whose mouth reaches the open pore space sealed and filled: a background region
    that a closing of ``radius`` voxels of ``solid`` newly encloses is filled, with the closing's voxels within
    ``radius`` + 1 of it, when it is thin for its size (inscribed radius <= ``max_hole_radius``, voxels >=
    ``thin_hole_ratio`` x r^2, as :func:`femsim.segmentation.segment.fill_particles`). Left open such a crack
    splits its particle (2D phantoms: a fine crack whose 2-voxel bridge to the surface is lost in the blur).
    Only those regions are filled: the closing elsewhere (one-voxel pore gaps between sections) is dropped."""
    closed = closed_solid(solid, radius)
    lab, inscribed, size = region_sizes(fill_holes(closed) & ~closed & ~fill_holes(solid))
    if len(inscribed) == 1:
        return filled
    thin = (inscribed <= max_hole_radius) & thin_for_size(size, inscribed, thin_hole_ratio, solid.ndim)
    thin[0] = False
    sel = thin[lab]
    if not sel.any():
        return filled
    mouth = closed & ~solid & (distance_to_background(~sel) <= radius + 1)
    return filled | sel | mouth
