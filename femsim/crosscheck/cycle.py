"""One CCCV cycle in 3D and in PyBaMM (``pybamm.Experiment`` with the same step strings), compared.

Protocol (issue 18): ``Charge at <r> until 4.3 V``, ``Hold at 4.3 V until C/20``,
``Rest for 10 minutes``, ``Discharge at <r> until 3.0 V``. The PyBaMM model is the equivalent
half-cell DFN of :mod:`femsim.crosscheck.pybamm_model` (same inputs, same measured transport).
Each step is compared on its own clock (time since the step started, 3D step times), so a
small difference in when a step ends does not count as a voltage error of the next one:

* galvanostatic steps (charge, discharge): time-weighted RMS and max |ΔV|;
* the hold: RMS of the relative current difference (PyBaMM − 3D)/3D over the common span, and
  the hold's end time (absolute and duration) in both;
* every step: end time and duration.

``pybamm`` is imported inside the functions only (an optional peer, never a femsim dependency).
"""

from __future__ import annotations

import copy
import dataclasses
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from femsim.case import Case

_LOG = logging.getLogger(__name__)


def cccv_steps(c_rate: str) -> list[str]:
    """The cross-check cycle at ``c_rate`` (e.g. ``'1C'``, ``'5C'``)."""
    return [f"Charge at {c_rate} until 4.3 V", "Hold at 4.3 V until C/20", "Rest for 10 minutes",
            f"Discharge at {c_rate} until 3.0 V"]


@dataclasses.dataclass
class StepSeries:
    """One protocol step of a run: time since the run started (s), voltage (V), current (A/m², > 0 on charge)."""

    kind: str
    time_s: np.ndarray
    voltage_V: np.ndarray
    current_A_m2: np.ndarray

    @property
    def start_s(self) -> float:
        return float(self.time_s[0])

    @property
    def end_s(self) -> float:
        return float(self.time_s[-1])


def read_3d_steps(folder: str | Path, area_m2: float) -> list[StepSeries]:
    """The steps of the first cycle of a finished run, from ``timeseries.csv``."""
    import csv

    with open(Path(folder) / "timeseries.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    out: list[StepSeries] = []
    for step in sorted({int(r["step"]) for r in rows if int(r["cycle"]) == 1}):
        sel = [r for r in rows if int(r["cycle"]) == 1 and int(r["step"]) == step]
        t = np.array([float(r["time_s"]) for r in sel])
        keep = np.concatenate([[True], np.diff(t) > 0]) if len(t) > 1 else np.array([True])
        # the first row of a step is its switch (dt = 0) at the previous step's end time
        out.append(StepSeries(sel[0]["step_kind"], t[keep], np.array([float(r["voltage_V"]) for r in sel])[keep],
                              np.array([float(r["current_A"]) for r in sel])[keep] / area_m2))
    return out


def run_pybamm_cycle(inputs: Any, steps: list[str], points: tuple[int, int, int] = (30, 40, 30),
                     period_s: float = 1.0) -> list[StepSeries]:
    """The half-cell DFN through ``pybamm.Experiment(steps)``; one :class:`StepSeries` per step."""
    import pybamm

    from femsim.crosscheck.pybamm_model import parameter_values

    model = pybamm.lithium_ion.DFN(options={"working electrode": "positive"})
    pv = parameter_values(inputs)
    pv.update({"Upper voltage cut-off [V]": 4.45, "Lower voltage cut-off [V]": 2.9})
    n_s, n_p, n_r = points
    experiment = pybamm.Experiment([tuple(f"{s} ({period_s:g} second period)" for s in steps)])
    sim = pybamm.Simulation(model, parameter_values=pv, experiment=experiment,
                            var_pts={"x_n": 4, "x_s": n_s, "x_p": n_p, "r_p": n_r},
                            solver=pybamm.IDAKLUSolver(rtol=1e-8, atol=1e-8))
    sol = sim.solve()
    out = []
    for text, step_sol in zip(steps, sol.cycles[0].steps):
        t = np.asarray(step_sol["Time [s]"].entries)
        keep = np.concatenate([[True], np.diff(t) > 0])
        out.append(StepSeries(text.split()[0].lower(), t[keep], np.asarray(step_sol["Voltage [V]"].entries)[keep],
                              -np.asarray(step_sol["Current [A]"].entries)[keep]))  # PyBaMM: discharge > 0, 1 m²
    return out


def time_grid(*times: np.ndarray, spacing_s: float = 1.0) -> np.ndarray:
    """Every sample time of the series compared, plus a uniform grid of at most ``spacing_s``
    over their common span: the RMS of a difference in time, independent of where either solver
    put its steps (a 3D step of 7 s whose end falls into PyBaMM's last-second collapse at the end
    of a discharge otherwise weighs 7 s of a ~300 mV difference)."""
    span = min(float(t[-1]) for t in times)
    n = max(int(np.ceil(span / spacing_s)), 1) + 1
    points = np.concatenate([np.linspace(0.0, span, n), *[t[t <= span] for t in times]])
    return np.unique(points)


def _weights(t: np.ndarray) -> np.ndarray:
    return np.gradient(t) if len(t) > 1 else np.ones_like(t)


def compare_steps(a: list[StepSeries], b: list[StepSeries]) -> dict[str, Any]:
    """Per-step differences of ``b`` (PyBaMM) against ``a`` (3D) on each step's own clock: voltages
    as a time RMS over the common span (:func:`time_grid`), hold currents at ``a``'s samples."""
    steps = []
    dv_all, w_all = [], []
    for k, (sa, sb) in enumerate(zip(a, b)):
        ta, tb = sa.time_s - sa.start_s, sb.time_s - sb.start_s
        span = min(ta[-1], tb[-1])
        m = ta <= span + 1e-9
        entry: dict[str, Any] = {"step": k + 1, "kind": sa.kind, "end_3d_s": sa.end_s, "end_pybamm_s": sb.end_s,
                                 "end_rel": sb.end_s / sa.end_s - 1.0, "duration_3d_s": float(ta[-1]),
                                 "duration_pybamm_s": float(tb[-1]),
                                 "duration_rel": float(tb[-1] / ta[-1] - 1.0) if ta[-1] > 0 else None}
        if sa.kind in ("charge", "discharge"):
            grid = time_grid(ta, tb)
            dv = np.interp(grid, tb, sb.voltage_V) - np.interp(grid, ta, sa.voltage_V)
            w = _weights(grid)
            entry.update(rms_voltage_V=float(np.sqrt(np.sum(w * dv**2) / np.sum(w))),
                         max_voltage_V=float(np.max(np.abs(dv))))
            dv_all.append(dv)
            w_all.append(w)
        if sa.kind == "hold":
            # the hold's first instants carry the switch (both start from the CC current): skip t = 0
            m = m & (ta > 0)
            ia = sa.current_A_m2[m]
            ib = np.interp(ta[m], tb, sb.current_A_m2)
            rel = (ib - ia) / ia
            w = _weights(ta[m])
            entry.update(
                rms_current_rel=float(np.sqrt(np.sum(w * rel**2) / np.sum(w))),
                max_current_rel=float(np.max(np.abs(rel))),
                current_start_3d_A_m2=float(sa.current_A_m2[0]),
                current_end_3d_A_m2=float(sa.current_A_m2[-1]),
            )
        steps.append(entry)
    dv, w = np.concatenate(dv_all), np.concatenate(w_all)
    return {"steps": steps, "rms_voltage_galvanostatic_V": float(np.sqrt(np.sum(w * dv**2) / np.sum(w))),
            "max_voltage_galvanostatic_V": float(np.max(np.abs(dv)))}


def cycle_case(case: Case, c_rate: str, folder: str | Path) -> Any:
    """A copy of a homogenised-limit case with the cross-check cycle as its protocol."""
    case = copy.deepcopy(case)
    prot = case.protocol
    prot.steps, prot.step, prot.cycles, prot.end_time_s, prot.rest_s = cccv_steps(c_rate), None, 1, None, 0.0
    case.output.folder = Path(folder)
    case.output.times_s, case.output.fields, case.output.final_output = [], False, False
    return case


def run_cycle_comparison(case_path: str | Path, c_rate: str, out_dir: str | Path, dt_max_s: float | None = None,
                         rerun_3d: bool = True, max_hold_current_change: float | None = None,
                         tag: str = "") -> dict[str, Any]:
    """3D run and PyBaMM of the cross-check cycle; writes ``cycle_<rate><tag>.json`` and ``.png`` in ``out_dir``
    (``dt_max_s``, ``max_hold_current_change``: override the case's ``[solver]`` keys)."""
    import json

    from femsim.case import load_case
    from femsim.crosscheck.pybamm_model import inputs_from_case
    from femsim.crosscheck.tortuosity import case_tortuosity
    from femsim.geometry.pipeline import REPORT_NAME, mesh_case
    from femsim.io.atomic import write_json

    base = load_case(case_path)
    out = Path(out_dir)
    case = cycle_case(base, c_rate, out / f"3d_{c_rate}{tag}")
    if dt_max_s is not None:
        case.solver.dt_max_s = dt_max_s
    if max_hold_current_change is not None:
        case.solver.max_hold_current_change = max_hold_current_change
    tort = case_tortuosity(base)
    report = json.loads((mesh_case(base).parent / REPORT_NAME).read_text(encoding="utf-8"))
    folder = case.results_dir()
    if rerun_3d or not (folder / "run.json").is_file() or \
            json.loads((folder / "run.json").read_text()).get("status") != "finished":
        from femsim.simulation import run_case

        result = run_case(case)
        if result.status != "finished":
            raise RuntimeError(f"3D cycle of {case.name} ended with status {result.status}")
    run = json.loads((folder / "run.json").read_text())
    area = run["mesh"]["area_m2"]
    series_3d = read_3d_steps(folder, area)
    inputs = inputs_from_case(base, tort, report)
    series_pb = run_pybamm_cycle(inputs, cccv_steps(c_rate))
    record = {"case": str(base.source), "c_rate": c_rate, "steps": cccv_steps(c_rate),
              "femsim_3d": {"wall_time_s": run["summary"]["wall_time_s"], "n_steps": run["summary"]["n_steps"],
                            "n_cells": report.get("n_cells"), "dt_max_s": case.solver.dt_max_s,
                            "max_hold_current_change": case.solver.max_hold_current_change},
              **compare_steps(series_3d, series_pb)}
    write_json(out / f"cycle_{c_rate}{tag}.json", record)
    plot_cycle(series_3d, series_pb, out / f"cycle_{c_rate}{tag}.png", f"{base.name}: one {c_rate} CCCV cycle")
    return record


def plot_cycle(a: list[StepSeries], b: list[StepSeries], path: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_v, ax_i) = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
    for series, label, kw in ((a, "femsim 3D", {"color": "k", "lw": 2.0}), (b, "PyBaMM DFN", {"ls": "--", "lw": 1.4})):
        t = np.concatenate([s.time_s for s in series])
        ax_v.plot(t, np.concatenate([s.voltage_V for s in series]), label=label, **kw)
        ax_i.plot(t, np.concatenate([s.current_A_m2 for s in series]), label=label, **kw)
    ax_v.set_ylabel("voltage vs Li (V)")
    ax_i.set_ylabel("current density (A/m², > 0 charge)")
    ax_i.set_xlabel("time (s)")
    ax_v.legend(fontsize=8)
    ax_v.set_title(title, fontsize=10)
    for ax in (ax_v, ax_i):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path
