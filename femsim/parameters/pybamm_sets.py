"""A PyBaMM parameter set (``[materials] pybamm = "Chen2020"``) as a BPX document, then the BPX mapping.

PyBaMM's positive-electrode and electrolyte functions are evaluated through
``ParameterValues.process_symbol`` at the reference temperature: a function that is the same
everywhere becomes a constant, any other a table (OCP and D_s on x = 0, 0.01, ..., 1; κ and D_e on
c_e = 0, 50, ..., 4000 mol/m³; interpolated linearly, end values held). Activation energies are
fitted from T_ref and T_ref + 10 K (checked at T_ref − 10 K); the normalised rate constant of BPX is
i0(c_e0, c_max/2)/(F/2), its square-root form checked at (c_e0/2, x = 0.2). The stoichiometry window
is PyBaMM's own (``get_min_max_stoichiometries``). Mechanics come from the set's Young's modulus,
Poisson's ratio and partial molar volume when it has them. Anything that does not fit refuses with
the PyBaMM parameter name.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from femsim.errors import InputError
from femsim.parameters.base import FARADAY, GAS_CONSTANT

X_GRID = np.linspace(0.0, 1.0, 101)
CE_GRID = np.linspace(0.0, 4000.0, 81)
_P = "Positive electrode "


def pybamm_materials(set_name: str) -> Any:
    """:class:`~femsim.parameters.bpx_format.BpxMaterials` of PyBaMM parameter set ``set_name``."""
    import dataclasses

    from femsim.parameters.bpx_format import bpx_materials

    out = bpx_materials(pybamm_bpx_document(set_name), f"PyBaMM {set_name}")
    own = ("Parameterisation/Cell", "State/")  # sections femsim wrote itself
    return dataclasses.replace(out, notes=tuple(n for n in out.notes if not n.startswith(own)))


def pybamm_bpx_document(set_name: str) -> dict[str, Any]:
    """The positive electrode and electrolyte of a PyBaMM set as a BPX ``Partial`` document."""
    try:
        import pybamm
    except ImportError:
        raise InputError("materials.pybamm: PyBaMM is not installed (pip install pybamm)") from None
    try:
        pv = pybamm.ParameterValues(set_name)
    except (ValueError, KeyError) as exc:
        sets = ", ".join(sorted(pybamm.parameter_sets.keys()))
        raise InputError(f"materials.pybamm: unknown PyBaMM parameter set {set_name!r} ({sets})") from exc
    where = f"materials.pybamm: {set_name}"
    if any(k.startswith(("Primary: ", "Secondary: ")) and "ositive" in k for k in pv.keys()):
        raise InputError(f"{where}: blended positive electrode ('Primary: ...' parameters) is not supported")
    t_ref = float(pv["Reference temperature [K]"])
    c_max = float(pv["Maximum concentration in positive electrode [mol.m-3]"])
    ce0 = float(pv["Initial concentration in electrolyte [mol.m-3]"])

    def evaluate(name: str, args: dict[str, Any]) -> np.ndarray:
        symbols = {k: pybamm.Vector(v) if np.ndim(v) else pybamm.Scalar(float(v)) for k, v in args.items()}
        try:
            value = pv.process_symbol(pybamm.FunctionParameter(name, symbols)).evaluate()
        except KeyError:
            raise InputError(f"{where}: '{name}' is missing") from None
        return np.broadcast_to(np.asarray(value, dtype=float).ravel(), np.shape(next(iter(args.values()))) or (1,))

    def function_of(name: str, grid: np.ndarray, extra: dict[str, Any]) -> Any:
        y = np.array(evaluate(name, {"x": grid, **extra}), dtype=float)
        if not np.all(np.isfinite(y)):
            finite = np.isfinite(y)
            grid, y = grid[finite], y[finite]
        if np.allclose(y, y[0], rtol=1e-14, atol=0.0):
            return float(y[0])
        return {"x": [float(v) for v in grid], "y": [float(v) for v in y]}

    def activation_energy(name: str, args: dict[str, Any]) -> float:
        f1, f2, f0 = (float(evaluate(name, {**args, "T": t})[0]) for t in (t_ref, t_ref + 10.0, t_ref - 10.0))
        ea = GAS_CONSTANT * math.log(f2 / f1) / (1.0 / t_ref - 1.0 / (t_ref + 10.0))
        predicted = f1 * math.exp(ea / GAS_CONSTANT * (1.0 / t_ref - 1.0 / (t_ref - 10.0)))
        if abs(predicted / f0 - 1.0) > 1e-6:
            raise InputError(
                f"{where}: '{name}' is not of Arrhenius form in T (BPX needs f_ref exp(Ea/R (1/T_ref - 1/T)))"
            )
        return 0.0 if abs(ea) < 1e-6 else ea

    T = {"T": t_ref}
    i0_name = _P + "exchange-current density [A.m-2]"
    i0_args = {"c_e": ce0, "c_s": 0.5 * c_max, "c_max": c_max}
    i0 = float(evaluate(i0_name, {**i0_args, **T})[0])
    k_norm = i0 / (FARADAY * 0.5)
    check = float(evaluate(i0_name, {"c_e": 0.5 * ce0, "c_s": 0.2 * c_max, "c_max": c_max, **T})[0])
    if abs(check / (FARADAY * k_norm * math.sqrt(0.5 * 0.2 * 0.8)) - 1.0) > 1e-6:
        raise InputError(f"{where}: '{i0_name}' is not of the BPX form F k (c_e/c_e0 x (1 - x))^0.5")
    def constant(name: str, default: float | None = None) -> float:
        """A number, or a function of (c_e, T) that is one (BPX and femsim's mapping need constants)."""
        if default is not None and name not in pv.keys():
            return default
        value = pv[name]
        if isinstance(value, int | float):
            return float(value)
        y = evaluate(name, {"x": CE_GRID[1:], **T})
        if not np.allclose(y, y[0], rtol=1e-12, atol=0.0):
            raise InputError(f"{where}: '{name}' depends on the concentration ({y.min():.4g} to {y.max():.4g}); "
                             f"BPX holds a constant")
        return float(y[0])

    t_plus = constant("Cation transference number")
    tdf = constant("Thermodynamic factor", 1.0)
    try:
        x_min, x_max = (float(v) for v in pybamm.lithium_ion.get_min_max_stoichiometries(pv)[2:])
    except Exception as exc:  # noqa: BLE001 - a half-cell or exotic set: say so
        first = str(exc).split(". ")[0].strip('"')
        raise InputError(f"{where}: no stoichiometry window from pybamm.lithium_ion.get_min_max_stoichiometries "
                         f"(a full-cell set is needed: {first})") from None
    porosity = float(pv[_P + "porosity"])
    eps_s = float(pv[_P + "active material volume fraction"])
    radius = float(pv["Positive particle radius [m]"])
    bruggeman = float(pv[_P + "Bruggeman coefficient (electrolyte)"])
    ocp = function_of(_P + "OCP [V]", X_GRID, {})
    entropic: Any = 0.0
    if _P + "OCP entropic change [V.K-1]" in pv.keys():
        try:  # PyBaMM sets give dU/dT(x) or dU/dT(x, c_max)
            entropic = function_of(_P + "OCP entropic change [V.K-1]", X_GRID, {"c_max": c_max})
        except TypeError:
            entropic = function_of(_P + "OCP entropic change [V.K-1]", X_GRID, {})
    d_name = "Positive particle diffusivity [m2.s-1]"
    positive = {
        "Maximum concentration [mol.m-3]": c_max, "Minimum stoichiometry": x_min, "Maximum stoichiometry": x_max,
        "OCP [V]": ocp, "Entropic change coefficient [V.K-1]": entropic,
        "Diffusivity [m2.s-1]": function_of(d_name, X_GRID, T),
        "Diffusivity activation energy [J.mol-1]": activation_energy(d_name, {"x": 0.5}),
        "Reaction rate constant [mol.m-2.s-1]": k_norm,
        "Reaction rate constant activation energy [J.mol-1]": activation_energy(i0_name, i0_args),
        "Conductivity [S.m-1]": float(pv[_P + "conductivity [S.m-1]"]), "Particle radius [m]": radius,
        "Surface area per unit volume [m-1]": 3.0 * eps_s / radius,
        "Thickness [m]": float(pv[_P + "thickness [m]"]), "Porosity": porosity,
        "Transport efficiency": porosity**bruggeman,
    }
    electrolyte = {}
    for field, name in (("Conductivity", "Electrolyte conductivity [S.m-1]"),
                        ("Diffusivity", "Electrolyte diffusivity [m2.s-1]")):
        unit = "[S.m-1]" if field == "Conductivity" else "[m2.s-1]"
        electrolyte[f"{field} {unit}"] = function_of(name, CE_GRID, T)
        electrolyte[f"{field} activation energy [J.mol-1]"] = activation_energy(name, {"x": ce0})
    electrolyte["Cation transference number"] = float(t_plus)
    user: dict[str, Any] = {"Thermodynamic factor": float(tdf)}
    for name in ("Young's modulus [Pa]", "Poisson's ratio", "partial molar volume [m3.mol-1]"):
        value = pv.get(_P + name)
        if isinstance(value, int | float):
            user[_P + name] = float(value)
    from femsim.parameters.bpx_format import CARRIED_USER_DEFINED

    for name in CARRIED_USER_DEFINED:
        value = pv.get(name)
        if isinstance(value, int | float):
            user[name] = float(value)
    return {
        "Header": {"BPX": "1.0.0", "Title": f"PyBaMM {set_name}", "Model": "Partial",
                   "Description": f"positive electrode and electrolyte of PyBaMM's {set_name} set (femsim)"},
        "Parameterisation": {"Cell": {"Reference temperature [K]": t_ref, "Electrode area [m2]": 1.0,
                                      "Number of electrode pairs connected in parallel to make a cell": 1,
                                      "Lower voltage cut-off [V]": float(pv["Lower voltage cut-off [V]"]),
                                      "Upper voltage cut-off [V]": float(pv["Upper voltage cut-off [V]"]),
                                      "Nominal cell capacity [A.h]": float(pv["Nominal cell capacity [A.h]"])},
                             "Electrolyte": electrolyte, "Positive electrode": positive, "User-defined": user},
        "State": {"Initial conditions": {"Initial electrolyte concentration [mol.m-3]": ce0}},
    }
