"""Correlation, stress classes and confusion tables on constructed data with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from postprocess.fracture import (
    CLASSES,
    class_fractions,
    compare_particles,
    compare_profile,
    confusion_table,
    spearman,
    stress_classes,
)


def test_spearman_perfect_inverse_independent() -> None:
    x = np.arange(1.0, 11.0)
    assert spearman(x, 3 * x**3 + 1) == pytest.approx((1.0, 0.0), abs=1e-12)
    assert spearman(x, -np.exp(x)) == pytest.approx((-1.0, 0.0), abs=1e-12)
    # sum of squared rank differences 20 = n(n²−1)/6 → ρ = 0 exactly, p = 1
    rho, p = spearman([1, 2, 3, 4, 5], [2, 5, 3, 1, 4])
    assert rho == pytest.approx(0.0, abs=1e-12) and p == pytest.approx(1.0)


def test_spearman_degenerate_inputs() -> None:
    assert np.isnan(spearman([1, 2], [1, 2])[0])
    assert np.isnan(spearman([1, 2, 3, 4], [5, 5, 5, 5])[0])
    assert spearman([1, 2, np.nan, 3, 4], [1, 2, 7, 3, 4])[0] == pytest.approx(1.0)


def test_stress_classes_follow_measured_proportions() -> None:
    stress = np.array([5.0, 1.0, 9.0, 3.0, 7.0, 2.0, 8.0, 4.0, 10.0, 6.0])
    cls = stress_classes(stress, {"least": 0.5, "mild": 0.3, "severe": 0.2})
    assert class_fractions(cls) == {"least": 0.5, "mild": 0.3, "severe": 0.2}
    assert set(stress[cls == "least"]) == {1, 2, 3, 4, 5}
    assert set(stress[cls == "mild"]) == {6, 7, 8}
    assert set(stress[cls == "severe"]) == {9, 10}
    assert list(stress_classes([1, 2, 3], [0, 0, 1])) == ["severe"] * 3
    with pytest.raises(ValueError):
        stress_classes([1, 2], [0.5, 0.5])


def test_confusion_perfect_inverse_independent() -> None:
    measured = np.repeat(CLASSES, 3)  # 3 least, 3 mild, 3 severe
    stress = np.arange(9.0)
    fr = class_fractions(measured)
    assert np.array_equal(confusion_table(measured, stress_classes(stress, fr)), 3 * np.eye(3, dtype=int))
    assert np.array_equal(confusion_table(measured, stress_classes(-stress, fr)), 3 * np.fliplr(np.eye(3, dtype=int)))
    independent = stress[[0, 3, 6, 1, 4, 7, 2, 5, 8]]  # each measured class spans all stress ranks
    assert np.array_equal(confusion_table(measured, stress_classes(independent, fr)), np.ones((3, 3), dtype=int))


def _summary(stress: np.ndarray, depth: np.ndarray) -> dict[str, np.ndarray]:
    n = stress.size
    return {"particle_id": np.arange(1, n + 1), "depth_um": depth, "peak_sigma_eq_Pa": stress,
            "soc_swing": stress / stress.max()}


def test_compare_particles_perfect_and_inverse() -> None:
    stress = np.linspace(1e8, 3e8, 9)
    s = _summary(stress, np.linspace(1, 39, 9))
    measured = {i + 1: c for i, c in enumerate(np.repeat(CLASSES, 3))}
    good = compare_particles(s, measured)
    # ranks 1..9 against tied ranks (2,2,2,5,5,5,8,8,8): ρ = 54 / sqrt(60·54) = sqrt(0.9)
    assert good["spearman_peak_sigma"]["rho"] == pytest.approx(np.sqrt(0.9), rel=1e-12)
    assert good["spearman_soc_swing"]["rho"] == pytest.approx(np.sqrt(0.9), rel=1e-12)
    assert good["agreement"] == 1.0 and np.array_equal(good["confusion"], 3 * np.eye(3, dtype=int))
    bad = compare_particles(_summary(stress[::-1].copy(), s["depth_um"]), measured)
    assert bad["spearman_peak_sigma"]["rho"] == pytest.approx(-np.sqrt(0.9), rel=1e-12)
    assert bad["agreement"] == pytest.approx(1 / 3)


def test_compare_profile_windows() -> None:
    depth = np.array([2.0, 5, 8, 12, 15, 18, 25, 28, 35, 40])
    stress = 400e6 - 8e6 * depth  # shallow particles more stressed
    profile = {"depth_min_um": np.array([0.0, 10, 20, 30]), "depth_max_um": np.array([10.0, 20, 30, 40]),
               "n_particles": np.array([10.0, 10, 10, 10]), "fraction_least": np.array([0.0, 0.1, 0.5, 0.9]),
               "fraction_mild": np.array([0.2, 0.6, 0.4, 0.1]), "fraction_severe": np.array([0.8, 0.3, 0.1, 0.0])}
    cmp = compare_profile(_summary(stress, depth), profile)
    assert [w["simulated_n_particles"] for w in cmp["windows"]] == [3, 3, 2, 2]  # depth 40 in the last window
    assert cmp["spearman_peak_sigma"]["rho"] == pytest.approx(1.0)
    assert cmp["class_fractions_used"] == pytest.approx({"least": 0.375, "mild": 0.325, "severe": 0.3})
    assert cmp["windows"][0]["simulated_fraction_severe"] == 1.0


def test_measured_profile_with_empty_window(tmp_path) -> None:
    from postprocess.fracture import read_measured_profile

    path = tmp_path / "profile.csv"
    path.write_text("depth_min_um,depth_max_um,n_particles,fraction_least,fraction_mild,fraction_severe\n"
                    "0.0,10.0,4,0.25,0.25,0.5\n10.0,20.0,0,nan,nan,nan\n20.0,30.0,4,0.5,0.5,0.0\n")
    profile = read_measured_profile(path)
    depth = np.array([2.0, 4, 6, 8, 22, 24, 26, 28])
    cmp = compare_profile(_summary(400e6 - 8e6 * depth, depth), profile)
    assert cmp["class_fractions_used"] == pytest.approx({"least": 0.375, "mild": 0.375, "severe": 0.25})
    assert np.isnan(cmp["windows"][1]["measured_damage_index"])
    assert cmp["windows"][1]["simulated_n_particles"] == 0
    assert np.isnan(cmp["spearman_peak_sigma"]["rho"])  # only two finite windows
