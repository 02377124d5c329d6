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


#: below this z, ln(1 + z) is taken as its series z − z²/2 + z³/3 (error < z⁴/4 ≈ 3e-13 z)
LOG1P_SERIES_BELOW = 1e-4


def _log1p_series(z: Any) -> Any:
    """z − z²/2 + z³/3: ln(1 + z) below ``LOG1P_SERIES_BELOW`` (numbers, UFL, PyBaMM)."""
    return z * (1.0 - z * (0.5 - z / 3.0))


def _ufl_log1p(z: Any) -> Any:
    """ln(1 + z) for z ≥ 0 that keeps its value for small z: ``ln(1 + z)`` rounds 1 + z to 1 below
    z ≈ 1e-16 and returns 0 while its UFL derivative 1/(1 + z) stays 1, so the Jacobian of an
    expression with a vanishing z would be that of a different function than its residual."""
    import ufl

    return ufl.conditional(ufl.lt(z, LOG1P_SERIES_BELOW), _log1p_series(z), ufl.ln(1.0 + z))


class _UflMath:
    def __getattr__(self, name: str) -> Any:
        import ufl

        return {"max": ufl.max_value, "min": ufl.min_value, "log": ufl.ln, "log1p": _ufl_log1p}.get(name) \
            or getattr(ufl, name)


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


#: width w of the smooth floor of the exchange current's concentration factors, as a fraction of
#: the concentration scale (c_max = 47664 mol/m³ for NMC622: w = 48 mol/m³). :func:`saturating_power`
#: is the power itself to < 1e-12 where its argument is above 25 w (surface x below 0.975 and
#: above 0.025), to < 1e-5 above 10 w (x < 0.99: < 0.3 µV of overpotential); it sets the voltage
#: only on a surface within a few w of full. The width is chosen for Newton: the P1 solution of a
#: saturating surface overshoots c_max at nodes by ~0.25 % (≈ 2.5 w; consistent mass matrix), so a
#: floor much narrower than that (1e-6 c_max was tried) switches the kinetics off within the
#: overshoot and Newton fails at the end of a 5C discharge (dt driven below dt_min), while at
#: 1e-3 it converges in 4–6 iterations down to the cut-off. The price, measured on the
#: 6-particle RVE at 5C: past V ≈ 3.2 V the surface nodes fill past c_max (by 0.6 % at 3.10 V,
#: 2.4 % at 2.57 V) instead of the much steeper fall of the unregularised kinetics.
SATURATION_WIDTH = 1e-3


#: floor of the softplus, as a fraction of its width: e^{y/w} underflows to 0 below y ≈ −745 w,
#: where the power's derivative a s^(a−1) s' would be ∞ · 0; the floor keeps it finite
SOFTPLUS_FLOOR = 1e-30


def _softplus(y: Any, width: float) -> Any:
    """w ln(1 + e^{y/w}) written without overflow, max(y, 0) + w ln(1 + e^{−|y|/w}), plus the
    floor ``SOFTPLUS_FLOOR`` w.

    The logarithm is a ``log1p``: with ``ln(1 + z)`` the tail past y ≈ −37 w rounded to the floor
    while UFL's derivative kept the exponential's slope, so Newton saw ∂i0/∂c_s ≈ 1e11 i0 per
    mol/m³ at an over-full surface node whose residual no longer depended on c_s. It then
    converged only linearly (contraction 0.41 per iteration on the reference RVE at the end of a
    5C discharge to 2.5 V, surface node at x 1.039) and the step fell to dt ~ 2e-3 s. UFL and
    PyBaMM expressions take the series below ``LOG1P_SERIES_BELOW``, numpy its ``log1p``."""
    floor = SOFTPLUS_FLOOR * width
    if type(y).__module__.startswith("pybamm"):
        import pybamm

        z = pybamm.exp(-abs(y) / width)
        series = (z < LOG1P_SERIES_BELOW) * _log1p_series(z)
        return pybamm.maximum(y, 0.0) + width * (series + (z >= LOG1P_SERIES_BELOW) * pybamm.log(1.0 + z)) + floor
    m = math_for(y)
    return m.max(y, 0.0 * y) + width * m.log1p(m.exp(-abs(y) / width)) + floor


def saturating_power(y: Any, exponent: float, width: float) -> Any:
    """y^a of a concentration factor, continued smoothly and positively through y = 0:

        p(y) = s(y)^a,   s(y) = w ln(1 + e^{y/w})   (softplus of width w, 0 < a ≤ 1).

    s(y) = y to round-off for y ≥ 37 w, s(0) = w ln 2, and s(y) ≈ w e^{y/w} → 0 for y < 0: p is
    smooth, positive and increasing everywhere. The concentration factors of the exchange current,
    c_s^αa (c_max − c_s)^αc, vanish at c_s = 0 and c_s = c_max with an infinite slope; with p they
    fall to (w ln 2)^a at the limit and decay exponentially past it, so a full surface takes more
    Li only at an overpotential that grows linearly with the overfill (RT/F ≈ 26 mV per w past
    the limit for a = α_c), and the exchange current never changes sign. A factor that turned
    negative past the limit (the quadratic continuation used before) gave the galvanostatic
    problem a second, spurious branch: an over-full surface with i0 < 0 and η > 0 that keeps
    taking Li at any rate, which let a 5C discharge fill particles past c_max (6-particle RVE:
    mean x 1.063 at 3.01 V) and made Newton wander between the branches at the end of discharge.
    Works on numbers, numpy arrays, UFL and PyBaMM expressions.
    """
    return _softplus(y, width) ** exponent


def lattice_factor(c_s: Any, c_max: float, anodic: float, cathodic: float) -> Any:
    """c_s^αa (c_max − c_s)^αc of an exchange current, each factor a :func:`saturating_power`
    (positive and smooth through c_s = 0 and c_s = c_max; the powers themselves to < 1e-12 wherever
    c_s and c_max − c_s are above 25 ``SATURATION_WIDTH`` c_max). Numbers, arrays, UFL or PyBaMM expressions."""
    width = SATURATION_WIDTH * c_max
    return saturating_power(c_s, anodic, width) * saturating_power(c_max - c_s, cathodic, width)


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
