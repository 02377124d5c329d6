"""PyBaMM parameter sets through the BPX mapping, and femsim's cited NMC811 set."""

from __future__ import annotations

import numpy as np
import pytest

from femsim.parameters import FARADAY, NMC811_Chen2020


def test_nmc811_chen2020_values() -> None:
    """Chen2020: i0 = m_ref (c_e c_s (c_max − c_s))^½, the OCP at the window ends, mechanics cited."""
    c = NMC811_Chen2020()
    cs = np.array([0.3, 0.5, 0.8]) * 63104.0
    m_ref = 3.42e-6
    assert c.exchange_current_density(1000.0, cs) == pytest.approx(m_ref * (1000.0 * cs * (63104.0 - cs)) ** 0.5,
                                                                    rel=1e-12)
    assert c.open_circuit_potential(0.2661) == pytest.approx(4.2849, abs=1e-4)  # 4.2 V full cell + graphite
    assert c.open_circuit_potential(0.9084) == pytest.approx(3.5614, abs=1e-4)
    assert (c.youngs_modulus, c.poisson_ratio, c.partial_molar_volume) == (375e9, 0.2, 1.1e-6)
    assert "Kondrakov" in dict(c.sources)["partial_molar_volume"]
    hot = c.at_temperature(318.15)
    assert hot.exchange_current_density(1000.0, cs[0]) / c.exchange_current_density(1000.0, cs[0]) == pytest.approx(
        np.exp(17800.0 / 8.314462618 * (1 / 298.15 - 1 / 318.15)), rel=1e-12)


def test_pybamm_chen2020_maps_like_femsims_nmc811() -> None:
    """``materials.pybamm = 'Chen2020'``: the tabulated OCP equals Chen2020's fit at the nodes, k and c_max
    equal the NMC811 set's, the electrolyte equals Nyman2008 at the table nodes."""
    pytest.importorskip("pybamm")
    from femsim.parameters import Nyman2008
    from femsim.parameters.pybamm_sets import CE_GRID, X_GRID, pybamm_materials

    m = pybamm_materials("Chen2020")
    ref = NMC811_Chen2020()
    c = m.cathode
    assert c.max_concentration == ref.max_concentration
    assert c.reaction_rate_constant_mol_m2_s == pytest.approx(ref.reaction_rate_constant_mol_m2_s, rel=1e-12)
    assert c.reaction_rate_activation_energy == pytest.approx(17800.0, rel=1e-9)
    assert c.ocp(X_GRID) == pytest.approx(ref.ocp(X_GRID), rel=1e-12)
    assert c.diffusivity_function.constant == 4e-15
    assert 0.25 < c.minimum_stoichiometry < 0.28 and 0.84 < c.maximum_stoichiometry < 0.92
    assert m.electrolyte.conductivity(CE_GRID[1:], 298.15) == pytest.approx(
        Nyman2008().conductivity(CE_GRID[1:], 298.15), rel=1e-12)
    assert m.electrolyte.transference_number == 0.2594
    assert not any(n.startswith("Parameterisation/Cell") for n in m.notes)


def test_pybamm_okane2022_mechanics_and_unknown_set() -> None:
    pytest.importorskip("pybamm")
    from femsim.errors import InputError
    from femsim.parameters.pybamm_sets import pybamm_materials

    c = pybamm_materials("OKane2022").cathode
    assert (c.youngs_modulus, c.poisson_ratio, c.partial_molar_volume) == (375e9, 0.2, 1.25e-5)
    assert dict(c.carried)["Positive electrode critical stress [Pa]"] == 375e6
    with pytest.raises(InputError, match="unknown PyBaMM parameter set 'Chen2021'"):
        pybamm_materials("Chen2021")
    with pytest.raises(InputError, match="Ai2020: 'Thermodynamic factor' depends on the concentration"):
        pybamm_materials("Ai2020")
    marquis = pybamm_materials("Marquis2019").cathode  # dU/dT(x, c_max), Arrhenius D_s and k
    assert (marquis.diffusivity_activation_energy, marquis.reaction_rate_activation_energy) == pytest.approx(
        (18550.0, 39570.0), rel=1e-6)
    assert FARADAY > 0


def test_readme_lists_the_mapping() -> None:
    """Every row of the BPX mapping appears in the README table and in ``validate --describe``."""
    from pathlib import Path

    from femsim.parameters import describe_material_sources
    from femsim.parameters.bpx_format import mapping_rows

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    described = "\n".join(describe_material_sources())
    for field, attr, _unit in mapping_rows():
        assert f"| `{field}` |" in readme, field
        assert f"{field} -> {attr}" in described, field


def test_nmc811_case_from_the_slice_statistics() -> None:
    """``cases/nmc811``: the NMC811 set on the packing sized by the holotomography slice."""
    import json
    from pathlib import Path

    from femsim.case import load_case
    from femsim.geometry.particles import read_particle_table

    folder = Path(__file__).resolve().parents[2] / "cases" / "nmc811"
    case = load_case(folder / "nmc811_slice_packing.toml")
    assert case.materials.cathode == "NMC811_Chen2020"
    stats = json.loads((folder / "nmc811_slice_statistics.json").read_text(encoding="utf-8"))
    table = read_particle_table(case.geometry.particle_table)
    assert len(table.radii) == stats["packing"]["n"] == 49
    assert stats["sphere_mean_radius_um"] == pytest.approx(4 / np.pi * stats["mean_section_radius_um"])
    assert abs(table.radii.mean() / stats["sphere_mean_radius_um"] - 1) < 0.05
