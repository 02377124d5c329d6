"""Run a homogenised-limit case in 3D and in PyBaMM, compare, report, plot.

:func:`compare_series` gives the RMS and maximum voltage difference over the common time span
(PyBaMM interpolated onto the 3D step times), the time to cut-off of both and its relative
difference, Δφ_l and the separator-side / collector-side state of charge at 150 s.
:func:`run_comparison` does the whole chain for a case file: mesh → tortuosity → 3D run
(:func:`femsim.simulation.run_case`) → PyBaMM (full model and, optionally, variants with a
physics term dropped) → ``comparison.json`` and ``comparison.png`` in the case's results folder.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from femsim.crosscheck.pybamm_model import HalfCellSeries

if TYPE_CHECKING:
    from femsim.case import Case

_LOG = logging.getLogger(__name__)


@dataclasses.dataclass
class Comparison:
    """Differences of two half-cell series (``b`` − ``a``); voltages in V, times in s."""

    label_a: str
    label_b: str
    rms_voltage_V: float
    max_voltage_V: float
    t_common_s: float
    time_to_cutoff_a_s: float | None
    time_to_cutoff_b_s: float | None
    time_to_cutoff_rel: float | None
    probe_time_s: float
    drop_a_V: float
    drop_b_V: float
    soc_separator_a: float
    soc_separator_b: float
    soc_collector_a: float
    soc_collector_b: float

    @property
    def drop_rel(self) -> float:
        """Relative difference of Δφ_l at the probe time, (b − a)/a."""
        return self.drop_b_V / self.drop_a_V - 1.0

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "drop_rel": self.drop_rel}

    def summary(self) -> str:
        cut = ("n/a" if self.time_to_cutoff_rel is None else
               f"{self.time_to_cutoff_a_s:.1f} s vs {self.time_to_cutoff_b_s:.1f} s "
               f"({100 * self.time_to_cutoff_rel:+.2f} %)")
        return (f"{self.label_b} vs {self.label_a}: RMS ΔV {1e3 * self.rms_voltage_V:.2f} mV, max |ΔV| "
                f"{1e3 * self.max_voltage_V:.2f} mV over {self.t_common_s:.0f} s; time to cut-off {cut}; "
                f"at {self.probe_time_s:g} s: Δφ_l {1e3 * self.drop_a_V:.2f} vs {1e3 * self.drop_b_V:.2f} mV, "
                f"soc separator side {self.soc_separator_a:.4f} vs {self.soc_separator_b:.4f}, "
                f"collector side {self.soc_collector_a:.4f} vs {self.soc_collector_b:.4f}")


def compare_series(a: HalfCellSeries, b: HalfCellSeries, probe_time_s: float = 150.0) -> Comparison:
    """Compare ``b`` with ``a`` (``a`` is the reference: usually the 3D run) on ``a``'s times.

    Δφ_l and the window states of charge are taken at ``probe_time_s``, or at the end of the
    common span if the runs stop earlier.
    """
    t_end = min(a.time_s[-1], b.time_s[-1])
    probe = min(probe_time_s, float(t_end))
    mask = a.time_s <= t_end + 1e-9
    diff = np.interp(a.time_s[mask], b.time_s, b.voltage_V) - a.voltage_V[mask]
    # time-weighted RMS (the 3D steps are adaptive: weight each sample by its share of the span)
    t = a.time_s[mask]
    if len(t) > 1:
        w = np.gradient(t)
        rms = float(np.sqrt(np.sum(w * diff**2) / np.sum(w)))
    else:
        rms = float(np.abs(diff).max()) if len(diff) else float("nan")
    ta, tb = a.time_to_cutoff_s, b.time_to_cutoff_s
    rel = (tb / ta - 1.0) if (ta and tb) else None
    return Comparison(a.label, b.label, rms, float(np.abs(diff).max()) if len(diff) else float("nan"), float(t_end),
                      ta, tb, rel, probe, a.at("electrolyte_potential_drop_V", probe),
                      b.at("electrolyte_potential_drop_V", probe), a.at("soc_separator", probe),
                      b.at("soc_separator", probe), a.at("soc_collector", probe), b.at("soc_collector", probe))


#: CI acceptance of a coarse 3D run against PyBaMM: RMS voltage difference (V) and relative Δφ_l
CI_RMS_TOLERANCE_V = 6e-3
CI_DROP_TOLERANCE = 0.10


def agrees(c: Comparison, rms_tolerance_V: float = CI_RMS_TOLERANCE_V,
           drop_tolerance: float = CI_DROP_TOLERANCE) -> bool:
    """Both the voltage curve (time-weighted RMS) and Δφ_l at the probe time agree."""
    return bool(c.rms_voltage_V <= rms_tolerance_V and abs(c.drop_rel) <= drop_tolerance)


def read_3d_series(folder: str | Path, label: str = "femsim 3D") -> HalfCellSeries:
    """The time series of a finished ``femsim run`` (``timeseries.csv`` and ``run.json``)."""
    folder = Path(folder)
    with open(folder / "timeseries.csv", newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh)]
    col = lambda name: np.array([float(r[name]) for r in rows])  # noqa: E731
    t = col("time_s")
    keep = np.concatenate([[True], np.diff(t) > 0])  # a resumed run may repeat a row
    summary = json.loads((folder / "run.json").read_text(encoding="utf-8")).get("summary", {})
    return HalfCellSeries(t[keep], col("voltage_V")[keep], col("electrolyte_potential_drop_V")[keep],
                          col("soc_separator_10um")[keep], col("soc_collector_10um")[keep],
                          summary.get("time_to_cutoff_s"), label=label,
                          wall_time_s=float(summary.get("wall_time_s", 0.0)))


def plot_overlay(series: list[HalfCellSeries], path: str | Path, title: str = "") -> Path:
    """Voltage, voltage difference to the first series (mV) and Δφ_l of several runs against time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_v, ax_dv, ax_d) = plt.subplots(3, 1, figsize=(7, 8), sharex=True,
                                            gridspec_kw={"height_ratios": [3, 1.3, 1.3]})
    styles = ["-", "--", ":", "-.", (0, (5, 1))]
    ref = series[0]
    for k, s in enumerate(series):
        kw = {"lw": 2.2, "color": "k"} if k == 0 else {"lw": 1.4, "ls": styles[k % len(styles)]}
        ax_v.plot(s.time_s, s.voltage_V, label=s.label, **kw)
        ax_d.plot(s.time_s, 1e3 * s.electrolyte_potential_drop_V, **kw)
        if k > 0:
            t = ref.time_s[ref.time_s <= s.time_s[-1]]
            ax_dv.plot(t, 1e3 * (np.interp(t, s.time_s, s.voltage_V) - ref.voltage_V[: len(t)]), **kw)
    ax_v.set_ylabel("cathode potential vs Li (V)")
    ax_dv.set_ylabel(f"V − V[{ref.label}] (mV)", fontsize=8)
    ax_dv.axhline(0.0, color="k", lw=0.8)
    ax_d.set_ylabel("Δφ_l (mV)")
    ax_d.set_xlabel("time (s)")
    ax_v.legend(fontsize=8)
    for ax in (ax_v, ax_dv, ax_d):
        ax.grid(alpha=0.3)
    if title:
        ax_v.set_title(title, fontsize=10)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def run_comparison(
    case_path: str | Path | Case,
    variants: tuple[str, ...] = ("full",),
    out_dir: str | Path | None = None,
    rerun_3d: bool = True,
    pybamm_points: tuple[int, int, int] = (30, 40, 30),
) -> dict[str, Any]:
    """Whole chain for one case; returns (and writes) the comparison record.

    Args:
        case_path: a homogenised-limit case file (charge), or an already loaded case.
        variants: PyBaMM variants to run (``full`` first; see :data:`~femsim.crosscheck.pybamm_model.VARIANTS`).
        out_dir: where ``comparison.json``/``.png`` go (default: the case's results folder).
        rerun_3d: run the 3D case even if a finished ``run.json`` exists.
        pybamm_points: PyBaMM points in separator, cathode, particle radius.
    """
    from femsim.case import load_case
    from femsim.crosscheck.pybamm_model import inputs_from_case, run_pybamm
    from femsim.crosscheck.tortuosity import case_tortuosity
    from femsim.geometry.pipeline import REPORT_NAME, mesh_case
    from femsim.io.atomic import write_json

    case = load_case(case_path) if isinstance(case_path, str | Path) else case_path
    folder = case.results_dir()
    out = Path(out_dir) if out_dir is not None else folder
    tort = case_tortuosity(case)
    report = json.loads((mesh_case(case).parent / REPORT_NAME).read_text(encoding="utf-8"))
    finished = (folder / "run.json").is_file() and json.loads(
        (folder / "run.json").read_text(encoding="utf-8")).get("status") == "finished"
    if rerun_3d or not finished:
        from femsim.simulation import run_case

        result = run_case(case)
        if result.status != "finished":
            raise RuntimeError(f"3D run of {case.name} ended with status {result.status}")
    series_3d = read_3d_series(folder)
    inputs = inputs_from_case(case, tort, report)
    t_end = float(series_3d.time_s[-1]) if series_3d.time_to_cutoff_s is None else None
    runs = {v: run_pybamm(inputs, v, pybamm_points, t_end_s=t_end) for v in variants}
    comparisons = {v: compare_series(series_3d, s) for v, s in runs.items()}
    record = {
        "case": str(case.source), "c_rate": case.protocol.c_rate,
        "current_density_A_m2": case.protocol.current_density_A_m2,
        "tortuosity": tort.to_dict(),
        "pybamm_inputs": {k: v for k, v in dataclasses.asdict(inputs).items() if k != "materials"},
        "femsim_3d": {"wall_time_s": series_3d.wall_time_s, "time_to_cutoff_s": series_3d.time_to_cutoff_s,
                      "n_steps": len(series_3d.time_s) - 1, "n_cells": report.get("n_cells")},
        "comparisons": {v: c.to_dict() for v, c in comparisons.items()},
    }
    write_json(out / "comparison.json", record)
    plot_overlay([series_3d] + list(runs.values()), out / "comparison.png",
                 title=f"{case.name}: {case.protocol.c_rate:g}C charge, {report.get('n_particles')} particles")
    for c in comparisons.values():
        _LOG.info("%s", c.summary())
    return record
