"""How the damage of a particle changes its electrochemistry (docs/damage.md, "Feedback").

Three per-particle factors, each switchable in ``[damage]`` and refreshed at every cycle end
from the damage state (:class:`femsim.model.damage.ParticleDamage`); all are exactly 1 (or G_0)
for an undamaged particle, so zero damage parameters leave the run unchanged:

* **crack wetting** – electrolyte-filled cracks add reactive area. Geometry (PyBaMM's cracking
  submodel, ``BaseMechanics._get_crack_surface_variables``, Deshpande et al. 2012): ρ_cr planar
  cracks per unit particle surface, each a slot of surface width w_cr and depth l with two faces,
  so the crack surface per unit particle surface is 2 ρ_cr w_cr l (PyBaMM's roughness − 1). The
  cracks present at assembly (l_0) are taken as part of the reference (calibrated) reactive area;
  the wetted part f_wet of the area the cracks *gained* multiplies the Butler–Volmer flux:

      A_p = 1 + f_wet · 2 ρ_cr w_cr (l − l_0).

* **detachment** – damage lowers the electronic contact between the particle and the
  carbon-binder matrix: a contact conductance on the particle/matrix interface,

      G_p = G_0 · max(0, 1 − δ_p / δ_iso),   δ_p = φ(l) − φ(l_0)

  (δ the crack fraction the particle gained, :meth:`ParticleDamage.crack_fraction`; Weibull:
  δ = F_N). δ_p ≥ δ_iso isolates the particle (G_p = 0): it carries no net current and its
  lithium is stranded, not lost. G_0 large recovers the perfect contact of the undamaged model.

* **stress-driven loss of active material** (PyBaMM's ``LossActiveMaterial`` "stress" option,
  Ai et al. 2020): dε/dt = −β (σ_h⁺/σ_crit)^m with σ_h the surface hydrostatic stress. femsim
  applies the rate to the particle's active fraction a_p (1 → 0) once per cycle with the cycle's
  peak driver held over the cycle's duration t_cycle (an upper bound of PyBaMM's time integral):
  a ← max(0, a − β t_cycle (σ_h⁺/σ_crit)^m), σ_h = (2/3) σ_t on a traction-free surface
  (σ_r = 0, σ_θ = σ_φ = σ_t). The inactive part keeps its lithium out of the cell (PyBaMM's "loss
  of lithium due to loss of active material"): a_p scales the particle's capacity and its
  current, not its concentration.
"""

from __future__ import annotations

import dataclasses

import numpy as np

#: per-particle feedback factors (columns of damage.csv, fields of the coupled problem)
FACTOR_COLUMNS = ("area_factor", "contact_conductance_S_m2", "active_fraction")


@dataclasses.dataclass(frozen=True)
class FeedbackLaw:
    """Switches and parameters of the three feedbacks (SI). Defaults: every feedback off."""

    crack_wetting: bool = False
    wetted_crack_fraction: float = 1.0
    detachment: bool = False
    contact_conductance_S_m2: float = 1e9
    isolation_damage: float = 0.10
    loss_of_active_material: bool = False
    lam_rate_per_s: float = 2.78e-13
    lam_exponent: float = 2.0
    lam_critical_stress_Pa: float = 375e6

    @property
    def any(self) -> bool:
        return self.crack_wetting or self.detachment or self.loss_of_active_material


def wetting_area_factor(crack_length_m: np.ndarray, initial_length_m: float, rho_cr_per_m2: float, w_cr_m: float,
                        wetted_fraction: float) -> np.ndarray:
    """A_p = 1 + f_wet · 2 ρ_cr w_cr (l − l_0) (module docstring)."""
    gained = np.maximum(np.asarray(crack_length_m, dtype=float) - initial_length_m, 0.0)
    return 1.0 + wetted_fraction * 2.0 * rho_cr_per_m2 * w_cr_m * gained


def contact_conductance(damage_gained: np.ndarray, law: FeedbackLaw) -> np.ndarray:
    """G_p = G_0 · max(0, 1 − δ/δ_iso) (S/m²)."""
    delta = np.maximum(np.asarray(damage_gained, dtype=float), 0.0)
    return law.contact_conductance_S_m2 * np.clip(1.0 - delta / law.isolation_damage, 0.0, 1.0)


def lam_active_fraction(active_fraction: np.ndarray, sigma_t_Pa: np.ndarray, duration_s: float,
                        law: FeedbackLaw, n_cycles: int = 1) -> np.ndarray:
    """a after ``n_cycles`` cycles of length ``duration_s`` at the surface tensile stress σ_t."""
    sigma_h = (2.0 / 3.0) * np.maximum(np.nan_to_num(np.asarray(sigma_t_Pa, dtype=float), nan=0.0), 0.0)
    loss = law.lam_rate_per_s * duration_s * (sigma_h / law.lam_critical_stress_Pa) ** law.lam_exponent
    return np.maximum(np.asarray(active_fraction, dtype=float) - n_cycles * loss, 0.0)
