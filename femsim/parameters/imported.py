"""Material sets given by functions: BPX files, PyBaMM parameter sets, femsim's NMC811 set.

An :class:`ImportedCathode` / :class:`ImportedElectrolyte` holds the BPX quantities themselves
(:mod:`femsim.parameters.bpx` maps the fields) and offers the interface the solvers use
(``open_circuit_potential``, ``solid_diffusivity``, ``exchange_current_density``, ``conductivity``,
...). Temperature enters as in BPX and PyBaMM's BPX reader: every rate is Arrhenius,
``f(T) = f_ref exp(Ea/R (1/T_ref − 1/T))``, and the OCP is ``U_ref(x) + (T − T_ref) dU/dT(x)``,
evaluated at the set's ``temperature`` (the case's ``protocol.temperature_K``).

Exchange current (BPX definition): ``i0 = F k (c_e/c_e0)^½ (x (1 − x))^½ · Arrhenius`` with the
normalised rate constant k (mol m⁻² s⁻¹), x = c_s/c_max and c_e0 the BPX initial electrolyte
concentration (1000 mol/m³ when the file gives none, as PyBaMM does); both transfer coefficients 0.5.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from femsim.parameters.base import FARADAY, GAS_CONSTANT, ParameterSet, lattice_factor, math_for
from femsim.parameters.electrolytes import ConstantTransference
from femsim.parameters.functions import MaterialFunction


def arrhenius(activation_energy_J_mol: float, temperature_K: float, reference_temperature_K: float) -> float:
    """exp(Ea/R (1/T_ref − 1/T)) (exactly 1 at T = T_ref)."""
    if activation_energy_J_mol == 0.0 or temperature_K == reference_temperature_K:
        return 1.0
    return math.exp(activation_energy_J_mol / GAS_CONSTANT * (1.0 / reference_temperature_K - 1.0 / temperature_K))


def _f(doc: str, unit: str = "-") -> Any:
    return dataclasses.field(metadata={"unit": unit, "doc": doc})


def _table_rows(params: Any, skip: tuple[str, ...]) -> list[tuple[str, Any, str, str]]:
    """(name, value, unit, source) rows of an imported set; functions described, None as 'none'."""
    sources = dict(params.sources)
    rows = []
    for f in dataclasses.fields(params):
        if f.name in skip:
            continue
        value = getattr(params, f.name)
        shown = value.describe() if isinstance(value, MaterialFunction) else ("none" if value is None else value)
        rows.append((f.name, shown, f.metadata.get("unit", ""), sources.get(f.name, "")))
    return rows


@dataclasses.dataclass(frozen=True)
class ImportedCathode(ParameterSet):
    """A single-material positive electrode given by BPX quantities (SI units)."""

    name: str
    max_concentration: float = _f("c_max", "mol/m^3")
    minimum_stoichiometry: float = _f("x at the end of charge (BPX window)")
    maximum_stoichiometry: float = _f("x at the end of discharge (BPX window)")
    ocp: MaterialFunction = _f("U_ref(x) at the reference temperature", "V")
    entropic_change: MaterialFunction = _f("dU/dT(x)", "V/K")
    diffusivity_function: MaterialFunction = _f("D_s(x) at the reference temperature", "m^2/s")
    diffusivity_activation_energy: float = _f("Ea of D_s", "J/mol")
    reaction_rate_constant_mol_m2_s: float = _f("normalised rate constant k of the BPX i0", "mol m^-2 s^-1")
    reaction_rate_activation_energy: float = _f("Ea of k", "J/mol")
    reference_electrolyte_concentration: float = _f("c_e0 of the BPX i0", "mol/m^3")
    electronic_conductivity: float = _f("solid conductivity", "S/m")
    particle_radius: float = _f("particle radius of the homogenised electrode (1D models only)", "m")
    surface_area_per_unit_volume: float = _f("a of the homogenised electrode (1D models only)", "1/m")
    electrode_thickness: float = _f("electrode thickness (1D models only)", "m")
    porosity: float = _f("electrolyte fraction of the homogenised electrode (1D models only)")
    transport_efficiency: float = _f("ε/τ of the homogenised electrode (1D models only)")
    reference_temperature: float = _f("T_ref of the functions", "K")
    youngs_modulus: float = _f("E", "Pa")
    poisson_ratio: float = _f("ν")
    partial_molar_volume: float = _f("Ω (linear chemical strain Ω Δc/3)", "m^3/mol")
    volume_change_function: MaterialFunction | None = _f("ΔV/V0(x), fraction (strain_model = 'table')")
    #: User-defined quantities femsim carries (export) but does not use: (BPX name, value)
    carried: tuple[tuple[str, float], ...] = ()
    #: (parameter, where its value came from)
    sources: tuple[tuple[str, str], ...] = ()
    temperature: float = dataclasses.field(default=298.15, metadata={"unit": "K", "doc": "evaluation temperature"})
    anodic_transfer_coefficient: float = 0.5
    cathodic_transfer_coefficient: float = 0.5
    ocp_model: str = "function"

    # -- the interface used by the solvers ----------------------------------------------------
    def open_circuit_potential(self, x: Any) -> Any:
        """U(x, T) = U_ref(x) + (T − T_ref) dU/dT(x) in V vs Li/Li+."""
        u = self.ocp(x)
        if self.temperature != self.reference_temperature:
            u = u + (self.temperature - self.reference_temperature) * self.entropic_change(x)
        return u

    def solid_diffusivity(self, x: Any) -> Any:
        """D_s(x, T) in m²/s."""
        factor = arrhenius(self.diffusivity_activation_energy, self.temperature, self.reference_temperature)
        return factor * self.diffusivity_function(x)

    @property
    def diffusivity(self) -> float:
        """D_s at the middle of the stoichiometry window (m²/s; for reports)."""
        return float(self.solid_diffusivity(0.5 * (self.minimum_stoichiometry + self.maximum_stoichiometry)))

    def exchange_current_density(self, c_e: Any, c_s: Any) -> Any:
        """i0 = F k (c_e/c_e0)^½ (x(1 − x))^½ in A/m² (inputs in mol/m³); the x factors are
        :func:`~femsim.parameters.base.lattice_factor` (zero at x = 0 and 1, finite slope)."""
        m = math_for(c_e, c_s)
        cmax = self.max_concentration
        ce = m.max(c_e, 1e-3)
        k = self.reaction_rate_constant_mol_m2_s * arrhenius(self.reaction_rate_activation_energy, self.temperature,
                                                             self.reference_temperature)
        return (FARADAY * k * m.sqrt(ce / self.reference_electrolyte_concentration)
                * lattice_factor(c_s, cmax, 0.5, 0.5) / cmax)

    def volume_change(self, x: Any) -> Any:
        """ΔV/V0 (fraction) for ``strain_model = 'table'`` (numpy)."""
        if self.volume_change_function is None:
            raise ValueError(f"{self.name} has no volume-change function")
        return np.asarray(self.volume_change_function(np.asarray(x, dtype=float)), dtype=float)

    def at_temperature(self, temperature_K: float) -> ImportedCathode:
        return dataclasses.replace(self, temperature=float(temperature_K))

    def table(self) -> list[tuple[str, Any, str, str]]:
        rows = _table_rows(self, ("name", "carried", "sources", "anodic_transfer_coefficient",
                                  "cathodic_transfer_coefficient", "ocp_model"))
        rows += [(name, value, "", "carried from User-defined, not used by femsim") for name, value in self.carried]
        return rows


@dataclasses.dataclass(frozen=True)
class ImportedElectrolyte(ConstantTransference):
    """A binary electrolyte given by BPX quantities: κ(c_e), D_e(c_e) with activation energies,
    constant t₊ and thermodynamic factor (c_e in mol/m³)."""

    name: str
    conductivity_function: MaterialFunction = _f("κ(c_e) at the reference temperature", "S/m")
    conductivity_activation_energy: float = _f("Ea of κ", "J/mol")
    diffusivity_function: MaterialFunction = _f("D_e(c_e) at the reference temperature", "m^2/s")
    diffusivity_activation_energy: float = _f("Ea of D_e", "J/mol")
    transference_number: float = _f("t₊")
    thermodynamic_factor: float = _f("1 + d ln f±/d ln c_e")
    reference_temperature: float = _f("T_ref of the functions", "K")
    sources: tuple[tuple[str, str], ...] = ()
    conductivity_scale: float = dataclasses.field(default=1.0, metadata={"unit": "-", "doc": "multiplier on κ"})
    diffusivity_scale: float = dataclasses.field(default=1.0, metadata={"unit": "-", "doc": "multiplier on D_e"})

    def conductivity(self, c: Any, temperature: float) -> Any:
        """κ(c, T) in S/m (c clipped at 1e-3 mol/m³)."""
        m = math_for(c)
        factor = arrhenius(self.conductivity_activation_energy, temperature, self.reference_temperature)
        return self.conductivity_scale * factor * self.conductivity_function(m.max(c, 1e-3))

    def diffusivity(self, c: Any, temperature: float) -> Any:
        """D_e(c, T) in m²/s."""
        factor = arrhenius(self.diffusivity_activation_energy, temperature, self.reference_temperature)
        return self.diffusivity_scale * factor * self.diffusivity_function(c)

    def table(self) -> list[tuple[str, Any, str, str]]:
        return _table_rows(self, ("name", "sources"))
