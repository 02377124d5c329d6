"""One run of a case: mesh → domain → coupled problem → adaptive stepping → results folder.

:func:`run_case` is what ``femsim run`` calls; it works unchanged under ``mpiexec -n N``.
The run records its status in ``run.json`` (running → finished / failed / interrupted) and
writes everything described in ``docs/results_format.md``.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import signal
import time
from pathlib import Path
from typing import Any

import numpy as np

from femsim.errors import RunInterrupted, SolverError
from femsim.model.damage_history import CycleStressHistory
from femsim.model.stress_metrics import PEAK_COLUMNS, StressPeaks
from femsim.mpi import CollectiveGarbage
from femsim.parameters import FARADAY

LOG = logging.getLogger(__name__)
UM = 1e-6
METRIC_COLUMNS = tuple(PEAK_COLUMNS)


@dataclasses.dataclass
class RunResult:
    status: str
    folder: Path
    summary: dict[str, Any]


def _particle_table_for(case: Any) -> Any | None:
    """The (adjusted) particle table the mesh was built from, if the case has one."""
    if case.geometry.particle_table is None:
        return None
    from femsim.geometry.pipeline import prepare_table

    table, _ = prepare_table(case)
    return table


def _scheduler_environment() -> dict[str, str]:
    """Batch-scheduler variables worth keeping with the results (SLURM array task, job ids, host)."""
    import os
    import socket

    keys = ("SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_JOB_ID", "SLURM_JOB_ID", "SLURM_NTASKS", "SLURM_JOB_PARTITION")
    env = {k: os.environ[k] for k in keys if k in os.environ}
    env["hostname"] = socket.gethostname()
    return env


class Simulation:
    """Set up and run one case (see module docstring)."""

    def __init__(self, case: Any, comm: Any = None, resume: bool = False):
        from femsim.mpi import comm_world

        self.case = case
        self.comm = comm if comm is not None else comm_world()
        self.rank = self.comm.rank
        self.folder = case.results_dir()
        self.resume = resume
        self.timings: dict[str, float] = {}
        self.t_start = time.perf_counter()
        self.summary: dict[str, Any] = {}
        self.peak_probe: dict[str, float] = {"Ps": 0.0, "Pcc": 0.0}
        #: {cycle (as text): {per-particle stress metric: peak over the particles and the cycle (Pa)}}
        self.cycle_peaks: dict[str, dict[str, float]] = {}
        self.probe_history: list[dict[str, Any]] = []

    # -- set-up ---------------------------------------------------------------------------------
    def setup(self) -> None:
        from femsim.geometry.load import load_mesh
        from femsim.geometry.pipeline import mesh_case
        from femsim.io.results import ResultsWriter, versions
        from femsim.model.domain import PARTICLES, Domain
        from femsim.model.particles import ParticleStatistics
        from femsim.parameters import build_material_sets
        from femsim.solvers.halfcell import HalfCellProblem

        case, comm = self.case, self.comm
        table = _particle_table_for(case)
        self.table = table
        extra_cols = list(table.extra) if table is not None else []
        from femsim.io.snapshots import SnapshotManager

        self.snapshots = SnapshotManager(self)  # on resume: refuses before any output is touched
        t0 = time.perf_counter()
        msh = mesh_case(case, comm=comm)
        self.timings["mesh_s"] = time.perf_counter() - t0
        mesh_report = Path(msh).with_name("mesh_report.json")
        mesh_info: dict[str, Any] = {"file": str(msh)}
        if mesh_report.is_file():
            import json

            mesh_info["report"] = json.loads(mesh_report.read_text())
        t0 = time.perf_counter()
        mesh, cell_tags, facet_tags = load_mesh(msh, comm)
        # the results files are touched only once every input (case, table, mesh) has been read
        self.writer = ResultsWriter(self.folder, comm, resume=self.resume, extra_particle_columns=extra_cols)
        self.writer.update_manifest(status="running", reason="", case_file=str(case.source) if case.source else None,
                                    case=case.to_dict(), versions=versions(), n_ranks=comm.size,
                                    environment=_scheduler_environment())
        self.domain = Domain(mesh, cell_tags, facet_tags, case.solver.interface_quadrature_degree,
                             case.solver.bulk_quadrature_degree)
        self.materials = build_material_sets(case.materials, case.protocol.temperature_K)
        for line in self.materials.notes:
            logging.getLogger("femsim.materials").info("%s", line)
        self.writer.update_manifest(materials={role: getattr(self.materials, role).name for role in
                                               ("cathode", "electrolyte", "counter_electrode")},
                                    materials_notes=list(self.materials.notes))
        self.problem = HalfCellProblem(self.domain, self.materials, case)
        self.cathode_thickness = case.geometry.box_um[2] * UM
        self.stats = ParticleStatistics(self.domain, self.problem.particle_concentration, self.cathode_thickness)
        self.timings["setup_s"] = time.perf_counter() - t0
        # nominal stoichiometry swing: Q_areal / (F c_max V_NMC / A)
        self.area = self.domain.facet_area(11)
        self.nmc_volume = self.domain.measure_of(PARTICLES)
        q_areal = case.protocol.capacity_mAh_cm2 * 36.0e3  # C/m²
        self.dx_nominal = q_areal / (FARADAY * self.problem.c_max * self.nmc_volume / self.area)
        self.x0 = case.protocol.initial_stoichiometry
        n_cells = comm.allreduce(mesh.topology.index_map(3).size_local)
        mesh_info.update(n_cells=n_cells, n_vertices=mesh.topology.index_map(0).size_global, n_dofs=self.problem.n_dofs,
                         nmc_volume_m3=self.nmc_volume, area_m2=self.area, n_particles=len(self.stats.ids),
                         interface_area_m2=self.domain.interface_area())
        self.writer.update_manifest(mesh=mesh_info, solver_preset=self.problem.preset)
        self.mechanics = None
        if case.mechanics.enabled:
            self.mechanics = self._make_mechanics()
        self.fields = None
        if case.output.fields:
            from femsim.io.fields import FieldWriter

            self.fields = FieldWriter(self.folder / "fields", self.domain, self.problem)
        LOG.info("%s: %d cells, %d particles, %d unknowns, NMC fraction %.3f, Δx_nominal %.3f", case.name, n_cells,
                 len(self.stats.ids), self.problem.n_dofs,
                 self.nmc_volume / (self.area * self.cathode_thickness), self.dx_nominal)

    def _make_mechanics(self) -> Any:
        try:
            from femsim.solvers.mechanics import MechanicsSolver
        except ImportError:
            LOG.warning("mechanics requested but femsim.solvers.mechanics is not available: stress not computed")
            return None
        t0 = time.perf_counter()
        mech = MechanicsSolver(self.domain, self.materials.cathode, self.case.mechanics,
                               c_ref=self.x0 * self.problem.c_max)
        self.timings["mechanics_setup_s"] = time.perf_counter() - t0
        return mech

    # -- per-step records ----------------------------------------------------------------------
    def soc(self, mean_c: float) -> float:
        return (self.x0 - mean_c / self.problem.c_max) / self.dx_nominal

    def record_step(self, rec: Any) -> None:
        """One time-series row per accepted step or step switch (a :class:`StepRecord`)."""
        from femsim.protocol import KINDS

        mean_all, mean_sep, mean_cc = self.stats.window_means()
        drop = self.problem.electrolyte_potential_drop()
        row = [rec.time_s, rec.current_density_A_m2 * self.area, rec.voltage_V, drop, self.soc(mean_all),
               self.soc(mean_sep), self.soc(mean_cc), rec.newton_iterations, rec.dt_s, rec.cycle, rec.step,
               KINDS.index(rec.kind)]
        self.rows.append(row)  # numeric (the kind as its code: snapshots store the rows as floats)
        self.writer.append_timeseries(row[:-1] + [rec.kind])
        self.steps_since_mechanics += 1
        if self.mechanics is not None and self.steps_since_mechanics >= self.case.mechanics.every_n_steps:
            self.solve_mechanics(rec.time_s)

    def solve_mechanics(self, time_s: float) -> None:
        t0 = time.perf_counter()
        self.mechanics.solve(self.problem.particle_concentration)
        self.steps_since_mechanics = 0
        if self.case.mechanics.stress_enhanced_diffusion:  # two-way coupling, σ_h lagged by one step
            self.problem.hydrostatic_stress.interpolate(self.mechanics.fields()["sigma_hydrostatic_Pa"])
        for probe in self.mechanics.probes():
            c = float(probe.get("c_over_cmax", float("nan")))
            soc = (self.x0 - c) / self.dx_nominal if math.isfinite(c) else float("nan")
            self.writer.append_probe([time_s, probe["probe"], probe["x_um"], probe["y_um"], probe["z_um"],
                                      probe["particle_id"], soc, c, probe["sigma_eq_Pa"]])
            name = probe["probe"]
            self.peak_probe[name] = max(self.peak_probe.get(name, 0.0), float(probe["sigma_eq_Pa"]))
        stress = self.mechanics.particle_stress()
        self.peak_particle_stress = np.maximum(self.peak_particle_stress, stress["sigma_eq_max_Pa"])
        self.stress_peaks.update(stress)
        cycle = str(self.stepper.state.cycle + 1) if hasattr(self, "stepper") else "1"
        self.cycle_stress.update(int(cycle), stress)
        peaks = self.cycle_peaks.setdefault(cycle, {})
        for key, values in stress.items():
            values = np.asarray(values, dtype=float)
            if key.endswith("_Pa") and np.isfinite(values).any():
                peaks[key] = max(peaks.get(key, -np.inf), float(np.nanmax(values)))
        self.timings["mechanics_s"] = self.timings.get("mechanics_s", 0.0) + time.perf_counter() - t0

    def write_output(self, time_s: float) -> None:
        """particles.csv rows and fields at an output time."""
        t0 = time.perf_counter()
        if self.mechanics is not None and self.steps_since_mechanics > 0:
            self.solve_mechanics(time_s)
        st = self.stats
        cmax = self.problem.c_max
        mean = st.mean_concentration()
        lo, hi = st.surface_extrema()
        n = len(st.ids)
        nan = np.full(n, np.nan)
        stress = self.mechanics.particle_stress() if self.mechanics is not None else {}
        radius = (3 * st.volume / (4 * np.pi)) ** (1 / 3)
        extra_cols: list[list[str]] = []
        if self.table is not None:
            index = {int(i): k for k, i in enumerate(self.table.ids)}
            rows_in_table = [index.get(int(i)) for i in st.ids]
            radius = np.array([self.table.radii[k] * UM if k is not None else r for k, r in zip(rows_in_table, radius)])
            extra_cols = [[self.table.extra[c][k] if k is not None else "" for c in self.table.extra]
                          for k in rows_in_table]
        rows = []
        for k in range(n):
            row = [time_s, int(st.ids[k]), *(st.centroid[k] / UM), radius[k] / UM, st.depth[k] / UM,
                   st.volume[k] / UM**3, mean[k] / cmax, lo[k] / cmax, hi[k] / cmax, self.soc(mean[k]),
                   stress.get("sigma_eq_max_Pa", nan)[k], stress.get("sigma_eq_mean_Pa", nan)[k],
                   stress.get("sigma_1_max_Pa", nan)[k],
                   self.peak_particle_stress[k] if self.mechanics is not None else np.nan,
                   int(stress["clipped"][k]) if self.mechanics is not None else np.nan,
                   *(stress.get(name, nan)[k] for name in METRIC_COLUMNS),
                   *(v[k] if self.mechanics is not None else np.nan for v in self.stress_peaks.columns().values())]
            rows.append(row + (extra_cols[k] if extra_cols else []))
        self.writer.add_particle_rows(rows)
        if self.fields is not None:
            extra = list(self.mechanics.fields().values()) if self.mechanics is not None else []
            self.fields.write(time_s, extra)
        self.outputs_written.append(time_s)
        self.timings["output_s"] = self.timings.get("output_s", 0.0) + time.perf_counter() - t0

    # -- the run -------------------------------------------------------------------------------
    def run(self) -> RunResult:
        from femsim.io.progress import Progress
        from femsim.solvers.stepping import stepper_for

        case = self.case
        self.rows: list[list[Any]] = []
        self.outputs_written: list[float] = []
        self.steps_since_mechanics = 0
        self.peak_particle_stress = np.zeros(len(self.stats.ids))
        self.stress_peaks = StressPeaks(len(self.stats.ids))
        self.cycle_stress = CycleStressHistory(len(self.stats.ids))
        problem = self.problem
        stepper = stepper_for(problem, case)
        self.stepper = stepper
        self.damage_cycles = self._make_damage_cycles()
        if self.resume:
            self.snapshots.restore(stepper)
            self.write_damage()  # the feedback factors of the restored damage
        else:
            problem.set_initial_state()
        progress = Progress(case.output.progress, self.rank)
        garbage = CollectiveGarbage(self.comm)
        n_steps = len(stepper.steps)

        def on_step(rec: Any) -> None:
            garbage.collect()
            self.record_step(rec)
            if rec.time_s == 0.0 and 0.0 in case.output.times_s and 0.0 not in self.outputs_written:
                self.write_output(0.0)
            st, step = stepper.state, stepper.step
            within = min((rec.time_s - st.step_start_s) / step.duration_s, 1.0) if step.duration_s else 0.0
            if step.until_voltage_V is not None and step.kind != "hold":
                start = next((r[2] for r in reversed(self.rows) if r[8] == 0.0), rec.voltage_V)
                if step.until_voltage_V != start:
                    within = max(within, (rec.voltage_V - start) / (step.until_voltage_V - start))
            fraction = (st.cycle + (st.step_index + min(max(within, 0.0), 1.0)) / n_steps) / stepper.cycles
            progress.update(fraction, f"{stepper.label()} t={rec.time_s:7.1f} s V={rec.voltage_V:.4f} V "
                                      f"i={rec.current_density_A_m2:.4g} A/m² dt={rec.dt_s:.3g} s")

        def on_step_end(entry: dict[str, Any]) -> None:
            if entry["step"] == n_steps:
                self.end_cycle(entry)
                self.write_cycles()

        stepper.on_step.append(on_step)
        stepper.on_step_end.append(on_step_end)
        stepper.on_output.append(self.write_output)
        self.snapshots.attach(stepper)
        t0 = time.perf_counter()
        try:
            with garbage:
                termination = stepper.run()
        finally:
            progress.close()
            self.timings["stepping_s"] = time.perf_counter() - t0
        if case.output.final_output and (not self.outputs_written or
                                         abs(self.outputs_written[-1] - stepper.state.time_s) > 1e-9):
            self.write_output(stepper.state.time_s)
        self.write_cycles()
        return self._finish("finished", termination)

    def stress_metrics(self) -> list[str]:
        """The per-particle stress metrics of the mechanics solver (cycles.csv peak columns)."""
        if self.mechanics is None:
            return []
        keys = sorted({k for peaks in self.cycle_peaks.values() for k in peaks})
        return keys

    def write_cycles(self) -> None:
        """Rewrite cycles.csv from the series (rank 0 writes; atomic)."""
        from femsim.io.cycles import cycle_rows

        if not self.rows:
            return
        peaks = {int(k): v for k, v in self.cycle_peaks.items()}
        header, rows = cycle_rows(np.array(self.rows, dtype=float), self.area, peaks, self.stress_metrics())
        self.writer.write_cycles(header, rows)
        self.write_damage()

    def _make_damage_cycles(self) -> Any:
        if not self.case.damage.enabled or self.mechanics is None:
            return None
        from femsim.model.damage_cycles import DamageCycles

        st = self.stats
        radius = (3 * st.volume / (4 * np.pi)) ** (1 / 3)
        return DamageCycles(self.case.damage, self.cycle_stress, st.ids, radius, st.depth / UM, st.centroid / UM,
                            self.cathode_thickness / UM, self.stepper.cycles)

    def end_cycle(self, entry: dict[str, Any]) -> None:
        """A simulated cycle ended: the cycles to jump over (``[damage] max_jump_cycles``) are skipped."""
        if self.damage_cycles is None:
            return
        st = self.stepper.state
        start = next(e["start_s"] for e in st.step_log if e["cycle"] == entry["cycle"] and e["step"] == 1)
        jump = self.damage_cycles.end_cycle(entry["cycle"], entry["end_s"] - start)
        if jump:
            LOG.info("cycle %d: damage increments agree, cycles %d-%d extrapolated", entry["cycle"],
                     entry["cycle"] + 1, entry["cycle"] + jump)
            st.cycle += jump

    def write_damage(self) -> None:
        """The damage after the completed cycles (``[damage]``): its tables written
        (:func:`femsim.io.damage.write_damage_tables`) and its feedback factors put into the problem."""
        if self.damage_cycles is None:
            return
        from femsim.io.damage import write_damage_tables

        damage, tables = self.damage_cycles.after_cycles(self.stepper.state.step_log, len(self.stepper.steps))
        write_damage_tables(self.writer, tables)
        self.problem.set_damage_factors(self.damage_cycles.feedback_factors(damage))

    def _finish(self, status: str, termination: str, reason: str = "") -> RunResult:
        st = self.stepper.state if hasattr(self, "stepper") else None
        rows = np.array(self.rows, dtype=float) if getattr(self, "rows", None) else np.zeros((0, 12))
        summary: dict[str, Any] = {"termination": termination}
        if len(rows):
            t, current, volt, drop, dt = rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3], rows[:, 8]
            charge = float(np.sum(current * dt))  # backward Euler: the current at the end of each step
            late = t > min(5.0, t[-1])
            cutoffs = [e["end_s"] for e in st.step_log if e["reason"] == "voltage"] if st else []
            summary.update(
                time_end_s=float(t[-1]),
                time_to_cutoff_s=float(cutoffs[0]) if cutoffs else None,
                cycles_completed=int(sum(1 for e in st.step_log if e["step"] == len(self.stepper.steps))) if st else 0,
                protocol_steps=list(st.step_log) if st else [],
                delivered_capacity_mAh_cm2=abs(charge) / self.area / 36.0e3,
                mean_electrolyte_potential_drop_V=float(np.mean(drop[late])) if late.any() else float(drop[-1]),
                voltage_end_V=float(volt[-1]), soc_end=float(rows[-1, 4]), n_steps=int(st.n_steps if st else 0),
                n_rejected_steps=int(self.stepper.rejected_steps), newton_iterations_total=int(rows[:, 7].sum()))
            s150 = self._soc_at(150.0)
            summary.update(soc_separator_150s=s150[0], soc_collector_150s=s150[1])
        if self.mechanics is not None:
            summary.update(peak_sigma_eq_separator_Pa=self.peak_probe.get("Ps"),
                           peak_sigma_eq_collector_Pa=self.peak_probe.get("Pcc"),
                           peak_sigma_eq_Pa=float(np.max(self.peak_particle_stress))
                           if len(self.peak_particle_stress) else None,
                           **self.stress_peaks.summary())
        if getattr(self, "damage_cycles", None) is not None:
            summary.update(self.damage_cycles.summary())
        summary.update(n_dofs=self.problem.n_dofs, solver_preset=self.problem.preset,
                       jacobian_assemblies=self.problem.jacobian_assemblies, wall_time_s=time.perf_counter() - self.t_start,
                       mechanics_wall_time_s=self.timings.get("mechanics_s", 0.0))
        self.summary = summary
        self.writer.update_manifest(status=status, reason=reason, summary=summary, timings=self.timings)
        if self.fields is not None:
            self.fields.close()
        return RunResult(status, self.folder, summary)

    def _soc_at(self, time_s: float) -> tuple[float | None, float | None]:
        rows = np.array(self.rows)
        if rows[-1, 0] < time_s - 1e-9:
            return None, None
        k = int(np.argmin(np.abs(rows[:, 0] - time_s)))
        return float(rows[k, 5]), float(rows[k, 6])


def run_case(case: Any, comm: Any = None, resume: bool = False) -> RunResult:
    """Run a validated case; returns the status, results folder and summary.

    Solver failures (step below the minimum) end with status ``failed`` (not an exception);
    SIGTERM/SIGINT end with status ``interrupted``.
    """
    sim = Simulation(case, comm, resume)
    previous = {}

    def interrupted(signum: int, frame: Any) -> None:  # pragma: no cover - signal path
        sim.interrupt = signal.Signals(signum).name
        if not getattr(sim, "defer_interrupt", False):  # while stepping: raised between steps (snapshots.py)
            raise RunInterrupted(sim.interrupt)

    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            previous[sig] = signal.signal(sig, interrupted)
        except ValueError:  # not in the main thread
            pass
    try:
        sim.setup()
        for sig in previous:  # again: gmsh and PETSc install their own C handlers during set-up
            signal.signal(sig, interrupted)
        return sim.run()
    except SolverError as exc:
        LOG.error("run failed: %s", exc)
        if hasattr(sim, "stepper") and hasattr(sim, "rows"):
            diag = sim.snapshots.write(diagnostic=True)
            sim.writer.update_manifest(diagnostic_snapshot=str(diag) if diag else None)
        if sim.fields is not None if hasattr(sim, "fields") else False:
            sim.write_output(sim.stepper.state.time_s)
        return sim._finish("failed", "failed", str(exc))
    except RunInterrupted as exc:
        LOG.error("interrupted by %s", exc)
        if hasattr(sim, "writer"):
            sim.writer.update_manifest(status="interrupted", reason=f"signal {exc}", timings=sim.timings)
        raise SystemExit(130) from None
    except BaseException as exc:
        if hasattr(sim, "writer") and not isinstance(exc, SystemExit):
            sim.writer.manifest["timings"] = sim.timings
            sim.writer.mark_failed(f"{type(exc).__name__}: {exc}")  # never raises (disk full: best effort)
        raise
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
