"""Residual of the coupled half-cell problem (docs/physics.md §2): which terms live on which region, interface and
boundary (the weak forms themselves are in :mod:`femsim.physics.electrochemistry`).

Everything here is a pure function of UFL objects and parameters; nothing is assembled.
The blocks, one per field of :data:`femsim.model.fields.HALFCELL_FIELDS`:

=============================  ============================================================
block                          terms (region / interface / boundary)
=============================  ============================================================
``particle_concentration``     diffusion on PARTICLES; Li flux out on the interface
                               (particle side '+'); stress-enhanced flux on PARTICLES
``solid_potential``            conduction on PARTICLES and on MATRIX; reaction current on
                               the interface ('+'); collector current on CURRENT_COLLECTOR
``electrolyte_concentration``  salt balance on MATRIX and SEPARATOR; Li flux in on the
                               interface (electrolyte side '-'); Li-metal flux on LI_METAL
``electrolyte_potential``      charge balance on MATRIX and SEPARATOR; reaction current on
                               the interface ('-'); Li-metal current on LI_METAL
=============================  ============================================================

Each block is the sum of its terms times a constant weight (per µm³ for the concentrations,
per µm² and reference current for the potentials), so that the blocks' residual norms are
commensurate; the weights change the Newton stopping test, not the solution.

Per-particle damage feedback (docs/damage.md; DG0 functions on the particles, read on the
particle side): :func:`interface_kinetics` takes a ``reactive_area_factor`` A_p (crack wetting:
scales the Butler–Volmer current, the Li flux into the particle included) and an
``active_fraction`` a_p (loss of active material: scales what the particle exchanges with the
electrolyte and the matrix, not its concentration). With detachment
(:data:`femsim.model.fields.DETACHMENT_FIELDS`) the ``solid_potential`` block is the matrix's
(:func:`matrix_potential_terms`) and a ``particle_potential`` block
(:func:`particle_potential_terms`) carries the particles' conduction and reaction, coupled by
the contact current G_p (φ_m − φ_p) on the particle/matrix facets.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from femsim.geometry import tags
from femsim.physics import electrochemistry as ec
from femsim.units import UM

#: length unit of the residual weights (they are per µm³ / µm²)
LENGTH_SCALE = UM
#: contact conductance between the terminal and the collector face in potentiostatic steps (S/m²):
#: 1e-7 Ω m² (1 mΩ cm², negligible next to the electrode's ~10 Ω cm²), comparable to the
#: conduction stiffness σ/h of the matrix at µm elements, so it leaves the Jacobian well conditioned
CONTACT_CONDUCTANCE_S_M2 = 1e7


@dataclasses.dataclass
class Controls:
    """The DOLFINx Constants the residual reads and the run changes between solves."""

    dt: Any  # time step (s)
    applied_current_density: Any  # A/m², > 0 on charge
    current_controlled: Any  # 1: the collector current is prescribed, 0: the voltage is held
    held_voltage: Any  # V, potentiostatic steps


@dataclasses.dataclass
class Kinetics:
    """Interface and counter-electrode currents (UFL expressions)."""

    reaction_current: Any  # i_n on the particle surface (A/m², anodic > 0)
    overpotential: Any  # η = φ_s − φ_e − U (V)
    surface_li_flux: Any  # f_w i_n / F leaving the particle (mol m⁻² s⁻¹)
    lithium_current: Any  # i_Li at the Li-metal face (A/m², plating > 0)
    particle_li_flux: Any = None  # the flux out of the particle's concentration (≠ surface_li_flux with LAM)

    def __post_init__(self) -> None:
        if self.particle_li_flux is None:
            self.particle_li_flux = self.surface_li_flux


@dataclasses.dataclass
class Transport:
    """Effective transport properties of the two electrolyte regions and the matrix (UFL)."""

    matrix_conductivity: Any  # σ of the carbon-binder matrix (S/m)
    salt_diffusivity: dict[int, Any]  # D_eff by region code (m²/s)
    ionic_current: dict[int, Any]  # i_e by region code (A/m²), built once per region
    transference: Any


@dataclasses.dataclass
class Weights:
    """Constant weights of the blocks (see the module docstring)."""

    particle_concentration: float
    electrolyte_concentration: float
    potential: float


@dataclasses.dataclass
class HalfCellResidual:
    """The residual blocks by field name (table order) and the expressions diagnostics reuse."""

    blocks: dict[str, Any]
    kinetics: Kinetics
    wetted_fraction: float


def residual_weights(c_max: float, c_e0: float, current_density_A_m2: float, c_rate: float) -> Weights:
    """1/(c_max µm³), 1/(c_e0 µm³) and 1/(i_1C µm²) with the 1C current density i_1C ≥ 1 A/m²."""
    L3, L2 = LENGTH_SCALE**3, LENGTH_SCALE**2
    i_ref = max(current_density_A_m2 / c_rate, 1.0)
    return Weights(1.0 / (c_max * L3), 1.0 / (c_e0 * L3), 1.0 / (i_ref * L2))


def interface_kinetics(cathode: Any, lithium: Any, u: Any, c_max: float, temperature: float,
                       wetted_fraction: float, reactive_area_factor: Any = None,
                       active_fraction: Any = None) -> Kinetics:
    """Butler–Volmer on the particle interface ('+' particle, '-' electrolyte) and at the Li metal.

    ``u``: the unknowns by field name (the overpotential uses ``particle_potential`` when there is
    one). ``reactive_area_factor`` A_p (optional, a per-particle DG0 function on the particles)
    multiplies the reaction current density; ``active_fraction`` a_p multiplies what the particle
    exchanges (``reaction_current``, ``surface_li_flux``) but not ``particle_li_flux``. None
    leaves them as they are.
    """
    c_s, phi_s, c_e, phi_e = (u[n] for n in ("particle_concentration", "solid_potential",
                                             "electrolyte_concentration", "electrolyte_potential"))
    if "particle_potential" in u:
        phi_s = u["particle_potential"]
    cs_p, ce_m = c_s("+"), c_e("-")
    x_surf = cs_p / c_max
    eta = ec.overpotential(phi_s("+"), phi_e("-"), cathode.open_circuit_potential(x_surf))
    i0 = cathode.exchange_current_density(ce_m, cs_p)
    i_n = ec.butler_volmer(i0, eta, temperature, cathode.anodic_transfer_coefficient,
                           cathode.cathodic_transfer_coefficient)
    if reactive_area_factor is not None:
        i_n = reactive_area_factor("+") * i_n
    particle_flux = None
    if active_fraction is not None:
        particle_flux = ec.interface_li_flux(i_n, wetted_fraction)
        i_n = active_fraction("+") * i_n
    li_flux = ec.interface_li_flux(i_n, wetted_fraction)
    i_li = ec.lithium_metal_current(lithium.exchange_current_density(c_e), phi_e, temperature,
                                    lithium.transfer_coefficient)
    return Kinetics(i_n, eta, li_flux, i_li, particle_flux)


def effective_transport(electrolyte: Any, materials_section: Any, c_e: Any, phi_e: Any,
                        temperature: float) -> Transport:
    """Bruggeman-corrected properties per electrolyte region and the ionic current of each."""
    mat = materials_section
    eff = {tags.MATRIX: ec.bruggeman(mat.matrix_porosity, mat.matrix_bruggeman),
           tags.SEPARATOR: ec.bruggeman(mat.separator_porosity, mat.separator_bruggeman)}
    sigma_matrix = ec.bruggeman(1.0 - mat.matrix_porosity, mat.matrix_bruggeman) * mat.carbon_binder_conductivity_S_m
    kappa = electrolyte.conductivity(c_e, temperature)
    d_e = electrolyte.diffusivity(c_e, temperature)
    t_plus = electrolyte.transference(c_e, temperature)
    tdf = electrolyte.thermodynamic(c_e, temperature)
    currents = {r: ec.electrolyte_current(c_e, phi_e, e * kappa, t_plus, tdf, temperature) for r, e in eff.items()}
    return Transport(sigma_matrix, {r: e * d_e for r, e in eff.items()}, currents, t_plus)


def collector_current(controls: Controls, phi_s: Any) -> Any:
    """Current density entering at the collector (A/m², > 0 on charge), either prescribed
    (galvanostatic) or through the contact conductance from the held voltage (potentiostatic):

    i = s i_app + (1 − s) G (V_hold − φ_s),   s = 1 (current control) or 0 (voltage control).

    The Robin form keeps the unknowns, sparsity and block structure of the galvanostatic
    problem (every preset, lagged factors included, works unchanged) and a switch changes two
    constants only. The collector then sits within i/G of V_hold (15 µV at 150 A/m²).
    """
    s = controls.current_controlled
    return s * controls.applied_current_density + (1.0 - s) * CONTACT_CONDUCTANCE_S_M2 * (controls.held_voltage - phi_s)


def particle_concentration_terms(domain: Any, cathode: Any, c_s: Any, c_s_old: Any, v: Any, dt: Any, c_max: float,
                                 kinetics: Kinetics, stress_enhanced: Any = None) -> list[Any]:
    """Diffusion on PARTICLES, the Li flux out through the interface; with ``stress_enhanced``
    = (σ_h, Ω, T) the stress-driven flux on PARTICLES (σ_h lagged by the run loop)."""
    dx, dS = domain.dx, domain.dS
    D_s = cathode.solid_diffusivity(c_s / c_max)
    terms = [ec.solid_diffusion_residual(c_s, c_s_old, v, dt, D_s, dx(tags.PARTICLES)),
             kinetics.particle_li_flux * v("+") * dS(tags.INTERFACE)]
    if stress_enhanced is not None:
        from femsim.physics import mechanics as pm

        sigma_h, omega, temperature = stress_enhanced
        terms.append(pm.stress_enhanced_residual(c_s, sigma_h, v, D_s, omega, temperature, dx(tags.PARTICLES)))
    return terms


def solid_potential_terms(domain: Any, phi_s: Any, w: Any, particle_conductivity: Any, transport: Transport,
                          kinetics: Kinetics, wetted_fraction: float, controls: Controls) -> list[Any]:
    """Conduction on PARTICLES and MATRIX, the reaction current leaving through the interface
    and the collector current entering on CURRENT_COLLECTOR."""
    dx, ds, dS = domain.dx, domain.ds, domain.dS
    return [ec.electronic_conduction_residual(phi_s, w, particle_conductivity, dx(tags.PARTICLES)),
            ec.electronic_conduction_residual(phi_s, w, transport.matrix_conductivity, dx(tags.MATRIX)),
            wetted_fraction * kinetics.reaction_current * w("+") * dS(tags.INTERFACE),
            -(collector_current(controls, phi_s) * w * ds(tags.CURRENT_COLLECTOR))]


def matrix_potential_terms(domain: Any, phi_m: Any, phi_p: Any, w: Any, transport: Transport, conductance: Any,
                           controls: Controls) -> list[Any]:
    """Detachment, the matrix's solid potential φ_m: conduction on MATRIX, the contact current
    G_p (φ_m − φ_p) leaving into the particles on their particle/matrix facets, the collector
    current entering on the matrix's collector facets."""

    return [ec.electronic_conduction_residual(phi_m, w, transport.matrix_conductivity, domain.dx(tags.MATRIX)),
            contact_current(conductance, phi_m, phi_p) * w("-") * domain.dS(tags.PARTICLE_MATRIX_CONTACT),
            -(collector_current(controls, phi_m) * w * domain.ds_collector(tags.COLLECTOR_MATRIX))]


def particle_potential_terms(domain: Any, phi_m: Any, phi_p: Any, w: Any, particle_conductivity: Any,
                             kinetics: Kinetics, wetted_fraction: float, conductance: Any,
                             controls: Controls) -> list[Any]:
    """Detachment, the particles' potential φ_p: conduction on PARTICLES, the reaction current
    leaving through the interface, the contact current entering from the matrix, the collector
    current entering on the particles' own collector facets."""

    return [ec.electronic_conduction_residual(phi_p, w, particle_conductivity, domain.dx(tags.PARTICLES)),
            wetted_fraction * kinetics.reaction_current * w("+") * domain.dS(tags.INTERFACE),
            -(contact_current(conductance, phi_m, phi_p) * w("+") * domain.dS(tags.PARTICLE_MATRIX_CONTACT)),
            -(collector_current(controls, phi_p) * w * domain.ds_collector(tags.COLLECTOR_PARTICLES))]


def contact_current(conductance: Any, phi_m: Any, phi_p: Any) -> Any:
    """G_p (φ_m − φ_p): current density from the matrix into a particle (A/m²) on a particle/matrix
    facet ('+' particle, '-' matrix). G_p → ∞ recovers continuity of φ_s; G_p = 0 isolates."""
    return conductance("+") * (phi_m("-") - phi_p("+"))


def electrolyte_concentration_terms(domain: Any, c_e: Any, c_e_old: Any, v: Any, dt: Any, porosity: dict[int, float],
                                    transport: Transport, kinetics: Kinetics) -> list[Any]:
    """Salt balance on MATRIX and SEPARATOR, the Li flux in through the interface and the flux
    into the Li metal on LI_METAL."""
    dx, ds, dS = domain.dx, domain.ds, domain.dS
    terms = [ec.electrolyte_salt_residual(c_e, c_e_old, v, dt, porosity[r], transport.salt_diffusivity[r],
                                          transport.transference, transport.ionic_current[r], dx(r))
             for r in (tags.MATRIX, tags.SEPARATOR)]
    return terms + [-(kinetics.surface_li_flux * v("-") * dS(tags.INTERFACE)),
                    kinetics.lithium_current / ec.FARADAY * v * ds(tags.LI_METAL)]


def electrolyte_potential_terms(domain: Any, q: Any, transport: Transport, kinetics: Kinetics,
                                wetted_fraction: float) -> list[Any]:
    """Charge balance on MATRIX and SEPARATOR, the reaction current entering through the
    interface and the Li-metal current on LI_METAL."""
    dx, ds, dS = domain.dx, domain.ds, domain.dS
    terms = [ec.electrolyte_charge_residual(transport.ionic_current[r], q, dx(r))
             for r in (tags.MATRIX, tags.SEPARATOR)]
    return terms + [-(wetted_fraction * kinetics.reaction_current * q("-") * dS(tags.INTERFACE)),
                    kinetics.lithium_current * q * ds(tags.LI_METAL)]


def _weighted_sum(weight: float, terms: list[Any]) -> Any:
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return weight * total


def halfcell_residual(domain: Any, materials: Any, case: Any, u: Any, u_old: Any, tests: Any, controls: Controls,
                      hydrostatic_stress: Any = None, damage_factors: Any = None) -> HalfCellResidual:
    """The four residual blocks of the half-cell problem.

    Args:
        domain: :class:`femsim.model.domain.Domain` (measures by region and tag).
        materials: :class:`femsim.parameters.MaterialSets` (cathode, electrolyte, counter electrode).
        case: the validated case (materials, protocol and mechanics sections are read).
        u, u_old, tests: the unknowns, their previous time level and the test functions, each
            indexable by field name (:class:`femsim.model.fields.FieldSet` or a dict).
        controls: the Constants of the collector control and the time step.
        hydrostatic_stress: σ_h on the particles (Pa) for stress-enhanced diffusion; used when
            the case's mechanics enable it.
        damage_factors: the per-particle feedback factors by name (``area_factor``,
            ``active_fraction``, ``contact_conductance_S_m2``: DG0 Functions on the particles) of
            the feedbacks the case's ``[damage]`` switches on; None: no feedback. With detachment
            ``u`` holds :data:`femsim.model.fields.DETACHMENT_FIELDS`.
    """
    cathode, electrolyte, lithium = materials.cathode, materials.electrolyte, materials.counter_electrode
    mat, prot = case.materials, case.protocol
    T = prot.temperature_K
    c_max = cathode.max_concentration
    f_w = mat.wetted_fraction
    dmg = case.damage
    area = damage_factors["area_factor"] if damage_factors is not None and dmg.crack_wetting else None
    active = damage_factors["active_fraction"] if damage_factors is not None and dmg.loss_of_active_material else None
    kinetics = interface_kinetics(cathode, lithium, u, c_max, T, f_w, area, active)
    c_s, phi_s, c_e = u["particle_concentration"], u["solid_potential"], u["electrolyte_concentration"]
    transport = effective_transport(electrolyte, mat, c_e, u["electrolyte_potential"], T)
    weights = residual_weights(c_max, prot.initial_electrolyte_concentration_mol_m3, prot.current_density_A_m2,
                               prot.c_rate)
    stress = None
    if case.mechanics.enabled and case.mechanics.stress_enhanced_diffusion:
        stress = (hydrostatic_stress, cathode.partial_molar_volume, T)
    porosity = {tags.MATRIX: mat.matrix_porosity, tags.SEPARATOR: mat.separator_porosity}
    blocks = {
        "particle_concentration": _weighted_sum(weights.particle_concentration, particle_concentration_terms(
            domain, cathode, c_s, u_old["particle_concentration"], tests["particle_concentration"], controls.dt,
            c_max, kinetics, stress)),
        "solid_potential": _weighted_sum(weights.potential, solid_potential_terms(
            domain, phi_s, tests["solid_potential"], cathode.electronic_conductivity, transport, kinetics, f_w,
            controls)) if "particle_potential" not in u else None,
        "electrolyte_concentration": _weighted_sum(weights.electrolyte_concentration, electrolyte_concentration_terms(
            domain, c_e, u_old["electrolyte_concentration"], tests["electrolyte_concentration"], controls.dt,
            porosity, transport, kinetics)),
        "electrolyte_potential": _weighted_sum(weights.potential, electrolyte_potential_terms(
            domain, tests["electrolyte_potential"], transport, kinetics, f_w)),
    }
    if "particle_potential" in u:
        G, phi_p = damage_factors["contact_conductance_S_m2"], u["particle_potential"]
        blocks["solid_potential"] = _weighted_sum(weights.potential, matrix_potential_terms(
            domain, phi_s, phi_p, tests["solid_potential"], transport, G, controls))
        blocks["particle_potential"] = _weighted_sum(weights.potential, particle_potential_terms(
            domain, phi_s, phi_p, tests["particle_potential"], cathode.electronic_conductivity, kinetics, f_w, G,
            controls))
    return HalfCellResidual(blocks, kinetics, f_w)
