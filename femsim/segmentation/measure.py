"""Per-particle measurements from a label image.

Coordinates: the image is (z, y, x) (or (y, x)); voxel i along an axis has its centre at
``(i + 0.5) · voxel_size`` µm, so a volume of n voxels spans [0, n · voxel_size]. Quantities:

* ``volume_um3`` (3D) / ``area_um2`` (2D): envelope voxel count × voxel volume (area);
* ``equivalent_radius_um``: radius of the sphere (disk) with that volume (area);
* ``sphericity``: π^(1/3) (6V)^(2/3) / A with A the marching-cubes area of the lightly smoothed
  envelope (3D); in 2D the circularity 4πA/P² with P the Crofton perimeter (1 for a sphere/disk);
* ``bbox_*``: bounding box in µm (lower/upper faces of the voxels);
* ``touches_border``: the envelope reaches a face of the image;
* ``crack_fraction``: void voxels inside the envelope / envelope voxels.
"""

from __future__ import annotations

import logging
import math

import numpy as np

log = logging.getLogger(__name__)

AXES = ("z", "y", "x")


def _border_labels(labels: np.ndarray) -> set[int]:
    faces = []
    for ax in range(labels.ndim):
        faces.append(np.take(labels, 0, axis=ax).ravel())
        faces.append(np.take(labels, labels.shape[ax] - 1, axis=ax).ravel())
    vals = np.unique(np.concatenate(faces))
    return set(int(v) for v in vals if v > 0)


def _sphericity_3d(mask: np.ndarray, volume_vox: float) -> float:
    from scipy import ndimage
    from skimage import measure

    padded = np.pad(mask.astype(np.float32), 2)
    smooth = ndimage.gaussian_filter(padded, 0.7)
    try:
        verts, faces, _, _ = measure.marching_cubes(smooth, level=0.5)
    except (ValueError, RuntimeError):
        return float("nan")
    area = measure.mesh_surface_area(verts, faces)
    if area <= 0:
        return float("nan")
    return float(math.pi ** (1 / 3) * (6 * volume_vox) ** (2 / 3) / area)


def _circularity_2d(mask: np.ndarray, area_px: float) -> float:
    from skimage import measure

    perim = measure.perimeter_crofton(np.pad(mask, 1), directions=4)
    return float(min(1.0, 4 * math.pi * area_px / perim**2)) if perim > 0 else float("nan")


def measure_particles(labels: np.ndarray, void: np.ndarray, voxel_size_um: float,
                      sphericity: bool = True) -> dict[str, np.ndarray]:
    """Measure every label 1..n.

    Args:
        labels: int label image (envelopes), 0 = background.
        void: bool image of crack/pore voxels inside envelopes.
        voxel_size_um: voxel edge (µm).
        sphericity: compute sphericity/circularity (marching cubes per particle).

    Returns:
        Columns as arrays of length n: ``id``, ``x``, ``y``, ``z`` (µm; z = 0 in 2D),
        ``volume_vox``, ``volume_um3`` or ``area_um2``, ``equivalent_radius_um``, ``sphericity``,
        ``bbox_min_{x,y,z}_um``, ``bbox_max_{x,y,z}_um``, ``touches_border`` (bool),
        ``crack_fraction``.
    """
    from scipy import ndimage

    ndim = labels.ndim
    n = int(labels.max()) if labels.size else 0
    h = float(voxel_size_um)
    flat = labels.ravel()
    counts = np.bincount(flat, minlength=n + 1).astype(np.float64)
    voids = np.bincount(flat, weights=void.ravel().astype(np.float64), minlength=n + 1)
    cols: dict[str, np.ndarray] = {"id": np.arange(1, n + 1)}
    centre = {}
    for ax in range(ndim):
        shape = [1] * ndim
        shape[ax] = labels.shape[ax]
        coord = np.broadcast_to(np.arange(labels.shape[ax], dtype=np.float64).reshape(shape), labels.shape)
        sums = np.bincount(flat, weights=coord.ravel(), minlength=n + 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            centre[AXES[3 - ndim + ax]] = (sums[1:] / counts[1:] + 0.5) * h
    for name in ("x", "y", "z"):
        cols[name] = centre.get(name, np.zeros(n))
    vol = counts[1:]
    cols["volume_vox"] = vol
    if ndim == 3:
        cols["volume_um3"] = vol * h**3
        cols["equivalent_radius_um"] = np.cbrt(3 * vol / (4 * math.pi)) * h
    else:
        cols["area_um2"] = vol * h**2
        cols["equivalent_radius_um"] = np.sqrt(vol / math.pi) * h
    with np.errstate(invalid="ignore", divide="ignore"):
        cols["crack_fraction"] = np.where(vol > 0, voids[1:] / vol, 0.0)
    slices = ndimage.find_objects(labels, max_label=n)
    bmin = np.zeros((n, 3))
    bmax = np.zeros((n, 3))
    sph = np.full(n, np.nan)
    for i, sl in enumerate(slices):
        if sl is None:
            continue
        lo = [s.start * h for s in sl]
        hi = [s.stop * h for s in sl]
        if ndim == 2:
            lo, hi = [0.0] + lo, [0.0] + hi
        bmin[i], bmax[i] = lo[::-1], hi[::-1]  # (z,y,x) -> (x,y,z)
        if sphericity:
            mask = labels[sl] == i + 1
            sph[i] = _sphericity_3d(mask, vol[i]) if ndim == 3 else _circularity_2d(mask, vol[i])
    for k, name in enumerate("xyz"):
        cols[f"bbox_min_{name}_um"] = bmin[:, k]
        cols[f"bbox_max_{name}_um"] = bmax[:, k]
    cols["sphericity"] = sph
    border = _border_labels(labels)
    cols["touches_border"] = np.array([i in border for i in range(1, n + 1)], dtype=bool)
    return cols


def crack_fraction_unmixed(labels: np.ndarray, void: np.ndarray, raw: np.ndarray, solid: np.ndarray,
                           shell_vox: int = 1, inside: np.ndarray | None = None) -> np.ndarray:
    """Partial-volume-aware crack fraction per label (1..n).

    Blur and a finite threshold make thin cracks look thinner than they are, so counting voxels
    under the threshold underestimates the void. Here the grey level of each voxel in the particle
    interior (envelope eroded by ``shell_vox``) is unmixed linearly between the particle grey
    ``p`` (median of the solid voxels at least 3 voxels from any surface or crack) and the void grey
    ``b`` (median of the background away from particles): void content ``(p − I)/(p − b)``, summed
    without clipping so noise averages out; in the outer shell, the thresholded void voxels are counted as they are.
    Result: (interior void content + shell void voxels) / envelope voxels.

    Args:
        labels: particle envelopes (int), void: thresholded void voxels (bool), raw: normalised
            grey image before the median filter, solid: thresholded particle voxels (bool),
            inside: the field of view (the void grey is not taken from padding outside it).
    """
    from scipy import ndimage

    n = int(labels.max())
    size = 2 * shell_vox + 1
    interior = (labels > 0) & (ndimage.maximum_filter(labels, size=size) == labels) & (
        ndimage.minimum_filter(labels, size=size) == labels)
    far_bg = (labels == 0) & ~ndimage.binary_dilation(labels > 0, iterations=2) & ~solid
    if inside is not None:
        far_bg &= inside
    deep = ndimage.binary_erosion((labels > 0) & solid & ~void, iterations=3)
    sample_p = raw[deep] if deep.any() else raw[interior & solid]
    sample_b = raw[far_bg]
    if sample_p.size == 0 or sample_b.size == 0:
        return np.bincount(labels.ravel(), weights=void.ravel().astype(float), minlength=n + 1)[1:] / np.maximum(
            np.bincount(labels.ravel(), minlength=n + 1)[1:], 1)
    p, b = float(np.median(sample_p)), float(np.median(sample_b))
    if not p > b:
        from femsim.errors import InputError

        raise InputError(f"the particle grey ({p:.3g}) is not above the background's ({b:.3g}) after "
                         "thresholding: are the particles dark (--invert)?")
    content = np.where(interior, (p - raw) / (p - b), 0.0)
    flat = labels.ravel()
    inner = np.bincount(flat, weights=content.ravel(), minlength=n + 1)[1:]
    shell_void = np.bincount(flat, weights=(void & ~interior).ravel().astype(float), minlength=n + 1)[1:]
    counts = np.bincount(flat, minlength=n + 1)[1:].astype(float)
    return np.clip((inner + shell_void) / np.maximum(counts, 1.0), 0.0, 1.0)
