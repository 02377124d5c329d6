"""A single sphere under repeated 5C cycles with [damage] on: damage.csv against the Paris integral,
with cycle jumps (5 cycles requested, cycle 4 extrapolated from cycle 3)."""

import csv
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from femsim.model.damage import DamageLaw, paris_rate

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reliability"))
from _reliability_helpers import run_femsim, small_case, write_small_case  # noqa: E402

CASE = small_case("""\
[mesh]
size_surface_um = 1.0
size_max_um = 2.5
[protocol]
areal_capacity_mAh_cm2 = 0.1
initial_stoichiometry = 0.40
steps = ["Charge at 5C for 20 seconds", "Discharge at 5C for 20 seconds"]
cycles = 5
[solver]
dt_initial_s = 2.0
dt_max_s = 10.0
[mechanics]
enabled = true
[damage]
enabled = true
cracking_rate = 1e-18
max_jump_cycles = 2
jump_tolerance = 0.25
crack_wetting = true
[output]
times_s = []
fields = false
progress = false
""", name="sphere_damage")


def _rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def sphere_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sphere_damage")
    write_small_case(folder, CASE, table_text="id,x,y,z,radius\n1,5.0,5.0,5.0,3.5\n")
    done = run_femsim(["run", str(folder / "case.toml"), "--out", str(folder / "out")], timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return folder / "out"


def test_crack_length_is_the_paris_integral_of_the_computed_amplitudes(sphere_run):
    damage = _rows(sphere_run / "damage.csv")
    cycles = {int(r["cycle"]): r for r in _rows(sphere_run / "cycles.csv")}
    assert [int(r["cycle"]) for r in damage] == [1, 2, 3, 4, 5]
    # amplitudes ~88 / 70 / 63 MPa: the increments of cycles 2 and 3 agree within 25 % → a cycle is
    # extrapolated (amplitude linear from the two simulated cycles before it); the last cycle is simulated
    summary = json.loads((sphere_run / "run.json").read_text())["summary"]
    jumped = {c + i for c, k in summary["cycle_jumps"] for i in range(k)}
    assert summary["cycles_requested"] == 5 and summary["cycles_simulated"] == len(cycles) < 5
    assert sorted(set(cycles) | jumped) == [1, 2, 3, 4, 5] and not set(cycles) & jumped and 5 in cycles
    law = DamageLaw(k_cr=1e-18)
    length = law.l_cr_0_m
    for row in damage:
        sigma = float(row["sigma_t_Pa"])
        # the amplitude is the resolved cycle peak of the surface p95 σ_1 (one particle: cycles.csv's peak)
        # an extrapolated cycle: linear in the cycle number from the two simulated cycles before it
        c = int(row["cycle"])
        simulated = sorted(k for k in cycles if k <= c)
        peak = [float(cycles[k]["peak_sigma_1_surface_p95_Pa"]) for k in simulated]
        expected = peak[-1] if c == simulated[-1] else \
            peak[-1] + (c - simulated[-1]) * (peak[-1] - peak[-2]) / (simulated[-1] - simulated[-2])
        assert sigma == pytest.approx(expected, rel=1e-12)
        assert sigma > 3e7
        sol = solve_ivp(lambda _n, y, sigma=sigma: paris_rate(np.abs(y) * law.l_cr_0_m, sigma, law) / law.l_cr_0_m,
                        (0.0, 1.0), [length / law.l_cr_0_m], rtol=1e-11, atol=1e-14)
        length = float(sol.y[0, -1]) * law.l_cr_0_m
        assert float(row["crack_length_m"]) == pytest.approx(length, rel=0.01)
        # crack wetting: the area the cracks gained, 2 ρ_cr w_cr (l − l0), is reactive
        assert float(row["area_factor"]) == pytest.approx(
            1 + 2 * law.rho_cr_per_m2 * law.w_cr_m * (float(row["crack_length_m"]) - law.l_cr_0_m), rel=1e-12)
    assert length > 1.4 * law.l_cr_0_m
    radius = float(_rows(sphere_run / "particles.csv")[-1]["radius_um"]) * 1e-6
    last = damage[-1]
    assert float(last["crack_area_m2"]) == pytest.approx(
        2 * law.rho_cr_per_m2 * law.w_cr_m * length * 4 * np.pi * radius**2, rel=0.05)
    profile = _rows(sphere_run / "damage_profile.csv")
    # the class of the one particle, cycle by cycle (wetting grows the area: l 25 → 41 nm, least → mild at cycle 4)
    assert [(r["cycle"], r["n_particles"], float(r["fraction_least"]), float(r["fraction_mild"])) for r in profile] == [
        (d["cycle"], "1", float(d["class"] == "least"), float(d["class"] == "mild")) for d in damage]
