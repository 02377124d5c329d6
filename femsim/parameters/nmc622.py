"""NMC622 (LiNi0.6Mn0.2Co0.2O2) cathode active material.

Baseline values and their sources: ``docs/physics.md`` §4.2–4.3.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from femsim.parameters.base import ParameterSet, lattice_factor, math_for, param

#: NMC622 OCP table (COMSOL material library; data of Chaouachi et al., Electrochim. Acta 366 (2021)
#: 137428): stoichiometry x = c/47664 and U (V vs Li/Li+).
OCP_TABLE_X = np.array([0.258, 0.300, 0.344, 0.381, 0.400, 0.416, 0.454, 0.498, 0.534, 0.556, 0.581, 0.598,
                        0.624, 0.655, 0.685, 0.710, 0.740, 0.772, 0.799, 0.840, 0.871, 0.898, 0.917])
OCP_TABLE_U = np.array([4.283, 4.201, 4.120, 4.059, 4.025, 3.998, 3.940, 3.875, 3.834, 3.811, 3.790, 3.780,
                        3.763, 3.753, 3.736, 3.726, 3.712, 3.695, 3.678, 3.651, 3.631, 3.607, 3.580])

#: NMC622 volume change ΔV/V0 (%) vs x (COMSOL library, Koerver et al., EES 11 (2018) 2142)
VOLUME_CHANGE_X = np.array([0.186, 0.257, 0.313, 0.371, 0.433, 0.494, 0.553, 0.615, 0.671, 0.736, 0.795, 0.851,
                            0.911])
VOLUME_CHANGE_PERCENT = np.array([-4.818, -3.570, -2.367, -1.688, -1.360, -1.163, -0.966, -0.813, -0.703, -0.528,
                                  -0.397, -0.200, -0.025])


@dataclasses.dataclass(frozen=True)
class NMC622(ParameterSet):
    """NMC622 electrochemical and mechanical parameters (SI units)."""

    name: str = "NMC622"
    max_concentration: float = param(47664.0, "mol/m^3", "COMSOL material 'NMC 622' csmax (docs/physics.md §4.2)")
    diffusivity: float = param(1e-14, "m^2/s", "assumption docs/physics.md §5 (Xu2019; BattMo NMC111)")
    reaction_rate_constant: float = param(3.54e-11, "m^2.5 mol^-0.5 s^-1",
                                          "k0 = m_ref/F, m_ref = 3.42e-6 (PyBaMM Chen2020)")
    anodic_transfer_coefficient: float = param(0.5, "-", "PyBaMM")
    cathodic_transfer_coefficient: float = param(0.5, "-", "PyBaMM")
    electronic_conductivity: float = param(0.1, "S/m", "assumption; Amin & Chiang JES 163 (2016) A1512")
    ocp_model: str = dataclasses.field(default="fit4", metadata={
        "unit": "-", "choices": ("fit4", "chen2020"),
        "source": "degree-4 fit to the NMC622 table (docs/physics.md §4.2) or PyBaMM Chen2020 NMC811 tanh fit"})
    youngs_modulus: float = param(190e9, "Pa", "assumption docs/physics.md §4.3")
    poisson_ratio: float = param(0.25, "-", "assumption docs/physics.md §4.3")
    partial_molar_volume: float = param(1.0e-6, "m^3/mol", "derived from NMC622 ΔV/V table (docs/physics.md §4.3)")
    density: float = param(4750.0, "kg/m^3", "docs/physics.md §4.1")
    molar_mass: float = param(0.09693, "kg/mol", "LiNi0.6Mn0.2Co0.2O2")

    def open_circuit_potential(self, x: Any) -> Any:
        """U(x) in V vs Li/Li+, x = c_s/c_max. Works on numbers, arrays and UFL expressions."""
        m = math_for(x)
        if self.ocp_model == "chen2020":
            return (-0.8090 * x + 4.4875 - 0.0428 * m.tanh(18.5138 * (x - 0.5542))
                    - 17.7326 * m.tanh(15.7890 * (x - 0.3117)) + 17.5842 * m.tanh(15.9308 * (x - 0.3120)))
        return (((-9.01592 * x + 18.54275) * x - 11.7292) * x + 1.11269) * x + 4.49792

    def open_circuit_potential_derivative(self, x: Any) -> Any:
        """dU/dx (V)."""
        if self.ocp_model == "chen2020":
            m = math_for(x)
            sech2 = lambda a: 1 - m.tanh(a) ** 2  # noqa: E731
            return (-0.8090 - 0.0428 * 18.5138 * sech2(18.5138 * (x - 0.5542))
                    - 17.7326 * 15.7890 * sech2(15.7890 * (x - 0.3117))
                    + 17.5842 * 15.9308 * sech2(15.9308 * (x - 0.3120)))
        return ((-4 * 9.01592 * x + 3 * 18.54275) * x - 2 * 11.7292) * x + 1.11269

    def solid_diffusivity(self, x: Any) -> Any:
        """D_s(x) in m²/s (constant in this set)."""
        return self.diffusivity + 0 * x

    def exchange_current_density(self, c_e: Any, c_s: Any) -> Any:
        """i0 = F k0 c_e^αc c_s^αa (c_max − c_s)^αc in A/m² (inputs in mol/m³).

        The concentration factors are :func:`~femsim.parameters.base.lattice_factor`: zero at
        c_s = 0 and c_s = c_max (a saturated surface takes no more Li), with a finite slope there.
        """
        from femsim.parameters.base import FARADAY

        cmax = self.max_concentration
        ce = math_for(c_e).max(c_e, 1e-3)
        aa, ac = self.anodic_transfer_coefficient, self.cathodic_transfer_coefficient
        return FARADAY * self.reaction_rate_constant * ce**ac * lattice_factor(c_s, cmax, aa, ac)

    def volume_change(self, x: Any) -> Any:
        """ΔV/V0 (fraction) from the NMC622 table, piecewise linear (numpy only)."""
        return np.interp(x, VOLUME_CHANGE_X, VOLUME_CHANGE_PERCENT) / 100.0
