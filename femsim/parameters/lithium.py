"""Li-metal counter electrode."""

from __future__ import annotations

import dataclasses
from typing import Any

from femsim.parameters.base import FARADAY, ParameterSet, math_for, param


@dataclasses.dataclass(frozen=True)
class LiMetal_Xu2019(ParameterSet):  # noqa: N801 - named after the set
    """Li metal (Xu, Chen, Dasgupta, Siegel, Stefanopoulou, JES 166 (2019) A3456; PyBaMM Xu2019)."""

    name: str = "LiMetal_Xu2019"
    rate_constant: float = param(3.5e-8, "m^2.4 mol^-0.4 s^-1 (in i0 = F k c_Li^0.7 c_e^0.3)", "PyBaMM Xu2019")
    molar_volume: float = param(1.3e-5, "m^3/mol", "PyBaMM Xu2019")
    transfer_coefficient: float = param(0.5, "-", "PyBaMM Xu2019")
    exchange_current_override: float = dataclasses.field(default=0.0, metadata={
        "unit": "A/m^2", "source": "if > 0, a constant i0 replaces the Xu2019 expression", "positive": False})

    def exchange_current_density(self, c_e: Any) -> Any:
        """i0,Li in A/m² (70.6 A/m² at c_e = 1000 mol/m³)."""
        if self.exchange_current_override > 0:
            return self.exchange_current_override + 0 * c_e
        m = math_for(c_e)
        c_li = 1.0 / self.molar_volume
        return FARADAY * self.rate_constant * c_li**0.7 * m.max(c_e, 1e-3) ** 0.3
