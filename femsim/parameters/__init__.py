"""Named, cited material parameter sets and their assembly from a case's ``[materials]``."""

from __future__ import annotations

import dataclasses
from typing import Any

from femsim.parameters.base import FARADAY, GAS_CONSTANT, ParameterSet
from femsim.parameters.electrolytes import Landesfeind2019, Nyman2008
from femsim.parameters.lithium import LiMetal_Xu2019
from femsim.parameters.nmc622 import NMC622

CATHODES = {"NMC622": NMC622}
ELECTROLYTES = {"Nyman2008": Nyman2008, "Landesfeind2019": Landesfeind2019}
COUNTER_ELECTRODES = {"LiMetal_Xu2019": LiMetal_Xu2019}

__all__ = ["FARADAY", "GAS_CONSTANT", "MaterialSets", "ParameterSet", "build_material_sets", "NMC622",
           "Nyman2008", "Landesfeind2019", "LiMetal_Xu2019"]


@dataclasses.dataclass(frozen=True)
class MaterialSets:
    cathode: NMC622
    electrolyte: Any
    counter_electrode: LiMetal_Xu2019


def build_material_sets(materials: Any) -> MaterialSets:
    """Instantiate the sets named in a case's ``[materials]`` with its overrides applied."""
    from femsim.errors import InputError

    problems: list[str] = []
    sets = []
    for attr, registry in (("cathode", CATHODES), ("electrolyte", ELECTROLYTES),
                           ("counter_electrode", COUNTER_ELECTRODES)):
        base = registry[getattr(materials, attr)]()
        try:
            sets.append(base.with_overrides(getattr(materials, f"{attr}_overrides"), f"materials.{attr}_overrides"))
        except InputError as exc:
            problems += [exc.message] + exc.problems
            sets.append(base)
    if problems:
        raise InputError(problems[0], problems=problems[1:])
    return MaterialSets(*sets)
