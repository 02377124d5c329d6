"""Shared machinery of the named parameter sets.

A parameter set is a frozen dataclass: each numeric field is one parameter in SI units (the unit is
in the field's metadata and docstring) and carries its source in ``metadata['source']``.
Functions of state (OCP, conductivity, ...) are methods that work on numbers, numpy arrays and UFL
expressions alike (:func:`math_for`).
"""

from __future__ import annotations

import dataclasses
import difflib
from typing import Any, ClassVar

import numpy as np

from femsim.units import FARADAY, GAS_CONSTANT  # noqa: F401  (femsim.parameters.FARADAY, GAS_CONSTANT)


def param(value: Any, unit: str, source: str, doc: str = "") -> Any:
    """A parameter field with its unit and citation."""
    return dataclasses.field(default=value, metadata={"unit": unit, "source": source, "doc": doc})


class _UflMath:
    def __getattr__(self, name: str) -> Any:
        import ufl

        return {"max": ufl.max_value, "min": ufl.min_value}.get(name) or getattr(ufl, name)


class _NumpyMath:
    def __getattr__(self, name: str) -> Any:
        return {"max": np.maximum, "min": np.minimum}.get(name) or getattr(np, name)


_UFL, _NP = _UflMath(), _NumpyMath()


def math_for(*values: Any) -> Any:
    """numpy-like math module for numbers/arrays, UFL's for UFL expressions."""
    for v in values:
        if type(v).__module__.startswith("ufl") or hasattr(v, "ufl_shape"):
            return _UFL
    return _NP


#: :func:`vanishing_power` is the power itself above this fraction of the concentration scale
#: (the width of the old clip of the exchange current, so results away from the limit are unchanged)
VANISHING_POWER_WIDTH = 1e-6


def vanishing_power(y: Any, exponent: float, width: float) -> Any:
    """y^a for y ≥ w, continued below w by the quadratic that matches its value and slope at w:

        p(y) = y^a                                  for y ≥ w,
        p(y) = w^a [(2 − a) t − (1 − a) t²], t = y/w  for y < w,     0 < a ≤ 1.

    The concentration factors of the exchange current, c_s^αa (c_max − c_s)^αc, vanish at
    c_s = 0 and c_s = c_max with an infinite slope. p keeps the zero (a saturated surface takes no
    more Li: p(0) = 0) with the finite slope (2 − a) w^(a−1), is continuously differentiable and
    increasing on y < (2 − a) w / (2(1 − a)) (1.5 w for a = ½), and turns negative past the limit,
    so an over-full point (only the P1 solution's overshoot between nodes gets there) is pushed
    back. It replaces the clip c_s ∈ [w, c_max − w], which held i0 at a floor and let the surface
    fill past c_max at a fixed overpotential. Written with max/min only, it works on numbers,
    numpy arrays, UFL and PyBaMM expressions: p = max(y, w)^a + q(min(y, w)) − w^a.
    """
    m = math_for(y)
    if type(y).__module__.startswith("pybamm"):
        import pybamm

        upper, lower = pybamm.maximum(y, width), pybamm.minimum(y, width)
    else:
        upper, lower = m.max(y, width + 0.0 * y), m.min(y, width + 0.0 * y)
    t = lower / width
    return upper**exponent + width**exponent * ((2.0 - exponent) * t - (1.0 - exponent) * t * t - 1.0)


def lattice_factor(c_s: Any, c_max: float, anodic: float, cathodic: float) -> Any:
    """c_s^αa (c_max − c_s)^αc of an exchange current, each factor a :func:`vanishing_power`
    (zero at c_s = 0 and c_s = c_max with a finite slope; the powers themselves within
    ``VANISHING_POWER_WIDTH`` c_max of neither end). Numbers, arrays, UFL or PyBaMM expressions."""
    width = VANISHING_POWER_WIDTH * c_max
    return vanishing_power(c_s, anodic, width) * vanishing_power(c_max - c_s, cathodic, width)


class ParameterSet:
    """Mixin for parameter dataclasses: overrides by name, tables of values with sources."""

    # declared for the type checker only (no value: the dataclass subclasses own both)
    __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]
    name: str

    def with_overrides(self, overrides: dict[str, Any], key_prefix: str) -> Any:
        from femsim.errors import InputError

        fields = {f.name: f for f in dataclasses.fields(self)}
        problems, changes = [], {}
        for name, value in overrides.items():
            key = f"{key_prefix}.{name}"
            if name not in fields or name == "name":
                close = difflib.get_close_matches(name, list(fields), n=1, cutoff=0.6)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                problems.append(f"{key}: unknown parameter of {self.name}{hint}")
                continue
            default = getattr(self, name)  # the current value's type (imported sets have no class defaults)
            if not isinstance(default, float | str):
                problems.append(f"{key}: {self.name}'s {name} is a function: give it in the material file")
                continue
            if isinstance(default, float) and (isinstance(value, bool) or not isinstance(value, int | float)):
                problems.append(f"{key}: must be a number, got {value!r}")
                continue
            if isinstance(default, str) and not isinstance(value, str):
                problems.append(f"{key}: must be a string, got {value!r}")
                continue
            choices = fields[name].metadata.get("choices")
            if choices and value not in choices:
                problems.append(f"{key}: must be one of {', '.join(map(repr, choices))}, got {value!r}")
                continue
            if isinstance(default, float):
                value = float(value)
                if fields[name].metadata.get("positive", True) and not value > 0:
                    problems.append(f"{key}: must be > 0, got {value:g}")
                    continue
            changes[name] = value
        if problems:
            raise InputError(problems[0], problems=problems[1:])
        return dataclasses.replace(self, **changes)

    def table(self) -> list[tuple[str, Any, str, str]]:
        """(name, value, unit, source) rows."""
        return [(f.name, getattr(self, f.name), f.metadata.get("unit", ""), f.metadata.get("source", ""))
                for f in dataclasses.fields(self) if f.name != "name"]
