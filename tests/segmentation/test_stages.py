"""Unit tests of the stages: classes, depth profile, network, window, measurements, 2D path, edges."""

from __future__ import annotations

import math

import numpy as np
import pytest

from femsim.errors import InputError
from femsim.segmentation import damage, filters, measure, network, phantom, pipeline, segment


def test_classify_thresholds():
    cls = damage.classify(np.array([0.0, 0.029, 0.03, 0.099, 0.1, 0.5]))
    assert list(cls) == ["least", "least", "mild", "mild", "severe", "severe"]
    with pytest.raises(InputError):
        damage.DamageThresholds(mild=0.2, severe=0.1)


def test_depth_profile_windows():
    depth = np.array([1.0, 5.0, 12.0, 19.9, 25.0, 40.0])
    cls = np.array(["least", "severe", "mild", "mild", "severe", "least"])
    rows = damage.depth_profile(depth, cls, total_depth_um=40.0, window_um=10.0)
    assert [r[:3] for r in rows] == [(0.0, 10.0, 2), (10.0, 20.0, 2), (20.0, 30.0, 1), (30.0, 40.0, 1)]
    assert rows[0][3:] == (0.5, 0.0, 0.5) and rows[1][4] == 1.0
    assert sum(r[2] for r in rows) == len(depth)
    np.testing.assert_allclose(damage.depth_of(np.array([0.0, 30.0]), 40.0, "zmax"), [40.0, 10.0])
    with pytest.raises(InputError):
        damage.depth_of(np.zeros(1), 1.0, "top")


def test_knn_network_and_vtk(tmp_path):
    pts = np.array([[0, 0, 0], [1, 0, 0], [0, 2, 0], [10, 10, 10], [11, 10, 10]], dtype=float)
    ids = np.array([3, 5, 7, 9, 11])
    edges = network.knn_edges(ids, pts, k=3)
    assert all(a < b for a, b, _ in edges)
    assert (3, 5, 1.0) in edges and len(edges) == len(set((a, b) for a, b, _ in edges))
    assert len(network.knn_edges(ids, pts, k=1)) == 3  # 3-5, 3-7, 9-11
    summary = network.network_summary(len(ids), edges, 1000.0)
    assert summary["n_edges"] == len(edges) and summary["nodes_per_1000_um3"] == 5.0
    network.write_vtk(tmp_path / "n.vtk", ids, pts, edges)
    pv = pytest.importorskip("pyvista")
    mesh = pv.read(tmp_path / "n.vtk")
    assert mesh.n_points == 5 and mesh.n_lines == len(edges)
    np.testing.assert_array_equal(mesh.point_data["particle_id"], ids)
    assert network.knn_edges(ids[:1], pts[:1]) == []


def test_select_window_recentres():
    tab = {"id": np.arange(1, 5), "x": np.array([5.0, 15.0, 25.0, 12.0]), "y": np.array([5.0, 15.0, 5.0, 29.0]),
           "z": np.array([5.0, 45.0, 5.0, 30.0])}
    sub = pipeline.select_window(tab, (2.0, 2.0, 0.0), (22.0, 22.0, 40.0))
    assert list(sub["id"]) == [1]
    assert sub["x"][0] == 3.0 and sub["y"][0] == 3.0 and sub["z"][0] == 5.0
    with pytest.raises(InputError):
        pipeline.select_window(tab, (0, 0, 0), (0, 1, 1))


def test_measure_sphere_and_border():
    shape = (40, 40, 40)
    _, truth = phantom.render_phantom(shape, np.array([[20.0, 20.0, 20.0], [5.0, 30.0, 30.0]]),
                                      np.array([10.0, 8.0]), np.array([0.0, 0.0]), noise=0.0, blur_vox=0.0)
    void = np.zeros(shape, dtype=bool)
    cols = measure.measure_particles(truth.labels, void, 0.5)
    assert cols["equivalent_radius_um"][0] == pytest.approx(5.0, rel=0.02)
    assert cols["x"][0] == pytest.approx(10.25, abs=1e-6)  # voxel 20 centred at 20.5 voxels = 10.25 µm
    assert cols["sphericity"][0] == pytest.approx(1.0, abs=0.05)
    assert list(cols["touches_border"]) == [False, True]
    assert cols["bbox_min_x_um"][0] == pytest.approx(5.0) and cols["bbox_max_x_um"][0] == pytest.approx(15.5)


def test_watershed_splits_touching_spheres_and_keeps_elongated_particle():
    shape = (40, 40, 70)
    zz, yy, xx = np.indices(shape)
    two = ((zz - 20) ** 2 + (yy - 20) ** 2 + (xx - 20) ** 2 <= 100) | (
        (zz - 20) ** 2 + (yy - 20) ** 2 + (xx - 39) ** 2 <= 100
    )
    labels = segment.watershed_split(two)
    assert labels.max() == 2
    ellipsoid = ((zz - 20) / 9.0) ** 2 + ((yy - 20) / 9.0) ** 2 + ((xx - 35) / 20.0) ** 2 <= 1
    assert segment.watershed_split(ellipsoid).max() == 1


def test_open_crack_counted_in_envelope():
    # a sphere cut by a crack reaching its surface is one particle whose crack is counted
    shape = (40, 40, 40)
    zz, yy, xx = np.indices(shape)
    sphere = (zz - 20) ** 2 + (yy - 20) ** 2 + (xx - 20) ** 2 <= 144
    crack = (np.abs(xx - 20) <= 1) & (zz > 20) & sphere  # slit from the centre to the surface
    img = np.where(sphere & ~crack, 0.8, 0.2).astype(np.float32)
    seg = pipeline.segment_image(img, 1.0, pipeline.SegmentConfig(median_size=0, edges="off"))
    assert len(seg.table["id"]) == 1
    expected = crack.sum() / sphere.sum()
    assert seg.table["crack_fraction"][0] == pytest.approx(expected, abs=0.03)


def test_edges_modes():
    img = np.zeros((8, 32, 32), dtype=np.float32)
    img[:, 8:24, 8:24] = 1.0
    e2 = filters.edges(img, "canny2d")
    e3 = filters.edges(img, "canny3d")
    assert e2.shape == img.shape and e2[4].any() and e3.any()
    assert filters.edges(img, "off") is None
    with pytest.raises(InputError):
        filters.edges(img, "sobel")
    mask, t, method = filters.threshold(img, "multiotsu", classes=2)
    assert mask.sum() == 8 * 16 * 16 and method == "multiotsu"


def test_2d_path_ranks_by_crack_fraction():
    yy, xx = np.indices((120, 160))
    img = np.full((120, 160), 0.2, dtype=np.float32)
    cracks = [0.0, 0.05, 0.2]
    for k, (cy, cx) in enumerate([(40, 35), (60, 85), (70, 130)]):
        disk = (yy - cy) ** 2 + (xx - cx) ** 2 <= 22**2
        img[disk] = 0.8
        if cracks[k]:  # a slit of width 3 through the centre, as long as needed for the fraction
            half = cracks[k] * disk.sum() / 6
            img[(np.abs(yy - cy) <= 1) & (np.abs(xx - cx) <= half) & disk] = 0.2
            if 2 * half > 40:  # branched: add a perpendicular slit
                img[(np.abs(xx - cx) <= 1) & (np.abs(yy - cy) <= half - 18) & disk] = 0.2
    seg = pipeline.segment_image(img, 0.1, pipeline.SegmentConfig(median_size=0))
    tab = seg.table
    assert len(tab["id"]) == 3 and "area_um2" in tab
    order = np.argsort(tab["x"])
    assert list(tab["damage_class"][order]) == ["least", "mild", "severe"]
    assert list(tab["crack_rank"][order]) == [3, 2, 1]
    assert tab["equivalent_radius_um"][order][0] == pytest.approx(2.2, rel=0.03)
    assert tab["sphericity"][order][0] == pytest.approx(1.0, abs=0.1)


def test_config_validation():
    with pytest.raises(InputError):
        pipeline.SegmentConfig(depth_face="middle").validate()
    with pytest.raises(InputError):
        pipeline.segment_image(np.eye(10), 0.0)
    assert math.isnan(network.network_summary(0, [], 1.0)["mean_edge_length_um"])


def test_mesh_radii_remove_overlaps():
    centres = np.array([[0.0, 0, 0], [8.0, 0, 0], [20.0, 0, 0], [0.0, 30, 0]])
    radii = np.array([5.0, 5.0, 4.0, 3.0])
    r = pipeline.mesh_radii(centres, radii)
    assert r[0] + r[1] == pytest.approx(8.0) and r[0] == pytest.approx(r[1])
    assert r[2] == 4.0 and r[3] == 3.0
    r = pipeline.mesh_radii(centres, radii, max_overlap=0.1)
    assert r[0] + r[1] - 8.0 == pytest.approx(0.1 * r[0])
    for i in range(4):
        for j in range(i + 1, 4):
            assert np.linalg.norm(centres[i] - centres[j]) >= r[i] + r[j] - 0.1 * min(r[i], r[j]) - 1e-9


@pytest.mark.parametrize("options", [{"edges": "canny3d"}, {"edges": "canny2d", "edge_use": "cut"},
                                     {"threshold": "multiotsu", "classes": 2}, {"edges": "off", "median_size": 0},
                                     {"invert": True}],
                         ids=["canny3d", "edge-cut", "multiotsu", "no-filters", "inverted"])
def test_stage_options_keep_detection(options):
    shape = (64, 64, 64)
    centres, radii = phantom.random_packing(shape, 25, radius_mean=9.0, seed=7)
    cf, branches = phantom.sample_crack_fractions(len(radii), seed=7)
    img, truth = phantom.render_phantom(shape, centres, radii, cf, branches, noise=0.05, seed=8)
    if options.get("invert"):
        img = -img  # dark particles
    seg = pipeline.segment_image(img, 1.0, pipeline.SegmentConfig(sphericity=False, **options))
    found = np.column_stack([seg.table["z"], seg.table["y"], seg.table["x"]]) - 0.5
    pairs = phantom.match_particles(truth.centres_vox, truth.radii_vox, found)
    assert len(pairs) == len(radii) == len(found)
    ti, fi = np.array(pairs).T
    assert np.mean(seg.table["damage_class"][fi] == truth.damage_class[ti]) >= 0.9
