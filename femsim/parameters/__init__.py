"""Named, cited material parameter sets and their assembly from a case's ``[materials]``.

Sources of the cathode and electrolyte (see ``femsim validate --describe`` and the README):
femsim's own sets (:data:`CATHODES`, :data:`ELECTROLYTES`), a BPX file (``materials.bpx``,
:mod:`femsim.parameters.bpx_format`) or a PyBaMM parameter set (``materials.pybamm``,
:mod:`femsim.parameters.pybamm_sets`). The counter electrode is always a femsim set.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

from femsim.parameters.base import FARADAY, GAS_CONSTANT, ParameterSet
from femsim.parameters.electrolytes import Landesfeind2019, Nyman2008
from femsim.parameters.imported import ImportedCathode, ImportedElectrolyte
from femsim.parameters.lithium import LiMetal_Xu2019
from femsim.parameters.nmc622 import NMC622
from femsim.parameters.nmc811 import NMC811_Chen2020

CATHODES: dict[str, Callable[[], ParameterSet]] = {"NMC622": NMC622, "NMC811_Chen2020": NMC811_Chen2020}
ELECTROLYTES: dict[str, Callable[[], ParameterSet]] = {"Nyman2008": Nyman2008, "Landesfeind2019": Landesfeind2019}
COUNTER_ELECTRODES: dict[str, Callable[[], ParameterSet]] = {"LiMetal_Xu2019": LiMetal_Xu2019}

__all__ = ["FARADAY", "GAS_CONSTANT", "MaterialSets", "ParameterSet", "build_material_sets", "NMC622",
           "NMC811_Chen2020", "Nyman2008", "Landesfeind2019", "LiMetal_Xu2019", "ImportedCathode",
           "ImportedElectrolyte"]

@dataclasses.dataclass(frozen=True)
class MaterialSets:
    cathode: Any  # NMC622 | ImportedCathode
    electrolyte: Any
    counter_electrode: LiMetal_Xu2019
    #: where the sets came from, and what of a BPX file / PyBaMM set was not used (one line each)
    notes: tuple[str, ...] = ()


def _imported(materials: Any) -> Any:
    """BpxMaterials from ``materials.bpx`` or ``materials.pybamm``, or None."""
    from femsim.errors import InputError

    bpx_file, pybamm_set = getattr(materials, "bpx", None), getattr(materials, "pybamm", None)
    if bpx_file is not None and pybamm_set:
        raise InputError("materials.pybamm: give either materials.bpx or materials.pybamm, not both")
    try:
        if bpx_file is not None:
            from femsim.parameters.bpx_format import read_bpx_file

            return read_bpx_file(bpx_file)
        if pybamm_set:
            from femsim.parameters.pybamm_sets import pybamm_materials

            return pybamm_materials(pybamm_set)
    except InputError as exc:
        key = "materials.bpx" if bpx_file is not None else "materials.pybamm"
        text = exc.format().splitlines()[0]
        raise InputError(text if text.startswith(key) else f"{key}: {text}") from None
    return None


def _complete_cathode(cathode: ImportedCathode, overrides: dict[str, Any]) -> tuple[ImportedCathode, list[str]]:
    """Mark overridden parameters and fill missing mechanics with femsim's defaults (reported)."""
    from femsim.parameters.bpx_format import MECHANICS_DEFAULTS

    sources = dict(cathode.sources)
    for name in overrides:
        sources[name] = "materials.cathode_overrides" + (f" (replaces {sources[name]})" if name in sources else "")
    changes: dict[str, Any] = {}
    notes: list[str] = []
    for name, value in MECHANICS_DEFAULTS.items():
        if math.isnan(getattr(cathode, name)):
            changes[name] = value
            sources[name] = "femsim default (NMC622, docs/physics.md §4.3): not in User-defined nor cathode_overrides"
            notes.append(f"cathode.{name} = {value:g}: {sources[name]}")
    return dataclasses.replace(cathode, **changes, sources=tuple(sources.items())), notes


def build_material_sets(materials: Any, temperature_K: float | None = None) -> MaterialSets:
    """Instantiate the sets named in a case's ``[materials]`` with its overrides applied.

    ``temperature_K`` (the case's ``protocol.temperature_K``) is where imported sets evaluate their
    Arrhenius factors and entropic OCP term (default: their reference temperature).
    """
    from femsim.errors import InputError

    imported = _imported(materials)
    bases: dict[str, Any] = {"cathode": imported.cathode if imported else CATHODES[materials.cathode](),
             "electrolyte": imported.electrolyte if imported else ELECTROLYTES[materials.electrolyte](),
             "counter_electrode": COUNTER_ELECTRODES[materials.counter_electrode]()}
    problems: list[str] = []
    sets = {}
    notes = list(imported.notes) if imported else []
    if imported:
        notes.insert(0, f"cathode {imported.cathode.name!r} and its electrolyte replace materials.cathode "
                        f"({materials.cathode!r}) and materials.electrolyte ({materials.electrolyte!r})")
    for attr, base in bases.items():
        overrides = getattr(materials, f"{attr}_overrides")
        try:
            sets[attr] = base.with_overrides(overrides, f"materials.{attr}_overrides")
        except InputError as exc:
            problems += [exc.message] + exc.problems
            sets[attr] = base
        if isinstance(sets[attr], ImportedCathode):
            sets[attr], more = _complete_cathode(sets[attr], overrides)
            notes += more
            if temperature_K is not None:
                sets[attr] = sets[attr].at_temperature(temperature_K)
    if problems:
        raise InputError(problems[0], problems=problems[1:])
    return MaterialSets(sets["cathode"], sets["electrolyte"], sets["counter_electrode"], tuple(notes))


def describe_material_sources() -> list[str]:
    """Lines for ``femsim validate --describe``: the material sources and the BPX mapping table."""
    from femsim.parameters.bpx_format import mapping_rows

    lines = ["# material sources: [materials] cathode (" + ", ".join(CATHODES) + "), electrolyte ("
             + ", ".join(ELECTROLYTES) + "), counter_electrode (" + ", ".join(COUNTER_ELECTRODES) + ");",
             "#   or materials.bpx = 'cell.json' (BPX, validated by the bpx package) or materials.pybamm = 'Chen2020'",
             "#   (any PyBaMM set), which replace cathode and electrolyte; femsim params show CASE lists every value",
             "#   with its source, femsim params export CASE --bpx out.json writes them as BPX.",
             "# BPX field -> femsim parameter [unit] (tables: linear, end values held outside):"]
    lines += [
        f"#   {field} -> {attr} [{unit}]" if unit else f"#   {field} -> {attr}" for field, attr, unit in mapping_rows()
    ]
    return lines
