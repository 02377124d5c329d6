"""Synthetic tomography phantoms with ground truth.

A phantom is a particle table (centres/radii in voxels) rendered as a grey volume:

* particles (grey ``particle_grey``) on a background (``background_grey``);
* cracks: per particle, a planar (one plane) or branched (2–3 planes through a common point near the
  centre) void of thickness ``crack_width_vox``, confined to a concentric ball whose radius (at
  most 0.85 × the particle radius and one voxel plus half the crack width inside its surface:
  internal cracks, as in the tomograms) is bisected so that the void
  fraction of the particle matches the requested crack fraction (planes are added when needed);
* Gaussian blur (σ ``blur_vox``), optional phase-contrast edge fringes (minus ``fringe`` × the
  Laplacian of the Gaussian-smoothed object, i.e. bright/dark halos at every interface) and
  additive Gaussian noise (σ ``noise``, in grey units where particle − background = 0.6).

The ground truth holds the true label image, the true crack fraction of each particle (void voxels /
sphere voxels as rendered) and its damage class.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from femsim.segmentation.damage import DamageThresholds, classify


@dataclass
class PhantomTruth:
    """Ground truth of a phantom (lengths in voxels; centres (z, y, x) in voxel-centre indices)."""

    centres_vox: np.ndarray
    radii_vox: np.ndarray
    crack_fraction: np.ndarray
    damage_class: np.ndarray
    labels: np.ndarray
    crack: np.ndarray = field(repr=False)


def random_packing(shape: tuple[int, int, int], n: int, radius_mean: float = 10.0, radius_sd: float = 1.5,
                   overlap: float = 0.05, margin: float = 1.0, seed: int = 0, max_tries: int = 20000
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Random sequential addition of up to ``n`` spheres fully inside the volume.

    Spheres may overlap by at most ``overlap`` × (r_i + r_j) (touching particles test the
    watershed). Returns (centres (n, 3) as (z, y, x) voxel indices, radii (n,)).
    """
    rng = np.random.default_rng(seed)
    centres: list[np.ndarray] = []
    radii: list[float] = []
    shape_a = np.asarray(shape, dtype=float)
    for _ in range(max_tries):
        if len(centres) >= n:
            break
        r = float(np.clip(rng.normal(radius_mean, radius_sd), 0.5 * radius_mean, 1.6 * radius_mean))
        lo = r + margin
        if np.any(shape_a - 1 - 2 * lo <= 0):
            continue
        c = lo + rng.random(3) * (shape_a - 1 - 2 * lo)
        if centres:
            d = np.linalg.norm(np.asarray(centres) - c, axis=1)
            if np.any(d < (1 - overlap) * (np.asarray(radii) + r)):
                continue
        centres.append(c)
        radii.append(r)
    return np.asarray(centres).reshape(-1, 3), np.asarray(radii)


def _crack_mask(coords: np.ndarray, centre: np.ndarray, radius: float, sphere: np.ndarray, fraction: float,
                branches: int, width: float, rng: np.random.Generator, max_extent: float = 0.85) -> np.ndarray:
    """Void mask (same shape as ``sphere``) with about ``fraction`` of the sphere's voxels."""
    n_sphere = int(sphere.sum())
    origin = centre + rng.normal(0, 0.1 * radius, 3)
    rel = coords - origin.reshape(3, *([1] * 3))
    off = coords - centre.reshape(3, *([1] * 3))
    r2 = np.sum(off * off, axis=0)  # confinement measured from the particle centre
    max_extent = min(max_extent, 1.0 - (0.5 * width + 1.0) / radius)
    for extra in range(4):
        slab = np.zeros(sphere.shape, dtype=bool)
        for _ in range(branches + extra):
            nrm = rng.normal(size=3)
            nrm /= np.linalg.norm(nrm)
            dist = np.abs(np.tensordot(nrm, rel, axes=1))
            slab |= dist <= width / 2
        slab &= sphere
        if np.sum(slab & (r2 <= (max_extent * radius) ** 2)) < fraction * n_sphere and extra < 3:
            continue  # even the largest internal crack is too small: add a branch
        lo, hi = 0.0, max_extent * radius
        for _ in range(30):
            mid = 0.5 * (lo + hi)
            f = np.sum(slab & (r2 <= mid * mid)) / n_sphere
            lo, hi = (mid, hi) if f < fraction else (lo, mid)
        return slab & (r2 <= hi * hi)
    return np.zeros(sphere.shape, dtype=bool)  # pragma: no cover


def render_phantom(shape: tuple[int, int, int], centres: np.ndarray, radii: np.ndarray,
                   crack_fractions: np.ndarray, branches: np.ndarray | None = None, crack_width_vox: float = 3.0,
                   blur_vox: float = 0.8, noise: float = 0.05, fringe: float = 0.0,
                   background_grey: float = 0.2, particle_grey: float = 0.8, seed: int = 0,
                   thresholds: DamageThresholds = DamageThresholds()) -> tuple[np.ndarray, PhantomTruth]:
    """Render a grey phantom volume (float32) and its :class:`PhantomTruth`.

    Args:
        shape: (nz, ny, nx) voxels.
        centres, radii: spheres in voxels ((z, y, x) indices, radius).
        crack_fractions: requested void fraction per particle (0 = intact).
        branches: planes per crack (1 planar, ≥ 2 branched); default 1.
        crack_width_vox: crack thickness (voxels).
        blur_vox, noise, fringe: see module doc.
    """
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    n = len(radii)
    branches = np.ones(n, dtype=int) if branches is None else np.asarray(branches, dtype=int)
    labels = np.zeros(shape, dtype=np.int32)
    crack = np.zeros(shape, dtype=bool)
    true_cf = np.zeros(n)
    for i, (c, r) in enumerate(zip(np.asarray(centres, float), np.asarray(radii, float))):
        lo = np.maximum(np.floor(c - r - 1).astype(int), 0)
        hi = np.minimum(np.ceil(c + r + 2).astype(int), shape)
        sl = tuple(slice(a, b) for a, b in zip(lo, hi))
        coords = np.stack(np.meshgrid(*[np.arange(a, b, dtype=float) for a, b in zip(lo, hi)], indexing="ij"))
        d2 = np.sum((coords - c.reshape(3, 1, 1, 1)) ** 2, axis=0)
        sphere = (d2 <= r * r) & (labels[sl] == 0)
        labels[sl][sphere] = i + 1
        if crack_fractions[i] > 0:
            cm = _crack_mask(coords, c, r, sphere, float(crack_fractions[i]), int(branches[i]), crack_width_vox, rng)
            crack[sl] |= cm
            true_cf[i] = cm.sum() / max(1, sphere.sum())
    solid = (labels > 0) & ~crack
    img = np.where(solid, particle_grey, background_grey).astype(np.float32)
    if blur_vox > 0:
        img = ndimage.gaussian_filter(img, blur_vox)
    if fringe:
        img -= fringe * ndimage.gaussian_laplace(solid.astype(np.float32), 1.0)
    if noise > 0:
        img += rng.normal(0.0, noise, size=shape).astype(np.float32)
    truth = PhantomTruth(centres_vox=np.asarray(centres, float), radii_vox=np.asarray(radii, float),
                         crack_fraction=true_cf, damage_class=classify(true_cf, thresholds), labels=labels,
                         crack=crack)
    return img.astype(np.float32), truth


def sample_crack_fractions(n: int, seed: int = 0, thresholds: DamageThresholds = DamageThresholds()
                           ) -> tuple[np.ndarray, np.ndarray]:
    """Crack fractions spread over the three classes, away from the thresholds, and branch counts.

    About a third each: intact or ≤ 0.4 × mild; between 1.4 × mild and 0.75 × severe; and
    1.3–2.2 × severe. Severe cracks are branched (2–3 planes), the others planar.
    """
    rng = np.random.default_rng(seed)
    cls = rng.integers(0, 3, n)
    m, s = thresholds.mild, thresholds.severe
    cf = np.where(cls == 0, rng.choice([0.0, 1.0], n) * rng.uniform(0, 0.4 * m, n),
                  np.where(cls == 1, rng.uniform(1.4 * m, 0.75 * s, n), rng.uniform(1.3 * s, 2.2 * s, n)))
    branches = np.where(cls == 2, rng.integers(2, 4, n), 1)
    return cf, branches


def match_particles(true_centres: np.ndarray, true_radii: np.ndarray, found_centres: np.ndarray
                    ) -> list[tuple[int, int]]:
    """Greedy one-to-one matching (closest pairs first) within half the true radius.

    All coordinates in the same unit. Returns (true index, found index) pairs.
    """
    from scipy.spatial import cKDTree

    if len(true_centres) == 0 or len(found_centres) == 0:
        return []
    tree = cKDTree(found_centres)
    cands = []
    for i, (c, r) in enumerate(zip(true_centres, true_radii)):
        for j in tree.query_ball_point(c, 0.5 * r):
            cands.append((float(np.linalg.norm(found_centres[j] - c)), i, j))
    cands.sort()
    used_t, used_f, pairs = set(), set(), []
    for _, i, j in cands:
        if i not in used_t and j not in used_f:
            used_t.add(i)
            used_f.add(j)
            pairs.append((i, j))
    return pairs
