"""CI version of the PyBaMM cross-check: a coarse 3D run of the homogenised-limit array.

The shipped ``cases/homogenised/ci_coarse_5C.toml`` (8 spheres, R = 2.08 µm, φ = 30 %, 40 µm
cathode, 25 µm separator, coarse mesh, 60 s of a 5C charge) is run in 3D and compared with the
PyBaMM DFN built from the same case and its measured tortuosity. The acceptance
(:func:`femsim.crosscheck.compare.agrees`: RMS ΔV ≤ 6 mV and Δφ_l within 10 %) holds for the full
model and fails when the diffusion-potential (thermodynamic-factor) or the transference term is
dropped from the PyBaMM model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pybamm")
pytest.importorskip("femsim.simulation")

from femsim.case import load_case  # noqa: E402
from femsim.crosscheck.compare import (  # noqa: E402
    CI_DROP_TOLERANCE,
    CI_RMS_TOLERANCE_V,
    HalfCellSeries,
    agrees,
    compare_series,
    run_comparison,
)

REPO = Path(__file__).resolve().parents[2]


def _series(t, v, drop=None, label=""):
    t = np.asarray(t, dtype=float)
    drop = np.full_like(t, 0.01) if drop is None else np.asarray(drop, dtype=float)
    return HalfCellSeries(t, np.asarray(v, dtype=float), drop, t / 100, t / 200, None, label)


def test_compare_series_metrics():
    t = np.linspace(0, 100, 11)
    a = _series(t, 3.7 + 0.001 * t)
    b = _series(np.linspace(0, 120, 121), 3.7 + 0.001 * np.linspace(0, 120, 121) + 0.002)
    c = compare_series(a, b)
    assert c.rms_voltage_V == pytest.approx(0.002) and c.max_voltage_V == pytest.approx(0.002)
    assert c.t_common_s == 100 and c.probe_time_s == 100 and c.time_to_cutoff_rel is None
    assert c.drop_rel == pytest.approx(0.0) and agrees(c)
    assert not agrees(compare_series(a, _series(t, 3.7 + 0.001 * t, drop=np.full(11, 0.012))))
    assert not agrees(compare_series(a, _series(t, 3.71 + 0.001 * t)))


def test_coarse_3d_run_matches_pybamm_and_fails_when_a_term_is_dropped(tmp_path):
    case = load_case(REPO / "cases" / "homogenised" / "ci_coarse_5C.toml")
    case.output.folder = tmp_path / "ci"
    record = run_comparison(case, ("full", "no_diffusion_potential", "no_transference"))
    assert (tmp_path / "ci" / "comparison.png").is_file() and (tmp_path / "ci" / "comparison.json").is_file()
    c = record["comparisons"]
    full = c["full"]
    assert full["t_common_s"] == pytest.approx(60.0)
    assert full["rms_voltage_V"] <= CI_RMS_TOLERANCE_V, full
    assert abs(full["drop_rel"]) <= CI_DROP_TOLERANCE, full
    for side in ("separator", "collector"):
        assert full[f"soc_{side}_b"] == pytest.approx(full[f"soc_{side}_a"], abs=2e-3)
    assert full["soc_separator_a"] > full["soc_collector_a"]
    for variant in ("no_diffusion_potential", "no_transference"):
        dropped = c[variant]
        assert dropped["rms_voltage_V"] > CI_RMS_TOLERANCE_V, (variant, dropped)
        assert abs(dropped["drop_rel"]) > CI_DROP_TOLERANCE, (variant, dropped)
