"""Grey-level phantoms built on real particle shapes (the NREL nmc-1-cal volume), with ground truth.

The truth particles are the real NMC particles of a binary tomogram (default: the vendored crop
``tests/segmentation/data/nrel_nmc1cal_center.npz``, BSD licence beside it), labelled by the
distance watershed of the clean binary phase (:func:`truth_labels`; 2D: of the binary slice). On
them the renderer plants what real grey-level tomograms show:

* **open cracks** (void grey) and **fine cracks** (sub-voxel porosity: an intermediate grey, the
  grey of the carbon-binder) as planar slabs through a point near the particle centre, kept
  ``margin_vox`` inside the particle surface, grown (bisection on their extent) to a requested
  volume fraction of the particle: per particle ``crack_fraction_open`` and
  ``crack_fraction_fine`` (volume of each crack type / particle volume, as rendered);
* a **carbon-binder** phase at the intermediate grey: the pore voxels a closing of radius
  ``binder_close_vox`` adds to the particle phase (necks) and blobs of a smoothed random field
  filling ``binder_fraction`` of the remaining pore space;
* grey levels void ``void_grey`` < binder/fine ``fine_grey`` < particle ``particle_grey``;
* a slow **intensity drift** (linear ramp of ``drift`` grey units across x), **ring artefacts**
  (concentric rings about the image centre, amplitude ``rings``), Gaussian **blur** ``blur_vox``,
  **phase-contrast fringes** (minus ``fringe`` × Laplacian of Gaussian of the rendered object) and
  **Poisson** (photon count ``photons`` per unit grey) plus Gaussian (``noise``) **noise**.

2D phantoms are rendered from xy slices of the same volume (several slices side by side).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from femsim.segmentation.damage import DamageThresholds, classify
from femsim.segmentation.matching import match_labels

VENDORED_NREL = Path(__file__).resolve().parents[2] / "tests" / "segmentation" / "data" / "nrel_nmc1cal_center.npz"


@dataclass
class RealPhantom:
    """A rendered phantom and its ground truth (voxel units, arrays (z, y, x) or (y, x))."""

    image: np.ndarray
    labels: np.ndarray
    open_crack: np.ndarray = field(repr=False)
    fine_crack: np.ndarray = field(repr=False)
    binder: np.ndarray = field(repr=False)
    crack_fraction_open: np.ndarray = field(repr=False)
    crack_fraction_fine: np.ndarray = field(repr=False)
    greys: dict[str, float] = field(default_factory=dict)
    truth_min_voxels: int = 27
    _ambiguous: np.ndarray | None = field(default=None, repr=False)

    def ambiguous_pairs(self) -> np.ndarray:
        """(k, 2) truth pairs that the truth rule itself joins after a one-voxel change of the clean
        mask (:func:`femsim.segmentation.ambiguity.ambiguous_pairs`; computed once)."""
        if self._ambiguous is None:
            from femsim.segmentation import ambiguity

            self._ambiguous = ambiguity.ambiguous_pairs(
                self.labels, lambda mask: truth_labels(mask, min_voxels=self.truth_min_voxels))
        return self._ambiguous

    @property
    def crack_fraction(self) -> np.ndarray:
        return self.crack_fraction_open + self.crack_fraction_fine

    @property
    def damage_class(self) -> np.ndarray:
        return classify(self.crack_fraction, DamageThresholds())

    @property
    def volume_vox(self) -> np.ndarray:
        return np.bincount(self.labels.ravel(), minlength=int(self.labels.max()) + 1)[1:].astype(float)


def load_nrel(path: str | Path | None = None) -> np.ndarray:
    """The binary NMC phase (bool, (z, y, x)) of the NREL crop (key ``nmc``)."""
    with np.load(path or VENDORED_NREL) as npz:
        return npz["nmc"].astype(bool)


def truth_labels(binary: np.ndarray, min_voxels: int = 27) -> np.ndarray:
    """Particle labels of a clean binary phase: distance watershed (no hole filling), regions below
    ``min_voxels`` removed; labels 1..n."""
    from skimage.segmentation import relabel_sequential

    from femsim.segmentation.segment import watershed_split

    lab = watershed_split(binary)
    counts = np.bincount(lab.ravel())
    small = counts < min_voxels
    small[0] = False
    lab[small[lab]] = 0
    return relabel_sequential(lab)[0].astype(np.int32)


def slices_side_by_side(volume: np.ndarray, z_indices: tuple[int, ...], gap: int = 0) -> np.ndarray:
    """xy slices of ``volume`` at ``z_indices`` placed side by side along x (a wider 2D image)."""
    parts = []
    for k, z in enumerate(z_indices):
        if k and gap:
            parts.append(np.zeros((volume.shape[1], gap), dtype=volume.dtype))
        parts.append(volume[z])
    return np.concatenate(parts, axis=1)


def sample_crack_plan(n: int, seed: int = 0, thresholds: DamageThresholds = DamageThresholds()
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Requested (open, fine) crack fractions: a third of the particles each least / mild / severe
    (total away from the class thresholds), each cracked one open-only, fine-only or both."""
    rng = np.random.default_rng(seed)
    cls = rng.integers(0, 3, n)
    m, s = thresholds.mild, thresholds.severe
    total = np.where(cls == 0, rng.choice([0.0, 1.0], n) * rng.uniform(0, 0.4 * m, n),
                     np.where(cls == 1, rng.uniform(1.5 * m, 0.7 * s, n), rng.uniform(1.4 * s, 2.2 * s, n)))
    kind = rng.integers(0, 3, n)  # 0 open only, 1 fine only, 2 both
    share = np.where(kind == 0, 1.0, np.where(kind == 1, 0.0, rng.uniform(0.3, 0.7, n)))
    return total * share, total * (1 - share)


def _slab_crack(inside: np.ndarray, coords: np.ndarray, centre: np.ndarray, n_particle: int, fraction: float,
                width: float, rng: np.random.Generator, free: np.ndarray, planes: int = 1) -> np.ndarray:
    """Slab(s) of thickness ``width`` through a point near ``centre``, confined to ``inside & free``,
    trimmed (bisection on the distance from the centre) to ``fraction`` × ``n_particle`` voxels."""
    ndim = inside.ndim
    shape = (ndim,) + (1,) * ndim
    rel = coords - (centre + rng.normal(0, 1.0, ndim)).reshape(shape)
    r2 = np.sum((coords - centre.reshape(shape)) ** 2, axis=0)
    allowed = inside & free
    for extra in range(4):
        slab = np.zeros(inside.shape, dtype=bool)
        for _ in range(planes + extra):
            nrm = rng.normal(size=ndim)
            nrm /= np.linalg.norm(nrm)
            slab |= np.abs(np.tensordot(nrm, rel, axes=1)) <= width / 2
        slab &= allowed
        if slab.sum() >= fraction * n_particle or extra == 3:
            break
    lo, hi = 0.0, float(np.sqrt(r2.max())) + 1.0
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        f = np.sum(slab & (r2 <= mid * mid)) / n_particle
        lo, hi = (mid, hi) if f < fraction else (lo, mid)
    return slab & (r2 <= hi * hi)


def plant_cracks(labels: np.ndarray, open_request: np.ndarray, fine_request: np.ndarray, seed: int = 0,
                 width_open: float = 3.0, width_fine: float = 3.0, margin_vox: float = 2.0
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Open and fine crack masks and their rendered per-particle fractions (see module doc)."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    n = int(labels.max())
    open_m = np.zeros(labels.shape, dtype=bool)
    fine_m = np.zeros(labels.shape, dtype=bool)
    f_open, f_fine = np.zeros(n), np.zeros(n)
    for i, sl in enumerate(ndimage.find_objects(labels)):
        if sl is None or (open_request[i] <= 0 and fine_request[i] <= 0):
            continue
        sl = tuple(slice(max(s.start - 1, 0), min(s.stop + 1, n_ax)) for s, n_ax in zip(sl, labels.shape))
        part = labels[sl] == i + 1
        npart = int(part.sum())
        inside = ndimage.distance_transform_edt(np.pad(part, 1))[(slice(1, -1),) * part.ndim] > margin_vox
        if not inside.any():
            continue
        coords = np.stack(np.meshgrid(*[np.arange(s.start, s.stop, dtype=float) for s in sl], indexing="ij"))
        centre = np.array([c[inside].mean() for c in coords])
        free = np.ones(part.shape, dtype=bool)
        if open_request[i] > 0:
            om = _slab_crack(inside, coords, centre, npart, open_request[i], width_open, rng, free)
            open_m[sl] |= om
            f_open[i] = om.sum() / npart
            free = ~ndimage.binary_dilation(om, iterations=3)
        if fine_request[i] > 0:
            fm = _slab_crack(inside, coords, centre, npart, fine_request[i], width_fine, rng, free)
            fine_m[sl] |= fm
            f_fine[i] = fm.sum() / npart
    return open_m, fine_m, f_open, f_fine


def render(labels: np.ndarray, seed: int = 0, open_request: np.ndarray | None = None,
           fine_request: np.ndarray | None = None, void_grey: float = 0.15, fine_grey: float = 0.45,
           particle_grey: float = 0.8, binder_close_vox: int = 3, binder_fraction: float = 0.3, blur_vox: float = 0.8,
           fringe: float = 0.1,
           noise: float = 0.04, photons: float = 400.0, rings: float = 0.03, drift: float = 0.08,
           width_open: float = 3.0, width_fine: float = 3.0) -> RealPhantom:
    """Render the grey phantom of truth ``labels`` (see module doc for every artefact)."""
    from scipy import ndimage

    from femsim.segmentation.segment import footprint

    rng = np.random.default_rng(seed + 1000)
    n = int(labels.max())
    if open_request is None or fine_request is None:
        open_request, fine_request = sample_crack_plan(n, seed)
    open_m, fine_m, f_open, f_fine = plant_cracks(labels, open_request, fine_request, seed, width_open, width_fine)
    solid = labels > 0
    pad = binder_close_vox + 1
    closed = ndimage.binary_closing(np.pad(solid, pad), structure=footprint(labels.ndim, binder_close_vox))
    binder = closed[(slice(pad, -pad),) * labels.ndim] & ~solid
    if binder_fraction > 0:
        field = ndimage.gaussian_filter(rng.normal(size=labels.shape).astype(np.float32), 2.0)
        pore = ~solid & ~binder
        binder |= pore & (field > np.quantile(field[pore], 1 - binder_fraction))
    img = np.full(labels.shape, void_grey, dtype=np.float32)
    img[binder | fine_m] = fine_grey
    img[solid & ~open_m & ~fine_m] = particle_grey
    obj = img.copy()
    if drift:
        img += np.linspace(-drift / 2, drift / 2, labels.shape[-1], dtype=np.float32)
    if rings:
        yy, xx = np.indices(labels.shape[-2:], dtype=np.float32)
        rad = np.hypot(yy - labels.shape[-2] / 2, xx - labels.shape[-1] / 2)
        img += (rings * np.sin(2 * np.pi * rad / 7.0)).astype(np.float32)
    if blur_vox > 0:
        img = ndimage.gaussian_filter(img, blur_vox)
    if fringe:
        img -= fringe * ndimage.gaussian_laplace(obj, 1.0)
    if photons:
        img = rng.poisson(np.clip(img, 0, None) * photons).astype(np.float32) / photons
    if noise:
        img += rng.normal(0.0, noise, labels.shape).astype(np.float32)
    return RealPhantom(image=img.astype(np.float32), labels=labels, open_crack=open_m, fine_crack=fine_m,
                       binder=binder, crack_fraction_open=f_open, crack_fraction_fine=f_fine,
                       greys={"void": void_grey, "fine": fine_grey, "particle": particle_grey})


def phantom_2d(seed: int = 0, z_indices: tuple[int, ...] = (15, 50, 85), path: str | Path | None = None,
               **kwargs: Any) -> RealPhantom:
    """2D phantom: xy slices of the NREL crop side by side, labelled in 2D (see module doc)."""
    binary = slices_side_by_side(load_nrel(path), z_indices)
    ph = render(truth_labels(binary, min_voxels=20), seed=seed, **kwargs)
    ph.truth_min_voxels = 20
    return ph


def phantom_3d(seed: int = 0, path: str | Path | None = None, crop: tuple[slice, ...] | None = None,
               **kwargs: Any) -> RealPhantom:
    """3D phantom on the (cropped) NREL volume."""
    binary = load_nrel(path)
    if crop is not None:
        binary = binary[crop]
    return render(truth_labels(binary), seed=seed, **kwargs)


def sub_resolution_crack(truth: RealPhantom, truth_index: np.ndarray) -> np.ndarray:
    """True for the truth particles (0-based ``truth_index``) whose planted cracks total fewer than
    5 x 3^(ndim-1) voxels (a 3-voxel-wide crack 5 voxels long: 15 in 2D, 45 in 3D), below the 3-voxel
    median and the blur, so a void reads as fine-crack grey or vanishes; uncracked particles are False."""
    n = int(truth.labels.max())
    crack_vox = np.bincount(truth.labels[truth.open_crack | truth.fine_crack], minlength=n + 1)[1:][truth_index]
    return (crack_vox > 0) & (crack_vox < 5 * 3 ** (truth.labels.ndim - 1))


def class_error_causes(truth: RealPhantom, wrong: np.ndarray, truth_index: np.ndarray, merged: np.ndarray
                       ) -> dict[str, int]:
    """Misclassified matched particles by cause: ``merged`` (the found region holds another truth
    particle, and its cracks), ``sub_resolution_crack`` (not merged; :func:`sub_resolution_crack`)
    and ``other``. ``truth_index``: 0-based truth particle of each entry of ``wrong`` / ``merged``."""
    small = sub_resolution_crack(truth, truth_index)
    return {"merged": int(np.sum(wrong & merged)), "sub_resolution_crack": int(np.sum(wrong & ~merged & small)),
            "other": int(np.sum(wrong & ~merged & ~small))}


def scores(truth: RealPhantom, found_labels: np.ndarray, table: dict[str, np.ndarray], min_voxels: int = 0,
           ambiguity_aware: bool = True) -> dict[str, Any]:
    """Floors of issue 15 for a segmentation of a phantom: F1 (IoU ≥ 0.5), median relative
    equivalent-radius error, median crack-fraction errors (total, open, fine), class accuracy and the
    share of truth particles merged with another (strict: ``f1``, ``merged_fraction``), the
    misclassified particles by cause (:func:`class_error_causes`), and the class accuracy of the
    matched particles whose planted cracks are resolvable (``class_accuracy_resolvable``: particles
    with sub-resolution cracks, :func:`sub_resolution_crack`, left out; ``n_sub_resolution_crack``
    of them) beside the strict figure. Truth
    particles below ``min_voxels`` (the pipeline's fragment limit) are left out. With
    ``ambiguity_aware`` also ``f1_aware``, ``merged_fraction_aware`` (real merges only),
    ``merged_fraction_ambiguous`` and the merged pairs by kind: the rule of
    :mod:`femsim.segmentation.ambiguity`."""
    vol = truth.volume_vox
    keep = vol >= min_voxels
    m = match_labels(truth.labels, found_labels)
    ok = (m["found"] > 0) & keep
    n_found = len(table["id"])
    tp = int(ok.sum())
    f1 = 2 * tp / (int(keep.sum()) + n_found) if (keep.sum() + n_found) else float("nan")
    idx = m["found"][ok] - 1
    ndim = truth.labels.ndim
    r_true = (3 * vol / (4 * np.pi)) ** (1 / 3) if ndim == 3 else np.sqrt(vol / np.pi)
    r_found = table["volume_vox"][idx]
    r_found = (3 * r_found / (4 * np.pi)) ** (1 / 3) if ndim == 3 else np.sqrt(r_found / np.pi)
    wrong = table["damage_class"][idx] != truth.damage_class[ok]
    resolvable = ~sub_resolution_crack(truth, np.flatnonzero(ok))
    out: dict[str, Any] = {
        "n_truth": int(keep.sum()), "n_found": n_found, "true_positives": tp, "f1": f1,
        "radius_err_median": float(np.median(np.abs(r_found / r_true[ok] - 1))),
        "crack_err_median": float(np.median(np.abs(table["crack_fraction"][idx] - truth.crack_fraction[ok]))),
        "class_accuracy": float(np.mean(~wrong)),
        "class_accuracy_resolvable": float(np.mean(~wrong[resolvable])) if resolvable.any() else float("nan"),
        "n_sub_resolution_crack": int(np.sum(~resolvable)),
        "merged_fraction": float(np.mean(m["merged"][keep])),
        "class_errors": class_error_causes(truth, wrong, np.flatnonzero(ok), m["merged"][ok])}
    for kind in ("open", "fine"):
        col = f"crack_fraction_{kind}"
        if col in table:
            err = np.abs(table[col][idx] - getattr(truth, col)[ok])
            out[f"crack_err_{kind}_median"] = float(np.median(err))
    if ambiguity_aware:
        from femsim.segmentation import ambiguity

        out.update(ambiguity.merge_scores(truth.labels, found_labels, truth.ambiguous_pairs(), keep, n_found))
    return out
