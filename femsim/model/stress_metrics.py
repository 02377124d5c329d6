"""Per-particle stress metrics that converge with the mesh (docs/results_format.md).

From the cell-wise stress (DG1: the exact σ of the P2 displacement at the 4 vertices of each cell)
and the recovered nodal stress, per particle (slot order of :class:`NodalParticleMap`):

* ``sigma_eq_p95_Pa``: the 95th percentile of σ_eq by volume (cell value: σ_eq at the cell centroid,
  the mean of the linear σ; weight: cell volume);
* ``sigma_1_surface_p95_Pa``: the value of the maximum principal stress σ_1 exceeded on 5 % of the
  particle's own curved surface (flat cut faces excluded; facet value: mean of the nodal σ_1 at its
  3 vertices; weight: facet area);
* ``failure_probability``: Weibull weakest link P_f = 1 − exp(−∫ (max(σ_1, 0)/σ_0)^m dV / V_0),
  the integral by the vertex rule on each cell (the mean of the 4 vertex values times its volume).

Percentiles interpolate linearly between the mid-points of the sorted weight intervals (a
weighted median of equal weights is the ordinary median). The per-cell and per-facet values are
gathered on rank 0, evaluated there and broadcast: identical on all ranks.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from femsim.io.columns import STRESS_METRIC_PEAKS
from femsim.physics import mechanics as mech

UM3 = 1e-18


def weighted_percentile(groups: np.ndarray, values: np.ndarray, weights: np.ndarray, q: float,
                        n_groups: int) -> np.ndarray:
    """Per-group weighted ``q``-quantile (0 ≤ q ≤ 1); NaN for a group without weight."""
    out = np.full(n_groups, np.nan)
    order = np.lexsort((values, groups))
    g, v, w = groups[order], values[order], weights[order]
    bounds = np.searchsorted(g, np.arange(n_groups + 1))
    for k in range(n_groups):
        lo, hi = bounds[k], bounds[k + 1]
        wk = w[lo:hi]
        total = wk.sum()
        if hi <= lo or total <= 0:
            continue
        mid = (np.cumsum(wk) - 0.5 * wk) / total
        out[k] = float(np.interp(q, mid, v[lo:hi]))
    return out


def weibull_probability(risk_integral_m3: np.ndarray, reference_volume_m3: float) -> np.ndarray:
    """P_f = 1 − exp(−∫(σ_1⁺/σ_0)^m dV / V_0) from the integral (m³)."""
    return -np.expm1(-np.asarray(risk_integral_m3) / reference_volume_m3)


class ParticleStressMetrics:
    """Evaluates the metrics of the module docstring for one mechanics solution.

    Args:
        nodes: :class:`femsim.model.probes.NodalParticleMap` (slots, owned cells, cell volumes).
        cut_faces: :class:`femsim.model.cut_faces.CutFaces` (each particle's curved surface facets).
        weibull_modulus: m (-).
        weibull_strength_Pa: σ_0 (Pa).
        weibull_volume_um3: V_0 (µm³).
    """

    def __init__(self, nodes: Any, cut_faces: Any, weibull_modulus: float, weibull_strength_Pa: float,
                 weibull_volume_um3: float):
        self.nodes, self.cut = nodes, cut_faces
        self.m, self.sigma_0, self.v0 = (
            float(weibull_modulus),
            float(weibull_strength_Pa),
            float(weibull_volume_um3) * UM3,
        )
        self.cell_slot = nodes.cell_slot[: nodes.n_cells_owned]

    def evaluate(self, cell_vertex_sigma: np.ndarray, nodal_sigma_1: np.ndarray) -> dict[str, np.ndarray]:
        """Metrics per particle from the (owned cells, 4, 3, 3) vertex stresses and the nodal σ_1 (Pa)."""
        n, comm = self.nodes, self.nodes.comm
        vol = n.cell_volume
        cell_eq = mech.von_mises_np(cell_vertex_sigma.mean(axis=1))
        s1 = mech.max_principal_np(cell_vertex_sigma)  # (cells, 4)
        risk = vol * np.mean((np.maximum(s1, 0.0) / self.sigma_0) ** self.m, axis=1)
        risk_integral = n.sum_cells(risk)
        face_s1 = nodal_sigma_1[self.cut.surface_dofs].mean(axis=1)
        gathered = comm.gather((self.cell_slot, cell_eq, vol, self.cut.surface_slot, face_s1, self.cut.surface_area),
                               root=0)
        result = None
        if comm.rank == 0:
            parts = [np.concatenate(a) for a in zip(*gathered)]
            result = np.stack([weighted_percentile(parts[0], parts[1], parts[2], 0.95, n.n),
                               weighted_percentile(parts[3], parts[4], parts[5], 0.95, n.n)])
        result = comm.bcast(result, root=0)
        return {"sigma_eq_p95_Pa": result[0], "sigma_1_surface_p95_Pa": result[1],
                "failure_probability": weibull_probability(risk_integral, self.v0)}


#: particles.csv column of each metric's maximum over every mechanics step so far
PEAK_COLUMNS = STRESS_METRIC_PEAKS


class StressPeaks:
    """Per-particle maxima over the run of the metrics in :data:`PEAK_COLUMNS` (owner of that state)."""

    def __init__(self, n_particles: int):
        self.values = {name: np.zeros(n_particles) for name in PEAK_COLUMNS}

    def update(self, stress: dict[str, np.ndarray]) -> None:
        for name, peak in self.values.items():
            np.fmax(peak, stress[name], out=peak)

    def columns(self) -> dict[str, np.ndarray]:
        """Peak column name → per-particle values."""
        return {PEAK_COLUMNS[name]: peak for name, peak in self.values.items()}

    def summary(self) -> dict[str, float | None]:
        """run.json summary: median and maximum over the particles of the run peak of the p95 σ_eq (Pa)."""
        p95 = self.values["sigma_eq_p95_Pa"]
        ok = len(p95) > 0
        return {"sigma_eq_p95_peak_median_Pa": float(np.median(p95)) if ok else None,
                "sigma_eq_p95_peak_max_Pa": float(np.max(p95)) if ok else None}

    def to_dict(self) -> dict[str, list[float]]:
        return {name: peak.tolist() for name, peak in self.values.items()}

    def restore(self, saved: dict[str, list[float]]) -> None:
        for name in self.values:
            if name in saved:
                self.values[name] = np.array(saved[name], dtype=float)
