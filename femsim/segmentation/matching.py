"""Matching of a segmentation's label image with a truth label image (phantom scoring).

Used by :mod:`femsim.segmentation.realistic` (strict scores) and
:mod:`femsim.segmentation.ambiguity` (ambiguity-aware scores).
"""

from __future__ import annotations

import numpy as np


def match_labels(truth: np.ndarray, found: np.ndarray, iou_min: float = 0.5) -> dict[str, np.ndarray]:
    """IoU matching of two label images (0 = background).

    Returns arrays over truth particles: ``found`` (matched found label or 0), ``iou``, and
    ``merged`` (True when the found label holding most of this particle also holds most of
    another truth particle: two truth particles joined into one).
    """
    t = truth.ravel().astype(np.int64)
    f = found.ravel().astype(np.int64)
    nt, nf = int(t.max()), int(f.max())
    both = (t > 0) & (f > 0)
    pair = t[both] * (nf + 1) + f[both]
    keys, overlap = np.unique(pair, return_counts=True)
    ti, fi = keys // (nf + 1), keys % (nf + 1)
    size_t = np.bincount(t, minlength=nt + 1)
    size_f = np.bincount(f, minlength=nf + 1)
    iou = overlap / (size_t[ti] + size_f[fi] - overlap)
    best_iou = np.zeros(nt + 1)
    best_f = np.zeros(nt + 1, dtype=np.int64)
    order = np.argsort(iou)
    best_iou[ti[order]] = iou[order]
    best_f[ti[order]] = fi[order]
    matched = np.where(best_iou >= iou_min, best_f, 0)
    # majority holder of each truth particle; merged when one found label is the majority holder of
    # two truth particles and holds more than half of each
    frac = overlap / size_t[ti]
    major = frac > 0.5
    holder = np.zeros(nt + 1, dtype=np.int64)
    holder[ti[major]] = fi[major]
    held = np.bincount(holder[1:], minlength=nf + 1)
    held[0] = 0
    merged = held[holder] >= 2
    return {"found": matched[1:], "iou": best_iou[1:], "merged": merged[1:]}
