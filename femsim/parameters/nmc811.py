"""NMC811 (LiNi0.8Mn0.1Co0.1O2) of the LG M50 cell: Chen et al., J. Electrochem. Soc. 167 (2020) 080534,
as in PyBaMM's ``Chen2020`` set, with mechanics from the literature.

Electrochemistry (Chen2020): c_max = 63 104 mol/m³, stoichiometry window 0.2661–0.9084 (Chen et al.
Table VII), OCP tanh fit, D_s = 4e-15 m²/s, i0 = m_ref (c_e c_s (c_max − c_s))^½ with
m_ref = 3.42e-6 A m⁻² (m³/mol)^1.5 and Ea = 17.8 kJ/mol, written in the BPX form
i0 = F k (c_e/c_e0 · x(1 − x))^½ with k = m_ref c_max c_e0^½ / F (c_e0 = 1000 mol/m³); σ = 0.18 S/m,
R = 5.22 µm, ε = 0.335, ε_s = 0.665 (a = 3ε_s/R), L = 75.6 µm, transport efficiency ε^1.5.

Mechanics: Ω = 1.1e-6 m³/mol from the 5.1 % unit-cell volume change of NCM811 between 3.0 and 4.3 V
(Kondrakov et al., J. Phys. Chem. C 121 (2017) 3286) over Δx ≈ 0.73 at c_max = 63 104 mol/m³
(a linear average; the measured change is concentrated below x = 0.5, no table is given here);
E = 375 GPa, ν = 0.2 and the crack parameters as in PyBaMM's ``OKane2022`` NMC811 set (O'Kane et al.,
Phys. Chem. Chem. Phys. 24 (2022) 7909, values from Ai et al., J. Electrochem. Soc. 167 (2020) 013512).
OKane2022's partial molar volume (1.25e-5 m³/mol) is not used: it implies ΔV/V ≈ 50 % over the stoichiometry window.
"""

from __future__ import annotations

from femsim.parameters.base import FARADAY
from femsim.parameters.functions import MaterialFunction
from femsim.parameters.imported import ImportedCathode

CHEN2020_OCP = ("-0.809 * x + 4.4875 - 0.0428 * tanh(18.5138 * (x - 0.5542)) - 17.7326 * tanh(15.789 * (x - 0.3117))"
                " + 17.5842 * tanh(15.9308 * (x - 0.312))")
_M_REF = 3.42e-6  # A m^-2 (m^3/mol)^1.5
_C_MAX = 63104.0
_CHEN = "Chen et al. JES 167 (2020) 080534 (PyBaMM Chen2020)"
_MECH = "O'Kane et al. PCCP 24 (2022) 7909 (PyBaMM OKane2022; from Ai et al. JES 167 (2020) 013512)"


def NMC811_Chen2020() -> ImportedCathode:  # noqa: N802 - named after the set
    """The cited NMC811 set (see the module docstring)."""
    sources = {name: _CHEN for name in (
        "max_concentration", "minimum_stoichiometry", "maximum_stoichiometry", "ocp", "diffusivity_function",
        "reaction_rate_constant_mol_m2_s", "reaction_rate_activation_energy", "electronic_conductivity",
        "particle_radius", "surface_area_per_unit_volume", "electrode_thickness", "porosity", "transport_efficiency",
        "reference_temperature")}
    sources.update(entropic_change="0 (Chen2020)", diffusivity_activation_energy="0 (Chen2020: constant D_s)",
                   reference_electrolyte_concentration="1000 mol/m³ (Chen2020 initial c_e)",
                   youngs_modulus=_MECH, poisson_ratio=_MECH,
                   partial_molar_volume="5.1 % ΔV/V over Δx 0.73 (Kondrakov et al. JPCC 121 (2017) 3286)",
                   volume_change_function="none (use strain_model = 'linear')")
    return ImportedCathode(
        name="NMC811_Chen2020", max_concentration=_C_MAX, minimum_stoichiometry=0.2661, maximum_stoichiometry=0.9084,
        ocp=MaterialFunction("expression", expression=CHEN2020_OCP), entropic_change=MaterialFunction("constant"),
        diffusivity_function=MaterialFunction("constant", constant=4e-15), diffusivity_activation_energy=0.0,
        reaction_rate_constant_mol_m2_s=_M_REF * _C_MAX * 1000.0**0.5 / FARADAY,
                           reaction_rate_activation_energy=17800.0,
        reference_electrolyte_concentration=1000.0, electronic_conductivity=0.18, particle_radius=5.22e-6,
        surface_area_per_unit_volume=3 * 0.665 / 5.22e-6, electrode_thickness=7.56e-5, porosity=0.335,
        transport_efficiency=0.335**1.5, reference_temperature=298.15, youngs_modulus=375e9, poisson_ratio=0.2,
        partial_molar_volume=1.1e-6, volume_change_function=None,
        carried=(("Positive electrode critical stress [Pa]", 375e6), ("Positive electrode initial crack length [m]",
                                                                      2e-8),
                 ("Positive electrode initial crack width [m]", 1.5e-8),
                 ("Positive electrode number of cracks per unit area [m-2]", 3.18e15),
                 ("Positive electrode Paris' law constant b", 1.12), ("Positive electrode Paris' law constant m", 2.2)),
        sources=tuple(sources.items()))
