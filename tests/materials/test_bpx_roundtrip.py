"""BPX export → import gives back every parameter and function table (to 1e-12), femsim's own sets
and imported ones alike; the imported sets evaluate like the originals on numbers and UFL."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from femsim.parameters import NMC622, Nyman2008
from femsim.parameters.bpx_format import bpx_document, bpx_materials
from femsim.parameters.functions import MaterialFunction

X = np.linspace(0.0, 1.0, 201)
CE = np.linspace(1.0, 3000.0, 101)


def _rel(a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


def test_nmc622_nyman_round_trip(exported_tiny: dict) -> None:
    """import(export(NMC622 + Nyman2008)) evaluates identically (1e-12) and keeps every value."""
    m = bpx_materials(exported_tiny, "tiny.json")
    ref, el_ref = NMC622(), Nyman2008()
    c, el = m.cathode, m.electrolyte
    assert c.max_concentration == ref.max_concentration
    assert _rel(c.open_circuit_potential(X), ref.open_circuit_potential(X)) < 1e-12
    assert _rel(c.solid_diffusivity(X), ref.solid_diffusivity(X)) < 1e-12
    cs = X * ref.max_concentration
    for ce in (10.0, 1000.0, 2500.0):
        assert _rel(c.exchange_current_density(ce, cs), ref.exchange_current_density(ce, cs)) < 1e-12
    assert _rel(c.volume_change(X), ref.volume_change(X)) < 1e-12
    for name in ("youngs_modulus", "poisson_ratio", "partial_molar_volume", "electronic_conductivity"):
        assert getattr(c, name) == getattr(ref, name), name
    assert _rel(el.conductivity(CE, 298.15), el_ref.conductivity(CE, 298.15)) < 1e-12
    assert _rel(el.diffusivity(CE, 298.15), el_ref.diffusivity(CE, 298.15)) < 1e-12
    assert el.transference_number == el_ref.transference_number
    assert el.thermodynamic_factor == el_ref.thermodynamic_factor


def _table_document(exported: dict) -> dict:
    """The exported document with tables for the OCP, D_s(x) and κ(c_e), and Arrhenius energies."""
    doc = copy.deepcopy(exported)
    pos = doc["Parameterisation"]["Positive electrode"]
    x = np.linspace(0.2, 0.95, 37)
    pos["OCP [V]"] = {"x": x.tolist(), "y": NMC622().open_circuit_potential(x).tolist()}
    pos["Diffusivity [m2.s-1]"] = {"x": [0.0, 0.5, 1.0], "y": [1e-14, 3e-14, 2e-15]}
    pos["Diffusivity activation energy [J.mol-1]"] = 15000.0
    pos["Reaction rate constant activation energy [J.mol-1]"] = 35000.0
    pos["Entropic change coefficient [V.K-1]"] = "-1e-4 * x"
    el = doc["Parameterisation"]["Electrolyte"]
    ce = np.linspace(0.0, 3000.0, 31)
    el["Conductivity [S.m-1]"] = {"x": ce.tolist(), "y": Nyman2008().conductivity(ce, 298.15).tolist()}
    el["Conductivity activation energy [J.mol-1]"] = 17100.0
    doc["Parameterisation"]["User-defined"]["Positive electrode critical stress [Pa]"] = 3.75e8
    return doc


def test_imported_round_trip_is_exact(exported_tiny: dict) -> None:
    """import → export → import: every field equal, tables and expressions unchanged."""
    first = bpx_materials(_table_document(exported_tiny), "a.json")
    doc = bpx_document(first.cathode, first.electrolyte, title=first.cathode.name, description="",
                       cell=exported_tiny["Parameterisation"]["Cell"])
    second = bpx_materials(json.loads(json.dumps(doc)), "b.json")
    for a, b in ((first.cathode, second.cathode), (first.electrolyte, second.electrolyte)):
        for f in dataclasses.fields(a):
            if f.name not in ("sources", "name"):
                assert getattr(a, f.name) == getattr(b, f.name), f.name
    assert second.cathode.carried == (("Positive electrode critical stress [Pa]", 3.75e8),)


def test_arrhenius_entropic_and_table_rule(exported_tiny: dict) -> None:
    """At T ≠ T_ref the rates scale by exp(Ea/R (1/T_ref − 1/T)), U shifts by (T − T_ref) dU/dT;
    tables interpolate linearly and hold their end values."""
    m = bpx_materials(_table_document(exported_tiny), "a.json")
    hot = m.cathode.at_temperature(318.15)
    factor = np.exp(15000.0 / 8.314462618 * (1 / 298.15 - 1 / 318.15))
    assert hot.solid_diffusivity(0.25) == pytest.approx(factor * 2e-14, rel=1e-12)
    assert hot.open_circuit_potential(0.5) - m.cathode.open_circuit_potential(0.5) == pytest.approx(20 * -0.5e-4)
    d = m.cathode.diffusivity_function
    assert [d(-1.0), d(2.0), d(0.75)] == pytest.approx([1e-14, 2e-15, 1.65e-14], rel=1e-12)


def test_material_function_on_ufl() -> None:
    """Expressions and tables build UFL expressions that assemble to the numpy values."""
    from femsim.mpi import import_dolfinx

    import_dolfinx()
    import ufl
    from dolfinx import fem, mesh
    from mpi4py import MPI

    msh = mesh.create_interval(MPI.COMM_SELF, 60, [0.0, 1.0])
    x = ufl.SpatialCoordinate(msh)[0]
    for f in (MaterialFunction.from_bpx("2 * exp(-x) + tanh(3 * x) - log(1 + x) + sqrt(x + 1) + cosh(x)"),
              MaterialFunction.from_bpx({"x": [0.1, 0.4, 0.7], "y": [1.0, 3.0, 2.0]})):
        value = fem.assemble_scalar(fem.form(f(x) * ufl.dx(metadata={"quadrature_degree": 12})))
        grid = np.linspace(0.0, 1.0, 200001)
        assert value == pytest.approx(np.trapezoid(f(grid), grid), rel=1e-8)


def test_cli_export_writes_bpx_that_imports(tmp_path: Path) -> None:
    """``femsim params export CASE --bpx out.json`` of an NMC811 case; the file reads back as the same set."""
    from femsim.cli import main
    from femsim.parameters import NMC811_Chen2020
    from femsim.parameters.bpx_format import read_bpx_file

    from _bpx_helpers import write_case

    case = write_case(tmp_path, {"cathode": "NMC811_Chen2020"}, {"initial_stoichiometry": 0.9})
    out = tmp_path / "nmc811.json"
    assert main(["-q", "params", "export", str(case), "--bpx", str(out)]) == 0
    back = read_bpx_file(out).cathode
    ref = NMC811_Chen2020()
    for f in dataclasses.fields(ref):
        if f.name not in ("sources", "name"):
            assert getattr(back, f.name) == getattr(ref, f.name), f.name
