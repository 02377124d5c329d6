"""A BPX file in femsim and in PyBaMM: the coarse homogenised array (60 s of 5C, ``ci_coarse_5C``)
from the BPX file femsim writes for its NMC622 + Nyman2008 sets, given activation energies and run
at 308.15 K (10 K above the reference temperature) so that both readers' Arrhenius factors count.
femsim reads the file with ``materials.bpx``; PyBaMM with ``ParameterValues.create_from_bpx``.
(With NMC811_Chen2020, D_s = 4e-15 m²/s, the same coarse mesh gives 7.7 mV RMS: the early
surface-layer transient, 10 mV at 10 s decaying to 5 mV at 60 s, not a mapping difference.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("pybamm")
pytest.importorskip("femsim.simulation")

from femsim.case import parse_case, read_toml  # noqa: E402
from femsim.crosscheck.compare import CI_DROP_TOLERANCE, CI_RMS_TOLERANCE_V, run_comparison  # noqa: E402
from femsim.parameters.bpx_export import export_bpx  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
CI_CASE = REPO / "cases" / "homogenised" / "ci_coarse_5C.toml"


def test_bpx_file_in_femsim_and_pybamm_agree(tmp_path: Path) -> None:
    data = read_toml(CI_CASE)
    data["geometry"]["particle_table"] = str(CI_CASE.with_name(data["geometry"]["particle_table"]))
    bpx_file = tmp_path / "cell.json"
    doc = export_bpx(parse_case(data, tmp_path / "own.toml"), bpx_file)
    param = doc["Parameterisation"]
    param["Positive electrode"].update({"Diffusivity activation energy [J.mol-1]": 15000.0,
                                        "Reaction rate constant activation energy [J.mol-1]": 35000.0})
    param["Electrolyte"].update({"Conductivity activation energy [J.mol-1]": 17100.0,
                                 "Diffusivity activation energy [J.mol-1]": 17100.0})
    # PyBaMM's reader needs a full cell: a placeholder negative electrode and separator (the Li-metal
    # half-cell uses neither) turn femsim's 'Partial' file into a 'DFN' one
    param["Negative electrode"] = dict(param["Positive electrode"])
    param["Separator"] = {"Thickness [m]": 25e-6, "Porosity": 0.39, "Transport efficiency": 0.39**1.5}
    doc["Header"]["Model"] = "DFN"
    bpx_file.write_text(json.dumps(doc), encoding="utf-8")
    data["materials"] = {k: v for k, v in data["materials"].items() if k not in ("cathode", "electrolyte")}
    data["materials"]["bpx"] = str(bpx_file)
    data["protocol"]["temperature_K"] = 308.15
    data["output"]["folder"] = str(tmp_path / "run")
    case = parse_case(data, tmp_path / "bpx.toml")
    record = run_comparison(case, ("full",))
    full = record["comparisons"]["full"]
    assert full["t_common_s"] == pytest.approx(60.0)
    assert full["rms_voltage_V"] <= CI_RMS_TOLERANCE_V, full
    assert abs(full["drop_rel"]) <= CI_DROP_TOLERANCE, full
