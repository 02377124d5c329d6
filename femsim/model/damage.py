"""Damage per particle that accumulates over cycles (docs/damage.md).

Two damage laws, both driven by femsim's resolved per-particle stress of each cycle (the cycle
peak of the per-particle metrics of :mod:`femsim.model.stress_metrics`):

* ``paris``: Paris-law crack growth per load cycle (Deshpande et al. 2012; PyBaMM's
  "swelling and cracking" submodel with the Ai et al. 2020 parameters),

      ΔK = b σ_t √(π l),   dl/dN = k_cr ΔK^m   (σ_t < 0 grows nothing),

  with σ_t the cycle peak of ``sigma_1_surface_p95_Pa`` (Pa). For a cycle of amplitude σ_t the
  law integrates in closed form (C = k_cr (b σ_t √π)^m, a = m/2):
  l^(1−a) = l_0^(1−a) + (1−a) C N (a ≠ 1), l = l_0 e^(C N) (a = 1); a crack that would reach
  the particle radius R in a cycle stops at R (the particle is cracked through).
  PyBaMM writes the same law as a rate, dl/dt = k_cr ΔK^m / t0_cr with t0_cr = 3600 s, i.e. one
  load cycle per hour; femsim applies k_cr per cycle of the protocol.
* ``weibull``: cumulative weakest-link failure over cycles, F_N = 1 − Π_n (1 − P_f,n), with P_f,n
  the cycle peak of ``failure_probability`` (independent cycles).

Crack fraction (the quantity ``femsim segment`` classifies): for ``paris`` the volume fraction of
the particle its cracks have penetrated, φ = 1 − (1 − l/R)³ (a shell of depth l); for
``weibull`` φ = F_N. Classes: :func:`femsim.segmentation.damage.classify` with the same
thresholds (least < 0.03 ≤ mild < 0.10 ≤ severe), so a simulated and a measured population are
binned by one rule. Crack area per particle (PyBaMM's roughness): A_cr = 2 ρ_cr w_cr l · 4πR².
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np

from femsim.model import damage_feedback as fb
from femsim.segmentation.damage import DamageThresholds, classify

#: damage.csv columns (one row per cycle and particle)
DAMAGE_HEADER = ("cycle", "particle_id", "sigma_t_Pa", "failure_probability_cycle", "crack_length_m",
                 "crack_area_m2", "crack_fraction", "class", *fb.FACTOR_COLUMNS)


@dataclasses.dataclass(frozen=True)
class DamageLaw:
    """Damage-law parameters (SI). Defaults: PyBaMM's Ai2020 positive-electrode set.

    ``k_cr`` m/cycle/(Pa·m^0.5)^m ("Positive electrode cracking rate", 3.9e-20 at the reference
    temperature), ``m_cr`` and ``b_cr`` ("Paris' law constant m/b"), ``l_cr_0_m`` ("initial crack
    length"), ``w_cr_m`` ("initial crack width"), ``rho_cr_per_m2`` ("number of cracks per unit
    area").
    """

    model: str = "paris"
    k_cr: float = 3.9e-20
    m_cr: float = 2.2
    b_cr: float = 1.12
    l_cr_0_m: float = 2e-8
    w_cr_m: float = 1.5e-8
    rho_cr_per_m2: float = 3.18e15
    thresholds: DamageThresholds = DamageThresholds()
    feedback: fb.FeedbackLaw = dataclasses.field(default_factory=fb.FeedbackLaw)


def paris_growth(length_m: np.ndarray, sigma_t_Pa: np.ndarray, n_cycles: float, radius_m: np.ndarray,
                 law: DamageLaw) -> np.ndarray:
    """Crack length (m) after ``n_cycles`` at constant amplitude ``sigma_t_Pa`` (exact integral)."""
    l0 = np.asarray(length_m, dtype=float)
    sigma = np.maximum(np.nan_to_num(np.asarray(sigma_t_Pa, dtype=float), nan=0.0), 0.0)
    radius = np.broadcast_to(np.asarray(radius_m, dtype=float), l0.shape)
    rate = law.k_cr * (law.b_cr * sigma * math.sqrt(math.pi)) ** law.m_cr * float(n_cycles)
    a = 0.5 * law.m_cr
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        if abs(a - 1.0) < 1e-12:
            grown = l0 * np.exp(rate)
        else:
            base = l0 ** (1.0 - a) + (1.0 - a) * rate
            grown = np.where(base > 0, np.abs(base) ** (1.0 / (1.0 - a)), np.inf)
    grown = np.where(rate > 0, grown, l0)
    return np.minimum(grown, np.maximum(radius, l0))


def paris_rate(length_m: np.ndarray, sigma_t_Pa: np.ndarray, law: DamageLaw) -> np.ndarray:
    """dl/dN (m/cycle) of the Paris law at crack length ``length_m``."""
    sigma = np.maximum(np.asarray(sigma_t_Pa, dtype=float), 0.0)
    return law.k_cr * (law.b_cr * sigma * np.sqrt(np.pi * np.asarray(length_m, dtype=float))) ** law.m_cr


class ParticleDamage:
    """The damage state of every particle (owner of that state) and its history per cycle.

    Args:
        particle_ids: ids (slot order of the particle table).
        radius_m: particle radii (m).
        law: :class:`DamageLaw`.
    """

    def __init__(self, particle_ids: np.ndarray, radius_m: np.ndarray, law: DamageLaw = DamageLaw()):
        self.ids = np.asarray(particle_ids, dtype=int)
        self.radius_m = np.asarray(radius_m, dtype=float)
        self.law = law
        self.crack_length_m = np.full(len(self.ids), law.l_cr_0_m)
        self.survival = np.ones(len(self.ids))
        self.active_fraction = np.ones(len(self.ids))
        self.cycles_done = 0
        self.rows: list[tuple] = []

    def crack_fraction(self, crack_length_m: np.ndarray | None = None) -> np.ndarray:
        """φ per particle (module docstring), of the present crack length or of ``crack_length_m``."""
        if self.law.model == "weibull":
            return 1.0 - self.survival if crack_length_m is None else np.zeros(len(self.ids))
        length = self.crack_length_m if crack_length_m is None else crack_length_m
        depth = np.clip(length / self.radius_m, 0.0, 1.0)
        return 1.0 - (1.0 - depth) ** 3

    def factors(self) -> dict[str, np.ndarray]:
        """The feedback factors of the present state (:mod:`femsim.model.damage_feedback`);
        1, G_0 and 1 for a feedback that is off."""
        law, feedback, n = self.law, self.law.feedback, len(self.ids)
        area = np.ones(n)
        if feedback.crack_wetting and law.model == "paris":
            area = fb.wetting_area_factor(self.crack_length_m, law.l_cr_0_m, law.rho_cr_per_m2, law.w_cr_m,
                                          feedback.wetted_crack_fraction)
        conductance = np.full(n, feedback.contact_conductance_S_m2)
        if feedback.detachment:
            gained = self.crack_fraction() - self.crack_fraction(np.full(n, law.l_cr_0_m))
            conductance = fb.contact_conductance(gained, feedback)
        return dict(zip(fb.FACTOR_COLUMNS, (area, conductance, self.active_fraction.copy())))

    def crack_area_m2(self) -> np.ndarray:
        """Crack surface per particle (m²): 2 ρ_cr w_cr l · 4πR²."""
        return 2.0 * self.law.rho_cr_per_m2 * self.law.w_cr_m * self.crack_length_m * 4.0 * np.pi * self.radius_m ** 2

    def increments(self, sigma_t_Pa: np.ndarray, failure_probability: np.ndarray,
                   cycle_duration_s: float = 0.0) -> np.ndarray:
        """Per-cycle damage increment of these amplitudes at the reference state (initial crack,
        intact, fully active), one vector: [Δl/R (Paris), P_f (Weibull), Δa (LAM)] per particle."""
        sigma = np.nan_to_num(np.asarray(sigma_t_Pa, dtype=float), nan=0.0)
        n = len(self.ids)
        growth = paris_rate(np.full(n, self.law.l_cr_0_m), sigma, self.law) / self.radius_m
        pf = np.clip(np.nan_to_num(np.asarray(failure_probability, dtype=float), nan=0.0), 0.0, 1.0)
        lam = np.zeros(n)
        if self.law.feedback.loss_of_active_material:
            lam = 1.0 - fb.lam_active_fraction(np.ones(n), sigma, cycle_duration_s, self.law.feedback)
        return np.concatenate([growth if self.law.model == "paris" else np.zeros(n), pf, lam])

    def classes(self) -> np.ndarray:
        return classify(self.crack_fraction(), self.law.thresholds)

    def advance(self, sigma_t_Pa: np.ndarray, failure_probability: np.ndarray, n_cycles: int = 1,
                cycle_duration_s: float = 0.0) -> None:
        """Apply ``n_cycles`` cycles of the given per-particle amplitudes and record one row per
        particle (the state after the last of them). ``cycle_duration_s``: the length of one
        cycle (stress-driven loss of active material)."""
        sigma = np.asarray(sigma_t_Pa, dtype=float)
        pf = np.clip(np.nan_to_num(np.asarray(failure_probability, dtype=float), nan=0.0), 0.0, 1.0)
        self.crack_length_m = paris_growth(self.crack_length_m, sigma, n_cycles, self.radius_m, self.law)
        self.survival = self.survival * (1.0 - pf) ** n_cycles
        if self.law.feedback.loss_of_active_material:
            self.active_fraction = fb.lam_active_fraction(self.active_fraction, sigma, cycle_duration_s,
                                                          self.law.feedback, n_cycles)
        self.cycles_done += int(n_cycles)
        phi, area, cls = self.crack_fraction(), self.crack_area_m2(), self.classes()
        factors = list(self.factors().values())
        for k, pid in enumerate(self.ids):
            self.rows.append((self.cycles_done, int(pid), float(sigma[k]), float(pf[k]), float(self.crack_length_m[k]),
                              float(area[k]), float(phi[k]), str(cls[k]), *(float(f[k]) for f in factors)))

    def to_dict(self) -> dict:
        return {"crack_length_m": self.crack_length_m.tolist(), "survival": self.survival.tolist(),
                "active_fraction": self.active_fraction.tolist(), "cycles_done": self.cycles_done,
                "rows": [list(r) for r in self.rows]}

    def restore(self, saved: dict) -> None:
        self.crack_length_m = np.array(saved["crack_length_m"], dtype=float)
        self.survival = np.array(saved["survival"], dtype=float)
        self.active_fraction = np.array(saved.get("active_fraction", np.ones(len(self.ids))), dtype=float)
        self.cycles_done = int(saved["cycles_done"])
        self.rows = [tuple(r) for r in saved["rows"]]


@dataclasses.dataclass
class JumpReport:
    """What :class:`CycleJumps` did: cycles requested and simulated, and each jump taken."""

    cycles_requested: int
    cycles_simulated: int = 0
    jumps: list[tuple[int, int]] = dataclasses.field(default_factory=list)  # (first cycle jumped, cycles jumped)


class CycleJumps:
    """Cycle acceleration with an error control on the per-cycle damage increment (owner of its state).

    After every simulated cycle, :meth:`after_cycle` gets the cycle's damage increment at the
    reference state (:meth:`ParticleDamage.increments`: the growth the cycle's amplitudes give
    an initial crack, the cycle's failure probability and active-material loss; the growth of the
    increment with the crack length itself is integrated exactly by the jump) and returns k, the
    cycles to extrapolate before the next simulated one. When two consecutive simulated cycles' increments agree within
    ``tolerance`` (max |Δ_c − Δ_{c−1}| / max |Δ_{c−1}|), the damage is extrapolated over k cycles
    (in a run: with the amplitudes extrapolated linearly from the last two simulated cycles,
    :func:`femsim.model.damage_history.replay`; here: with the last ones); k doubles up to
    ``max_jump`` while the next simulated cycle agrees and falls back to 0 (every cycle simulated)
    when it does not. The last requested cycle is always simulated.
    """

    def __init__(self, cycles_requested: int, max_jump: int = 8, tolerance: float = 0.02):
        self.report = JumpReport(cycles_requested=int(cycles_requested))
        self.max_jump, self.tolerance = int(max_jump), float(tolerance)
        self.previous: np.ndarray | None = None
        self.jump = 1

    def after_cycle(self, increment: np.ndarray, cycles_done: int) -> int:
        self.report.cycles_simulated += 1
        increment = np.asarray(increment, dtype=float)
        left = self.report.cycles_requested - int(cycles_done) - 1  # the last cycle is simulated
        k = 0
        if self.previous is not None and left > 0 and self.max_jump > 1:
            scale = float(np.max(np.abs(self.previous)))
            change = float(np.max(np.abs(increment - self.previous)))
            if change <= self.tolerance * scale or (scale == 0.0 and change == 0.0):
                k = min(self.jump, left, self.max_jump)
                self.report.jumps.append((int(cycles_done) + 1, k))
                self.jump = min(2 * self.jump, self.max_jump)
            else:
                self.jump = 1
        self.previous = increment
        return k

    def to_dict(self) -> dict:
        return {"report": dataclasses.asdict(self.report), "jump": self.jump,
                "previous": None if self.previous is None else self.previous.tolist()}

    def restore(self, saved: dict) -> None:
        r = saved["report"]
        self.report = JumpReport(r["cycles_requested"], r["cycles_simulated"], [tuple(j) for j in r["jumps"]])
        self.jump = int(saved["jump"])
        self.previous = None if saved["previous"] is None else np.array(saved["previous"], dtype=float)


def accelerate(damage: ParticleDamage, n_cycles: int, simulate_cycle: Callable[[ParticleDamage], tuple],
               max_jump: int = 8, tolerance: float = 0.02) -> JumpReport:
    """Run ``n_cycles`` with :class:`CycleJumps`: ``simulate_cycle(damage)`` runs one resolved cycle
    with the present damage and returns its per-particle ``(sigma_t_Pa, failure_probability)``."""
    jumps = CycleJumps(n_cycles, max_jump, tolerance)
    while damage.cycles_done < n_cycles:
        sigma, pf = simulate_cycle(damage)
        damage.advance(sigma, pf, 1)
        k = jumps.after_cycle(damage.increments(sigma, pf), damage.cycles_done)
        if k:
            damage.advance(sigma, pf, k)
    return jumps.report
