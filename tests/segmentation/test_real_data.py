"""Real tomography data: the NREL nmc-1-cal NMC volume (3D) and the NMC811 holotomography slice (2D).

The full NREL volume (251×301×301) is checked in ``benchmarks/segmentation_nrel.py``; here a quarter
of it (the full depth, 150×150 voxels laterally) from ``../shared/data`` and a vendored central crop.
Reference (``../shared/data/README.md``): SNOW/PoreSpy mean equivalent radius ≈ 10.5 voxels for
particles not touching the volume edge.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from femsim.cli import main
from femsim.segmentation import io, pipeline

SNOW_MEAN_RADIUS_VOX = 10.5
VENDORED_NREL = Path(__file__).resolve().parent / "data" / "nrel_nmc1cal_center.npz"


def _interior_mean_radius_vox(seg: pipeline.Segmentation) -> tuple[float, int]:
    tab = seg.table
    inner = ~tab["touches_border"]
    return float(np.mean(tab["equivalent_radius_um"][inner]) / seg.voxel_size_um), int(inner.sum())


def test_nrel_quarter_volume_mean_radius(shared_file):
    path = shared_file("nrel-nmc-1-cal", "nmc_phase.npz")
    vol = io.read_image(path, voxel_size_um=0.398, dataset="nmc", crop="0:251,0:150,0:150")
    seg = pipeline.segment_image(vol.data, vol.voxel_size_um, pipeline.SegmentConfig(sphericity=False))
    mean_r, n_inner = _interior_mean_radius_vox(seg)
    print(f"NREL quarter: {len(seg.table['id'])} particles, {n_inner} interior, mean radius {mean_r:.2f} vox")
    assert seg.binary_input
    assert n_inner > 150
    assert mean_r == pytest.approx(SNOW_MEAN_RADIUS_VOX, rel=0.05)


def test_nrel_vendored_crop(tmp_path):
    out = tmp_path / "nrel"
    assert main(["segment", str(VENDORED_NREL), "--out", str(out), "--no-overlays", "--no-sphericity",
                 "--window-size", "20,20,36"]) == 0  # voxel size from the file
    rep = json.loads((out / "report.json").read_text())
    assert rep["image"]["voxel_size_um"] == pytest.approx(0.398)
    assert rep["mean_equivalent_radius_vox"] == pytest.approx(SNOW_MEAN_RADIUS_VOX, rel=0.10)
    assert rep["n_interior_particles"] > 30
    assert rep["window"]["n_particles"] >= 5
    assert rep["class_counts"]["least"] >= 0.8 * rep["n_particles"]  # binary input: few enclosed pores


def test_nmc811_slice_classes_and_ranking(shared_file, tmp_path):
    path = shared_file("liulab-nmc811-slice", "nmc811_holotomo_xy.tif")
    out = tmp_path / "nmc811"
    assert main(["segment", str(path), "--voxel-size", "0.1", "--min-radius", "1.0", "--out", str(out)]) == 0
    rep = json.loads((out / "report.json").read_text())
    counts = rep["class_counts"]
    print(f"NMC811 slice: {rep['n_particles']} particles, classes {counts}")
    assert rep["n_particles"] >= 50
    assert all(counts[c] >= 5 for c in ("least", "mild", "severe"))
    assert (out / "overlay.png").stat().st_size > 10_000
    # independent check of the ranking: cracks are dark, so the severe particles are darker inside
    img = io.read_image(path, voxel_size_um=0.1).data.astype(float)
    labels = np.load(out / "labels.npz")["labels"]
    import csv

    with open(out / "particles.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["crack_rank"]) for r in sorted(rows, key=lambda r: -float(r["crack_fraction"]))] == list(
        range(1, len(rows) + 1))
    mean_grey = np.bincount(labels.ravel(), weights=img.ravel()) / np.maximum(np.bincount(labels.ravel()), 1)
    grey = {c: np.mean([mean_grey[int(r["id"])] for r in rows if r["damage_class"] == c]) for c in counts}
    assert grey["severe"] < grey["mild"] < grey["least"]


def test_nrel_case_table_accepted_by_geometry():
    particles = pytest.importorskip("femsim.geometry.particles")
    table = particles.read_particle_table(Path(__file__).resolve().parents[2] / "cases" / "nrel" /
                                          "nrel_window_particles.csv")
    assert len(table) >= 15
    assert np.all((table.centres >= 0) & (table.centres <= [20.0, 20.0, 40.0]))
    particles.validate_in_box(table, [20.0, 20.0, 40.0])  # overlaps within the builder's tolerance
    assert {"crack_fraction", "damage_class", "equivalent_radius_um"} <= set(table.extra)
