"""``femsim segment`` end to end on a small phantom: files, contracts, window, errors (exit 2)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import tifffile

from femsim.cli import main
from femsim.errors import EXIT_INPUT_ERROR

CONTRACT = ["id", "x", "y", "z", "radius", "volume_um3", "equivalent_radius_um", "sphericity", "touches_border",
            "crack_fraction", "damage_class"]


@pytest.fixture
def phantom_tif(tmp_path, small_phantom):
    img, _ = small_phantom
    path = tmp_path / "phantom.tif"
    tifffile.imwrite(path, (np.clip(img, 0, 1) * 255).astype(np.uint8))
    return path


def _read(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_segment_command_outputs(tmp_path, phantom_tif, small_phantom, capsys):
    _, truth = small_phantom
    out = tmp_path / "out"
    rc = main(["segment", str(phantom_tif), "--voxel-size", "0.5", "--out", str(out), "--window-size", "16,16,12"])
    assert rc == 0
    assert "particles" in capsys.readouterr().out
    for name in ("particles.csv", "particles_all.csv", "labels.npz", "report.json", "depth_profile.csv",
                 "damage_network.csv", "damage_network.vtk", "overlay_xy.png", "overlay_xz.png"):
        assert (out / name).stat().st_size > 0, name
    assert not list(out.glob(".*.tmp"))
    rows = _read(out / "particles_all.csv")
    with open(out / "particles_all.csv") as fh:
        header = fh.readline().strip().split(",")
    assert header[: len(CONTRACT)] == CONTRACT
    assert len(rows) == len(truth.radii_vox)
    assert {r["damage_class"] for r in rows} <= {"least", "mild", "severe"}
    assert all(r["touches_border"] in ("0", "1") for r in rows)
    window = _read(out / "particles.csv")
    assert 0 < len(window) < len(rows)
    for r in window:
        assert 0 <= float(r["x"]) <= 16 and 0 <= float(r["y"]) <= 16 and 0 <= float(r["z"]) <= 12
    rep = json.loads((out / "report.json").read_text())
    for key in ("n_particles", "n_interior_particles", "mean_equivalent_radius_um", "class_counts", "elapsed_s",
                "peak_memory_mb", "timings_s", "network"):
        assert key in rep
    assert rep["n_particles"] == len(rows) and rep["window"]["n_particles"] == len(window)
    assert sum(rep["class_counts"].values()) == len(rows)
    assert rep["mean_equivalent_radius_um"] == pytest.approx(0.5 * np.mean(truth.radii_vox), rel=0.05)
    with open(out / "depth_profile.csv") as fh:
        assert fh.readline().strip() == ("depth_min_um,depth_max_um,n_particles,fraction_least,fraction_mild,"
                                         "fraction_severe")
    with open(out / "damage_network.csv") as fh:
        assert fh.readline().strip() == "source_id,target_id,length_um"
    lab = np.load(out / "labels.npz")
    assert lab["labels"].shape == (48, 64, 64) and int(lab["labels"].max()) == len(rows)


def test_depth_face_zmin_mirrors_z(tmp_path, phantom_tif):
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["segment", str(phantom_tif), "--voxel-size", "1", "--out", str(a), "--no-overlays",
                 "--no-sphericity"]) == 0
    assert main(["segment", str(phantom_tif), "--voxel-size", "1", "--out", str(b), "--no-overlays",
                 "--no-sphericity", "--depth-face", "zmin"]) == 0
    za = np.array([float(r["z"]) for r in _read(a / "particles.csv")])
    zb = np.array([float(r["z"]) for r in _read(b / "particles.csv")])
    np.testing.assert_allclose(zb, 48.0 - za, atol=1e-5)


@pytest.mark.parametrize("extra,needle", [
    (["--voxel-size", "-2"], "voxel size"),
    (["--voxel-size", "1", "--window-size", "500,5,5"], "exceeds"),
    (["--voxel-size", "1", "--mild", "0.5", "--severe", "0.2"], "mild"),
    (["--voxel-size", "1", "--crop", "0:10,0:10"], "axes"),
    (["--voxel-size", "1", "--max-memory-gb", "0.000001"], "--downsample"),
])
def test_bad_options_exit_2(tmp_path, phantom_tif, capsys, extra, needle):
    rc = main(["segment", str(phantom_tif), "--out", str(tmp_path / "o"), *extra])
    assert rc == EXIT_INPUT_ERROR
    last = capsys.readouterr().err.strip().splitlines()[-1]  # INFO log lines may precede it
    assert last.startswith("error:") and needle in last


def test_missing_image_exit_2(tmp_path, capsys):
    rc = main(["segment", str(tmp_path / "nope.tif"), "--voxel-size", "1", "--out", str(tmp_path / "o")])
    assert rc == EXIT_INPUT_ERROR
    assert "nope.tif: image not found" in capsys.readouterr().err


def test_depth_profile_readable_by_postprocess(tmp_path, phantom_tif):
    fracture = pytest.importorskip("postprocess.fracture")
    out = tmp_path / "o"
    assert main(["segment", str(phantom_tif), "--voxel-size", "0.5", "--out", str(out), "--no-overlays",
                 "--depth-window", "7"]) == 0
    prof = fracture.read_measured_profile(out / "depth_profile.csv")
    assert int(np.nansum(prof["n_particles"])) == len(_read(out / "particles.csv"))
    assert set(fracture.read_measured_classes(out / "particles.csv").values()) <= {"least", "mild", "severe"}
