"""Weak forms of the microstructure-resolved half-cell (docs/physics.md §2.1–2.5).

All functions are pure: they take UFL objects (unknowns, test functions, coefficients, measures)
and return UFL expressions or forms; nothing is assembled here. Units are SI. Sign conventions:
``i_n > 0`` is anodic (delithiation, charge); the applied current density ``i_app > 0`` enters
the electrode at the current collector (charge); ``i_Li = i_e·n_out > 0`` at the Li-metal face
means plating (charge).
"""

from __future__ import annotations

from typing import Any

import ufl

from femsim.parameters import FARADAY, GAS_CONSTANT


def overpotential(solid_potential: Any, electrolyte_potential: Any, open_circuit_potential: Any) -> Any:
    """η = φ_s − φ_e − U (V)."""
    return solid_potential - electrolyte_potential - open_circuit_potential


def butler_volmer(exchange_current: Any, eta: Any, temperature: float, alpha_a: float, alpha_c: float) -> Any:
    """Faradaic current density i = i0 [exp(α_a F η/RT) − exp(−α_c F η/RT)] (A/m², anodic > 0)."""
    f = FARADAY / (GAS_CONSTANT * temperature)
    return exchange_current * (ufl.exp(alpha_a * f * eta) - ufl.exp(-alpha_c * f * eta))


def solid_diffusion_residual(c: Any, c_old: Any, v: Any, dt: Any, diffusivity: Any, dx: Any) -> Any:
    """Bulk part of ∂c/∂t − ∇·(D∇c) = 0 in the particles (mol/s per test-function unit)."""
    return (c - c_old) / dt * v * dx + diffusivity * ufl.inner(ufl.grad(c), ufl.grad(v)) * dx


def interface_li_flux(reaction_current: Any, wetted_fraction: float) -> Any:
    """Li flux leaving the particle through its surface, f_w i_n / F (mol m⁻² s⁻¹)."""
    return wetted_fraction * reaction_current / FARADAY


def electronic_conduction_residual(phi: Any, w: Any, conductivity: Any, dx: Any) -> Any:
    """∫ σ ∇φ_s · ∇w (the bulk part of ∇·(σ∇φ_s) = 0), A."""
    return conductivity * ufl.inner(ufl.grad(phi), ufl.grad(w)) * dx


def electrolyte_current(c_e: Any, phi_e: Any, conductivity: Any, transference: Any, thermodynamic: Any,
                        temperature: float) -> Any:
    """Concentrated-solution ionic current density (A/m²):

    i_e = −κ ∇φ_e + (2RT/F) κ (1 − t₊) TDF ∇ln c_e.
    """
    rt_f = GAS_CONSTANT * temperature / FARADAY
    return (-conductivity * ufl.grad(phi_e)
            + 2.0 * rt_f * conductivity * (1.0 - transference) * thermodynamic * ufl.grad(c_e) / c_e)


def electrolyte_salt_residual(c_e: Any, c_e_old: Any, v: Any, dt: Any, porosity: Any, diffusivity: Any,
                              transference: Any, current: Any, dx: Any) -> Any:
    """Bulk part of ε∂c/∂t + ∇·N₊ = 0 with the cation flux N₊ = −D_eff∇c + t₊ i_e/F (mol/s).

    Written in conservative form, it is exact for a concentration-dependent t₊; the interface and
    Li-metal terms add ``−∫ f_w i_n/F v dS`` and ``+∫ i_Li/F v ds``.
    """
    return ((porosity * (c_e - c_e_old) / dt) * v * dx
            + diffusivity * ufl.inner(ufl.grad(c_e), ufl.grad(v)) * dx
            - transference / FARADAY * ufl.inner(current, ufl.grad(v)) * dx)


def electrolyte_charge_residual(current: Any, q: Any, dx: Any) -> Any:
    """Bulk part of ∇·i_e = 0: −∫ i_e·∇q (A); boundary terms −∫ f_w i_n q dS + ∫ i_Li q ds."""
    return -ufl.inner(current, ufl.grad(q)) * dx


def lithium_metal_current(exchange_current: Any, electrolyte_potential: Any, temperature: float,
                          alpha: float) -> Any:
    """i_Li = i_e·n_out at the Li-metal face (A/m², plating > 0): −i_BV(η_Li), η_Li = 0 − φ_e."""
    return -butler_volmer(exchange_current, -electrolyte_potential, temperature, alpha, 1.0 - alpha)


def bruggeman(porosity: float, exponent: float) -> float:
    """Transport efficiency ε^b of a porous phase (-)."""
    return porosity**exponent
