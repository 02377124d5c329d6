"""Damage feedback in the coupled problem, two particles, five galvanostatic charge steps:
neutral factors give the undamaged series, each feedback moves what it should, an isolated
particle keeps its lithium (docs/damage.md, "Feedback")."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "verification"))
from femsim.parameters import FARADAY  # noqa: E402

from _halfcell_helpers import make_case, shared_dir  # noqa: E402

ROWS = [(1, 4.0, 4.0, 3.5, 2.5), (2, 4.0, 4.0, 9.5, 2.5)]  # 1 near the collector, 2 near the separator
BOX = (8.0, 8.0, 13.0)
N_STEPS, DT_S = 5, 2.0


def _case(folder, damage=None):
    extra = {"protocol": {"areal_capacity_mAh_cm2": 0.1, "initial_stoichiometry": 0.4}}
    if damage:
        extra.update(damage={"enabled": True, **damage}, mechanics={"enabled": True})
    return make_case(folder, ROWS, box=BOX, separator=4.0, mesh={"size_surface_um": 1.0, "size_max_um": 2.5},
                     extra=extra)


@pytest.fixture(scope="module")
def runs():
    from femsim.geometry.load import load_mesh
    from femsim.geometry.pipeline import mesh_case
    from femsim.model.domain import Domain
    from femsim.model.particles import ParticleStatistics
    from femsim.mpi import comm_world
    from femsim.parameters import build_material_sets
    from femsim.solvers.halfcell import HalfCellProblem

    folder = shared_dir("damage-feedback")
    base = _case(folder)
    mesh, ct, ft = load_mesh(mesh_case(base, comm=comm_world()), comm_world())
    i_app = base.protocol.current_density_A_m2

    def build(case):
        domain = Domain(mesh, ct, ft, case.solver.interface_quadrature_degree, case.solver.bulk_quadrature_degree)
        problem = HalfCellProblem(domain, build_material_sets(case.materials), case)
        return problem, ParticleStatistics(domain, problem.particle_concentration, BOX[2] * 1e-6)

    def charge(problem, stats):
        problem.set_initial_state()
        assert problem.solve_potentials(i_app)[0]
        problem.commit()
        voltage, lithium, inventory = [problem.voltage()], [stats.mean_concentration() * stats.volume], \
            [problem.particle_lithium()]
        for _ in range(N_STEPS):
            ok = problem.step(DT_S, i_app)
            assert ok[0], ok
            problem.commit()
            voltage.append(problem.voltage())
            lithium.append(stats.mean_concentration() * stats.volume)
            inventory.append(problem.particle_lithium())
        return {"V": np.array(voltage), "li": np.array(lithium), "inventory": np.array(inventory)}

    out = {"charge_mol": i_app * BOX[0] * BOX[1] * 1e-12 * N_STEPS * DT_S / FARADAY}
    out["off"] = charge(*build(base))
    problem, stats = build(_case(folder, {"crack_wetting": True, "loss_of_active_material": True}))
    out["neutral"] = charge(problem, stats)
    problem.damage_factors.set({"area_factor": np.array([2.0, 2.0])})
    out["wetting"] = charge(problem, stats)
    problem.damage_factors.set({"area_factor": np.ones(2), "active_fraction": np.array([0.5, 0.5])})
    out["lam"] = charge(problem, stats)
    problem, stats = build(_case(folder, {"detachment": True}))
    out["contact"] = charge(problem, stats)
    problem.damage_factors.set({"contact_conductance_S_m2": np.array([1e9, 0.0])})
    out["isolated"] = charge(problem, stats)
    return out


def test_neutral_factors_give_the_undamaged_series(runs):
    assert np.max(np.abs(runs["neutral"]["V"] - runs["off"]["V"])) <= 1e-12 * 4.0
    assert np.max(np.abs(runs["neutral"]["li"] - runs["off"]["li"])) <= 1e-12 * np.abs(runs["off"]["li"]).max()
    # detachment with G_0 = 1e9 S/m² everywhere: the split potentials agree with continuity within i/G_0 ~ 1e-8 V
    assert np.max(np.abs(runs["contact"]["V"] - runs["off"]["V"])) < 1e-6


def test_crack_wetting_lowers_the_charge_overpotential(runs):
    # twice the reactive area: the kinetic overpotential drops (≈ (2RT/F) asinh at i/i0 ~ 1: ~10 mV)
    dv = runs["wetting"]["V"] - runs["off"]["V"]
    assert np.all(dv < -5e-3) and np.all(dv > -2e-2)


def test_lost_active_material_charges_the_rest_faster_and_keeps_the_balance(runs):
    off, lam = runs["off"], runs["lam"]
    assert np.all(np.diff(lam["V"] - off["V"]) > 0)  # half the capacity: the voltage runs away
    # the particles' concentrations change twice as fast; the active inventory changes by the charge
    assert (lam["li"][-1] - lam["li"][0]).sum() == pytest.approx(2 * (off["li"][-1] - off["li"][0]).sum(), rel=1e-6)
    assert lam["inventory"][-1] - lam["inventory"][0] == pytest.approx(-runs["charge_mol"], rel=1e-6)


def test_an_isolated_particle_carries_no_current_and_keeps_its_lithium(runs):
    iso = runs["isolated"]
    change = iso["li"] - iso["li"][0]
    # particle 2 (slot 1) isolated: its lithium stays to 1e-6 of the charge passed
    assert np.max(np.abs(change[:, 1])) <= 1e-6 * runs["charge_mol"]
    # all of the charge went through particle 1, and the cell's balance holds
    assert change[-1, 0] == pytest.approx(-runs["charge_mol"], rel=1e-6)
    # the remaining particle carries twice the current density: higher charge voltage
    assert np.all(iso["V"][1:] > runs["off"]["V"][1:] + 5e-3)
