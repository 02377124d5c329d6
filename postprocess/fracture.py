"""Simulated stress versus measured fracture.

Measured data come in two forms:

* a **depth profile** (CSV written by ``femsim segment``): ``depth_min_um, depth_max_um,
  n_particles, fraction_least, fraction_mild, fraction_severe``;
* **per-particle damage classes** (``least``/``mild``/``severe``) matched by particle id, from a
  particle table (``id``, ``damage_class``) or the ``damage_class`` pass-through column of the
  results' ``particles.csv``.

Simulated particles are split into three stress classes with the measured class proportions
(sorted by the summary's ``fracture_metric_Pa``, by default the mesh-converged run peak of the
95th-percentile σ_eq, :data:`postprocess.reader.FRACTURE_METRIC`; least = lowest stress) and compared
with a confusion table; rank correlations use Spearman's ρ (:func:`scipy.stats.spearmanr`).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from femsim.errors import InputError
from postprocess.reader import Table, read_csv_table

log = logging.getLogger(__name__)

#: damage classes, least to most damaged; the index is the ordinal damage score
CLASSES: tuple[str, str, str] = ("least", "mild", "severe")
PROFILE_COLUMNS = ("depth_min_um", "depth_max_um", "n_particles", "fraction_least", "fraction_mild",
                   "fraction_severe")


def spearman(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> tuple[float, float]:
    """Spearman rank correlation ρ and its two-sided p-value over the finite pairs.

    Returns ``(nan, nan)`` with fewer than three finite pairs or a constant input.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        return float("nan"), float("nan")
    from scipy.stats import spearmanr

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = spearmanr(x[ok], y[ok])
    return float(res.statistic), float(res.pvalue)


def fracture_metric(summary: Table) -> np.ndarray:
    """The per-particle stress a comparison uses (Pa): ``fracture_metric_Pa`` of
    :meth:`postprocess.reader.ResultsFolder.particle_summary`, else ``peak_sigma_eq_Pa``."""
    return summary["fracture_metric_Pa"] if "fracture_metric_Pa" in summary else summary["peak_sigma_eq_Pa"]


def class_score(classes: Sequence[str] | np.ndarray) -> np.ndarray:
    """Ordinal damage score: least 0, mild 1, severe 2 (NaN for anything else)."""
    rank = {c: float(i) for i, c in enumerate(CLASSES)}
    return np.array([rank.get(str(c).strip().lower(), np.nan) for c in classes])


def class_fractions(classes: Sequence[str] | np.ndarray) -> dict[str, float]:
    """Fractions of each class in ``classes`` (they sum to 1)."""
    classes = [str(c).strip().lower() for c in classes]
    n = len(classes)
    return {c: (classes.count(c) / n if n else float("nan")) for c in CLASSES}


def stress_classes(
    values: Sequence[float] | np.ndarray, fractions: Mapping[str, float] | Sequence[float]
) -> np.ndarray:
    """Split particles into least/mild/severe by stress with the given class proportions.

    Particles are sorted by ``values`` (stable, ascending); the lowest ``round(f_least·n)`` are
    ``least``, up to ``round((f_least + f_mild)·n)`` are ``mild``, the rest ``severe``.
    ``fractions`` is a mapping ``{class: fraction}`` or a sequence in :data:`CLASSES` order; it is
    normalised to sum to 1. Non-finite values count as the lowest stress.
    """
    f = np.array([fractions[c] for c in CLASSES] if isinstance(fractions, Mapping) else fractions, dtype=float)
    if f.shape != (3,) or np.any(f < 0) or f.sum() <= 0:
        raise ValueError(f"class fractions must be three non-negative numbers, got {f}")
    f = f / f.sum()
    v = np.asarray(values, dtype=float)
    n = v.size
    cuts = np.rint(np.cumsum(f)[:2] * n).astype(int)
    order = np.argsort(np.where(np.isfinite(v), v, -np.inf), kind="stable")
    out = np.empty(n, dtype=object)
    out[order[: cuts[0]]] = CLASSES[0]
    out[order[cuts[0]: cuts[1]]] = CLASSES[1]
    out[order[cuts[1]:]] = CLASSES[2]
    return out


def confusion_table(measured: Sequence[str] | np.ndarray, simulated: Sequence[str] | np.ndarray) -> np.ndarray:
    """3 × 3 counts: rows measured class, columns simulated class (both in :data:`CLASSES` order)."""
    table = np.zeros((3, 3), dtype=int)
    idx = {c: i for i, c in enumerate(CLASSES)}
    for m, s in zip(measured, simulated):
        m, s = str(m).strip().lower(), str(s).strip().lower()
        if m in idx and s in idx:
            table[idx[m], idx[s]] += 1
    return table


def read_measured_profile(path: str | Path) -> Table:
    """Read a measured depth profile; :class:`InputError` on missing columns or bad fractions."""
    table = read_csv_table(path, required=PROFILE_COLUMNS)
    if table["depth_min_um"].size == 0:
        raise InputError("measured depth profile has no rows", file=str(path))
    for i in range(table["depth_min_um"].size):
        lo, hi = table["depth_min_um"][i], table["depth_max_um"][i]
        fr = [table[f"fraction_{c}"][i] for c in CLASSES]
        if not hi > lo:
            raise InputError(f"row {i + 2}: depth_max_um {hi} is not above depth_min_um {lo}", file=str(path))
        if all(np.isnan(fr)) and not table["n_particles"][i] > 0:
            continue  # an empty window (femsim segment writes NaN fractions there)
        if any(not (0 <= x <= 1) for x in fr) or abs(sum(fr) - 1) > 0.02:
            raise InputError(f"row {i + 2}: fractions {fr} must lie in [0, 1] and sum to 1", file=str(path))
    return table


def read_measured_classes(path: str | Path) -> dict[int, str]:
    """Per-particle measured classes ``{id: class}`` from a table with ``id`` and ``damage_class``."""
    table = read_csv_table(path, required=("id", "damage_class"))
    out: dict[int, str] = {}
    for i, (pid, cls) in enumerate(zip(table["id"], table["damage_class"])):
        c = str(cls).strip().lower()
        if c not in CLASSES:
            raise InputError(f"row {i + 2}: damage_class {cls!r} is not one of {', '.join(CLASSES)}", file=str(path))
        out[int(pid)] = c
    return out


def compare_particles(summary: Table, measured: Mapping[int, str]) -> dict[str, Any]:
    """Per-particle comparison of the simulated fracture metric (Pa; ``fracture_metric_Pa``, reported
    under the ``peak_sigma`` keys) and soc swing with measured classes.

    Returns a dict with ``n_matched``, ``spearman_peak_sigma`` / ``spearman_soc_swing`` (each
    ``{"rho", "p"}``), ``measured_fractions``, ``confusion`` (3 × 3, rows measured, columns
    simulated stress class), ``agreement`` (fraction on the diagonal) and ``rows`` (matched
    particles: id, depth_um, peak_sigma_eq_Pa, soc_swing, measured, simulated).
    """
    ids = summary["particle_id"].astype(int)
    keep = np.array([int(i) in measured for i in ids])
    n = int(keep.sum())
    if n == 0:
        raise InputError("no simulated particle id matches a measured particle id")
    meas = np.array([measured[int(i)] for i in ids[keep]], dtype=object)
    peak, swing = fracture_metric(summary)[keep], summary["soc_swing"][keep]
    fr = class_fractions(meas)
    sim = stress_classes(peak, fr)
    conf = confusion_table(meas, sim)
    score = class_score(meas)
    rho_s, p_s = spearman(peak, score)
    rho_w, p_w = spearman(swing, score)
    rows = [
        {"particle_id": int(i), "depth_um": float(d), "peak_sigma_eq_Pa": float(s), "soc_swing": float(w),
         "measured_class": m, "simulated_class": c}
        for i, d, s, w, m, c in zip(ids[keep], summary["depth_um"][keep], peak, swing, meas, sim)
    ]
    return {
        "n_matched": n, "n_simulated": int(ids.size),
        "spearman_peak_sigma": {"rho": rho_s, "p": p_s},
        "spearman_soc_swing": {"rho": rho_w, "p": p_w},
        "measured_fractions": fr, "confusion": conf, "agreement": float(np.trace(conf) / n),
        "rows": rows,
    }


def profile_fractions(profile: Table) -> dict[str, float]:
    """Overall measured class proportions of a depth profile (windows weighted by n_particles)."""
    w = np.nan_to_num(profile["n_particles"], nan=0.0)
    if w.sum() <= 0:
        w = np.ones_like(w)
    w = np.where(np.isfinite(profile["fraction_least"]), w, 0.0)
    if w.sum() <= 0:
        raise InputError("measured depth profile has no particles")
    return {c: float(np.sum(w * np.nan_to_num(profile[f"fraction_{c}"])) / w.sum()) for c in CLASSES}


def compare_profile(summary: Table, profile: Table, fractions: Mapping[str, float] | None = None) -> dict[str, Any]:
    """Depth-window comparison of simulated particles with a measured depth profile.

    Simulated particles are assigned to the profile's windows by centre depth (µm; last window
    closed) and split into stress classes with ``fractions`` (default: the profile's overall
    proportions). Per window: measured fractions and damage index (mean class score = mild +
    2·severe), simulated count, mean fracture metric (Pa, ``fracture_metric_Pa``, under the key
    ``simulated_mean_peak_sigma_eq_Pa``), mean soc swing and stress-class fractions.
    Spearman's ρ across windows relates the simulated means to the measured damage index.
    """
    fr = dict(fractions) if fractions is not None else profile_fractions(profile)
    sim_cls = stress_classes(fracture_metric(summary), fr)
    depth = summary["depth_um"]
    lo, hi = profile["depth_min_um"], profile["depth_max_um"]
    windows = []
    for k in range(lo.size):
        last = k == lo.size - 1
        m = (depth >= lo[k]) & ((depth <= hi[k]) if last else (depth < hi[k]))
        n = int(m.sum())
        windows.append({
            "depth_min_um": float(lo[k]), "depth_max_um": float(hi[k]),
            "measured_n_particles": float(profile["n_particles"][k]),
            **{f"measured_fraction_{c}": float(profile[f"fraction_{c}"][k]) for c in CLASSES},
            "measured_damage_index": float(profile["fraction_mild"][k] + 2 * profile["fraction_severe"][k]),
            "simulated_n_particles": n,
            "simulated_mean_peak_sigma_eq_Pa": float(np.nanmean(fracture_metric(summary)[m])) if n else float("nan"),
            "simulated_mean_soc_swing": float(np.nanmean(summary["soc_swing"][m])) if n else float("nan"),
            **{f"simulated_fraction_{c}": (float(np.mean(sim_cls[m] == c)) if n else float("nan")) for c in CLASSES},
        })
    index = [w["measured_damage_index"] for w in windows]
    rho_s, p_s = spearman([w["simulated_mean_peak_sigma_eq_Pa"] for w in windows], index)
    rho_w, p_w = spearman([w["simulated_mean_soc_swing"] for w in windows], index)
    outside = int(np.sum((depth < lo.min()) | (depth > hi.max())))
    return {
        "class_fractions_used": fr, "windows": windows, "n_outside_windows": outside,
        "spearman_peak_sigma": {"rho": rho_s, "p": p_s},
        "spearman_soc_swing": {"rho": rho_w, "p": p_w},
        "simulated_classes": {int(i): c for i, c in zip(summary["particle_id"], sim_cls)},
    }


def profile_from_classes(summary: Table, measured: Mapping[int, str], edges: np.ndarray) -> Table:
    """A measured depth profile (format of ``femsim segment``) built from per-particle classes,
    windowing the matched particles by their simulated centre depth (µm)."""
    ids = summary["particle_id"].astype(int)
    depth = summary["depth_um"]
    rows: dict[str, list[float]] = {c: [] for c in PROFILE_COLUMNS}
    for k in range(edges.size - 1):
        lo, hi = edges[k], edges[k + 1]
        m = (depth >= lo) & ((depth <= hi) if k == edges.size - 2 else (depth < hi))
        cls = [measured[int(i)] for i in ids[m] if int(i) in measured]
        fr = class_fractions(cls)
        rows["depth_min_um"].append(float(lo))
        rows["depth_max_um"].append(float(hi))
        rows["n_particles"].append(float(len(cls)))
        for c in CLASSES:
            rows[f"fraction_{c}"].append(fr[c])
    return {c: np.array(v) for c, v in rows.items()}
