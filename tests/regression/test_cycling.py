"""A CCCV cycle on a 4-particle RVE (``Charge at 5C until 4.2 V``, ``Hold at 4.2 V until 2C``,
``Rest for 5 seconds``, ``Discharge at 5C until 0.01 mAh/cm2 or 3.9 V``): every ``until`` kind is
located as the stepper promises, the cycle's charge balances the Li moved in the particles,
cycles.csv agrees with the series, two ranks give the one-rank series, and a run killed with
SIGKILL in the middle of the CV step resumes to the same series; a two-cycle run with mechanics
killed at the end of its first cycle, or in its last step, resumes to the same series and
cycles.csv; a 5C discharge from x0 = 0.93 reaches its 2.5 V cut-off (located within 1 mV, no
cascade of rejected steps). Runs femsim in child processes on one coarse mesh of the geometry
(meshed once).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from femsim.case import parse_case, read_toml
from femsim.mpi import in_mpi_run

pytestmark = pytest.mark.skipif(in_mpi_run(), reason="launches its own processes")

STEPS = ('["Charge at 5C until 4.2 V", "Hold at 4.2 V until 2C", "Rest for 5 seconds", '
         '"Discharge at 5C until 0.01 mAh/cm2 or 3.9 V"]')
CAPACITY_MAH_CM2 = 0.19
ONE_C_A_M2 = CAPACITY_MAH_CM2 * 10.0


def _series(path: Path) -> tuple[list[str], np.ndarray, list[str]]:
    with open(path) as fh:
        rows = list(csv.reader(fh))
    head = rows[0]
    k_kind = head.index("step_kind")
    numeric = [k for k in range(len(head)) if k != k_kind]
    return [head[k] for k in numeric], np.array([[float(r[k]) for k in numeric] for r in rows[1:]]), \
        [r[k_kind] for r in rows[1:]]


def _cycles_csv(path: Path) -> tuple[list[str], np.ndarray]:
    with open(path) as fh:
        rows = list(csv.reader(fh))
    return rows[0], np.array([[float(v) for v in r] for r in rows[1:]])


@pytest.fixture(scope="module")
def mesh_file(tmp_path_factory) -> Path:
    from _cycling_helpers import mesh_cycle_geometry

    return mesh_cycle_geometry(tmp_path_factory.mktemp("cycle_mesh"))


@pytest.fixture(scope="module")
def reference(tmp_path_factory, mesh_file):
    from _cycling_helpers import run_femsim, write_cycle_case

    tmp = tmp_path_factory.mktemp("cycle")
    case = write_cycle_case(tmp, STEPS, CAPACITY_MAH_CM2, mesh_file)
    out = tmp / "ref"
    proc = run_femsim(["run", str(case), "--out", str(out)])
    assert proc.returncode == 0, proc.stderr[-3000:]
    return case, out


def test_until_conditions_located(reference):
    _, out = reference
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["status"] == "finished"
    log = manifest["summary"]["protocol_steps"]
    assert [e["reason"] for e in log] == ["voltage", "current", "time", "capacity"]
    head, ts, kinds = _series(out / "timeseries.csv")
    col = {name: k for k, name in enumerate(head)}
    t, volt, step = ts[:, col["time_s"]], ts[:, col["voltage_V"]], ts[:, col["step"]]
    area = 1e-10  # 10 x 10 µm
    current = ts[:, col["current_A"]] / area
    assert set(kinds) == {"charge", "hold", "rest", "discharge"}
    # voltage: the CC charge ends within 1 mV of 4.2 V, below it before
    charge = step == 1
    assert abs(volt[charge][-1] - 4.2) <= 1e-3 and np.all(volt[charge][:-1] < 4.2)
    # current: the hold ends within 1 % of 2C, above it before; the voltage is held to 1 µV
    hold = (step == 2) & (ts[:, col["dt_s"]] > 0)
    assert abs(abs(current[hold][-1]) - 2 * ONE_C_A_M2) <= 0.01 * 2 * ONE_C_A_M2
    assert np.all(np.abs(current[hold][:-1]) > 2 * ONE_C_A_M2)
    assert np.all(np.abs(volt[hold] - 4.2) < 1e-6)
    assert np.all(np.diff(np.abs(current[hold])) < 0), "the CV current decays"
    # time: the rest lasts exactly 5 s
    assert log[2]["end_s"] - log[2]["start_s"] == pytest.approx(5.0, abs=1e-9)
    # capacity: the discharge passes exactly 0.01 mAh/cm²
    assert abs(log[3]["charge_C_m2"]) == pytest.approx(0.01 * 36e3, rel=1e-9)
    # switching is exact: each step starts where the previous ended, with a dt = 0 row
    for a, b in zip(log[:-1], log[1:]):
        assert b["start_s"] == a["end_s"]
    # charge balance: Σ i dt (backward Euler) = Li removed from the particles (soc_mean × Q_nominal)
    q = float(np.sum(current * ts[:, col["dt_s"]]))
    li_removed = ts[-1, col["soc_mean"]] * CAPACITY_MAH_CM2 * 36e3
    assert abs(q - li_removed) <= 1e-6 * abs(li_removed)
    print(f"charge balance: Σ i dt = {q:.9g} C/m², Li removed {li_removed:.9g} C/m², "
          f"rel {abs(q - li_removed) / abs(li_removed):.2e}")
    # cycles.csv: one row, the same capacities
    with open(out / "cycles.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 1
    row = rows[0]
    q_ch = sum(e["charge_C_m2"] for e in log if e["charge_C_m2"] > 0) / 36e3
    assert float(row["charge_capacity_mAh_cm2"]) == pytest.approx(q_ch, rel=1e-9)
    assert float(row["discharge_capacity_mAh_cm2"]) == pytest.approx(0.01, rel=1e-9)
    assert float(row["coulombic_efficiency"]) == pytest.approx(0.01 / q_ch, rel=1e-9)
    assert 4.0 < float(row["mean_charge_voltage_V"]) < 4.2
    assert float(row["duration_s"]) == pytest.approx(t[-1])


def test_two_ranks_equal_one_rank(reference, tmp_path):
    from _cycling_helpers import run_femsim

    case, out = reference
    two = tmp_path / "two"
    proc = run_femsim(["run", str(case), "--out", str(two)], ranks=2)
    assert proc.returncode == 0, proc.stderr[-3000:]
    head, a, ka = _series(out / "timeseries.csv")
    _, b, kb = _series(two / "timeseries.csv")
    assert a.shape == b.shape and ka == kb, "same step sequence"
    worst = 0.0
    for k, name in enumerate(head):
        if name == "newton_iterations":
            continue
        scale = max(np.max(np.abs(a[:, k])), 1e-30)
        worst = max(worst, float(np.max(np.abs(a[:, k] - b[:, k])) / scale))
        assert np.max(np.abs(a[:, k] - b[:, k])) <= 1e-8 * scale, name
    print(f"2 ranks vs 1: max scaled difference {worst:.2e}")


def test_resume_after_sigkill_in_cv(reference, tmp_path):
    from _cycling_helpers import kill_and_resume

    case, out = reference
    log = json.loads((out / "run.json").read_text())["summary"]["protocol_steps"]
    head, ref, _ = _series(out / "timeseries.csv")
    col = {name: k for k, name in enumerate(head)}
    in_hold = np.flatnonzero((ref[:, col["step"]] == 2) & (ref[:, col["dt_s"]] > 0))
    # accepted steps up to the middle of the hold (snapshots are named by accepted steps)
    n_kill = int(np.count_nonzero(ref[: in_hold[len(in_hold) // 2] + 1, col["dt_s"]] > 0))
    cut = tmp_path / "cut"
    manifest = kill_and_resume(case, cut, n_kill)
    assert manifest["resumed_from"]["step"] >= n_kill
    resumed_at = manifest["resumed_from"]["time_s"]
    assert log[1]["start_s"] < resumed_at < log[1]["end_s"], "resumed inside the CV step"
    _, res, _ = _series(cut / "timeseries.csv")
    assert res.shape == ref.shape
    np.testing.assert_array_equal(res[:, 0], ref[:, 0])
    np.testing.assert_allclose(res, ref, rtol=1e-6, atol=1e-12)
    print(f"resumed at t = {resumed_at:.3f} s (CV step {log[1]['start_s']:.1f}-{log[1]['end_s']:.1f} s): "
          f"max rel diff {float(np.max(np.abs(res - ref) / np.maximum(np.abs(ref), 1e-12))):.2e}")


def test_step_that_cannot_converge_fails_naming_it(tmp_path, mesh_file):
    """A hold far above any OCP (5.9 V): Newton fails, dt is cut to dt_min, the run ends 'failed'
    with a message naming the step, in seconds (never a hang)."""
    from _cycling_helpers import run_femsim, write_cycle_case

    case = write_cycle_case(tmp_path, '["Rest for 1 second", "Hold at 5.9 V for 10 seconds"]', CAPACITY_MAH_CM2,
                            mesh_file)
    case.write_text(case.read_text().replace("dt_max_s = 20.0", "dt_max_s = 20.0\ndt_min_s = 0.1\n"
                                             "max_newton_iterations = 6"))
    out = tmp_path / "out"
    proc = run_femsim(["run", str(case), "--out", str(out)], timeout=300)
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["status"] == "failed", manifest["status"]
    assert 'cycle 1/1 step 2/2: "Hold at 5.9 V for 10 seconds"' in manifest["reason"], manifest["reason"]
    assert proc.returncode != 0 or manifest["status"] == "failed"


TWO_CYCLES = '["Charge at 5C until 4.15 V", "Discharge at 5C for 10 seconds"]'


@pytest.fixture(scope="module")
def two_cycles(tmp_path_factory, mesh_file):
    """An uninterrupted two-cycle run with mechanics (per-cycle stress peaks in cycles.csv)."""
    from _cycling_helpers import run_femsim, write_cycle_case

    tmp = tmp_path_factory.mktemp("two_cycles")
    case = write_cycle_case(tmp, TWO_CYCLES, CAPACITY_MAH_CM2, mesh_file, cycles=2, mechanics=True)
    out = tmp / "ref"
    proc = run_femsim(["run", str(case), "--out", str(out)])
    assert proc.returncode == 0, proc.stderr[-3000:]
    return case, out


@pytest.mark.parametrize("where", ["cycle_end", "last_step"])
def test_resume_after_sigkill_at_cycle_boundary(two_cycles, tmp_path, where):
    """SIGKILL as soon as the snapshot at the end of cycle 1 exists (it holds the state after the
    switch into cycle 2: cycle 1's step log, cycles.csv row and stress peaks), or as soon as the
    one before it exists (the resumed run ends cycle 1 itself, its peaks from both runs)."""
    from _cycling_helpers import kill_and_resume

    case, out = two_cycles
    log = json.loads((out / "run.json").read_text())["summary"]["protocol_steps"]
    assert [(e["cycle"], e["step"], e["reason"]) for e in log] == [(1, 1, "voltage"), (1, 2, "time"),
                                                                  (2, 1, "voltage"), (2, 2, "time")]
    head, ref, _ = _series(out / "timeseries.csv")
    col = {name: k for k, name in enumerate(head)}
    n_cycle1 = int(np.count_nonzero((ref[:, col["cycle"]] == 1) & (ref[:, col["dt_s"]] > 0)))
    n_kill = n_cycle1 if where == "cycle_end" else n_cycle1 - 1
    cut = tmp_path / "cut"
    manifest = kill_and_resume(case, cut, n_kill)
    assert manifest["summary"]["cycles_completed"] == 2
    resumed = manifest["resumed_from"]
    if where == "cycle_end":
        # the boundary snapshot (or one a step later, if the kill landed late): inside cycle 2's first step
        assert resumed["step"] >= n_cycle1 and log[2]["start_s"] <= resumed["time_s"] < log[2]["end_s"]
    else:
        assert resumed["step"] == n_cycle1 - 1 and log[1]["start_s"] < resumed["time_s"] < log[1]["end_s"], \
            f"resumed from {resumed}: not inside the last step of cycle 1 (did the kill land late?)"
    _, res, _ = _series(cut / "timeseries.csv")
    assert res.shape == ref.shape
    np.testing.assert_array_equal(res[:, 0], ref[:, 0])
    np.testing.assert_allclose(res, ref, rtol=1e-6, atol=1e-12)
    cycles_head, cycles_ref = _cycles_csv(out / "cycles.csv")
    assert len(cycles_ref) == 2 and any(name.endswith("_Pa") for name in cycles_head), cycles_head
    res_head, cycles_res = _cycles_csv(cut / "cycles.csv")
    assert res_head == cycles_head
    np.testing.assert_allclose(cycles_res, cycles_ref, rtol=1e-6, atol=1e-12)
    print(f"{where}: resumed at t = {resumed['time_s']:.3f} s (cycle 1 ends at {log[1]['end_s']:.3f} s), "
          f"series max rel diff {float(np.max(np.abs(res - ref) / np.maximum(np.abs(ref), 1e-12))):.2e}, "
          f"cycles.csv max rel diff "
          f"{float(np.max(np.abs(cycles_res - cycles_ref) / np.maximum(np.abs(cycles_ref), 1e-12))):.2e}")

#: a 5C discharge from near full lithiation (x0 = 0.93) to 2.5 V on the same mesh: the end of
#: discharge (x -> 1, U(x) falls steeply, the exchange current saturates) in a few dozen steps
DISCHARGE_END_CASE = """\
[case]
name = "discharge_end"
[geometry]
particle_table = "table.csv"
box_um = [10.0, 10.0, 10.0]
separator_thickness_um = 5.0
[mesh]
file = "{mesh_file}"
size_surface_per_radius = 0.4
size_max_um = 3.0
size_particle_core_um = 3.0
[protocol]
areal_capacity_mAh_cm2 = 0.19
initial_stoichiometry = 0.93
steps = ["Discharge at 5C until 2.5 V"]
[solver]
dt_initial_s = 0.5
max_voltage_change_V = 0.05
[mechanics]
enabled = false
[output]
times_s = []
fields = false
progress = false
"""


def test_5c_discharge_reaches_2p5_V(tmp_path, mesh_file):
    from femsim.mpi import comm_world
    from femsim.simulation import run_case

    from _reliability_helpers import TABLE_TEXT

    (tmp_path / "table.csv").write_text(TABLE_TEXT)
    (tmp_path / "case.toml").write_text(DISCHARGE_END_CASE.replace("{mesh_file}", str(mesh_file)))
    data = read_toml(tmp_path / "case.toml")
    data["output"]["folder"] = str(tmp_path / "out")
    case = parse_case(data, tmp_path / "case.toml")
    result = run_case(case, comm=comm_world())
    assert result.status == "finished"
    assert result.summary["termination"] == "cutoff"
    rows = np.loadtxt(tmp_path / "out" / "timeseries.csv", delimiter=",", skiprows=1, ndmin=2, usecols=range(9))
    t, volt, soc, dt = rows[:, 0], rows[:, 2], rows[:, 4], rows[:, 8]
    assert 2.5 - case.solver.cutoff_tolerance_V <= volt[-1] <= 2.5  # located within 1 mV
    assert np.all(volt[:-1] > 2.5)
    # the saturation end: the last 0.5 V fall within a few seconds, in steps near the voltage
    # limit (50 mV here; up to linear_voltage_change_factor x it where V falls linearly: 7 steps
    # below 3 V instead of 8+), with (nearly) no rejected steps
    late = volt < 3.0
    assert late.sum() >= 5 and t[-1] - t[late][0] < 30.0
    assert np.max(np.abs(np.diff(volt))) <= case.solver.linear_voltage_change_factor * case.solver.max_voltage_change_V
    assert result.summary["n_rejected_steps"] <= 3
    assert soc[-1] < -0.1  # soc_mean: Li removed since the start (negative: inserted)
    print(f"cut-off {volt[-1]:.5f} V at t = {t[-1]:.3f} s, {result.summary['n_steps']} steps, "
          f"{result.summary['n_rejected_steps']} rejected, {result.summary['newton_iterations_total']} Newton, "
          f"dt at the end {dt[-1]:.3g} s")


def test_capacity_termination_stops_the_cycling(tmp_path, mesh_file):
    """``protocol.termination``: 3 cycles requested, cycle 1 delivers 5C × 10 s = 0.00264 mAh/cm²,
    below '0.003 mAh/cm2 capacity': the run finishes after cycle 1 with termination
    ``capacity_fade`` (exit 0), one cycles.csv row and the reason in the log."""
    from _cycling_helpers import run_femsim, write_cycle_case

    case = write_cycle_case(tmp_path, TWO_CYCLES, CAPACITY_MAH_CM2, mesh_file, cycles=3)
    case.write_text(case.read_text().replace("cycles = 3\n", 'cycles = 3\ntermination = "0.003 mAh/cm2 capacity"\n'))
    out = tmp_path / "out"
    proc = run_femsim(["run", str(case), "--out", str(out)])
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((out / "run.json").read_text())["summary"]
    assert summary["termination"] == "capacity_fade"
    assert [(e["cycle"], e["step"]) for e in summary["protocol_steps"]] == [(1, 1), (1, 2)]
    assert summary["cycles_completed"] == 1
    _, cycles = _cycles_csv(out / "cycles.csv")
    assert len(cycles) == 1
    assert "cycle 1: discharge capacity 0.002639 mAh/cm²" in proc.stderr, proc.stderr[-2000:]
