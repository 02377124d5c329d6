"""Effective ionic transport of a meshed cathode vs the Maxwell–Garnett estimate (also on 2 ranks)."""

from __future__ import annotations

import json
import math

import pytest

from femsim.case import load_case
from femsim.crosscheck.tortuosity import case_tortuosity, maxwell_garnett
from femsim.mpi import world_rank_size

pytestmark = pytest.mark.parallel
RANK = world_rank_size()[0]


def test_maxwell_garnett_limits():
    assert maxwell_garnett(0.0) == 1.0
    assert maxwell_garnett(0.1) == pytest.approx(0.9 / 1.05)


def test_dilute_array_within_3_percent_of_maxwell_garnett(dilute_case):
    result = case_tortuosity(load_case(dilute_case))
    assert 0.09 < result.particle_fraction < 0.101
    # P1 dissipation bounds the conductance from above: the error is positive and small
    assert 0.0 <= result.maxwell_garnett_error < 0.03, result.summary()
    assert result.thickness_m == pytest.approx(10e-6) and result.area_m2 == pytest.approx(25e-12)
    # derived quantities
    eps = 0.5 * (1 - result.particle_fraction)
    assert result.porosity == pytest.approx(eps)
    assert result.transport_efficiency == pytest.approx(0.5**1.5 * result.packing_factor)
    assert result.tortuosity == pytest.approx(eps / result.transport_efficiency)
    assert eps**result.bruggeman_exponent == pytest.approx(result.transport_efficiency)
    assert result.packing_tortuosity > 1.0
    assert math.isclose((1 - result.particle_fraction) ** result.packing_bruggeman, result.packing_factor)


def test_tortuosity_command(dilute_case, capsys):
    from femsim.cli import main

    out = dilute_case.parent / "t.json"
    assert main(["tortuosity", str(dilute_case), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    if RANK != 0:
        return
    assert "Maxwell–Garnett" in text and "Bruggeman" in text
    data = json.loads(out.read_text())
    assert abs(data["maxwell_garnett_error"]) < 0.03 and data["region"].startswith("matrix")


def test_tortuosity_command_bad_case(tmp_path, capsys):
    from femsim.cli import main

    assert main(["tortuosity", str(tmp_path / "missing.toml")]) == 2
    assert ("not found" in capsys.readouterr().err) == (RANK == 0)
