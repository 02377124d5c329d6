"""Per-particle stress of each cycle → damage tables of a run (docs/damage.md).

:class:`CycleStressHistory` owns the per-particle cycle peaks of ``sigma_1_surface_p95_Pa`` (the
Paris-law σ_t) and ``failure_probability`` (the Weibull P_f,n) over the mechanics solves of each
cycle. :func:`damage_tables` replays the completed cycles (and the cycle jumps) through
:class:`femsim.model.damage.ParticleDamage` and gives the damage state (whose feedback factors the
run puts into the coupled problem) and the rows of ``damage.csv``, ``damage_profile.csv`` (class fractions
per cycle in depth windows from the separator, :func:`femsim.segmentation.damage.depth_profile`)
and ``damage_network.csv`` (3-nearest-neighbour edges between the severe particles of the last
cycle, :func:`femsim.segmentation.network.knn_edges`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from femsim.model.damage import DAMAGE_HEADER, DamageLaw, ParticleDamage
from femsim.model.damage_feedback import FeedbackLaw
from femsim.segmentation.damage import PROFILE_HEADER, depth_profile
from femsim.segmentation.network import NETWORK_HEADER, knn_edges

DRIVERS = ("sigma_1_surface_p95_Pa", "failure_probability")
#: damage.csv columns: :data:`femsim.model.damage.DAMAGE_HEADER` with each particle's centroid and
#: depth from the separator (µm) after its id, so that a cycle's rows are a particle population
#: like a ``femsim segment`` particles.csv (:mod:`femsim.segmentation.simulated`)
DAMAGE_COLUMNS = (*DAMAGE_HEADER[:2], "x_um", "y_um", "z_um", "depth_um", *DAMAGE_HEADER[2:])
PROFILE_COLUMNS = ("cycle", *PROFILE_HEADER)
NETWORK_COLUMNS = ("cycle", *NETWORK_HEADER)


def damage_law(section: Any) -> DamageLaw:
    """The :class:`DamageLaw` (feedbacks included) of a case's ``[damage]`` section."""
    d = section
    feedback = FeedbackLaw(crack_wetting=d.crack_wetting, wetted_crack_fraction=d.wetted_crack_fraction,
                           detachment=d.detachment, contact_conductance_S_m2=d.contact_conductance_S_m2,
                           isolation_damage=d.isolation_damage, loss_of_active_material=d.loss_of_active_material,
                           lam_rate_per_s=d.lam_rate_per_s, lam_exponent=d.lam_exponent,
                           lam_critical_stress_Pa=d.lam_critical_stress_Pa)
    return DamageLaw(model=d.model, k_cr=d.cracking_rate, m_cr=d.paris_m, b_cr=d.paris_b,
                     l_cr_0_m=d.initial_crack_length_m, w_cr_m=d.crack_width_m, rho_cr_per_m2=d.cracks_per_area_per_m2,
                     feedback=feedback)


class CycleStressHistory:
    """Per-cycle, per-particle maxima of :data:`DRIVERS`, each simulated cycle's duration and the
    cycle jumps taken (owner of that state; cycle numbers are the protocol's, jumps included)."""

    def __init__(self, n_particles: int):
        self.n = n_particles
        self.peaks: dict[int, dict[str, np.ndarray]] = {}
        self.duration_s: dict[int, float] = {}
        #: {simulated cycle c: k} — cycles c+1 .. c+k extrapolated with cycle c's amplitudes
        self.jumps: dict[int, int] = {}

    def update(self, cycle: int, stress: dict[str, np.ndarray]) -> None:
        peaks = self.peaks.setdefault(int(cycle), {k: np.full(self.n, -np.inf) for k in DRIVERS})
        for name in DRIVERS:
            np.fmax(peaks[name], np.asarray(stress[name], dtype=float), out=peaks[name])

    def drivers(self, cycle: int) -> tuple[np.ndarray, np.ndarray]:
        """(σ_t, P_f) per particle of a simulated cycle (0 where no mechanics solve saw the particle)."""
        peaks = self.peaks[int(cycle)]
        return tuple(np.where(np.isfinite(peaks[k]), peaks[k], 0.0) for k in DRIVERS)  # type: ignore[return-value]

    def to_dict(self) -> dict[str, Any]:
        return {"peaks": {str(c): {k: v.tolist() for k, v in p.items()} for c, p in self.peaks.items()},
                "duration_s": {str(c): v for c, v in self.duration_s.items()},
                "jumps": {str(c): k for c, k in self.jumps.items()}}

    def restore(self, saved: dict) -> None:
        peaks = saved.get("peaks", saved)  # (snapshots before the jumps stored the peaks alone)
        self.peaks = {int(c): {k: np.array(v, dtype=float) for k, v in p.items()} for c, p in peaks.items()
                      if isinstance(p, dict) and set(p) <= set(DRIVERS)}
        self.duration_s = {int(c): float(v) for c, v in saved.get("duration_s", {}).items()}
        self.jumps = {int(c): int(k) for c, k in saved.get("jumps", {}).items()}


def replay(history: CycleStressHistory, cycles_completed: int, ids: np.ndarray, radius_m: np.ndarray,
           law: DamageLaw, on_cycle: Any = None) -> ParticleDamage:
    """The damage after ``cycles_completed`` cycles: the simulated cycles' amplitudes applied in
    order; over a jump the amplitudes are extrapolated linearly in the cycle number from the
    last two simulated cycles (held constant after the first simulated cycle; σ_t ≥ 0, P_f in
    [0, 1]). ``on_cycle(damage)`` is called after every cycle, the extrapolated ones included."""
    damage = ParticleDamage(ids, radius_m, law)
    previous: tuple[int, np.ndarray, np.ndarray] | None = None
    for cycle in sorted(c for c in history.peaks if c <= cycles_completed):
        sigma, pf = history.drivers(cycle)
        duration = history.duration_s.get(cycle, 0.0)
        damage.cycles_done = cycle - 1
        damage.advance(sigma, pf, 1, duration)
        if on_cycle is not None:
            on_cycle(damage)
        k = history.jumps.get(cycle, 0)
        slope_sigma, slope_pf = np.zeros_like(sigma), np.zeros_like(pf)
        if previous is not None:
            gap = cycle - previous[0]
            slope_sigma, slope_pf = (sigma - previous[1]) / gap, (pf - previous[2]) / gap
        for i in range(1, (k if cycle + k <= cycles_completed else 0) + 1):  # one row per extrapolated cycle
            damage.advance(np.maximum(sigma + i * slope_sigma, 0.0), np.clip(pf + i * slope_pf, 0.0, 1.0), 1,
                           duration)
            if on_cycle is not None:
                on_cycle(damage)
        previous = (cycle, sigma, pf)
    return damage


def damage_tables(history: CycleStressHistory, cycles_completed: int, ids: np.ndarray, radius_m: np.ndarray,
                  depth_um: np.ndarray, centroid_um: np.ndarray, thickness_um: float, law: DamageLaw,
                  window_um: float = 10.0) -> tuple[ParticleDamage, dict[str, tuple[tuple[str, ...], list]]]:
    """The damage state and file name → (header, rows) of the damage outputs after ``cycles_completed`` cycles."""
    profile: list[tuple] = []
    network: list[tuple] = []

    def add_profile(damage: ParticleDamage) -> None:
        rows = depth_profile(depth_um, damage.classes(), thickness_um, window_um)
        profile.extend((damage.cycles_done, *row) for row in rows)

    damage = replay(history, cycles_completed, ids, radius_m, law, add_profile)
    if damage.cycles_done:
        severe = np.asarray(damage.classes()) == "severe"
        network = [(damage.cycles_done, *e) for e in knn_edges(np.asarray(ids)[severe], centroid_um[severe], k=3)]
    where = {int(i): (*map(float, c), float(d)) for i, c, d in zip(ids, np.reshape(centroid_um, (-1, 3)), depth_um)}
    rows = [(*r[:2], *where[int(r[1])], *r[2:]) for r in damage.rows]
    return damage, {"damage.csv": (DAMAGE_COLUMNS, rows), "damage_profile.csv": (PROFILE_COLUMNS, profile),
                    "damage_network.csv": (NETWORK_COLUMNS, network)}
