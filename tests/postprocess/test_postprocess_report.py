"""The report builds from a results folder; every figure exists, is a valid non-blank image and
plots exactly the CSV values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

EXPECTED = ("fig5c_potentials", "fig5e_probes", "fig_depth_profiles", "fig5b_concentration",
            "fig5d_particle_sections", "fig_peak_stress_3d", "fig_fracture_profile", "compare_runs")


def assert_valid_png(path: Path) -> None:
    with Image.open(path) as img:
        img.verify()
    with Image.open(path) as img:
        assert img.format == "PNG"
        assert img.width > 300 and img.height > 200
        pixels = np.asarray(img.convert("L"), dtype=float)
    assert pixels.std() > 5.0, f"{path.name} looks blank"
    assert (pixels < 128).mean() > 0.005, f"{path.name} has almost nothing drawn"


def test_report_builds_with_all_figures(report, results_dir: Path, columns) -> None:
    assert report.index == results_dir / "report" / "index.html"
    assert report.warnings == []
    names = [f.name for f in report.figures]
    assert sorted(names) == sorted(EXPECTED)
    page = report.index.read_text(encoding="utf-8")
    for f in report.figures:
        assert f.path.parent == report.index.parent
        assert_valid_png(f.path)
        assert f"src='{f.path.name}'" in page
    for data_file in ("timeseries.csv", "particles.csv", "probes.csv", "run.json", "particles.pvd",
                      "depth_profile.csv", "particle_summary.csv", "fracture_particles.csv"):
        assert data_file in page
    assert "../timeseries.csv" in page
    # key numbers from run.json
    assert "time to cut-off" in page and "not reached" in page
    assert report.numbers["delivered_capacity_mAh_cm2"] == pytest.approx(0.96)


def test_potentials_plot_csv_values(report, results_dir: Path, columns) -> None:
    ts = columns(results_dir / "timeseries.csv")
    fig = report.figure("fig5c_potentials").figure
    v_line, d_line = fig.axes[0].get_lines()[0], fig.axes[1].get_lines()[0]
    np.testing.assert_array_equal(v_line.get_xdata(), np.asarray(ts["time_s"]))
    np.testing.assert_array_equal(v_line.get_ydata(), np.asarray(ts["voltage_V"]))
    np.testing.assert_allclose(d_line.get_ydata(), 1e3 * np.asarray(ts["electrolyte_potential_drop_V"]), rtol=1e-15)
    assert "(V)" in fig.axes[0].get_ylabel() and "(mV)" in fig.axes[1].get_ylabel()
    assert fig.axes[1].get_xlabel() == "time $t$ (s)"


def test_probe_histories_plot_csv_values(report, results_dir: Path, columns) -> None:
    pr = columns(results_dir / "probes.csv")
    fig = report.figure("fig5e_probes").figure
    sig_lines, c_lines = fig.axes[0].get_lines(), fig.axes[1].get_lines()
    for k, probe in enumerate(("Ps", "Pcc")):
        rows = [i for i, p in enumerate(pr["probe"]) if p == probe]
        t = np.asarray([pr["time_s"][i] for i in rows])
        np.testing.assert_array_equal(sig_lines[k].get_xdata(), t)
        np.testing.assert_allclose(sig_lines[k].get_ydata(), np.asarray([pr["sigma_eq_Pa"][i] for i in rows]) / 1e6,
                                   rtol=1e-15)
        np.testing.assert_array_equal(c_lines[k].get_ydata(), np.asarray([pr["c_over_cmax"][i] for i in rows]))
    assert "(MPa)" in fig.axes[0].get_ylabel()


def test_depth_profile_matches_particles_csv(report, results_dir: Path, columns) -> None:
    p = columns(results_dir / "particles.csv")
    t = np.asarray(p["time_s"])
    ids, depth, soc, sig = p["particle_id"], p["depth_um"], p["soc"], p["sigma_eq_max_Pa"]
    at = t == 150.0
    fig = report.figure("fig_depth_profiles").figure
    soc_dots, sig_dots = ([ln for ln in ax.get_lines() if ln.get_label() == "particles"][0] for ax in fig.axes)
    order = np.argsort(ids[at])
    np.testing.assert_array_equal(soc_dots.get_xdata(), depth[at][order])
    np.testing.assert_array_equal(soc_dots.get_ydata(), soc[at][order])
    peak = np.array([sig[ids == i].max() for i in np.unique(ids)])
    np.testing.assert_allclose(sig_dots.get_ydata(), peak / 1e6, rtol=1e-15)
    # 10-µm window means drawn as bars
    bars = [r.get_height() for r in fig.axes[1].patches]
    expected = [peak[(depth[at][order] >= lo) & (depth[at][order] < lo + 10)].mean() / 1e6 for lo in (0, 10, 20, 30)]
    np.testing.assert_allclose(bars, expected, rtol=1e-12)
    table = columns(report.index.parent / "depth_profile.csv")
    np.testing.assert_allclose(np.asarray(table["fracture_metric_mean_Pa"]) / 1e6, expected, rtol=1e-12)
    lo, hi = np.asarray(table["fracture_metric_ci05_Pa"]) / 1e6, np.asarray(table["fracture_metric_ci95_Pa"]) / 1e6
    assert np.all(lo <= np.asarray(expected)) and np.all(np.asarray(expected) <= hi) and np.all(lo < hi)
    assert np.asarray(table["n_particles"]).tolist() == [3, 3, 3, 3]


def test_field_sections_plot_field_values(report) -> None:
    f = report.figure("fig5b_concentration")
    pts, c = f.data["section_points_um"], f.data["section_c_over_cmax"]
    np.testing.assert_allclose(pts[:, 1], f.data["y_mid_um"], atol=1e-9)
    collection = f.figure.axes[0].collections[0]
    np.testing.assert_array_equal(np.asarray(collection.get_array()), c)
    assert 0.5 < c.min() <= c.max() < 1.0
    assert len(f.figure.axes[0].get_images()) == 0 and len(f.figure.axes) >= 3  # section + 2 views
    d = report.figure("fig5d_particle_sections")
    assert (d.data["Ps_particle_id"], d.data["Pcc_particle_id"]) == (3, 12)  # from probes.csv
    for p in ("Ps", "Pcc"):
        # sections through the particle centre: surface σ_eq above core σ_eq
        assert d.data[f"{p}_sigma_eq_MPa"].max() > 3 * d.data[f"{p}_sigma_eq_MPa"].min()


def test_3d_view_colours_particles_by_peak_stress(report, results_dir: Path, columns) -> None:
    p = columns(results_dir / "particles.csv")
    ids, sig = np.asarray(p["particle_id"]).astype(int), np.asarray(p["sigma_eq_max_Pa"])
    f = report.figure("fig_peak_stress_3d")
    expected = {i: sig[ids == i].max() / 1e6 for i in np.unique(ids)}
    got = dict(zip(f.data["particle_id"].astype(int), f.data["peak_sigma_eq_MPa"]))
    assert got.keys() == expected.keys()
    for i in expected:
        assert got[i] == pytest.approx(expected[i], rel=1e-15)
    assert np.isfinite(f.data["cell_peak_sigma_eq_MPa"]).all()


def test_compare_runs_overlays_each_run(report, results_dir: Path, columns) -> None:
    ts = columns(results_dir / "timeseries.csv")
    fig = report.figure("compare_runs").figure
    lines = fig.axes[0].get_lines()
    assert [ln.get_label() for ln in lines] == ["demo", "demo#2"]
    for ln in lines:
        np.testing.assert_array_equal(ln.get_ydata(), np.asarray(ts["voltage_V"]))
    assert "Comparison of runs" in report.index.read_text(encoding="utf-8")


def test_fracture_comparison_in_report(report) -> None:
    import json

    data = json.loads((report.index.parent / "fracture_comparison.json").read_text())
    pp = data["per_particle"]
    assert pp["n_matched"] == 12 and pp["agreement"] == 1.0
    assert np.array_equal(pp["confusion"], np.diag([4, 4, 4]))
    assert pp["spearman_peak_sigma"]["rho"] > 0.9
    pw = data["per_window"]
    assert pw["spearman_peak_sigma"]["rho"] == pytest.approx(1.0)
    fig = report.figure("fig_fracture_profile")
    np.testing.assert_allclose(fig.data["measured_severe"], [0.6, 0.4, 0.2, 0.1])
    np.testing.assert_allclose(
        fig.data["simulated_severe"] + fig.data["simulated_mild"] + fig.data["simulated_least"], 1
    )
