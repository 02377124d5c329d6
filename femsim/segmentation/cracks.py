"""The two crack types of the grey-level tomograms: open cracks and fine cracks.

* **open** cracks are wide enough to show the void grey ``b``;
* **fine** cracks are sub-voxel porosity: an intermediate grey ``g`` between void and particle
  grey ``p`` (the grey of the carbon-binder, itself a sub-voxel mixture).

Per particle (envelope = particle incl. its cracks):

1. grey levels ``b``, ``g``, ``p``: the class medians of a three-phase image
   (:func:`femsim.segmentation.filters.three_phase_levels`), ``p`` refined as the median of the
   solid voxels at least 3 voxels from any surface or crack;
2. crack cores in the envelope interior (envelope eroded by ``shell_vox``) of the filtered image:
   open where the grey is below (b + g)/2, fine where it lies between (b + g)/2 and (g + p)/2 and
   more than 2 voxels from an open core;
3. zones: each core type dilated by 2 voxels inside the interior (open first), so the blurred
   transition of a crack to the particle around it is counted;
4. fractions by unmixing the unfiltered grey in each zone (the sum is conserved by blur, and noise
   averages out): ``crack_fraction_open`` = Σ (p − I)/(p − b) over the open zone / envelope voxels,
   ``crack_fraction_fine`` = Σ (p − I)/(p − g) over the fine zone / envelope voxels (the volume
   fraction of the particle taken by each crack type), each clipped to [0, 1].

``crack_fraction`` (damage classes) is their sum. Two-phase images (no intermediate phase) have
no fine cracks: every crack is open and its fraction is the unmixed void content of the interior
(:func:`femsim.segmentation.measure.crack_fraction_unmixed`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class CrackTypes:
    """Per-particle crack fractions (arrays over labels 1..n) and the crack-core masks."""

    open_fraction: np.ndarray
    fine_fraction: np.ndarray
    open_mask: np.ndarray
    fine_mask: np.ndarray
    levels: dict[str, float]


def _per_label(labels: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(labels.ravel(), weights=weights.ravel(), minlength=n + 1)[1:]


def crack_types(labels: np.ndarray, image: np.ndarray, raw: np.ndarray, solid: np.ndarray,
                levels: dict[str, float], shell_vox: int = 1) -> CrackTypes:
    """Open and fine crack fractions of every particle (see module doc).

    Args:
        labels: particle envelopes (int, 0 = background); image: filtered normalised grey;
        raw: normalised grey before filtering; solid: particle-phase mask; levels: ``void``,
            ``fine``, ``particle`` grey levels (normalised).
    """
    from scipy import ndimage

    n = int(labels.max())
    size = 2 * shell_vox + 1
    interior = (labels > 0) & (ndimage.maximum_filter(labels, size=size) == labels) & (
        ndimage.minimum_filter(labels, size=size) == labels)
    b, g = levels["void"], levels["fine"]
    deep = ndimage.binary_erosion((labels > 0) & solid, iterations=3)
    p = float(np.median(raw[deep])) if deep.any() else levels["particle"]
    t_open, t_fine = 0.5 * (b + g), 0.5 * (g + p)
    open_core = interior & (image < t_open)
    near_open = ndimage.binary_dilation(open_core, iterations=2)
    fine_core = interior & (image >= t_open) & (image < t_fine) & ~near_open
    open_zone = near_open & interior
    fine_zone = ndimage.binary_dilation(fine_core, iterations=2) & interior & ~open_zone
    counts = np.maximum(np.bincount(labels.ravel(), minlength=n + 1)[1:].astype(float), 1.0)
    f_open = _per_label(labels, np.where(open_zone, (p - raw) / (p - b), 0.0), n) / counts
    f_fine = _per_label(labels, np.where(fine_zone, (p - raw) / (p - g), 0.0), n) / counts
    return CrackTypes(open_fraction=np.clip(f_open, 0.0, 1.0), fine_fraction=np.clip(f_fine, 0.0, 1.0),
                      open_mask=open_core, fine_mask=fine_core,
                      levels={"void": b, "fine": g, "particle": p, "open_below": t_open, "fine_below": t_fine})


def add_crack_columns(table: dict[str, np.ndarray], labels: np.ndarray, void: np.ndarray, image: np.ndarray,
                      raw: np.ndarray, solid: np.ndarray, binary: bool, estimator: str = "unmix",
                      shell_vox: int = 1, inside: np.ndarray | None = None
                      ) -> tuple[np.ndarray, np.ndarray, dict[str, float] | None]:
    """Set ``crack_fraction_open``, ``crack_fraction_fine`` and ``crack_fraction`` (their sum) in
    ``table``; returns the open and fine crack masks (for the overlays) and the grey levels used
    (None for two-phase or binary images, whose cracks all count as open); ``inside``: the field of
    view whose histogram gives the grey levels (default the whole image)."""
    from femsim.segmentation import filters, measure

    levels = None if (binary or estimator != "unmix") else filters.three_phase_levels(image, inside)
    if levels is not None:
        ct = crack_types(labels, image, raw, solid, levels, shell_vox)
        table["crack_fraction_open"], table["crack_fraction_fine"] = ct.open_fraction, ct.fine_fraction
        table["crack_fraction"] = ct.open_fraction + ct.fine_fraction
        return ct.open_mask, ct.fine_mask, ct.levels
    if estimator == "unmix" and not binary:
        table["crack_fraction"] = measure.crack_fraction_unmixed(labels, void, raw, solid, shell_vox, inside)
    table["crack_fraction_open"] = table["crack_fraction"].copy()
    table["crack_fraction_fine"] = np.zeros(len(table["crack_fraction"]))
    return void, np.zeros(void.shape, dtype=bool), None
