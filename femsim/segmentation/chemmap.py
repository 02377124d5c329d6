"""Chemical maps on the segmented particles (``femsim segment IMAGE --map MAP``).

A chemical map is a second image co-registered with the tomogram (same shape after the same crop
and downsampling), e.g. a Ni K-edge energy map from XANES tomography. Per particle, the mean,
standard deviation and voxel count of the map are reported in four regions:

* ``bulk``: particle-phase voxels deeper than the shell with a one-voxel gap (more than
  ``shell_vox`` + 2 voxels from the
  non-particle phase) and more than 2 voxels from any crack core;
* ``open``, ``fine``: the open and fine crack cores inside the particle
  (:mod:`femsim.segmentation.cracks`);
* ``shell``: the surface shell, voxels 1 to ``shell_vox`` deep below the particle's surface facing
  the pores/binder (depth = distance to the nearest non-particle voxel; contacts between touching
  particles are not surface). The outermost voxel layer (depth < 1, mixed with the surroundings in
  both images) is left out.

Shell thickness: ``--map-shell`` µm (default 0.5 µm), rounded to whole voxels (at least one).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from femsim.errors import InputError

REGIONS = ("bulk", "open", "fine", "shell")


def map_header() -> list[str]:
    """Columns of ``chemical_map.csv``."""
    cols = ["id"]
    for r in REGIONS:
        cols += [f"map_{r}_mean", f"map_{r}_std", f"map_{r}_voxels"]
    return cols


def read_map(path: str | os.PathLike, image_shape: tuple[int, ...], voxel_size_um: float, dataset: str | None,
             crop: str | None, downsample: int, max_memory_gb: float | None) -> np.ndarray:
    """Read the map with the image's crop and downsampling; float64 array of the image's shape.

    Raises:
        InputError: unreadable map (file named), a map of another shape, non-finite values.
    """
    from femsim.segmentation import io

    vol = io.read_image(path, voxel_size_um, dataset, crop, downsample, max_memory_gb, colour=False)
    if vol.data.shape != tuple(image_shape):
        raise InputError(f"map has shape {'x'.join(map(str, vol.data.shape))}, the image "
                         f"{'x'.join(map(str, image_shape))}: a chemical map must be co-registered "
                         "with the image (same shape after --crop/--downsample)", file=str(path))
    return np.asarray(vol.data, dtype=np.float64)


def shell_voxels(shell_um: float, voxel_size_um: float) -> int:
    """Shell thickness in whole voxels (≥ 1)."""
    if not (np.isfinite(shell_um) and shell_um > 0):
        raise InputError(f"--map-shell {shell_um}: must be a positive thickness (µm)")
    n = int(round(shell_um / voxel_size_um))
    if n < 1:
        raise InputError(f"--map-shell {shell_um} µm is thinner than half a voxel ({voxel_size_um:g} µm)")
    return n


def region_masks(labels: np.ndarray, solid: np.ndarray, open_crack: np.ndarray, fine_crack: np.ndarray,
                 shell_vox: int) -> dict[str, np.ndarray]:
    """Boolean masks of the four regions (see module doc), all inside particle envelopes."""
    from scipy import ndimage

    env = labels > 0
    depth = ndimage.distance_transform_edt(np.pad(env, 1, constant_values=False))[(slice(1, -1),) * env.ndim]
    op, fi = open_crack & env, fine_crack & env
    near_crack = ndimage.binary_dilation(op | fi, iterations=2)
    return {"bulk": env & solid & ~near_crack & (depth > shell_vox + 2),
            "open": op, "fine": fi,
            "shell": env & solid & ~near_crack & (depth > 1) & (depth <= shell_vox + 1)}


def map_statistics(labels: np.ndarray, masks: dict[str, np.ndarray], chem: np.ndarray) -> dict[str, np.ndarray]:
    """Per-particle mean, std and voxel count of the map in every region (NaN where empty)."""
    n = int(labels.max())
    out: dict[str, np.ndarray] = {"id": np.arange(1, n + 1)}
    for r in REGIONS:
        lab = np.where(masks[r], labels, 0).ravel()
        cnt = np.bincount(lab, minlength=n + 1)[1:].astype(float)
        s1 = np.bincount(lab, weights=chem.ravel(), minlength=n + 1)[1:]
        s2 = np.bincount(lab, weights=chem.ravel() ** 2, minlength=n + 1)[1:]
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = s1 / cnt
            std = np.sqrt(np.maximum(s2 / cnt - mean**2, 0.0))
        out[f"map_{r}_mean"], out[f"map_{r}_std"], out[f"map_{r}_voxels"] = mean, std, cnt.astype(int)
    return out


def summary(stats: dict[str, np.ndarray], source: str, shell_um: float, shell_vox: int) -> dict[str, Any]:
    """``report.json`` entry: mean and median over particles of each region's mean (particles with
    voxels there)."""
    means = {}
    for r in REGIONS:
        v = stats[f"map_{r}_mean"]
        v = v[np.isfinite(v)]
        means[r] = {"mean_of_particle_means": float(v.mean()) if v.size else None,
                    "median_of_particle_means": float(np.median(v)) if v.size else None, "n_particles": int(v.size)}
    return {"source": source, "shell_um": shell_um, "shell_vox": shell_vox, "regions": means}


def write_figure(path: Path, chem: np.ndarray, labels: np.ndarray, stats: dict[str, np.ndarray]) -> None:
    """Figure like the paper's Fig. 1k: the map (mid slice) with particle outlines, and the
    distribution of per-particle means in each region."""
    import io as _io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from skimage.segmentation import find_boundaries

    from femsim.io.atomic import atomic_open

    sl = chem[chem.shape[0] // 2] if chem.ndim == 3 else chem
    lab = labels[labels.shape[0] // 2] if labels.ndim == 3 else labels
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(12, 4.5), gridspec_kw={"width_ratios": [2, 1]})
    im = a0.imshow(sl, cmap="viridis", interpolation="nearest")
    a0.contour(find_boundaries(lab, mode="inner"), [0.5], colors="w", linewidths=0.4)
    fig.colorbar(im, ax=a0, shrink=0.8, label="map value")
    a0.set_title("chemical map with particle outlines", fontsize=9)
    a0.set_axis_off()
    data = [stats[f"map_{r}_mean"][np.isfinite(stats[f"map_{r}_mean"])] for r in REGIONS]
    a1.boxplot([d if d.size else np.array([np.nan]) for d in data], tick_labels=list(REGIONS))
    a1.set_ylabel("per-particle mean of the map")
    a1.set_title("bulk, open cracks, fine cracks, surface shell", fontsize=9)
    buf = _io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    with atomic_open(path, "wb") as fh:
        fh.write(buf.getvalue())
