"""Per-particle stress of each cycle → damage tables of a run (docs/damage.md).

:class:`CycleStressHistory` owns the per-particle cycle peaks of ``sigma_1_surface_p95_Pa`` (the
Paris-law σ_t) and ``failure_probability`` (the Weibull P_f,n) over the mechanics solves of each
cycle. :func:`damage_tables` replays the completed cycles through
:class:`femsim.model.damage.ParticleDamage` (feedback off: the damage does not change the
electrochemistry) and gives the rows of ``damage.csv``, ``damage_profile.csv`` (class fractions
per cycle in depth windows from the separator, :func:`femsim.segmentation.damage.depth_profile`)
and ``damage_network.csv`` (3-nearest-neighbour edges between the severe particles of the last
cycle, :func:`femsim.segmentation.network.knn_edges`).
"""

from __future__ import annotations

import numpy as np

from femsim.model.damage import DAMAGE_HEADER, DamageLaw, ParticleDamage
from femsim.segmentation.damage import PROFILE_HEADER, depth_profile
from femsim.segmentation.network import NETWORK_HEADER, knn_edges

DRIVERS = ("sigma_1_surface_p95_Pa", "failure_probability")
PROFILE_COLUMNS = ("cycle", *PROFILE_HEADER)
NETWORK_COLUMNS = ("cycle", *NETWORK_HEADER)


class CycleStressHistory:
    """Per-cycle, per-particle maxima of :data:`DRIVERS` (owner of that state)."""

    def __init__(self, n_particles: int):
        self.n = n_particles
        self.peaks: dict[int, dict[str, np.ndarray]] = {}

    def update(self, cycle: int, stress: dict[str, np.ndarray]) -> None:
        peaks = self.peaks.setdefault(int(cycle), {k: np.full(self.n, -np.inf) for k in DRIVERS})
        for name in DRIVERS:
            np.fmax(peaks[name], np.asarray(stress[name], dtype=float), out=peaks[name])

    def to_dict(self) -> dict[str, dict[str, list[float]]]:
        return {str(c): {k: v.tolist() for k, v in p.items()} for c, p in self.peaks.items()}

    def restore(self, saved: dict) -> None:
        self.peaks = {int(c): {k: np.array(v, dtype=float) for k, v in p.items()} for c, p in saved.items()}


def damage_tables(history: CycleStressHistory, cycles_completed: int, ids: np.ndarray, radius_m: np.ndarray,
                  depth_um: np.ndarray, centroid_um: np.ndarray, thickness_um: float, law: DamageLaw,
                  window_um: float = 10.0) -> dict[str, tuple[tuple[str, ...], list]]:
    """file name → (header, rows) of the damage outputs after ``cycles_completed`` cycles."""
    damage = ParticleDamage(ids, radius_m, law)
    profile, network = [], []
    for cycle in range(1, cycles_completed + 1):
        peaks = history.peaks.get(cycle)
        if peaks is None:
            continue
        sigma = np.where(np.isfinite(peaks[DRIVERS[0]]), peaks[DRIVERS[0]], 0.0)
        pf = np.where(np.isfinite(peaks[DRIVERS[1]]), peaks[DRIVERS[1]], 0.0)
        damage.advance(sigma, pf, 1)
        classes = damage.classes()
        profile += [(cycle, *row) for row in depth_profile(depth_um, classes, thickness_um, window_um)]
    if damage.cycles_done:
        severe = np.asarray(damage.classes()) == "severe"
        network = [(damage.cycles_done, *e) for e in knn_edges(np.asarray(ids)[severe], centroid_um[severe], k=3)]
    return {"damage.csv": (DAMAGE_HEADER, damage.rows), "damage_profile.csv": (PROFILE_COLUMNS, profile),
            "damage_network.csv": (NETWORK_COLUMNS, network)}
