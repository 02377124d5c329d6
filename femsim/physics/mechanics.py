"""Small-strain elasticity with a chemical (intercalation) strain: weak forms and stress measures.

Pure functions (docs/physics.md §3, §2.1, §6.2), SI units throughout:

* chemical strain ε_ch = e_ch I with e_ch = Ω(c − c_ref)/3 (linear) or ΔV/V(x)/3 − ΔV/V(x_ref)/3
  (NMC622 table), e_ch dimensionless, Ω in m³/mol, c in mol/m³;
* σ = λ tr(ε − ε_ch) I + 2μ(ε − ε_ch) = λ tr(ε) I + 2μ ε − 3K e_ch I (Pa), K = λ + 2μ/3;
* von Mises σ_eq = sqrt(3/2 s:s), hydrostatic σ_h = tr σ / 3, maximum principal stress σ_1;
* stress-enhanced Li flux N = −D(∇c − Ω c/(R T) ∇σ_h) (mol m⁻² s⁻¹).

The UFL helpers accept UFL expressions, the ``*_np`` helpers arrays of stress tensors of shape
``(..., 3, 3)`` (vectorised, no Python loops over cells).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from femsim.units import GAS_CONSTANT


# --- material constants ---------------------------------------------------------------------
def lame(youngs_modulus: Any, poisson_ratio: Any) -> tuple[Any, Any]:
    """Lamé constants (λ, μ) in Pa from E (Pa) and ν (-)."""
    E, nu = youngs_modulus, poisson_ratio
    return E * nu / ((1 + nu) * (1 - 2 * nu)), E / (2 * (1 + nu))


def bulk_modulus(youngs_modulus: Any, poisson_ratio: Any) -> Any:
    """K = E / (3(1 − 2ν)) in Pa."""
    return youngs_modulus / (3 * (1 - 2 * poisson_ratio))


def theta_m(youngs_modulus: float, poisson_ratio: float, partial_molar_volume: float, temperature: float) -> float:
    """θ_M = (Ω/RT)·2ΩE/(9(1−ν)) in m³/mol: D_eff = D(1 + θ_M c) in a free sphere (docs/physics.md §3)."""
    om = partial_molar_volume
    return om / (GAS_CONSTANT * temperature) * 2 * om * youngs_modulus / (9 * (1 - poisson_ratio))


# --- chemical strain (nodal values, numpy) ----------------------------------------------------
def linear_chemical_strain(c: np.ndarray, c_ref: float, partial_molar_volume: float) -> np.ndarray:
    """e_ch = Ω (c − c_ref)/3 (dimensionless) from c in mol/m³."""
    return partial_molar_volume * (np.asarray(c) - c_ref) / 3.0


def table_chemical_strain(c: np.ndarray, c_ref: float, c_max: float, volume_change: Any) -> np.ndarray:
    """e_ch = [ΔV/V(x) − ΔV/V(x_ref)]/3 with x = c/c_max; ``volume_change`` maps x to ΔV/V (fraction)."""
    x = np.asarray(c) / c_max
    return (np.asarray(volume_change(x)) - float(volume_change(c_ref / c_max))) / 3.0


# --- UFL forms ----------------------------------------------------------------------------------
def strain(u: Any) -> Any:
    """Small strain ε(u) = sym(∇u)."""
    import ufl

    return ufl.sym(ufl.grad(u))


def stress(u: Any, e_ch: Any, youngs_modulus: Any, poisson_ratio: Any) -> Any:
    """Cauchy stress σ = λ tr(ε) I + 2μ ε − 3K e_ch I (Pa); e_ch is the scalar chemical strain."""
    import ufl

    lmbda, mu = lame(youngs_modulus, poisson_ratio)
    eps = strain(u)
    identity = ufl.Identity(len(u))
    return (
        lmbda * ufl.tr(eps) * identity
        + 2 * mu * eps
        - 3 * bulk_modulus(youngs_modulus, poisson_ratio) * e_ch * identity
    )


def elasticity_bilinear(u: Any, v: Any, youngs_modulus: Any, poisson_ratio: Any, dx: Any) -> Any:
    """a(u, v) = ∫ (λ tr ε(u) tr ε(v) + 2μ ε(u):ε(v)) dx (N·m per m² of displacement)."""
    import ufl

    lmbda, mu = lame(youngs_modulus, poisson_ratio)
    return (lmbda * ufl.tr(strain(u)) * ufl.tr(strain(v)) + 2 * mu * ufl.inner(strain(u), strain(v))) * dx


def chemical_load(v: Any, e_ch: Any, youngs_modulus: Any, poisson_ratio: Any, dx: Any) -> Any:
    """L(v) = ∫ 3K e_ch div v dx: the load of the chemical strain (traction-free boundaries)."""
    import ufl

    return 3 * bulk_modulus(youngs_modulus, poisson_ratio) * e_ch * ufl.div(v) * dx


def von_mises(sigma: Any) -> Any:
    """σ_eq = sqrt(3/2 s:s) (UFL), s the deviatoric stress."""
    import ufl

    s = ufl.dev(sigma)
    return ufl.sqrt(1.5 * ufl.inner(s, s))


def hydrostatic(sigma: Any) -> Any:
    """σ_h = tr σ / 3 (UFL)."""
    import ufl

    return ufl.tr(sigma) / 3


def stress_enhanced_flux(c: Any, sigma_h: Any, diffusivity: Any, partial_molar_volume: float,
                         temperature: float) -> Any:
    """Li flux N = −D (∇c − Ω c/(R T) ∇σ_h) in mol m⁻² s⁻¹ (Zhang et al. 2007; docs/physics.md §2.1).

    ``sigma_h`` must have a gradient: a continuous (P1) hydrostatic stress, e.g. the L2 projection
    of tr σ/3. In the weak form the diffusion term becomes ``−inner(N, grad(v)) dx``.
    """
    import ufl

    return -diffusivity * (ufl.grad(c) - partial_molar_volume * c / (GAS_CONSTANT * temperature) * ufl.grad(sigma_h))


def stress_enhanced_residual(c: Any, sigma_h: Any, v: Any, diffusivity: Any, partial_molar_volume: float,
                             temperature: float, dx: Any) -> Any:
    """The extra term of the c_s residual for the stress-enhanced flux (add to the Fickian residual).

    With the residual ∫ ∂c/∂t v − N·∇v and N = −D∇c + D Ω c/(RT) ∇σ_h this is
    ``−∫ D Ω c/(RT) ∇σ_h·∇v dx`` (mol/s per unit test function). ``sigma_h`` (Pa): a continuous
    field, e.g. ``MechanicsSolver.fields()["sigma_hydrostatic_Pa"]`` (lagged by one solve) or an
    unknown of a monolithic system.
    """
    import ufl

    return -diffusivity * partial_molar_volume * c / (GAS_CONSTANT * temperature) * ufl.inner(
        ufl.grad(sigma_h), ufl.grad(v)) * dx


# --- stress measures on arrays -----------------------------------------------------------------
def von_mises_np(sigma: np.ndarray) -> np.ndarray:
    """σ_eq of stress tensors of shape (..., 3, 3)."""
    s = sigma - np.trace(sigma, axis1=-2, axis2=-1)[..., None, None] * np.eye(3) / 3.0
    return np.sqrt(1.5 * np.einsum("...ij,...ij->...", s, s))


def hydrostatic_np(sigma: np.ndarray) -> np.ndarray:
    """σ_h = tr σ/3 of stress tensors of shape (..., 3, 3)."""
    return np.trace(sigma, axis1=-2, axis2=-1) / 3.0


def max_principal_np(sigma: np.ndarray) -> np.ndarray:
    """Largest eigenvalue σ_1 of symmetric stress tensors of shape (..., 3, 3).

    Closed form (trigonometric solution of the characteristic cubic; faster than
    ``numpy.linalg.eigvalsh`` on large batches, agreeing to ~1e-14 of |σ|).
    """
    if sigma.size == 0:
        return np.zeros(sigma.shape[:-2])
    a = 0.5 * (sigma + np.swapaxes(sigma, -1, -2))
    q = np.trace(a, axis1=-2, axis2=-1) / 3.0
    off = a[..., 0, 1] ** 2 + a[..., 0, 2] ** 2 + a[..., 1, 2] ** 2
    dev = a - q[..., None, None] * np.eye(3)
    p = np.sqrt(((dev[..., 0, 0] ** 2 + dev[..., 1, 1] ** 2 + dev[..., 2, 2] ** 2) + 2.0 * off) / 6.0)
    safe = np.where(p > 0, p, 1.0)
    b = dev / safe[..., None, None]
    det = (b[..., 0, 0] * (b[..., 1, 1] * b[..., 2, 2] - b[..., 1, 2] * b[..., 2, 1])
           - b[..., 0, 1] * (b[..., 1, 0] * b[..., 2, 2] - b[..., 1, 2] * b[..., 2, 0])
           + b[..., 0, 2] * (b[..., 1, 0] * b[..., 2, 1] - b[..., 1, 1] * b[..., 2, 0]))
    r = np.clip(det / 2.0, -1.0, 1.0)
    return np.where(p > 0, q + 2.0 * p * np.cos(np.arccos(r) / 3.0), q)


def spherical_components_np(sigma: np.ndarray, points: np.ndarray, centre: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(σ_r, σ_θ) of Cartesian stresses at points around a centre; σ_θ = (tr σ − σ_r)/2."""
    r = points - centre
    n = r / np.maximum(np.linalg.norm(r, axis=-1, keepdims=True), 1e-300)
    sigma_r = np.einsum("...i,...ij,...j->...", n, sigma, n)
    return sigma_r, 0.5 * (np.trace(sigma, axis1=-2, axis2=-1) - sigma_r)
