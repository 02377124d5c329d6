"""The run state without a solver: named time-series records, the columns shared by the writers,
the snapshots and the reader, and a run state through the snapshot codec and back."""

from __future__ import annotations

import dataclasses
import types
from pathlib import Path

import numpy as np
import pytest

from femsim.io import columns as C, snapshots as S
from femsim.io.results import PARTICLES_HEADER, PROBES_HEADER, TIMESERIES_HEADER
from femsim.run_state import RunState
from femsim.units import C_M2_PER_MAH_CM2


def _record(t: float, kind: str = "charge", dt: float = 0.5) -> C.SeriesRecord:
    return C.SeriesRecord(time_s=t, current_A=2.5e-8, voltage_V=3.7 + 0.01 * t, electrolyte_potential_drop_V=0.02,
                          soc_mean=0.1 * t, soc_separator_10um=0.12 * t, soc_collector_10um=0.08 * t,
                          newton_iterations=3, dt_s=dt, cycle=1, step=2, step_kind=kind)


def test_series_record_numbers_round_trip_with_types():
    rec = _record(1.5, "hold")
    numbers = rec.numbers()
    assert numbers[-1] == 2.0 and all(isinstance(v, float) for v in numbers)  # "hold" is KINDS[2]
    back = C.SeriesRecord.from_numbers(np.array(numbers))
    assert back == rec and type(back.newton_iterations) is int and type(back.cycle) is int
    assert rec.values() == [getattr(rec, n) for n in TIMESERIES_HEADER]
    shuffled = list(reversed(C.SERIES_NAMES))  # named columns: the order of a snapshot need not be ours
    assert C.SeriesRecord.from_numbers(list(reversed(numbers)), tuple(shuffled)) == rec


def test_writers_and_reader_share_the_columns():
    from postprocess.reader import PARTICLES_COLUMNS, PROBES_COLUMNS, TIMESERIES_COLUMNS

    assert TIMESERIES_HEADER == [f.name for f in dataclasses.fields(C.SeriesRecord)]
    assert "sigma_eq_peak_Pa" in PARTICLES_HEADER and len(PARTICLES_HEADER) == 23
    for required, header in ((TIMESERIES_COLUMNS, TIMESERIES_HEADER), (PARTICLES_COLUMNS, PARTICLES_HEADER),
                             (PROBES_COLUMNS, PROBES_HEADER)):
        assert [n for n in header if n in required] == list(required)
    assert TIMESERIES_COLUMNS[-1] == "dt_s" and len(PROBES_COLUMNS) == len(PROBES_HEADER)


def _state() -> RunState:
    state = RunState.fresh(3, 0.5)
    state.series += [_record(0.0, dt=0.0), _record(0.5), _record(1.0)]
    state.stepper.n_steps, state.stepper.time_s, state.stepper.rejected_steps = 2, 1.0, 1
    state.outputs_written.append(0.5)
    state.particle_rows.append([0.5, 7, 1.0])
    state.peaks.add_probe("Ps", 2.0e8)
    stress = {"sigma_eq_max_Pa": np.array([1e8, 2e8, 3e8]), "sigma_eq_p95_Pa": np.array([1.0, 2.0, 3.0]),
              "sigma_1_surface_p95_Pa": np.array([4.0, 5.0, 6.0]), "failure_probability": np.array([0.1, 0.2, 0.3])}
    state.peaks.add_particle_stress(1, stress)
    return state


def test_run_state_through_the_manifest_and_back():
    state = _state()
    manifest = S.encode_run_state(state)
    assert "rejected_steps" not in manifest["stepper_state"] and manifest["rejected_steps"] == 1
    rows = np.array([r.numbers() for r in state.series])
    back = S.decode_run_state(manifest, rows)
    assert back.series == state.series and back.stepper == state.stepper
    assert back.outputs_written == [0.5] and back.particle_rows == [[0.5, 7, 1.0]]
    assert back.peaks.probe_sigma_eq_Pa == {"Ps": 2.0e8, "Pcc": 0.0}
    np.testing.assert_array_equal(back.peaks.particle_sigma_eq_Pa, [1e8, 2e8, 3e8])
    assert back.peaks.per_cycle == {"1": {"sigma_eq_max_Pa": 3e8, "sigma_eq_p95_Pa": 3.0,
                                          "sigma_1_surface_p95_Pa": 6.0}}
    assert back.peaks.cycle_stress.to_dict() == state.peaks.cycle_stress.to_dict()
    legacy = {k: v for k, v in manifest.items() if k != "series_columns"}  # written by femsim <= b8e9256
    assert S.decode_run_state(legacy, rows).series == state.series


def test_series_summary_and_lookups():
    state = _state()
    assert state.switch_voltage() == pytest.approx(3.7)
    assert state.soc_at(0.6) == (pytest.approx(0.06), pytest.approx(0.04))
    assert state.soc_at(150.0) == (None, None)
    summary = state.series_summary(area_m2=1e-10, steps_per_cycle=1)
    assert summary["newton_iterations_total"] == 9 and summary["n_rejected_steps"] == 1
    # backward Euler: Σ i dt = 2.5e-8 A × 1 s over 1e-10 m², in mAh/cm²
    assert summary["delivered_capacity_mAh_cm2"] == pytest.approx(2.5e-8 / 1e-10 / C_M2_PER_MAH_CM2)


def test_a_snapshot_without_a_column_of_ours_is_refused(tmp_path, monkeypatch):
    from femsim.case import load_case

    comm = types.SimpleNamespace(rank=0, size=1, bcast=lambda v, root=0: v, barrier=lambda: None,
                                 allreduce=lambda v, op=None: v, gather=lambda v, root=0: [v])
    case = load_case(Path(__file__).resolve().parents[1] / "cases" / "ci" / "tiny.toml")
    (tmp_path / "table.csv").write_text("mesh stand-in\n")
    out = tmp_path / "out"
    run = types.SimpleNamespace(comm=comm, folder=out, case=case, resume=False)
    codec = S.SnapshotManager(run)
    codec.mesh_file = tmp_path / "table.csv"  # any file: its sha256 is what is checked
    monkeypatch.setattr(S, "_land", lambda: None)
    solver = S.SolverState([np.arange(4.0)], None, np.arange(2))
    assert codec.write(_state(), solver) is not None
    run.resume = True
    codec = S.SnapshotManager(run)
    codec.mesh_file = tmp_path / "table.csv"
    snap = codec.read(np.arange(2), [(4,)])
    assert snap.run.series == _state().series and snap.step == 2
    np.testing.assert_array_equal(snap.solver.unknowns[0], np.arange(4.0))
    monkeypatch.setattr(S, "SERIES_NAMES", (*C.SERIES_NAMES, "new_column_V"))
    with pytest.raises(S.InputError, match="has no column.*new_column_V"):
        codec.read(np.arange(2), [(4,)])
