"""Seeded packing generator: N non-overlapping spheres reaching a target volume fraction in a box.

Algorithm (overlap relaxation, deterministic for a given seed and numpy version):

1. Draw N radii from a log-normal distribution with the given mean (µm) and log-standard
   deviation ``sigma_ln`` (``mu = ln(mean) - sigma_ln²/2``), and N centres uniformly in the box.
2. Sweep: every pair closer than ``min_gap`` (surface to surface) is pushed apart symmetrically
   along the line of centres; centres are kept inside the box. The lateral faces (x, y) may cut
   spheres, as a window cut out of a tomogram would (the cut faces are mirror planes in M1); the
   electrode has a top and a bottom: each sphere stays ``wall_clearance`` (and 1 %) clear of the
   collector (z = 0) and separator (z = L_c) planes.
3. Every few sweeps the exact box-clipped NMC fraction (:mod:`femsim.geometry.clipping`) is
   computed and all radii are scaled by a damped ``(target / fraction)^(1/3)``.
4. When no pair violates the gap and the fraction is within ``fraction_tol`` of the target, the
   near-contact rules of :mod:`femsim.geometry.contacts` (with the same gap and the wall
   clearance) are applied; the result is accepted only when those rules change nothing more,
   so the mesh builder later reports no adjustment for a generated table.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np
from scipy.spatial import cKDTree

from femsim.geometry.clipping import clipped_volumes
from femsim.geometry.contacts import resolve_near_contacts
from femsim.geometry.particles import ParticleTable, pair_overlaps

_LOG = logging.getLogger(__name__)


class PackingError(RuntimeError):
    """The generator did not reach the target within its sweep budget."""


def volume_fraction(table: ParticleTable, box_um: Sequence[float] | np.ndarray) -> float:
    """Exact box-clipped particle volume fraction of ``[0, box_um]``."""
    return float(clipped_volumes(table.centres, table.radii, box_um).sum() / np.prod(box_um))


def _keep_between_planes(centres: np.ndarray, radii: np.ndarray, box: np.ndarray, clearance: float) -> None:
    """Move centres in z so that no sphere comes within ``1.01 clearance`` of z = 0 or z = L_c."""
    margin = radii + 1.01 * clearance
    centres[:, 2] = np.clip(centres[:, 2], margin, np.maximum(box[2] - margin, margin))


def _relax(centres: np.ndarray, radii: np.ndarray, box: np.ndarray, gap: float) -> int:
    """One relaxation sweep in place; returns the number of violating pairs found."""
    tree = cKDTree(centres)
    pairs = tree.query_pairs(2.0 * float(radii.max()) + gap, output_type="ndarray")
    if len(pairs) == 0:
        return 0
    i, j = pairs[:, 0], pairs[:, 1]
    d = centres[j] - centres[i]
    dist = np.linalg.norm(d, axis=1)
    need = radii[i] + radii[j] + gap - dist
    bad = need > 1e-12
    if not np.any(bad):
        return 0
    i, j, d, dist, need = i[bad], j[bad], d[bad], dist[bad], need[bad]
    unit = d / np.maximum(dist, 1e-12)[:, None]
    push = 0.5 * (need + 1e-3 * gap)[:, None] * unit
    moves = np.zeros_like(centres)
    np.add.at(moves, i, -push)
    np.add.at(moves, j, push)
    centres += moves
    np.clip(centres, 0.0, box, out=centres)
    return int(bad.sum())


def generate_packing(n: int, box_um: Sequence[float] | np.ndarray, target_fraction: float, radius_mean_um: float,
                     radius_sigma_ln: float, min_gap_um: float = 0.3, seed: int = 0,
                     wall_clearance_um: float | None = None, fraction_tol: float = 0.002,
                     max_sweeps: int = 20000) -> ParticleTable:
    """Generate N spheres (µm) whose box-clipped volume fraction is ``target_fraction``.

    Args:
        n: number of spheres (ids 0..n-1).
        box_um: cathode box (Lx, Ly, Lz), µm; spheres are clipped by it, centres lie inside it.
        target_fraction: clipped particle volume / box volume.
        radius_mean_um: mean of the log-normal radius distribution before scaling (µm).
        radius_sigma_ln: standard deviation of ln(radius).
        min_gap_um: smallest surface-to-surface gap (µm).
        seed: seed of :func:`numpy.random.default_rng`.
        wall_clearance_um: near-tangency clearance to the box (default: ``min_gap_um``).
        fraction_tol: accepted |fraction - target|.
        max_sweeps: relaxation budget.

    Returns:
        The table; radii are the drawn ones times a common factor (see ``extra`` nothing).

    Raises:
        PackingError: if the target is not reached (too dense for the gap, or budget too small).
    """
    if n < 1 or not 0 < target_fraction < 1 or radius_mean_um <= 0 or radius_sigma_ln < 0:
        raise ValueError("generate_packing: need n >= 1, 0 < target_fraction < 1, radius_mean_um > 0, sigma >= 0")
    box = np.asarray(box_um, dtype=float)
    clearance = min_gap_um if wall_clearance_um is None else wall_clearance_um
    rng = np.random.default_rng(seed)
    mu = math.log(radius_mean_um) - 0.5 * radius_sigma_ln**2
    radii = rng.lognormal(mu, radius_sigma_ln, n)
    centres = rng.uniform(0.0, 1.0, (n, 3)) * box
    ids = np.arange(n, dtype=np.int64)
    fraction = volume_fraction(ParticleTable(ids, centres, radii), box)
    for sweep in range(max_sweeps):
        _keep_between_planes(centres, radii, box, clearance)
        violations = _relax(centres, radii, box, min_gap_um)
        _keep_between_planes(centres, radii, box, clearance)
        if sweep % 10 != 0 and violations:
            continue
        fraction = volume_fraction(ParticleTable(ids, centres, radii), box)
        if violations == 0 and abs(fraction - target_fraction) <= fraction_tol:
            table = ParticleTable(ids.copy(), centres.copy(), radii.copy())
            fixed, log = resolve_near_contacts(table, box, min_gap_um + 1e-6, clearance + 1e-6)
            if not log:
                _LOG.info("packing: %d spheres, fraction %.4f after %d sweeps (seed %d)", n, fraction, sweep, seed)
                return table
            centres[:], radii[:] = fixed.centres, fixed.radii
            continue
        damping = 0.5 if violations else 1.0
        radii *= (target_fraction / fraction) ** (damping / 3.0)
    raise PackingError(f"packing did not reach fraction {target_fraction:g} (got {fraction:.4f}) with "
                       f"{n} spheres in {max_sweeps} sweeps; lower the fraction or the gap")


def summary(table: ParticleTable, box_um: Sequence[float] | np.ndarray) -> dict[str, float]:
    """Numbers worth recording with a generated table."""
    # pairs closer than the largest radius (surface to surface): enough to find the smallest gap of
    # a packing without listing all n² pairs (1872 spheres: minutes with np.inf)
    gaps = pair_overlaps(table.centres, table.radii, float(table.radii.max()))
    return {"n": len(table), "volume_fraction": volume_fraction(table, box_um),
            "radius_mean_um": float(table.radii.mean()), "radius_min_um": float(table.radii.min()),
            "radius_max_um": float(table.radii.max()),
            "min_gap_um": float(min(g for _, _, g in gaps)) if gaps else math.inf}
