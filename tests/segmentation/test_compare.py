"""``femsim report SEG1 SEG2``: electrodes side by side from segmentation folders."""

from __future__ import annotations

import json

import numpy as np
import pytest

from femsim.cli import main
from femsim.segmentation import phantom


@pytest.fixture(scope="module")
def two_segmentations(tmp_path_factory):
    d = tmp_path_factory.mktemp("cmp")
    shape = (60, 64, 64)
    folders = []
    for seed in (5, 8):
        centres, radii = phantom.random_packing(shape, 16, radius_mean=8.0, radius_sd=1.0, seed=seed)
        cf, branches = phantom.sample_crack_fractions(len(radii), seed=seed)
        img, _ = phantom.render_phantom(shape, centres, radii, cf, branches, noise=0.05, seed=seed + 1)
        np.save(d / f"e{seed}.npy", img)
        out = d / f"cycles{seed}"
        assert main(["-q", "segment", str(d / f"e{seed}.npy"), "--voxel-size", "0.5", "--out", str(out),
                     "--no-overlays", "--no-sphericity", "--min-radius", "0.5"]) == 0
        folders.append(out)
    return d, folders


def test_report_side_by_side(two_segmentations, capsys):
    d, (a, b) = two_segmentations
    out = d / "cmp"
    assert main(["report", str(a), str(b), "--out", str(out)]) == 0
    assert "comparison of 2 electrodes (2 segmentations)" in capsys.readouterr().out
    for name in ("class_radar.png", "depth_profiles.png", "network_edges.png", "network_3d.png", "index.html"):
        assert (out / name).stat().st_size > (300 if name.endswith("html") else 5000), name
    summary = json.loads((out / "comparison.json").read_text())
    for f, folder in zip(summary["folders"], (a, b)):
        rep = json.loads((folder / "report.json").read_text())
        assert f["class_counts"] == rep["class_counts"] and f["n_particles"] == rep["n_particles"]
        assert f["network"]["n_nodes"] == rep["class_counts"]["severe"]
        assert len(f["depth_profile"]) == 3  # 30 µm deep, 10-µm windows
        assert sum(r["n_particles"] for r in f["depth_profile"]) == rep["n_particles"]
    out2 = d / "cmp_proj"
    assert main(["report", str(a), str(b), "--out", str(out2), "--projected-window"]) == 0
    proj = json.loads((out2 / "comparison.json").read_text())
    assert proj["depth_method"] == "projected-window"
    rows = proj["folders"][0]["depth_profile"]
    # a particle crossing a window boundary is counted in both windows
    assert sum(r["n_particles"] for r in rows) >= summary["folders"][0]["n_particles"]
    assert all(abs(r["fraction_least"] + r["fraction_mild"] + r["fraction_severe"] - 1) < 1e-9 for r in rows)


def test_report_refuses_mixed_folders(two_segmentations, tmp_path, capsys):
    _, (a, _) = two_segmentations
    other = tmp_path / "results"
    other.mkdir()
    assert main(["report", str(a), str(other)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a `femsim segment` output folder" in err[0] and "results" in err[0]


def test_simulated_damage_beside_a_segmentation(two_segmentations, tmp_path, capsys):
    """A run's damage.csv (rows built by the run's own code, from a made-up stress history) as a
    simulated electrode beside a measured one: its classes, depth windows and 3-NN network."""
    from femsim.case import Damage
    from femsim.io.atomic import write_csv, write_json
    from femsim.model.damage_cycles import DamageCycles
    from femsim.model.damage_history import CycleStressHistory

    _, (a, _) = two_segmentations
    ids = np.arange(6)
    centroid = np.array([[5, 5, 35], [15, 5, 36], [5, 15, 34], [15, 15, 5], [5, 5, 6], [10, 10, 20]], float)
    history = CycleStressHistory(6)
    sigma = np.array([1.2e9, 1.1e9, 1.3e9, 2e8, 1.0e9, 3e8])  # near the separator high, one deep particle too
    for cycle in (1, 2):
        history.update(cycle, {"sigma_1_surface_p95_Pa": sigma, "failure_probability": np.zeros(6)})
    cycles = DamageCycles(Damage(enabled=True), history, ids, np.full(6, 3e-6),
                          40.0 - centroid[:, 2], centroid, 40.0, 2)
    _, tables = cycles.tables(2)
    run = tmp_path / "run"
    run.mkdir()
    write_csv(run / "damage.csv", *tables["damage.csv"])
    write_json(run / "run.json", {"case": {"geometry": {"box_um": [20.0, 20.0, 40.0]}}})
    classes = {r[1]: r[11] for r in tables["damage.csv"][1] if r[0] == 2}
    assert [classes[i] for i in ids] == ["severe", "severe", "severe", "least", "severe", "least"]
    out = tmp_path / "cmp"
    assert main(["report", str(a), str(run), "--damage-cycle", "1", "2", "--out", str(out)]) == 0
    assert "comparison of 3 electrodes (1 segmentations)" in capsys.readouterr().out
    summary = json.loads((out / "comparison.json").read_text())
    sim = summary["folders"][2]
    assert [f["simulated_cycle"] for f in summary["folders"]] == [None, 1, 2]
    assert sim["class_counts"] == {"least": 2, "mild": 0, "severe": 4}
    # windows from the separator: 3 severe in 0-10 µm, none in 10-20, 1 least in 20-30, 1 of 2 in 30-40
    profile = sim["depth_profile"]
    assert [r["n_particles"] for r in profile] == [3, 0, 1, 2]
    assert [profile[k]["fraction_severe"] for k in (0, 2, 3)] == [1.0, 0.0, 0.5]
    # the segmentation's 3-NN network of the 4 severe particles: every pair (each has 3 others)
    assert sim["network"]["n_nodes"] == 4 and sim["network"]["n_edges"] == 6
    assert main(["report", str(a), str(run), "--damage-cycle", "7", "--out", str(out)]) == 2
    assert "--damage-cycle 7" in capsys.readouterr().err
