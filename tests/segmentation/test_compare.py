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
    assert "comparison of 2 segmentations" in capsys.readouterr().out
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
