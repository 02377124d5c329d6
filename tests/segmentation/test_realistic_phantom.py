"""Grey-level phantoms on the real NREL particle shapes (issue 15): open and fine cracks at known
per-particle fractions, carbon-binder, fringes, blur, Poisson/Gaussian noise, rings and drift.

Issue-15 floors are F1 ≥ 0.95 (IoU ≥ 0.5), median radius error ≤ 3 %, median crack-fraction error
≤ 0.02, class accuracy ≥ 90 %, merged truth pairs ≤ 2 %. Measured with the defaults (2 seeds,
2D, three slices of the vendored crop side by side; on 2D three-phase slices the defaults are no
particle mask from the unfiltered grey, no closing, holes up to 3 voxels filled, junction pores reopened):
crack fractions, radii and class accuracy (89.5 / 89.8 %) nearly meet them; particle identification does
not (F1 0.898 / 0.937, 11.1 / 6.3 % of the truth particles merged with a neighbour, no real merge). The truth
(a distance watershed of the clean binary) is decided at the one-voxel level: the clean truth mask
itself with 10 % of its boundary voxels flipped scores F1 0.877 and 11.1 % merged, one voxel dilated
0.80 / 30 % (benchmarks/results/segmentation_peer_phantom2d.json); 2 % of 63 particles is no merged
pair at all; class accuracy on resolvable cracks (planted cracks of 15 voxels or more) 100 / 94.6 %.
3D (vendored 100x120x120 crop, 153 particles; the 251x256x256 benchmark with the local-midpoint mask:
F1 0.945 / 0.963 aware, 9.3 / 2.9 % merged, class accuracy 0.965): class accuracy and crack errors meet
the floors. The identification asserts below guard the measured values, not the floors.
"""

from __future__ import annotations

import numpy as np
import pytest

from femsim.segmentation import filters, pipeline, realistic


@pytest.fixture(scope="module")
def phantoms():
    return [realistic.phantom_2d(seed=s) for s in (0, 1)]


def test_phantom_truth(phantoms):
    ph = phantoms[0]
    assert ph.image.shape == (120, 360) and ph.labels.max() == 65
    assert set(ph.damage_class) == {"least", "mild", "severe"}
    assert (ph.crack_fraction_open > 0).sum() >= 15 and (ph.crack_fraction_fine > 0).sum() >= 15
    # planted cracks stay inside their particle, fractions as rendered
    assert not np.any((ph.open_crack | ph.fine_crack) & (ph.labels == 0))
    vol = ph.volume_vox
    np.testing.assert_allclose(np.bincount(ph.labels[ph.fine_crack], minlength=66)[1:] / vol,
                               ph.crack_fraction_fine)
    assert 0.10 < ph.binder.mean() < 0.25  # carbon-binder at the intermediate grey
    levels = filters.three_phase_levels(filters.median(filters.normalise(ph.image), 3))
    assert levels is not None and levels["void"] < levels["fine"] < levels["particle"]


def test_phantom_2d_scores(phantoms):
    cfg = pipeline.SegmentConfig(sphericity=False)
    for ph in phantoms:
        seg = pipeline.segment_image(ph.image, 1.0, cfg)
        assert seg.threshold_method == "phases3"
        s = realistic.scores(ph, seg.labels, seg.table, min_voxels=seg.min_particle_voxels)
        print(s)
        # issue-15 floors met
        assert s["radius_err_median"] <= 0.03
        assert s["crack_err_median"] <= 0.02
        assert s["crack_err_open_median"] <= 0.02 and s["crack_err_fine_median"] <= 0.02
        # measured, below the floors (see module doc)
        assert s["class_accuracy"] >= 0.86
        # 0.898 / 0.937 (0.857 / 0.855 before the junction-pore reopening, 0.857 / 0.832 before the thin-hole fill)
        assert s["f1"] >= 0.86
        assert s["merged_fraction"] <= 0.12  # 11.1 / 6.3 % (17.5 / 15.9 % before the junction-pore reopening)
        # ambiguity-aware (femsim.segmentation.ambiguity): merges the truth rule itself makes after a
        # one-voxel change of the clean mask counted apart; seeds 0/1: no real merge, F1 0.927 / 0.952
        # (3.2 / 9.5 %, 0.893 / 0.876 before the junction-pore reopening)
        assert s["n_ambiguous_pairs"] == 14
        assert s["merged_fraction_aware"] + s["merged_fraction_ambiguous"] == pytest.approx(s["merged_fraction"])
        assert s["merged_fraction_aware"] <= 0.02 and s["f1_aware"] >= 0.89
        assert s["f1_aware"] >= s["f1"]
        # every class error is a merged particle or a planted crack below 15 voxels but at most one
        assert s["class_errors"]["other"] <= 1
        # class accuracy on resolvable cracks (particles with planted cracks below 15 voxels left out:
        # 18 / 22 of the 57 / 59 matched): seeds 0/1 100 / 94.6 % beside the strict 89.5 / 89.8 %
        assert s["class_accuracy_resolvable"] >= 0.93 and s["n_sub_resolution_crack"] >= 15


def test_ambiguous_pairs_saturate(phantoms):
    """The ambiguity rule's six perturbations find every pair that eight further random boundary
    flips (seeds 4-11) make the truth rule join: the set is not an artefact of the seeds listed."""
    from femsim.segmentation import ambiguity

    ph = phantoms[0]
    amb = {tuple(p) for p in ph.ambiguous_pairs().tolist()}
    for seed in range(4, 12):
        flipped = ambiguity.boundary_flip(ph.labels > 0, 0.10, seed)
        joined = ambiguity.joined_pairs(ph.labels, realistic.truth_labels(flipped, min_voxels=ph.truth_min_voxels))
        assert {tuple(p) for p in joined.tolist()} <= amb


def test_bounded_hole_fill_keeps_enclosed_pores_open(phantoms):
    """--max-hole-radius 3 (the 2D three-phase default): pores a ring of sections encloses stay open
    (fewer merged pairs than filling every hole)."""
    ph = phantoms[0]
    out = {}
    for mh in (0.0, 3.0):
        seg = pipeline.segment_image(ph.image, 1.0, pipeline.SegmentConfig(sphericity=False, max_hole_radius=mh))
        out[mh] = realistic.scores(ph, seg.labels, seg.table, min_voxels=27)["merged_fraction"]
    assert out[3.0] < out[0.0] - 0.05


def test_thin_hole_fill_joins_crossing_cracks(phantoms):
    """Holes wider than the 3-voxel bound but thin for their size (area ≥ 12 × r², where cracks cross)
    are filled: on seed 1 the X crack no longer splits its particle (F1 0.832 -> 0.855, real merges
    unchanged); a round pore wider than the bound stays open."""
    from femsim.segmentation import segment

    ph = phantoms[1]
    f1 = {}
    for ratio in (0.0, 12.0):
        seg = pipeline.segment_image(ph.image, 1.0, pipeline.SegmentConfig(sphericity=False, thin_hole_ratio=ratio))
        s = realistic.scores(ph, seg.labels, seg.table, min_voxels=27)
        f1[ratio] = (s["f1"], s["merged_fraction_aware"])
    assert f1[12.0][0] > f1[0.0][0] + 0.015 and f1[12.0][1] <= f1[0.0][1]
    yy, xx = np.mgrid[:61, :61]
    disk = (yy - 30) ** 2 + (xx - 30) ** 2 <= 28**2
    cross = (np.abs(yy - 30) <= 2) | (np.abs(xx - 30) <= 2)  # two 5-voxel slabs: r at the crossing 3.6
    cross &= (yy - 30) ** 2 + (xx - 30) ** 2 <= 20**2
    pore = (yy - 30) ** 2 + (xx - 30) ** 2 <= 5**2
    for hole, filled in ((cross, True), (pore, False)):
        out = segment.fill_particles(disk & ~hole, 0, 3.0)
        assert bool(out[hole].all()) is filled
        assert not segment.fill_particles(disk & ~hole, 0, 3.0, None)[30, 30]


def test_phantom_3d_crop_scores():
    """3D defaults on the vendored crop: three-phase histogram (binder peak 1.23 x the valleys), the
    local-midpoint mask for identification (filters.local_midpoint_solid: binder in the necks stays out),
    saddle ratio 0.9 on grey volumes; the three levels type the cracks."""
    ph = realistic.phantom_3d(seed=0)
    seg = pipeline.segment_image(ph.image, 1.0, pipeline.SegmentConfig(sphericity=False))
    assert seg.threshold_method == "phases3" and seg.crack_levels is not None
    s = realistic.scores(ph, seg.labels, seg.table, min_voxels=seg.min_particle_voxels)
    print(s)
    # issue-15 floors met
    assert s["class_accuracy"] >= 0.90
    assert s["radius_err_median"] <= 0.03
    assert s["crack_err_median"] <= 0.02
    assert s["crack_err_open_median"] <= 0.02 and s["crack_err_fine_median"] <= 0.02
    assert s["class_accuracy_resolvable"] >= 0.93
    # measured, below the floors (153 particles, a third touching the crop faces): F1 0.877, 12.4 % merged
    # (the Otsu mask: 0.884, 17.0 %)
    assert s["f1"] >= 0.87
    assert s["merged_fraction"] <= 0.13
    # ambiguity-aware: 33 ambiguous pairs of 328 contacts; F1 0.897, real merges 4.6 % (7.8 % ambiguous;
    # the Otsu mask: 0.914, 5.9 %); the 251x256x256 benchmark: 0.963, 2.9 % (Otsu 0.949, 5.0 %)
    assert s["f1_aware"] >= 0.89 and s["merged_fraction_aware"] <= 0.05


def test_junction_pores_reopened(phantoms):
    """Filled binder-grey holes deep in a blob whose opening keeps >= 0.88 of the local distance maximum are
    junction pores and are opened again (holes.reopen_junction_pores): on seed 1 real merges 9.5 -> 0.0 %,
    strict merges 15.9 -> 6.3 %, F1 0.855 -> 0.906 (the wide-crack fill off)."""
    from femsim.segmentation import holes

    ph = phantoms[1]
    out = {}
    for ratio in (0.0, holes.PORE_CORE_RATIO):
        cfg = pipeline.SegmentConfig(sphericity=False, pore_core_ratio=ratio, crack_core_ratio=0.0)
        seg = pipeline.segment_image(ph.image, 1.0, cfg)
        s = realistic.scores(ph, seg.labels, seg.table, min_voxels=27)
        out[ratio] = (s["f1"], s["merged_fraction"], s["merged_fraction_aware"])
    off, on = out[0.0], out[holes.PORE_CORE_RATIO]
    assert on[0] > off[0] + 0.04 and on[1] < off[1] - 0.08 and on[2] < off[2] - 0.08


def test_wide_core_cracks_filled(phantoms):
    """A wide hole left open (inscribed radius > 3) is filled when, open, the local distance maximum is below
    0.58 of the filled one (holes.fill_core_cracks): a crossing crack with short arms leaves a ring of its
    particle. Seed 1: the X crack of truth 14 (ring split in four) is filled, F1 0.906 -> 0.937. Synthetic: an X
    crack in a disk is filled, the pore that four touching disks enclose stays open."""
    from femsim.segmentation import holes, segment

    ph = phantoms[1]
    f1 = {}
    for ratio in (0.0, holes.CRACK_CORE_RATIO):
        seg = pipeline.segment_image(ph.image, 1.0, pipeline.SegmentConfig(sphericity=False, crack_core_ratio=ratio))
        s = realistic.scores(ph, seg.labels, seg.table, min_voxels=27)
        f1[ratio] = (s["f1"], s["merged_fraction_aware"])
    assert f1[holes.CRACK_CORE_RATIO][0] > f1[0.0][0] + 0.02
    assert f1[holes.CRACK_CORE_RATIO][1] <= f1[0.0][1]
    yy, xx = np.mgrid[:81, :81]
    disk = (yy - 40) ** 2 + (xx - 40) ** 2 <= 18**2
    cross = ((np.abs(yy - 40) <= 2) & (np.abs(xx - 40) <= 6)) | ((np.abs(xx - 40) <= 2) & (np.abs(yy - 40) <= 6))
    four = np.zeros_like(disk)
    for dy in (-11, 11):
        for dx in (-11, 11):
            four |= (yy - 40 - dy) ** 2 + (xx - 40 - dx) ** 2 <= 12**2
    pore = segment.fill_holes(four) & ~four
    for solid, hole, is_crack in ((disk & ~cross, cross, True), (four, pore, False)):
        filled = segment.fill_particles(solid, 0, 3.0)
        assert not filled[hole].any()  # wider than 3 voxels, not thin: left open by the bounded fill
        assert bool(holes.fill_core_cracks(solid, filled)[hole].all()) is is_crack


def test_crack_mouths_sealed():
    """A thin crack whose narrow mouth reaches the pore space is sealed by a radius-1 closing and filled
    (holes.seal_crack_mouths; 2D phantom seed 0: truth 10 no longer split in three, F1 0.875 -> 0.898); the
    closing is dropped elsewhere: a one-voxel pore gap between two sections stays open."""
    from femsim.segmentation import holes, segment

    yy, xx = np.mgrid[:61, :61]
    disk = (yy - 30) ** 2 + (xx - 30) ** 2 <= 22**2
    crack = ((np.abs(yy - 30) <= 1) & (xx >= 14) & (xx <= 46)) | ((yy == 30) & (xx >= 47))  # 1-voxel mouth
    solid = disk & ~crack
    filled = segment.fill_particles(solid, 0, 3.0)
    assert not filled[crack].any()
    sealed = holes.seal_crack_mouths(solid, filled)
    assert sealed[crack].mean() > 0.85 and not (sealed & ~disk).any()
    two = ((yy - 30) ** 2 + (xx - 15) ** 2 <= 14**2) | ((yy - 30) ** 2 + (xx - 45) ** 2 <= 14**2)
    two[:, 30] = False
    assert not (holes.seal_crack_mouths(two, segment.fill_particles(two, 0, 3.0)) & ~two).any()
