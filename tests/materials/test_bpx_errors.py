"""Malformed BPX inputs: each gives one line naming the case, the BPX file and the BPX field, exit 2."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from femsim.cli import main

from _bpx_helpers import write_case

POS = ("Parameterisation", "Positive electrode")


def _set(doc: dict, path: tuple[str, ...], key: str, value: Any) -> None:
    node = doc
    for p in path:
        node = node[p]
    node[key] = value


def _pop(doc: dict, path: tuple[str, ...], key: str) -> None:
    node = doc
    for p in path:
        node = node[p]
    node.pop(key)


def _rename(doc: dict, path: tuple[str, ...], old: str, new: str) -> None:
    node = doc
    for p in path:
        node = node[p]
    node[new] = node.pop(old)


def _blend(doc: dict) -> None:
    pos = doc["Parameterisation"]["Positive electrode"]
    particle = {k: pos.pop(k) for k in list(pos) if k not in ("Thickness [m]", "Porosity", "Transport efficiency",
                                                               "Conductivity [S.m-1]")}
    pos["Particle"] = {"Large Particles": particle, "Small Particles": copy.deepcopy(particle)}


#: (id, mutation of the exported document or raw text, text the error must contain)
CASES = [
    ("missing_field", lambda d: _pop(d, POS, "Maximum concentration [mol.m-3]"),
     "Parameterisation/Positive electrode/Maximum concentration [mol.m-3]: required BPX field is missing"),
    ("wrong_unit", lambda d: _rename(d, POS, "Diffusivity [m2.s-1]", "Diffusivity [m2/s]"),
     "Positive electrode/Diffusivity [m2/s]: unknown BPX field (did you mean 'Diffusivity [m2.s-1]'?"),
    ("non_monotonic_table", lambda d: _set(d, POS, "OCP [V]", {"x": [0.1, 0.5, 0.3, 0.9], "y": [4.2, 4.0, 3.9, 3.6]}),
     "Positive electrode/OCP [V]: table x must be strictly increasing, x[2] = 0.3 after x[1] = 0.5"),
    ("table_lengths", lambda d: _set(d, POS, "OCP [V]", {"x": [0.1, 0.5, 0.9], "y": [4.2, 4.0]}),
     "Positive electrode/OCP [V]: x & y should be same length"),
    ("blended_electrode", _blend, "Positive electrode/Particle: blended electrode ('Large Particles', "
     "'Small Particles') is not supported"),
    ("stoichiometry_above_1", lambda d: _set(d, POS, "Maximum stoichiometry", 1.2),
     "Positive electrode/Maximum stoichiometry: must be in [0, 1], got 1.2"),
    ("stoichiometry_below_0", lambda d: _set(d, POS, "Minimum stoichiometry", -0.1),
     "Positive electrode/Minimum stoichiometry: must be in [0, 1], got -0.1"),
    ("stoichiometry_order", lambda d: _set(d, POS, "Minimum stoichiometry", 0.95),
     "Positive electrode/Minimum stoichiometry: must be below Maximum stoichiometry (0.917), got 0.95"),
    ("bad_expression", lambda d: _set(d, POS, "OCP [V]", "4.2 - * x"), "Positive electrode/OCP [V]: Invalid Function"),
    ("unknown_function", lambda d: _set(d, POS, "OCP [V]", "4.2 - erf(x)"),
     "Positive electrode/OCP [V]: cannot be evaluated: expression '4.2 - erf(x)': function 'erf' is not allowed"),
    ("hysteresis", lambda d: _set(d, POS, "OCP (lithiation) [V]", 4.0),
     "Positive electrode/OCP (lithiation) [V]: OCP hysteresis is not modelled by femsim"),
    ("not_a_number", lambda d: _set(d, POS, "Porosity", "abc"),
     "Positive electrode/Porosity: Input should be a valid number"),
    ("negative_diffusivity", lambda d: _set(d, POS, "Diffusivity [m2.s-1]", -1e-14),
     "Positive electrode/Diffusivity [m2.s-1]: must be > 0, got -1e-14"),
    ("missing_electrolyte", lambda d: _pop(d, ("Parameterisation",), "Electrolyte"),
     "Parameterisation/Electrolyte: required by femsim"),
    ("bad_user_defined", lambda d: _set(d, ("Parameterisation", "User-defined"), "Positive electrode volume change",
                                        {"x": [0.0, 0.5, 0.4], "y": [0.0, -0.01, -0.02]}),
     "User-defined/Positive electrode volume change: table x must be strictly increasing"),
    ("poisson_ratio",
     lambda d: _set(d, ("Parameterisation", "User-defined"), "Positive electrode Poisson's ratio", 0.7),
     "Parameterisation/User-defined/Positive electrode Poisson's ratio: must be in (-1, 0.5), got 0.7"),
    ("not_json", '{"Header": {"BPX": "1.0.0",',
     "not JSON: Expecting property name enclosed in double quotes at line 1"),
    ("not_an_object", "[1, 2, 3]", "(top level): must be a JSON object, got list"),
]


@pytest.mark.parametrize("mutation,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_bpx(exported_tiny: dict, tmp_path: Path, capsys: pytest.CaptureFixture, mutation: Any,
                       expected: str) -> None:
    bpx_file = tmp_path / "cell.json"
    if isinstance(mutation, str):
        bpx_file.write_text(mutation, encoding="utf-8")
    else:
        doc = copy.deepcopy(exported_tiny)
        mutation(doc)
        bpx_file.write_text(json.dumps(doc), encoding="utf-8")
    case = write_case(tmp_path, {"bpx": "cell.json"})
    assert main(["validate", str(case)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"error: {case}: materials.bpx: {bpx_file}: "), err
    assert expected in err, err


def test_missing_bpx_file_and_both_sources(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    case = write_case(tmp_path, {"bpx": "absent.json"})
    assert main(["validate", str(case)]) == 2
    assert "materials.bpx: " in capsys.readouterr().err
    case = write_case(tmp_path, {"bpx": "absent.json", "pybamm": "Chen2020"})
    assert main(["validate", str(case)]) == 2
    assert "give either materials.bpx or materials.pybamm" in capsys.readouterr().err


def test_unused_fields_are_reported_and_mechanics_sources(exported_tiny: dict, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture) -> None:
    """Without User-defined mechanics, cathode_overrides then femsim's defaults are used, and said so."""
    doc = copy.deepcopy(exported_tiny)
    user = doc["Parameterisation"]["User-defined"]
    for key in ("Positive electrode Young's modulus [Pa]", "Positive electrode Poisson's ratio"):
        user.pop(key)
    user["Positive electrode LAM constant exponential term"] = 2.0
    (tmp_path / "cell.json").write_text(json.dumps(doc), encoding="utf-8")
    case = write_case(tmp_path, {"bpx": "cell.json", "cathode_overrides": {"youngs_modulus": 150e9}})
    assert main(["-q", "params", "show", str(case)]) == 0
    out = capsys.readouterr().out
    assert "youngs_modulus = 1.5e+11 [Pa]  # materials.cathode_overrides" in out
    assert "poisson_ratio = 0.25 [-]  # femsim default" in out
    assert "partial_molar_volume = 1e-06 [m^3/mol]  # BPX" in out and "User-defined 'Positive electrode partial" in out
    assert "note: Parameterisation/User-defined/Positive electrode LAM constant exponential term: not used" in out


def test_table_strain_needs_a_volume_change_function(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    case = write_case(tmp_path, {"cathode": "NMC811_Chen2020"}, {"initial_stoichiometry": 0.9})
    case.write_text(case.read_text(encoding="utf-8") + '[mechanics]\nstrain_model = "table"\n', encoding="utf-8")
    assert main(["validate", str(case)]) == 2
    err = capsys.readouterr().err
    assert "mechanics.strain_model: 'table' needs a volume-change function, which NMC811_Chen2020" in err
