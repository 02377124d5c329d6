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
    particle = _rows(sphere_run / "particles.csv")[-1]
    radius = float(particle["radius_um"]) * 1e-6
    # each row places the particle (centroid and depth from the separator, as particles.csv)
    for key in ("x_um", "y_um", "z_um", "depth_um"):
        assert float(damage[-1][key]) == pytest.approx(float(particle[key]), rel=1e-9, abs=1e-9), key
    last = damage[-1]
    assert float(last["crack_area_m2"]) == pytest.approx(
        2 * law.rho_cr_per_m2 * law.w_cr_m * length * 4 * np.pi * radius**2, rel=0.05)
    profile = _rows(sphere_run / "damage_profile.csv")
    # the class of the one particle, cycle by cycle (wetting grows the area: l 25 → 41 nm, least → mild at cycle 4)
    assert [(r["cycle"], r["n_particles"], float(r["fraction_least"]), float(r["fraction_mild"])) for r in profile] == [
        (d["cycle"], "1", float(d["class"] == "least"), float(d["class"] == "mild")) for d in damage]


def test_damage_page_of_the_report(sphere_run, tmp_path):
    from postprocess.figures_damage import fig_damage

    fig = fig_damage("sphere", sphere_run, tmp_path)
    simulated = [int(r["cycle"]) for r in _rows(sphere_run / "cycles.csv")]
    assert list(fig.data["cycle"]) == [1, 2, 3, 4, 5] and list(fig.data["cycles_shown"]) == [1, 3, 5]
    assert [c for c, s in zip(fig.data["cycle"], fig.data["simulated"]) if s] == simulated
    profile = _rows(sphere_run / "damage_profile.csv")
    window = f"severe_window_{float(profile[0]['depth_min_um']):g}um"
    assert list(fig.data[window]) == [float(r["fraction_severe"]) for r in profile if r["depth_min_um"] ==
                                      profile[0]["depth_min_um"]]
    assert fig.path.stat().st_size > 5000


def test_resume_between_jumps_gives_the_uninterrupted_damage(sphere_run, tmp_path):
    """Killed (SIGKILL) in cycle 5, after cycle 4 was extrapolated, and resumed with ``--resume``:
    the same jumps, cycles.csv and damage.csv as the uninterrupted run (``sphere_run``)."""
    import os
    import signal
    import subprocess
    import time

    from _reliability_helpers import env, femsim_cmd

    text = CASE.replace("progress = false", "progress = false\nsnapshot_every_steps = 1")
    write_small_case(tmp_path, text, table_text="id,x,y,z,radius\n1,5.0,5.0,5.0,3.5\n")
    out = tmp_path / "out"
    args = ["run", str(tmp_path / "case.toml"), "--out", str(out)]
    proc = subprocess.Popen(femsim_cmd(args), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env(),
                            start_new_session=True)
    try:
        t0, jumped = time.monotonic(), None  # kill at the first snapshot after the jump over cycle 4
        while True:
            assert proc.poll() is None, "the run ended before it could be killed after the jump"
            assert time.monotonic() - t0 < 600
            if jumped is None and (out / "damage.csv").exists() and \
                    any(r["cycle"] == "4" for r in _rows(out / "damage.csv")):
                jumped = {p.name for p in (out / "snapshots").glob("step_*")}
            elif jumped is not None and {p.name for p in (out / "snapshots").glob("step_*")} - jumped:
                break
            time.sleep(0.02)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    assert json.loads((out / "run.json").read_text())["status"] == "running"
    assert [int(r["cycle"]) for r in _rows(out / "damage.csv")] == [1, 2, 3, 4]
    done = run_femsim([*args, "--resume"], timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads((out / "run.json").read_text())["summary"]
    reference = json.loads((sphere_run / "run.json").read_text())["summary"]
    assert summary["cycle_jumps"] == reference["cycle_jumps"] == [[4, 1]]
    assert summary["cycles_simulated"] == reference["cycles_simulated"] == 4
    for name in ("damage.csv", "cycles.csv", "damage_profile.csv"):
        resumed, uninterrupted = _rows(out / name), _rows(sphere_run / name)
        assert [list(r) for r in resumed] == [list(r) for r in uninterrupted], name
        for a, b in zip(resumed, uninterrupted):
            for key, value in b.items():
                try:
                    assert float(a[key]) == pytest.approx(float(value), rel=1e-9, abs=1e-30), (name, key)
                except ValueError:
                    assert a[key] == value, (name, key)
