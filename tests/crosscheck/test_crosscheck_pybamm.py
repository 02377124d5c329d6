"""The PyBaMM half-cell built from a femsim case (skipped without pybamm)."""

from __future__ import annotations

import numpy as np
import pytest

from femsim.case import Materials
from femsim.parameters import FARADAY, build_material_sets

pybamm = pytest.importorskip("pybamm")

from femsim.crosscheck.compare import compare_series  # noqa: E402
from femsim.crosscheck.pybamm_model import (  # noqa: E402
    HalfCellInputs,
    material_functions,
    parameter_values,
    run_pybamm,
)

MATERIALS = build_material_sets(Materials())
POINTS = (12, 16, 12)  # separator, cathode, particle: coarse but enough for these checks


def _eval(symbol) -> float:
    return float(np.asarray(symbol.evaluate()).squeeze())


def inputs(c_rate: float = 5.0, t_end: float = 60.0, fraction: float = 0.3) -> HalfCellInputs:
    """40 µm cathode, 25 µm separator, R = 2.08 µm, transport from Maxwell–Garnett (no mesh needed)."""
    capacity = 47664.0 * fraction * 40e-6 * (0.917 - 0.258) * FARADAY
    eps = 0.5 * (1 - fraction)
    efficiency = 0.5**1.5 * (1 - fraction) / (1 + fraction / 2)
    return HalfCellInputs(40e-6, 25e-6, fraction, 2.08e-6, eps, np.log(efficiency) / np.log(eps), 20.0, 0.39, 1.5,
                          c_rate * capacity / 3600.0, capacity, 0.917, 1000.0, 298.15, 4.3, t_end, MATERIALS)


@pytest.mark.parametrize("c", [200.0, 800.0, 1000.0, 1500.0])
def test_electrolyte_functions_match_femsim(c):
    fn, el = material_functions(MATERIALS), MATERIALS.electrolyte
    s, T = pybamm.Scalar(c), pybamm.Scalar(298.15)
    assert _eval(fn["conductivity"](s, T)) == pytest.approx(el.conductivity(c, 298.15), rel=1e-12)
    assert _eval(fn["diffusivity"](s, T)) == pytest.approx(el.diffusivity(c, 298.15), rel=1e-12)


@pytest.mark.parametrize("x", [0.26, 0.5, 0.917, 0.98])
def test_kinetics_and_ocp_match_femsim(x):
    fn, cathode = material_functions(MATERIALS), MATERIALS.cathode
    cmax = cathode.max_concentration
    assert _eval(fn["ocp"](pybamm.Scalar(x))) == pytest.approx(cathode.open_circuit_potential(x), rel=1e-12)
    i0 = fn["exchange_current"](pybamm.Scalar(900.0), pybamm.Scalar(x * cmax), pybamm.Scalar(cmax),
                                pybamm.Scalar(298.15))
    assert _eval(i0) == pytest.approx(cathode.exchange_current_density(900.0, x * cmax), rel=1e-12)


def test_lithium_exchange_current_is_70_6_at_1M_whatever_c_li():
    fn = material_functions(MATERIALS)
    for c_li in (47664.0, 1 / 1.3e-5):  # the DFN's argument is ignored (docs/physics.md §4.6 quirk)
        value = _eval(fn["lithium_exchange_current"](pybamm.Scalar(1000.0), pybamm.Scalar(c_li), pybamm.Scalar(298.15)))
        assert value == pytest.approx(70.6, abs=0.05)
        assert value == pytest.approx(MATERIALS.counter_electrode.exchange_current_density(1000.0), rel=1e-12)


def test_parameter_values_carry_the_case():
    inp = inputs()
    pv = parameter_values(inp)
    assert pv["Current function [A]"] == pytest.approx(-inp.current_density_A_m2)  # charge
    assert pv["Thermodynamic factor"] == 1.0 and pv["Cation transference number"] == 0.2594
    assert pv["Positive electrode Bruggeman coefficient (electrolyte)"] == inp.bruggeman_exponent
    assert parameter_values(inp, "no_diffusion_potential")["Thermodynamic factor"] == 0.0
    assert parameter_values(inp, "no_transference")["Cation transference number"] == 1.0
    with pytest.raises(ValueError, match="unknown variant"):
        parameter_values(inp, "no_such_term")


def test_charge_balance_and_initial_voltage():
    inp = inputs(t_end=60.0)
    run = run_pybamm(inp, "full", POINTS, t_end_s=60.0)
    whole = run_pybamm(inp, "full", POINTS, t_end_s=60.0, window_m=inp.cathode_thickness_m)
    u0 = MATERIALS.cathode.open_circuit_potential(0.917)
    assert run.voltage_V[0] > u0 and run.voltage_V[0] - u0 < 0.1  # kinetic + ohmic, charge
    assert np.all(np.diff(run.voltage_V) > 0)
    # soc over the whole cathode = charge passed / nominal capacity
    expected = inp.current_density_A_m2 * 60.0 / inp.capacity_C_m2
    for soc in (whole.soc_separator[-1], whole.soc_collector[-1]):
        assert soc == pytest.approx(expected, rel=1e-3)
    assert run.soc_separator[-1] > run.soc_collector[-1]  # the separator side reacts first
    assert run.electrolyte_potential_drop_V[-1] > 0  # φ_e higher at the collector on charge
    assert run.time_to_cutoff_s is None


def test_dropped_terms_shift_the_voltage_beyond_the_ci_tolerance():
    """Within PyBaMM alone: each dropped term moves V by more than the 6 mV CI tolerance."""
    inp = inputs(t_end=60.0)
    full = run_pybamm(inp, "full", POINTS, t_end_s=60.0)
    for variant in ("no_diffusion_potential", "no_transference"):
        assert compare_series(full, run_pybamm(inp, variant, POINTS, t_end_s=60.0)).rms_voltage_V > 8e-3


def test_5C_reaches_the_cutoff():
    run = run_pybamm(inputs(t_end=900.0), "full", POINTS, t_end_s=900.0)
    assert run.time_to_cutoff_s is not None and 300 < run.time_to_cutoff_s < 720
    assert run.voltage_V[-1] == pytest.approx(4.3, abs=1e-3)
