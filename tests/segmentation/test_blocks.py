"""Volumes over --max-memory-gb are segmented in z slabs with the same result."""

from __future__ import annotations

import json

import numpy as np
import pytest

from femsim.cli import main
from femsim.segmentation import blocks, io, phantom


def test_blockwise_equals_whole(tmp_path):
    shape = (240, 64, 64)
    centres, radii = phantom.random_packing(shape, 90, radius_mean=8.0, radius_sd=1.0, seed=3)
    cf, br = phantom.sample_crack_fractions(len(radii), seed=3)
    img, _ = phantom.render_phantom(shape, centres, radii, cf, br, noise=0.05, seed=4)
    np.save(tmp_path / "v.npy", img)
    args = ["-q", "segment", str(tmp_path / "v.npy"), "--voxel-size", "1", "--no-overlays", "--no-sphericity"]
    assert main(args + ["--out", str(tmp_path / "whole")]) == 0
    budget_gb = 0.75 * np.prod(shape) * io.BYTES_PER_VOXEL / 1024**3  # the whole volume does not fit
    assert main(args + ["--out", str(tmp_path / "blocks"), "--max-memory-gb", f"{budget_gb:.4f}"]) == 0
    whole, blk = (json.loads((tmp_path / d / "report.json").read_text()) for d in ("whole", "blocks"))
    assert whole["blocks"] == 1 and blk["blocks"] == 5
    assert blk["n_particles"] == whole["n_particles"] == 90
    assert blk["class_counts"] == whole["class_counts"]
    assert blk["mean_equivalent_radius_um"] == pytest.approx(whole["mean_equivalent_radius_um"], rel=1e-3)
    labels = np.load(tmp_path / "blocks" / "labels.npz")["labels"]
    assert labels.max() == 90 and len(np.unique(labels)) == 91


def test_slab_plan_refuses_tiny_budget():
    with pytest.raises(Exception, match="too small even for blockwise"):
        blocks.slab_plan(100, 64 * 64, 1e5, 32)
    plan = blocks.slab_plan(240, 64 * 64, 0.75 * 240 * 64 * 64 * io.BYTES_PER_VOXEL, 32)
    assert plan[0][1] == 0 and plan[-1][2] == 240
    assert all(b[1] == a[2] for a, b in zip(plan, plan[1:]))  # cores tile the volume


def test_blockwise_field_of_view_padding(tmp_path):
    """A volume framed by constant padding (a reconstruction's outside): whole and in z slabs give
    the same particles, and both count the particles the frame cuts as touching the border."""
    shape = (240, 48, 48)
    centres, radii = phantom.random_packing(shape, 70, radius_mean=8.0, radius_sd=1.0, seed=5)
    cf, br = phantom.sample_crack_fractions(len(radii), seed=5)
    img, _ = phantom.render_phantom(shape, centres, radii, cf, br, noise=0.05, seed=6)
    framed = np.pad(img.astype(np.float32), ((0, 0), (10, 10), (10, 10)), constant_values=-1.0)
    np.save(tmp_path / "v.npy", framed)
    args = ["-q", "segment", str(tmp_path / "v.npy"), "--voxel-size", "1", "--no-overlays", "--no-sphericity"]
    assert main(args + ["--out", str(tmp_path / "whole")]) == 0
    budget_gb = 0.75 * framed.size * io.BYTES_PER_VOXEL / 1024**3
    assert main(args + ["--out", str(tmp_path / "blocks"), "--max-memory-gb", f"{budget_gb:.4f}"]) == 0
    whole, blk = (json.loads((tmp_path / d / "report.json").read_text()) for d in ("whole", "blocks"))
    assert whole["blocks"] == 1 and blk["blocks"] > 1
    fraction = 1 - 48 * 48 / 68**2
    assert whole["image"]["outside_field_of_view_fraction"] == pytest.approx(fraction)
    assert blk["image"]["outside_field_of_view_fraction"] == pytest.approx(fraction)
    assert blk["n_particles"] == whole["n_particles"]
    assert blk["n_interior_particles"] == whole["n_interior_particles"]
    assert blk["class_counts"] == whole["class_counts"]
    labels = np.load(tmp_path / "whole" / "labels.npz")["labels"]
    assert not labels[:, :10].any() and not labels[:, :, -10:].any()
