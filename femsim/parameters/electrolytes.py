"""LiPF6 carbonate electrolytes (concentrated-solution properties).

Inside the fits the concentration is in mol/L; the methods take and return SI (c in mol/m³,
κ in S/m, D in m²/s). Equations and sources: docs/physics.md §4.5.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from femsim.parameters.base import ParameterSet, math_for, param


class ConstantTransference(ParameterSet):
    """Mixin of electrolytes with a constant transference number and thermodynamic factor (the
    dataclass fields ``transference_number`` and ``thermodynamic_factor``)."""

    transference_number: float
    thermodynamic_factor: float

    def transference(self, c: Any, temperature: float) -> Any:
        """t₊ (-), constant."""
        return self.transference_number + 0 * c

    def thermodynamic(self, c: Any, temperature: float) -> Any:
        """1 + d ln f±/d ln c (-), constant."""
        return self.thermodynamic_factor + 0 * c

    @property
    def constant_transference(self) -> bool:
        return True


@dataclasses.dataclass(frozen=True)
class Nyman2008(ConstantTransference):
    """1 M LiPF6 in EC:EMC 3:7 (Nyman et al., Electrochim. Acta 53 (2008) 6356), as in PyBaMM Chen2020.

    Constant t₊ and thermodynamic factor 1 by default: the PyBaMM-comparable baseline.
    """

    name: str = "Nyman2008"
    transference_number: float = param(0.2594, "-", "PyBaMM Chen2020")
    thermodynamic_factor: float = param(1.0, "-", "PyBaMM default (TDF = 1)")
    conductivity_scale: float = param(1.0, "-", "multiplier on κ(c) (sensitivity studies)")
    diffusivity_scale: float = param(1.0, "-", "multiplier on D(c)")

    def conductivity(self, c: Any, temperature: float) -> Any:
        """κ(c) in S/m."""
        m = math_for(c)
        cl = m.max(c, 1e-3) / 1000.0
        return self.conductivity_scale * (0.1297 * cl**3 - 2.51 * cl**1.5 + 3.329 * cl)

    def diffusivity(self, c: Any, temperature: float) -> Any:
        """D(c) in m²/s."""
        cl = c / 1000.0
        return self.diffusivity_scale * (8.794e-11 * cl**2 - 3.972e-10 * cl + 4.862e-10)


def _poly9(p: tuple[float, ...], c: Any, T: float) -> Any:
    return (p[0] + p[1] * c + p[2] * T + p[3] * c**2 + p[4] * c * T + p[5] * T**2 + p[6] * c**3
            + p[7] * c**2 * T + p[8] * c * T**2)


@dataclasses.dataclass(frozen=True)
class Landesfeind2019(ParameterSet):
    """LiPF6 in EC:EMC 3:7 with full (c, T) dependence (Landesfeind & Gasteiger, JES 166 (2019) A3079),
    as in PyBaMM ORegan2022: concentration-dependent t₊ and thermodynamic factor."""

    name: str = "Landesfeind2019"
    conductivity_scale: float = param(1.0, "-", "multiplier on κ(c,T)")
    diffusivity_scale: float = param(1.0, "-", "multiplier on D(c,T)")

    def conductivity(self, c: Any, temperature: float) -> Any:
        m = math_for(c)
        cl = m.max(c, 1e-3) / 1000.0
        T = temperature
        p = (0.521, 228.0, -1.06, 0.353, -0.00359, 0.00148)
        e = m.exp(1000.0 / T)
        return self.conductivity_scale * (p[0] * (1 + (T - p[1])) * cl * (1 + p[2] * m.sqrt(cl)
                                          + p[3] * (1 + p[4] * e) * cl) / (1 + cl**4 * p[5] * e) / 10.0)

    def diffusivity(self, c: Any, temperature: float) -> Any:
        m = math_for(c)
        cl = c / 1000.0
        T = temperature
        p = (1010.0, 1.01, -1560.0, -487.0)
        return self.diffusivity_scale * p[0] * m.exp(p[1] * cl) * m.exp(p[2] / T) * m.exp(p[3] * cl / T) * 1e-10

    def transference(self, c: Any, temperature: float) -> Any:
        p = (-12.8, -6.12, 0.0821, 0.904, 0.0318, -1.27e-4, 0.0175, -3.12e-3, -3.96e-5)
        return _poly9(p, c / 1000.0, temperature)

    def thermodynamic(self, c: Any, temperature: float) -> Any:
        p = (25.7, -45.1, -0.177, 1.94, 0.295, 3.08e-4, 0.259, -9.46e-3, -4.54e-4)
        return _poly9(p, c / 1000.0, temperature)

    @property
    def constant_transference(self) -> bool:
        return False
