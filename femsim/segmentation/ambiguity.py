"""Scoring merges against a phantom truth that is itself decided at the one-voxel level.

The truth particles of :mod:`femsim.segmentation.realistic` are a distance watershed of the clean
binary phase: two touching particles are two only because the distance map has a neck between them
below the saddle threshold. A one-voxel change of the clean mask moves some of those necks across
the threshold, and the truth rule itself then joins the pair. Such a pair is **ambiguous**; a
segmentation that joins it is not necessarily wrong. The rule (stated once here, used by the tests,
``benchmarks/segmentation_peer.py`` and ``docs/segmentation.md``):

* **contact set**: pairs of truth particles with face-adjacent voxels (solid touching solid);
  **one-voxel gaps**: pairs not in contact whose voxels are both face neighbours of one pore voxel;
  every other pair is **separated** (more than one pore voxel apart).
* **ambiguous pairs**: pairs that the truth rule (:func:`femsim.segmentation.realistic.truth_labels`)
  joins — one region holding more than half of each — on at least one of the one-voxel perturbations
  of the clean mask in :data:`PERTURBATIONS`: dilated by one voxel, eroded by one voxel, and four
  copies with 10 % of the boundary voxels removed and as many outside neighbours added at random.
* a found region holding the majority of several truth particles is an **ambiguous merge** when those
  particles are connected to one another through ambiguous pairs alone, else a **real merge** (each
  of its truth particles counts).
* scores are reported twice: **strict** (every merge counts, truth as generated) and
  **ambiguity-aware**: only real merges count, and for F1 the members of an ambiguous merge count
  as one truth particle (either reading of an ambiguous contact is accepted; a real merge still
  fails IoU matching).

Splits are scored strictly in both (a found segmentation dividing a truth particle at a neck that a
perturbation would also divide still counts as a miss).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from femsim.segmentation.matching import match_labels

PERTURBATIONS = ("dilate_1", "erode_1", "flip_10pct_seed0", "flip_10pct_seed1", "flip_10pct_seed2",
                 "flip_10pct_seed3")


def _pair_keys(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Unique sorted (min, max) label pairs of two equally shaped label arrays (both > 0, differing)."""
    m = (a > 0) & (b > 0) & (a != b)
    lo, hi = np.minimum(a[m], b[m]).astype(np.int64), np.maximum(a[m], b[m]).astype(np.int64)
    if lo.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    return np.unique(np.column_stack([lo, hi]), axis=0)


def contact_pairs(labels: np.ndarray) -> np.ndarray:
    """(k, 2) sorted label pairs with face-adjacent voxels (touching solid)."""
    out = [_pair_keys(np.moveaxis(labels, ax, 0)[:-1], np.moveaxis(labels, ax, 0)[1:]) for ax in range(labels.ndim)]
    return np.unique(np.concatenate(out), axis=0)


def gap_pairs(labels: np.ndarray) -> np.ndarray:
    """(k, 2) sorted label pairs not in contact whose voxels are both face neighbours of one background
    voxel (a one-voxel pore gap)."""
    pad = np.pad(labels, 1)
    core = (slice(1, -1),) * labels.ndim
    bg = labels == 0
    nbs = [np.roll(pad, s, axis=ax)[core][bg] for ax in range(labels.ndim) for s in (-1, 1)]
    found = [_pair_keys(nbs[i], nbs[j]) for i in range(len(nbs)) for j in range(i + 1, len(nbs))]
    pairs = np.unique(np.concatenate(found), axis=0)
    return _minus(pairs, contact_pairs(labels))


def _minus(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if len(a) == 0 or len(b) == 0:
        return a
    sb = {tuple(p) for p in b.tolist()}
    keep = np.array([tuple(p) not in sb for p in a.tolist()], dtype=bool)
    return a[keep].reshape(-1, 2)


def majority_holder(truth: np.ndarray, found: np.ndarray) -> np.ndarray:
    """Per truth label 0..n: the found label holding more than half of its voxels (0 if none)."""
    t = truth.ravel().astype(np.int64)
    f = found.ravel().astype(np.int64)
    nt, nf = int(t.max()), int(f.max())
    both = (t > 0) & (f > 0)
    keys, overlap = np.unique(t[both] * (nf + 1) + f[both], return_counts=True)
    ti, fi = keys // (nf + 1), keys % (nf + 1)
    size_t = np.bincount(t, minlength=nt + 1)
    major = overlap / size_t[ti] > 0.5
    holder = np.zeros(nt + 1, dtype=np.int64)
    holder[ti[major]] = fi[major]
    return holder


def joined_pairs(truth: np.ndarray, found: np.ndarray) -> np.ndarray:
    """(k, 2) sorted truth pairs whose majority holder in ``found`` is the same label."""
    holder = majority_holder(truth, found)
    ids = np.flatnonzero(holder)
    order = np.argsort(holder[ids], kind="stable")
    ids, h = ids[order], holder[ids][order]
    out: list[tuple[int, int]] = []
    for grp in np.split(ids, np.flatnonzero(np.diff(h)) + 1):
        if len(grp) >= 2:
            out.extend((int(a), int(b)) for i, a in enumerate(grp) for b in grp[i + 1:])
    return np.array(sorted(out), dtype=np.int64).reshape(-1, 2)


def perturbed_masks(binary: np.ndarray) -> dict[str, np.ndarray]:
    """The one-voxel perturbations of :data:`PERTURBATIONS` of a clean binary mask."""
    from scipy import ndimage

    out = {"dilate_1": ndimage.binary_dilation(binary), "erode_1": ndimage.binary_erosion(binary)}
    for seed in range(4):
        out[f"flip_10pct_seed{seed}"] = boundary_flip(binary, 0.10, seed)
    return out


def boundary_flip(mask: np.ndarray, fraction: float, seed: int = 1) -> np.ndarray:
    """``mask`` with ``fraction`` of its boundary voxels removed and as many outside neighbours added
    at random (a ±1 voxel perturbation of the surface)."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    edge = mask & ~ndimage.binary_erosion(mask)
    outer = ndimage.binary_dilation(mask) & ~mask
    out = mask.copy()
    out[edge & (rng.random(mask.shape) < fraction)] = False
    out[outer & (rng.random(mask.shape) < fraction)] = True
    return out


def ambiguous_pairs(truth: np.ndarray, truth_rule: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """(k, 2) truth pairs that ``truth_rule`` (binary mask → labels) joins on at least one one-voxel
    perturbation of the clean mask ``truth > 0`` (see module doc)."""
    binary = truth > 0
    found = [joined_pairs(truth, truth_rule(mask)) for mask in perturbed_masks(binary).values()]
    return np.unique(np.concatenate(found), axis=0) if found else np.zeros((0, 2), dtype=np.int64)


def _components(n: int, edges: np.ndarray) -> np.ndarray:
    """Connected-component id of nodes 0..n (union-find over ``edges``)."""
    parent = np.arange(n + 1)

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in edges.tolist():
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return np.array([root(i) for i in range(n + 1)])


def merge_scores(truth: np.ndarray, found: np.ndarray, ambiguous: np.ndarray, keep: np.ndarray, n_found: int,
                 iou_min: float = 0.5) -> dict[str, float | int | dict[str, int]]:
    """Ambiguity-aware merge share and F1 beside the strict ones (see module doc).

    Args:
        truth, found: label images; ambiguous: (k, 2) ambiguous truth pairs; keep: bool over truth
            labels 1..n, the truth particles scored (others, e.g. below the fragment limit, left out);
            n_found: number of found particles (the F1 denominator's share).
    """
    nt = int(truth.max())
    holder = majority_holder(truth, found)
    held = np.bincount(holder[1:], minlength=int(found.max()) + 1)
    held[0] = 0
    merged = held[holder] >= 2
    merged[0] = False
    # ambiguity components among truth particles sharing a majority holder
    same = [(a, b) for a, b in ambiguous.tolist() if holder[a] and holder[a] == holder[b]]
    comp = _components(nt, np.array(same, dtype=np.int64).reshape(-1, 2))
    groups: dict[int, set[int]] = {}
    for i in np.flatnonzero(merged):
        groups.setdefault(int(holder[i]), set()).add(int(comp[i]))
    real = np.zeros(nt + 1, dtype=bool)
    for i in np.flatnonzero(merged):
        real[i] = len(groups[int(holder[i])]) >= 2
    contact = {tuple(p) for p in contact_pairs(truth).tolist()}
    gap = {tuple(p) for p in gap_pairs(truth).tolist()}
    kinds = {"ambiguous": 0, "contact": 0, "one_voxel_gap": 0, "separated": 0}
    for a, b in joined_pairs(truth, found).tolist():
        kind = ("ambiguous" if comp[a] == comp[b] else "contact" if (a, b) in contact
                else "one_voxel_gap" if (a, b) in gap else "separated")
        kinds[kind] += 1
    # aware F1: the members of an ambiguous merge (one component under one holder) are one truth particle
    joined_truth = comp[truth]
    keep_joined = np.zeros(nt + 1, dtype=bool)
    keep_joined[comp[1:][keep]] = True
    keep_joined[0] = False
    matched = np.zeros(nt, dtype=np.int64)  # joined ids are roots <= nt; the highest may be gone
    m_found = match_labels(joined_truth, found, iou_min)["found"]
    matched[:len(m_found)] = m_found
    tp = int(np.sum((matched > 0) & keep_joined[1:]))
    n_aware = int(keep_joined.sum())
    kept = keep.astype(bool)
    return {"n_ambiguous_pairs": int(len(ambiguous)), "n_contact_pairs": int(len(contact)),
            "n_one_voxel_gap_pairs": int(len(gap)),
            "merged_fraction_aware": float(np.mean(real[1:][kept])),
            "merged_fraction_ambiguous": float(np.mean((merged & ~real)[1:][kept])),
            "merged_pairs_by_kind": kinds, "n_truth_aware": n_aware,
            "f1_aware": 2 * tp / (n_aware + n_found) if n_aware + n_found else float("nan")}
