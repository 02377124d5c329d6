"""Closed-form reference solutions used by the verification tests (docs/physics.md §6).

Crank's constant-flux sphere (docs/physics.md §6.1) and the diffusion-induced stress of a
traction-free sphere (§6.2), as plain numpy functions of the dimensionless radius x = r/a and time τ = D t / a².
"""

from __future__ import annotations

import functools

import numpy as np
from scipy.optimize import brentq


@functools.lru_cache(maxsize=4)
def sphere_eigenvalues(n_terms: int = 200) -> np.ndarray:
    """Positive roots λ_n of tan λ = λ (4.493409, 7.725252, ...)."""
    f = lambda lam: np.sin(lam) - lam * np.cos(lam)  # noqa: E731
    return np.array([brentq(f, k * np.pi + 1e-9, (k + 0.5) * np.pi - 1e-12) for k in range(1, n_terms + 1)])


def crank_sphere_concentration(x: np.ndarray | float, tau: float, n_terms: int = 200) -> np.ndarray:
    """u = (c − c0)/(F0 a/D) in a sphere under constant surface flux F0 (docs/physics.md §6.1)."""
    lam = sphere_eigenvalues(n_terms)
    x = np.atleast_1d(np.asarray(x, dtype=float))
    out = np.empty_like(x)
    decay = np.exp(-lam**2 * tau)
    for k, xi in enumerate(x):
        if xi < 1e-12:  # centre: sin(λx)/x → λ
            series = np.sum(decay / (lam * np.sin(lam)))
            out[k] = 3 * tau - 3 / 10 - 2 * series
        else:
            series = np.sum(decay * np.sin(lam * xi) / (lam**2 * xi * np.sin(lam)))
            out[k] = 3 * tau + xi**2 / 2 - 3 / 10 - 2 * series
    return out


def crank_sphere_mean_within(x: np.ndarray | float, tau: float, n_terms: int = 200) -> np.ndarray:
    """Mean of u over the ball of radius x (used by the stress solution)."""
    lam = sphere_eigenvalues(n_terms)
    x = np.atleast_1d(np.asarray(x, dtype=float))
    out = np.empty_like(x)
    decay = np.exp(-lam**2 * tau)
    for k, xi in enumerate(x):
        if xi < 1e-12:
            out[k] = crank_sphere_concentration(0.0, tau, n_terms)[0]
            continue
        series = np.sum(decay * (np.sin(lam * xi) - lam * xi * np.cos(lam * xi)) / (lam**4 * xi**3 * np.sin(lam)))
        out[k] = 3 * tau + 3 * xi**2 / 10 - 3 / 10 - 6 * series
    return out
