"""The state of one run, owned in one place.

:class:`RunState` is everything of a run beyond the problem's unknowns that a restart needs: the
time series (named :class:`~femsim.io.columns.SeriesRecord` rows), the particles.csv rows written
so far, the output times written, the mechanics cadence, the stress peaks (:class:`RunPeaks`) and
the stepper's state (:class:`~femsim.solvers.stepping.StepperState`, which the stepper advances).
:class:`SolverState` is what the problem hands out for a restart: its unknowns, its memory between
steps (``restart_state()``) and the partition they belong to. A restart snapshot
(:mod:`femsim.io.snapshots`) is the two of them written to files; :class:`femsim.simulation.Simulation`
updates the run state and knows nothing of the snapshot format.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from femsim.io.columns import SERIES, SeriesRecord
from femsim.io.cycles import C_M2_PER_MAH_CM2
from femsim.model.damage_history import CycleStressHistory
from femsim.model.stress_metrics import StressPeaks
from femsim.solvers.stepper_state import StepperState

PROBE_NAMES = ("Ps", "Pcc")


@dataclasses.dataclass
class RunPeaks:
    """Stress maxima over the run so far (Pa; the Weibull probabilities are dimensionless)."""

    #: probe name → max σ_eq over the mechanics solves
    probe_sigma_eq_Pa: dict[str, float]
    #: per particle: max over the mechanics solves of the nodal maximum of σ_eq
    particle_sigma_eq_Pa: np.ndarray
    #: per particle: run maxima of the mesh-converged metrics (particles.csv ``*_peak*`` columns)
    metrics: StressPeaks
    #: cycle (as text) → per-particle stress metric → max over the particles and the cycle's solves
    per_cycle: dict[str, dict[str, float]]
    #: per cycle and particle: the damage drivers' maxima
    cycle_stress: CycleStressHistory

    @classmethod
    def fresh(cls, n_particles: int) -> RunPeaks:
        return cls({name: 0.0 for name in PROBE_NAMES}, np.zeros(n_particles), StressPeaks(n_particles), {},
                   CycleStressHistory(n_particles))

    def add_probe(self, name: str, sigma_eq_Pa: float) -> None:
        self.probe_sigma_eq_Pa[name] = max(self.probe_sigma_eq_Pa.get(name, 0.0), float(sigma_eq_Pa))

    def add_particle_stress(self, cycle: int, stress: dict[str, np.ndarray]) -> None:
        """Take in one mechanics solve's per-particle stress (``MechanicsSolver.particle_stress()``)."""
        self.particle_sigma_eq_Pa = np.maximum(self.particle_sigma_eq_Pa, stress["sigma_eq_max_Pa"])
        self.metrics.update(stress)
        self.cycle_stress.update(cycle, stress)
        peaks = self.per_cycle.setdefault(str(cycle), {})
        for key, values in stress.items():
            values = np.asarray(values, dtype=float)
            if key.endswith("_Pa") and np.isfinite(values).any():
                peaks[key] = max(peaks.get(key, -np.inf), float(np.nanmax(values)))

    def stress_metric_names(self) -> list[str]:
        """The per-particle stress metrics seen so far, sorted (cycles.csv ``peak_<metric>`` columns)."""
        return sorted({k for peaks in self.per_cycle.values() for k in peaks})

    def summary(self) -> dict[str, Any]:
        """run.json summary entries of the peaks."""
        return {"peak_sigma_eq_separator_Pa": self.probe_sigma_eq_Pa.get("Ps"),
                "peak_sigma_eq_collector_Pa": self.probe_sigma_eq_Pa.get("Pcc"),
                "peak_sigma_eq_Pa": float(np.max(self.particle_sigma_eq_Pa)) if len(self.particle_sigma_eq_Pa)
                else None, **self.metrics.summary()}


@dataclasses.dataclass
class RunState:
    """A run's state beyond the problem's unknowns (see the module docstring)."""

    stepper: StepperState
    peaks: RunPeaks
    series: list[SeriesRecord] = dataclasses.field(default_factory=list)
    #: particles.csv rows written so far (particles.csv is rewritten whole at each output time)
    particle_rows: list[list[Any]] = dataclasses.field(default_factory=list)
    outputs_written: list[float] = dataclasses.field(default_factory=list)
    #: accepted steps since the last mechanics solve
    steps_since_mechanics: int = 0

    @classmethod
    def fresh(cls, n_particles: int, dt_initial_s: float) -> RunState:
        return cls(StepperState(dt_s=dt_initial_s), RunPeaks.fresh(n_particles))

    # -- the time series -----------------------------------------------------------------------
    def column(self, name: str) -> np.ndarray:
        """One numeric time-series column over the rows so far."""
        return np.array([getattr(r, name) for r in self.series], dtype=float)

    def series_table(self) -> dict[str, np.ndarray]:
        """Every numeric time-series column (text columns left out)."""
        return {c.name: self.column(c.name) for c in SERIES if c.name != "step_kind"}

    def switch_voltage(self) -> float | None:
        """The voltage at the start of the present protocol step (its ``dt_s`` = 0 row), if any."""
        return next((r.voltage_V for r in reversed(self.series) if r.dt_s == 0.0), None)

    def soc_at(self, time_s: float) -> tuple[float | None, float | None]:
        """(separator, collector) window states of charge at the row nearest ``time_s``; None
        before the run reached it."""
        t = self.column("time_s")
        if t[-1] < time_s - 1e-9:
            return None, None
        k = int(np.argmin(np.abs(t - time_s)))
        row = self.series[k]
        return float(row.soc_separator_10um), float(row.soc_collector_10um)

    def cycles_completed(self, steps_per_cycle: int) -> int:
        return int(sum(1 for e in self.stepper.step_log if e["step"] == steps_per_cycle))

    def series_summary(self, area_m2: float, steps_per_cycle: int) -> dict[str, Any]:
        """run.json summary entries of the series (empty before the first row)."""
        if not self.series:
            return {}
        st = self.stepper
        t, current, drop, dt = (self.column(n) for n in ("time_s", "current_A", "electrolyte_potential_drop_V", "dt_s"))
        charge = float(np.sum(current * dt))  # backward Euler: the current at the end of each step
        late = t > min(5.0, t[-1])
        cutoffs = [e["end_s"] for e in st.step_log if e["reason"] == "voltage"]
        last = self.series[-1]
        out = {"time_end_s": float(t[-1]), "time_to_cutoff_s": float(cutoffs[0]) if cutoffs else None,
               "cycles_completed": self.cycles_completed(steps_per_cycle), "protocol_steps": list(st.step_log),
               "delivered_capacity_mAh_cm2": abs(charge) / area_m2 / C_M2_PER_MAH_CM2,
               "mean_electrolyte_potential_drop_V": float(np.mean(drop[late])) if late.any() else float(drop[-1]),
               "voltage_end_V": float(last.voltage_V), "soc_end": float(last.soc_mean), "n_steps": int(st.n_steps),
               "n_rejected_steps": int(st.rejected_steps),
               "newton_iterations_total": int(self.column("newton_iterations").sum())}
        s150 = self.soc_at(150.0)
        out.update(soc_separator_150s=s150[0], soc_collector_150s=s150[1])
        return out


@dataclasses.dataclass
class SolverState:
    """What the problem hands out for a restart (per rank)."""

    #: the unknowns' arrays (owned and ghost entries), in the problem's order
    unknowns: list[np.ndarray]
    #: the problem's memory between steps (``problem.restart_state()``: scalars, None, lists of arrays)
    memory: dict[str, Any] | None
    #: original indices of this rank's owned cells (the partition the arrays belong to)
    owned_cells: np.ndarray

    @classmethod
    def of(cls, problem: Any, mesh: Any) -> SolverState:
        return cls(problem.state_arrays(), problem.restart_state(), owned_cells(mesh))

    def apply_to(self, problem: Any) -> None:
        """Make ``problem`` continue from this state (committed as the previous time level)."""
        problem.set_state_arrays(self.unknowns)
        for u in problem.unknowns:
            u.x.scatter_forward()
        problem.commit()
        problem.set_restart_state(self.memory)


def owned_cells(mesh: Any) -> np.ndarray:
    """Original (input) indices of the cells this rank owns."""
    n_owned = mesh.topology.index_map(3).size_local
    return np.asarray(mesh.topology.original_cell_index[:n_owned], dtype=np.int64)
