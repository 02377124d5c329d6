"""Damage classes from crack fractions and their depth profile.

Damage classes (the paper's "least / mild / severe" fracture classes, made quantitative):

* ``least``: crack fraction < ``mild`` (default 0.03: at most a few isolated void voxels);
* ``mild``: ``mild`` ≤ crack fraction < ``severe`` (default 0.10);
* ``severe``: crack fraction ≥ ``severe``.

Depth is the distance (µm) of a particle centroid from the chosen face of the volume along z:
``zmax`` (default; the separator side in femsim's convention, current collector at z = 0) or
``zmin``. The depth profile bins particles into windows of ``window_um`` (default 10 µm, the
paper's Fig. 4a) and gives the fraction of each class per window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from femsim.errors import InputError

CLASSES = ("least", "mild", "severe")
PROFILE_HEADER = ("depth_min_um", "depth_max_um", "n_particles", "fraction_least", "fraction_mild",
                  "fraction_severe")


@dataclass(frozen=True)
class DamageThresholds:
    """Crack-fraction thresholds (dimensionless) between the damage classes."""

    mild: float = 0.03
    severe: float = 0.10

    def __post_init__(self) -> None:
        if not 0.0 <= self.mild < self.severe <= 1.0:
            raise InputError(f"damage thresholds mild={self.mild}, severe={self.severe}: need 0 ≤ mild < severe ≤ 1")


def classify(crack_fraction: np.ndarray, thresholds: DamageThresholds = DamageThresholds()) -> np.ndarray:
    """Damage class string per particle (``least``/``mild``/``severe``)."""
    cf = np.asarray(crack_fraction, dtype=float)
    idx = (cf >= thresholds.mild).astype(int) + (cf >= thresholds.severe).astype(int)
    return np.asarray(CLASSES, dtype=object)[idx]


def depth_of(z_um: np.ndarray, z_extent_um: float, face: str = "zmax") -> np.ndarray:
    """Depth (µm) of centroids from the ``zmax`` or ``zmin`` face of a volume spanning [0, z_extent]."""
    if face == "zmax":
        return z_extent_um - np.asarray(z_um, dtype=float)
    if face == "zmin":
        return np.asarray(z_um, dtype=float).copy()
    raise InputError(f"--depth-face {face!r}: choose zmax or zmin")


def class_counts(classes: np.ndarray) -> dict[str, int]:
    """Number of particles per damage class."""
    return {c: int(np.sum(np.asarray(classes) == c)) for c in CLASSES}


def depth_profile(depth_um: np.ndarray, classes: np.ndarray, total_depth_um: float,
                  window_um: float = 10.0) -> list[tuple[float, float, int, float, float, float]]:
    """Class fractions per depth window (rows of :data:`PROFILE_HEADER`).

    Windows are [k·w, (k+1)·w) from depth 0 to ``total_depth_um`` (the last may be shorter);
    fractions are NaN in an empty window.
    """
    if not window_um > 0:
        raise InputError(f"--depth-window {window_um}: must be positive (µm)")
    depth = np.asarray(depth_um, dtype=float)
    classes = np.asarray(classes)
    n_win = max(1, int(np.ceil(total_depth_um / window_um - 1e-9)))
    rows = []
    for k in range(n_win):
        lo, hi = k * window_um, min((k + 1) * window_um, total_depth_um)
        last = k == n_win - 1
        sel = (depth >= lo) & ((depth <= hi) if last else (depth < hi))
        n = int(sel.sum())
        fr = [float(np.sum(classes[sel] == c)) / n if n else float("nan") for c in CLASSES]
        rows.append((float(lo), float(hi), n, fr[0], fr[1], fr[2]))
    return rows
