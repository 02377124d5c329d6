"""Ambiguity-aware merge scoring (femsim.segmentation.ambiguity): contact set, one-voxel gaps, and
strict vs aware merge shares on a hand-made label image."""

from __future__ import annotations

import numpy as np
import pytest

from femsim.segmentation import ambiguity


@pytest.fixture
def four_discs() -> np.ndarray:
    """A (1) and B (2) in contact, C (3) one pore voxel from B, D (4) far from all."""
    lab = np.zeros((40, 60), dtype=np.int32)
    yy, xx = np.indices(lab.shape)
    for k, (cy, cx) in enumerate(((12, 10), (12, 21), (12, 33), (30, 50)), start=1):
        lab[(yy - cy) ** 2 + (xx - cx) ** 2 <= 25] = k
    lab[12, 16] = 1  # A and B touch along a short neck
    lab[12, 17:21] = 2
    lab[12, 26] = 2  # B and C: voxel 27 stays pore, 28 is C's
    lab[12, 28] = 3
    assert lab[12, 27] == 0
    return lab


def test_contact_and_gap_pairs(four_discs):
    assert ambiguity.contact_pairs(four_discs).tolist() == [[1, 2]]
    assert ambiguity.gap_pairs(four_discs).tolist() == [[2, 3]]


def _join(lab: np.ndarray, *ids: int) -> np.ndarray:
    out = lab.copy()
    out[np.isin(lab, ids)] = ids[0]
    return out


def test_merge_scores_strict_and_aware(four_discs):
    keep = np.ones(4, dtype=bool)
    amb = np.array([[1, 2]])
    # A+B joined: ambiguous (the truth rule itself joins them after a one-voxel change)
    s = ambiguity.merge_scores(four_discs, _join(four_discs, 1, 2), amb, keep, n_found=3)
    assert s["merged_fraction_aware"] == 0.0 and s["merged_fraction_ambiguous"] == 0.5
    assert s["merged_pairs_by_kind"] == {"ambiguous": 1, "contact": 0, "one_voxel_gap": 0, "separated": 0}
    assert s["n_truth_aware"] == 3 and s["f1_aware"] == 1.0
    # B+C across a pore voxel: a real merge
    s = ambiguity.merge_scores(four_discs, _join(four_discs, 2, 3), amb, keep, n_found=3)
    assert s["merged_fraction_aware"] == 0.5 and s["merged_fraction_ambiguous"] == 0.0
    assert s["merged_pairs_by_kind"]["one_voxel_gap"] == 1 and s["n_truth_aware"] == 4
    # A+B+C: two ambiguity components under one holder -> all three are real merges
    s = ambiguity.merge_scores(four_discs, _join(four_discs, 1, 2, 3), amb, keep, n_found=2)
    assert s["merged_fraction_aware"] == 0.75
    assert s["merged_pairs_by_kind"] == {"ambiguous": 1, "contact": 0, "one_voxel_gap": 1, "separated": 1}
    # the highest truth id joined into a lower one (C+D, taken as ambiguous): aware F1 counts them once
    s = ambiguity.merge_scores(four_discs, _join(four_discs, 3, 4), np.array([[3, 4]]), keep, n_found=3)
    assert s["merged_fraction_aware"] == 0.0 and s["n_truth_aware"] == 3 and s["f1_aware"] == 1.0
    # without the ambiguous pair the A+B merge is a contact merge
    s = ambiguity.merge_scores(four_discs, _join(four_discs, 1, 2), np.zeros((0, 2), int), keep, n_found=3)
    assert s["merged_fraction_aware"] == 0.5 and s["merged_pairs_by_kind"]["contact"] == 1


def test_ambiguous_pairs_from_a_dilation(four_discs):
    """A rule that labels connected components joins B and C once the mask is dilated by one voxel."""
    from scipy import ndimage

    def components(mask: np.ndarray) -> np.ndarray:
        return ndimage.label(mask)[0]

    pairs = {tuple(p) for p in ambiguity.ambiguous_pairs(four_discs, components).tolist()}
    assert (2, 3) in pairs and (1, 2) in pairs
    assert all(4 not in p for p in pairs)
