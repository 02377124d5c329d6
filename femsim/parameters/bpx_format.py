"""BPX (Battery Parameter eXchange) files ↔ femsim material sets.

:data:`CATHODE_FIELDS`, :data:`ELECTROLYTE_FIELDS`, :data:`OTHER_FIELDS` and
:data:`USER_DEFINED_FIELDS` are *the* mapping (BPX field ↔ femsim parameter, unit), used by the
import, the export, ``femsim validate --describe`` and the README. A file is validated by the
``bpx`` package first (schema, units in the field names, expression grammar); femsim then checks
what the schema leaves open (stoichiometry in [0, 1], tables strictly increasing, a single
positive-electrode material, no OCP hysteresis) and reports every BPX section it does not use.
Errors are one line naming the BPX field as ``Section/Subsection/Field [unit]``.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import warnings
from pathlib import Path
from typing import Any

from femsim.errors import InputError
from femsim.parameters.bpx_errors import Refusal as _Refusal, validation_refusal as _validation_refusal
from femsim.parameters.functions import FunctionError, MaterialFunction
from femsim.parameters.imported import ImportedCathode, ImportedElectrolyte

POSITIVE = "Positive electrode"
#: (BPX field of "Positive electrode", femsim ImportedCathode attribute, unit, is a function of x, default if optional)
CATHODE_FIELDS: tuple[tuple[str, str, str, bool, Any], ...] = (
    ("Maximum concentration [mol.m-3]", "max_concentration", "mol/m³", False, None),
    ("Minimum stoichiometry", "minimum_stoichiometry", "-", False, None),
    ("Maximum stoichiometry", "maximum_stoichiometry", "-", False, None),
    ("OCP [V]", "ocp", "V (of x = c_s/c_max)", True, None),
    ("Entropic change coefficient [V.K-1]", "entropic_change", "V/K (of x)", True, 0.0),
    ("Diffusivity [m2.s-1]", "diffusivity_function", "m²/s (of x)", True, None),
    ("Diffusivity activation energy [J.mol-1]", "diffusivity_activation_energy", "J/mol", False, 0.0),
    ("Reaction rate constant [mol.m-2.s-1]", "reaction_rate_constant_mol_m2_s", "mol m⁻² s⁻¹", False, None),
    ("Reaction rate constant activation energy [J.mol-1]", "reaction_rate_activation_energy", "J/mol", False, 0.0),
    ("Conductivity [S.m-1]", "electronic_conductivity", "S/m", False, None),
    ("Particle radius [m]", "particle_radius", "m", False, None),
    ("Surface area per unit volume [m-1]", "surface_area_per_unit_volume", "1/m", False, None),
    ("Thickness [m]", "electrode_thickness", "m", False, None),
    ("Porosity", "porosity", "-", False, None),
    ("Transport efficiency", "transport_efficiency", "-", False, None),
)
#: (BPX field of "Electrolyte", femsim ImportedElectrolyte attribute, unit, is a function of c_e, default)
ELECTROLYTE_FIELDS: tuple[tuple[str, str, str, bool, Any], ...] = (
    ("Conductivity [S.m-1]", "conductivity_function", "S/m (of c_e in mol/m³)", True, None),
    ("Conductivity activation energy [J.mol-1]", "conductivity_activation_energy", "J/mol", False, 0.0),
    ("Diffusivity [m2.s-1]", "diffusivity_function", "m²/s (of c_e in mol/m³)", True, None),
    ("Diffusivity activation energy [J.mol-1]", "diffusivity_activation_energy", "J/mol", False, 0.0),
    ("Cation transference number", "transference_number", "-", False, None),
)
#: (BPX path, femsim attribute, unit, default)
OTHER_FIELDS: tuple[tuple[str, str, str, Any], ...] = (
    ("Parameterisation/Cell/Reference temperature [K]", "reference_temperature (cathode and electrolyte)", "K",
     298.15),
    ("State/Initial conditions/Initial electrolyte concentration [mol.m-3]",
     "cathode.reference_electrolyte_concentration (c_e0 of i0)", "mol/m³", 1000.0),
)
#: (User-defined name, femsim attribute, unit): read when present, exported always
USER_DEFINED_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("Positive electrode Young's modulus [Pa]", "youngs_modulus", "Pa"),
    ("Positive electrode Poisson's ratio", "poisson_ratio", "-"),
    ("Positive electrode partial molar volume [m3.mol-1]", "partial_molar_volume", "m³/mol"),
    ("Positive electrode volume change", "volume_change_function", "ΔV/V0 (fraction) of x"),
    ("Thermodynamic factor", "electrolyte.thermodynamic_factor", "-"),
)
#: User-defined quantities femsim carries through (export) without using them
CARRIED_USER_DEFINED = (
    "Positive electrode critical stress [Pa]", "Positive electrode initial crack length [m]",
    "Positive electrode initial crack width [m]", "Positive electrode number of cracks per unit area [m-2]",
    "Positive electrode Paris' law constant b", "Positive electrode Paris' law constant m",
)
#: mechanics used when neither User-defined nor [materials] cathode_overrides give them (NMC622, docs/physics.md §4.3)
MECHANICS_DEFAULTS = {"youngs_modulus": 190e9, "poisson_ratio": 0.25, "partial_molar_volume": 1.0e-6}
_MECHANICS_BOUNDS = {"youngs_modulus": (0.0, math.inf), "poisson_ratio": (-1.0, 0.5)}
_HYSTERESIS = ("OCP (delithiation) [V]", "OCP (lithiation) [V]", "OCP hysteresis decay constant")
_BOUNDS = {"minimum_stoichiometry": (0.0, 1.0), "maximum_stoichiometry": (0.0, 1.0), "porosity": (0.0, 1.0),
           "transport_efficiency": (0.0, 1.0), "transference_number": (0.0, 1.0)}


@dataclasses.dataclass(frozen=True)
class BpxMaterials:
    cathode: ImportedCathode
    electrolyte: ImportedElectrolyte
    #: what was not used, defaults that were applied (one line each)
    notes: tuple[str, ...]


# -- reading -----------------------------------------------------------------------------------
def read_bpx_file(path: str | Path) -> BpxMaterials:
    """Read, validate and map a BPX JSON file. Raises a one-line InputError naming file and field."""
    path = Path(path)
    if not path.is_file():
        raise InputError("BPX file not found", file=str(path))
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise InputError("not a UTF-8 text file (BPX is JSON)", file=str(path)) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", file=str(path)) from None
    return bpx_materials(raw, str(path))


def bpx_materials(raw: Any, label: str) -> BpxMaterials:
    """Validate and map a BPX document (a dict, as read from JSON); ``label`` names it in errors."""
    try:
        return _map(raw, label)
    except _Refusal as exc:
        raise InputError(str(exc), file=label) from None


def _map(raw: Any, label: str) -> BpxMaterials:
    import bpx
    import pydantic

    if not isinstance(raw, dict):
        raise _Refusal("(top level)", f"must be a JSON object, got {type(raw).__name__}")
    param = raw.get("Parameterisation")
    positive = param.get(POSITIVE) if isinstance(param, dict) else None
    if isinstance(positive, dict) and "Particle" in positive:
        names = ", ".join(repr(k) for k in positive["Particle"]) if isinstance(positive["Particle"], dict) else "?"
        raise _Refusal(f"Parameterisation/{POSITIVE}/Particle",
                       f"blended electrode ({names}) is not supported: femsim resolves one active material")
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            doc = bpx.parse_bpx_obj(copy.deepcopy(raw))  # bpx replaces sections of the dict it is given
        except pydantic.ValidationError as exc:
            raise _validation_refusal(exc, raw, _known_fields()) from None
        except (ValueError, TypeError, KeyError) as exc:
            raise _Refusal("(BPX)", str(exc).splitlines()[0]) from None
    for w in caught:
        if issubclass(w.category, UserWarning):
            notes.append(f"bpx: {str(w.message).split('. ')[0]}")
    if doc.header.model == "SPM" or doc.parameterisation.electrolyte is None:
        raise _Refusal("Parameterisation/Electrolyte", f"required by femsim (Model '{doc.header.model}' has none)")
    pos = doc.parameterisation.positive_electrode
    if pos is None:
        raise _Refusal(f"Parameterisation/{POSITIVE}", "required by femsim")
    pos_dict = pos.model_dump(by_alias=True, exclude_none=True)
    if "Particle" in pos_dict:
        raise _Refusal(f"Parameterisation/{POSITIVE}/Particle", "blended electrode is not supported")
    for name in _HYSTERESIS:
        if name in pos_dict:
            raise _Refusal(f"Parameterisation/{POSITIVE}/{name}", "OCP hysteresis is not modelled by femsim")
    cell = doc.parameterisation.cell
    t_ref = cell.reference_temperature if cell is not None and cell.reference_temperature is not None else 298.15
    ic = doc.state.initial_conditions if doc.state is not None else None
    ce0 = ic.initial_electrolyte_concentration if ic is not None and ic.initial_electrolyte_concentration else 1000.0
    user = _user_defined(doc)
    cathode_values = _section(pos_dict, CATHODE_FIELDS, f"Parameterisation/{POSITIVE}")
    if not cathode_values["minimum_stoichiometry"] < cathode_values["maximum_stoichiometry"]:
        raise _Refusal(f"Parameterisation/{POSITIVE}/Minimum stoichiometry",
                       f"must be below Maximum stoichiometry ({cathode_values['maximum_stoichiometry']:g}), got "
                       f"{cathode_values['minimum_stoichiometry']:g}")
    for attr in ("ocp", "diffusivity_function"):
        window = cathode_values[attr].table_range
        lo, hi = cathode_values["minimum_stoichiometry"], cathode_values["maximum_stoichiometry"]
        if window and (lo < window[0] or hi > window[1]):
            field = next(f for f, a, *_ in CATHODE_FIELDS if a == attr)
            notes.append(f"Parameterisation/{POSITIVE}/{field}: table covers [{window[0]:g}, {window[1]:g}], the "
                         f"stoichiometry window [{lo:g}, {hi:g}] leaves it (end values held)")
    electrolyte_values = _section(doc.parameterisation.electrolyte.model_dump(by_alias=True, exclude_none=True),
                                  ELECTROLYTE_FIELDS, "Parameterisation/Electrolyte")
    mech, mech_sources = {}, {}
    for name, attr, _unit in USER_DEFINED_FIELDS:
        if name in user and attr != "electrolyte.thermodynamic_factor":
            value = user.pop(name)
            mech[attr] = _value(value, attr == "volume_change_function", f"Parameterisation/User-defined/{name}")
            mech_sources[attr] = f"BPX User-defined '{name}'"
            bounds = _MECHANICS_BOUNDS.get(attr)
            if bounds and not bounds[0] < mech[attr] < bounds[1]:
                raise _Refusal(f"Parameterisation/User-defined/{name}",
                               f"must be in ({bounds[0]:g}, {bounds[1]:g}), got {mech[attr]:g}")
    tdf_name = "Thermodynamic factor"
    tdf_given = tdf_name in user
    tdf = _value(user.pop(tdf_name), False, f"Parameterisation/User-defined/{tdf_name}") if tdf_given else 1.0
    carried = tuple((name, float(_value(user.pop(name), False, f"Parameterisation/User-defined/{name}")))
                    for name in CARRIED_USER_DEFINED if name in user)
    for name in sorted(k for k in user if k != "description"):
        notes.append(f"Parameterisation/User-defined/{name}: not used by femsim")
    notes += _unused_sections(raw, doc, pos_dict)
    source = label if label.startswith("PyBaMM") else f"BPX {label}"
    cath_sources = {attr: f"{source}: {POSITIVE}/{field}" for field, attr, *_ in CATHODE_FIELDS}
    cath_sources["reference_temperature"] = f"{source}: Cell/Reference temperature [K]" if cell and \
        cell.reference_temperature is not None else "298.15 K (BPX gives none)"
    cath_sources["reference_electrolyte_concentration"] = (
        f"{source}: State/Initial conditions/Initial electrolyte concentration [mol.m-3]" if ic is not None and
        ic.initial_electrolyte_concentration else "1000 mol/m³ (BPX gives none; PyBaMM's default)")
    cath_sources.update(mech_sources)
    cathode = ImportedCathode(
        name=(doc.header.title or Path(label).stem)[:80], **cathode_values, reference_temperature=float(t_ref),
        reference_electrolyte_concentration=float(ce0),
        youngs_modulus=mech.get("youngs_modulus", math.nan), poisson_ratio=mech.get("poisson_ratio", math.nan),
        partial_molar_volume=mech.get("partial_molar_volume", math.nan),
        volume_change_function=mech.get("volume_change_function"), carried=carried,
        sources=tuple(cath_sources.items()), temperature=float(t_ref))
    el_sources = {attr: f"{source}: Electrolyte/{field}" for field, attr, *_ in ELECTROLYTE_FIELDS}
    el_sources["thermodynamic_factor"] = (f"{source}: User-defined/{tdf_name}" if tdf_given
                                          else "1 (BPX has no thermodynamic factor; as PyBaMM)")
    el_sources["reference_temperature"] = cath_sources["reference_temperature"]
    electrolyte = ImportedElectrolyte(name=f"{cathode.name} electrolyte", **electrolyte_values,
                                      thermodynamic_factor=float(tdf), reference_temperature=float(t_ref),
                                      sources=tuple(el_sources.items()))
    return BpxMaterials(cathode, electrolyte, tuple(dict.fromkeys(notes)))


def _value(value: Any, function: bool, field: str) -> Any:
    try:
        out = MaterialFunction.from_bpx(value)
    except FunctionError as exc:
        raise _Refusal(field, str(exc)) from None
    if function:
        return out
    if not out.is_constant:
        raise _Refusal(field, "must be a number")
    return out.constant


def _section(values: dict[str, Any], fields: tuple, prefix: str) -> dict[str, Any]:
    out = {}
    for field, attr, _unit, function, default in fields:
        key = f"{prefix}/{field}"
        if field not in values:
            if default is None:
                raise _Refusal(key, "required by femsim")
            out[attr] = MaterialFunction.from_bpx(default) if function else float(default)
            continue
        value = _value(values[field], function, key)
        if function:
            _check_function(value, attr, key)
        else:
            lo_hi = _BOUNDS.get(attr)
            if lo_hi is not None and not lo_hi[0] <= value <= lo_hi[1]:
                raise _Refusal(key, f"must be in [{lo_hi[0]:g}, {lo_hi[1]:g}], got {value:g}")
            if lo_hi is None and "activation" not in attr and not value > 0:
                raise _Refusal(key, f"must be > 0, got {value:g}")
            if "activation" in attr and value < 0:
                raise _Refusal(key, f"must be >= 0, got {value:g}")
        out[attr] = value
    return out


def _check_function(value: MaterialFunction, attr: str, key: str) -> None:
    """Evaluate once on its range (catches 1/0, log of negatives, NaN) and, for rates, positivity."""
    import numpy as np

    grid = np.linspace(0.0, 1.0, 11) if attr in ("ocp", "entropic_change", "diffusivity_function") and \
        "electrolyte" not in key.lower() else np.linspace(100.0, 3000.0, 11)
    if value.kind == "table":
        grid = np.asarray(value.table_x)
    with np.errstate(all="ignore"):
        try:
            y = np.asarray(value(grid), dtype=float)
        except (ArithmeticError, ValueError, TypeError) as exc:
            raise _Refusal(key, f"cannot be evaluated: {exc}") from None
    inner = y[1:-1] if value.kind == "expression" and attr in ("ocp",) else y  # log(x) may be -inf at 0
    if not np.all(np.isfinite(inner)):
        raise _Refusal(key, f"not finite on [{grid[0]:g}, {grid[-1]:g}]")
    positive = y >= 0 if attr == "conductivity_function" else y > 0  # κ(0) = 0 is physical
    if attr in ("diffusivity_function", "conductivity_function") and not np.all(positive):
        raise _Refusal(key, f"must be > 0, got {y.min():g} at {grid[int(np.argmin(y))]:g}")


def _user_defined(doc: Any) -> dict[str, Any]:
    ud = doc.parameterisation.user_defined
    if ud is None:
        return {}
    return dict(ud.model_extra or {})


def _unused_sections(raw: dict, doc: Any, pos_dict: dict[str, Any]) -> list[str]:
    notes = []
    param = raw.get("Parameterisation", {})
    if param.get("Negative electrode") is not None:
        notes.append("Parameterisation/Negative electrode: not used (femsim models a Li-metal half-cell: "
                     "materials.counter_electrode)")
    if param.get("Separator") is not None:
        notes.append("Parameterisation/Separator: not used (materials.separator_porosity, separator_bruggeman)")
    cell = param.get("Cell") or {}
    rest = sorted(k for k in cell if k not in ("Reference temperature [K]",))
    if rest:
        notes.append(f"Parameterisation/Cell: not used: {', '.join(rest)}")
    if raw.get("Validation") is not None:
        notes.append("Validation: not used")
    if doc.state is not None and doc.state.initial_conditions is not None:
        notes.append("State/Initial conditions: only the initial electrolyte concentration is used (as c_e0 of i0); "
                     "initial state and temperature come from [protocol]")
    return notes


# -- writing -----------------------------------------------------------------------------------
def bpx_document(cathode: ImportedCathode, electrolyte: ImportedElectrolyte, *, title: str, description: str,
                 cell: dict[str, Any]) -> dict[str, Any]:
    """A BPX ``Partial`` document (positive electrode, electrolyte, cell; mechanics in User-defined)."""
    pos = {field: _to_bpx(getattr(cathode, attr)) for field, attr, *_ in CATHODE_FIELDS}
    el = {field: _to_bpx(getattr(electrolyte, attr)) for field, attr, *_ in ELECTROLYTE_FIELDS}
    user: dict[str, Any] = {}  # no 'description': PyBaMM's BPX reader takes every User-defined entry as a number
    for name, attr, _unit in USER_DEFINED_FIELDS:
        value = electrolyte.thermodynamic_factor if attr == "electrolyte.thermodynamic_factor" else getattr(cathode,
                                                                                                             attr)
        if value is not None:
            user[name] = _to_bpx(value)
    user.update({name: value for name, value in cathode.carried})
    return {
        "Header": {"BPX": "1.0.0", "Title": title, "Description": description, "Model": "Partial"},
        "Parameterisation": {"Cell": {**cell, "Reference temperature [K]": cathode.reference_temperature},
                             "Electrolyte": el, POSITIVE: pos, "User-defined": user},
        "State": {"Initial conditions": {
            "Initial electrolyte concentration [mol.m-3]": cathode.reference_electrolyte_concentration}},
    }


def _to_bpx(value: Any) -> Any:
    return value.to_bpx() if isinstance(value, MaterialFunction) else value


def mapping_rows() -> list[tuple[str, str, str]]:
    """(BPX field, femsim parameter, unit) rows of the whole mapping, for docs and --describe."""
    rows = [(f"Parameterisation/{POSITIVE}/{f}", f"cathode.{a}", u) for f, a, u, *_ in CATHODE_FIELDS]
    rows += [(f"Parameterisation/Electrolyte/{f}", f"electrolyte.{a}", u) for f, a, u, *_ in ELECTROLYTE_FIELDS]
    rows += [(p, a, u) for p, a, u, _d in OTHER_FIELDS]
    rows += [(f"Parameterisation/User-defined/{n}", a if a.startswith("electrolyte.") else f"cathode.{a}", u)
             for n, a, u in USER_DEFINED_FIELDS]
    rows += [(f"Parameterisation/User-defined/{n}", "carried (export), not used", "") for n in CARRIED_USER_DEFINED]
    return rows


def _known_fields() -> list[str]:
    """The BPX fields femsim reads (suggested when a file has a misspelt one)."""
    fields = [f for f, *_ in CATHODE_FIELDS] + [f for f, *_ in ELECTROLYTE_FIELDS]
    return fields + ["Reference temperature [K]", "Initial electrolyte concentration [mol.m-3]"]
