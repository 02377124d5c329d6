"""The unknowns of the half-cell problem, described by one table instead of by position.

Each row names a field (the name of its DOLFINx ``Function``, used by the outputs, the snapshots
and the solver's field splits), the region it lives on (a :class:`femsim.model.domain.Domain`
submesh attribute) and the reference scale that the Newton update test and the finite-difference
Jacobian step measure it in. The table order is the block order of the coupled system and of
the arrays a snapshot stores (``u0`` … ``u3``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

#: reference scales a field can be measured in: the cathode's maximum concentration, the initial
#: electrolyte concentration (both mol/m³) and one volt
SCALE_MAX_CONCENTRATION = "c_max"
SCALE_ELECTROLYTE_CONCENTRATION = "c_e0"
SCALE_VOLT = "V"


@dataclasses.dataclass(frozen=True)
class Field:
    """One unknown of the coupled problem."""

    name: str  # DOLFINx Function name: outputs, snapshots, presets.SPLITS
    symbol: str
    region: str  # Domain attribute of the submesh the field lives on
    unit: str
    scale: str  # one of the SCALE_* references


PARTICLE_CONCENTRATION = Field("particle_concentration", "c_s", "particles", "mol/m³", SCALE_MAX_CONCENTRATION)
SOLID_POTENTIAL = Field("solid_potential", "φ_s", "conductor", "V", SCALE_VOLT)
ELECTROLYTE_CONCENTRATION = Field("electrolyte_concentration", "c_e", "electrolyte", "mol/m³",
                                  SCALE_ELECTROLYTE_CONCENTRATION)
ELECTROLYTE_POTENTIAL = Field("electrolyte_potential", "φ_e", "electrolyte", "V", SCALE_VOLT)

#: the half-cell unknowns in block order
HALFCELL_FIELDS: tuple[Field, ...] = (PARTICLE_CONCENTRATION, SOLID_POTENTIAL, ELECTROLYTE_CONCENTRATION,
                                      ELECTROLYTE_POTENTIAL)
#: the fields of the consistent initialisation (concentrations frozen)
POTENTIAL_FIELDS: tuple[Field, ...] = (SOLID_POTENTIAL, ELECTROLYTE_POTENTIAL)

#: ``[damage] detachment``: the matrix keeps ``solid_potential`` on a matrix-only submesh and the
#: particles get a potential of their own, coupled through a contact conductance (docs/damage.md)
MATRIX_SOLID_POTENTIAL = Field("solid_potential", "φ_m", "matrix", "V", SCALE_VOLT)
PARTICLE_POTENTIAL = Field("particle_potential", "φ_p", "particles", "V", SCALE_VOLT)
DETACHMENT_FIELDS: tuple[Field, ...] = (PARTICLE_CONCENTRATION, MATRIX_SOLID_POTENTIAL, ELECTROLYTE_CONCENTRATION,
                                        ELECTROLYTE_POTENTIAL, PARTICLE_POTENTIAL)
DETACHMENT_POTENTIAL_FIELDS: tuple[Field, ...] = (MATRIX_SOLID_POTENTIAL, ELECTROLYTE_POTENTIAL, PARTICLE_POTENTIAL)


def field_scales(fields: Iterable[Field], references: Mapping[str, float]) -> list[float]:
    """The scale of each field (in its unit), from the values of the references by SCALE_* key."""
    return [float(references[f.scale]) for f in fields]


class FieldSet:
    """The DOLFINx Functions of a field table: in table order (:attr:`functions`) and by name.

    Args:
        fields: the table rows.
        functions: one Function per row, in the same order.
    """

    def __init__(self, fields: Iterable[Field], functions: Iterable[Any]):
        self.fields = tuple(fields)
        self.functions = list(functions)
        if len(self.fields) != len(self.functions):
            raise ValueError(f"{len(self.fields)} fields but {len(self.functions)} functions")
        self._by_name = {f.name: u for f, u in zip(self.fields, self.functions)}

    def __getitem__(self, name: str) -> Any:
        return self._by_name[name]

    def __iter__(self) -> Iterator[Any]:
        return iter(self.functions)

    def __len__(self) -> int:
        return len(self.functions)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def index(self, name: str) -> int:
        """Block position of the field called ``name``."""
        return [f.name for f in self.fields].index(name)

    def subset(self, fields: Iterable[Field]) -> FieldSet:
        """The Functions of some of the rows (e.g. :data:`POTENTIAL_FIELDS`)."""
        chosen = tuple(fields)
        return FieldSet(chosen, [self[f.name] for f in chosen])
