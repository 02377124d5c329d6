"""One run of a case: mesh → domain → coupled problem → adaptive stepping → results folder.

:func:`run_case` is what ``femsim run`` calls; it works unchanged under ``mpiexec -n N``.
The run records its status in ``run.json`` (running → finished / failed / interrupted) and
writes everything described in ``docs/results_format.md``.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from pathlib import Path
from typing import Any

from femsim.errors import RunInterrupted, SolverError
from femsim.geometry import tags
from femsim.interrupts import Interrupts
from femsim.io.columns import PROBES, SeriesRecord, names
from femsim.mpi import CollectiveGarbage
from femsim.parameters import FARADAY
from femsim.run_outputs import particle_table_for, protocol_fraction, scheduler_environment
from femsim.run_state import RunState, SolverState, owned_cells
from femsim.solvers.overfill import OverfillReturn
from femsim.units import C_M2_PER_MAH_CM2, UM

LOG = logging.getLogger(__name__)
PROBE_NAMES = names(PROBES)


@dataclasses.dataclass
class RunResult:
    status: str
    folder: Path
    summary: dict[str, Any]


class Simulation:
    """Set up and run one case (see module docstring).

    The run's state is :attr:`state` (:class:`~femsim.run_state.RunState`, created by :meth:`run`:
    fresh, or read from the newest snapshot on resume); the snapshots (:attr:`snapshots`, a codec)
    are written from the stepper's hooks.
    """

    def __init__(self, case: Any, comm: Any = None, resume: bool = False, interrupts: Interrupts | None = None):
        from femsim.mpi import comm_world

        self.case = case
        self.comm = comm if comm is not None else comm_world()
        self.rank = self.comm.rank
        self.folder = case.results_dir()
        self.resume = resume
        self.interrupts = interrupts if interrupts is not None else Interrupts()
        self.timings: dict[str, float] = {}
        self.t_start = time.perf_counter()
        self.summary: dict[str, Any] = {}
        self.state: RunState | None = None
        self.stepper: Any = None
        self.damage_cycles: Any = None

    # -- set-up ---------------------------------------------------------------------------------
    def setup(self) -> None:
        from femsim.geometry.load import load_mesh
        from femsim.geometry.pipeline import mesh_case
        from femsim.io.results import ResultsWriter, versions
        from femsim.model.domain import Domain
        from femsim.model.particles import ParticleStatistics
        from femsim.parameters import build_material_sets
        from femsim.solvers.halfcell import HalfCellProblem

        case, comm = self.case, self.comm
        table = particle_table_for(case)
        self.table = table
        extra_cols = list(table.extra) if table is not None else []
        from femsim.io.snapshots import SnapshotManager

        self.snapshots = SnapshotManager(self)  # on resume: refuses before any output is touched
        t0 = time.perf_counter()
        msh = mesh_case(case, comm=comm)
        self.snapshots.mesh_file = Path(msh)
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
                                    environment=scheduler_environment())
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
        self.area = self.domain.facet_area(tags.CURRENT_COLLECTOR)
        self.nmc_volume = self.domain.measure_of(tags.PARTICLES)
        q_areal = case.protocol.capacity_mAh_cm2 * C_M2_PER_MAH_CM2
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
        mean_all, mean_sep, mean_cc = self.stats.window_means()
        row = SeriesRecord(time_s=rec.time_s, current_A=rec.current_density_A_m2 * self.area, voltage_V=rec.voltage_V,
                           electrolyte_potential_drop_V=self.problem.electrolyte_potential_drop(),
                           soc_mean=self.soc(mean_all), soc_separator_10um=self.soc(mean_sep),
                           soc_collector_10um=self.soc(mean_cc), newton_iterations=rec.newton_iterations,
                           dt_s=rec.dt_s, cycle=rec.cycle, step=rec.step, step_kind=rec.kind)
        state = self._run_state()
        state.series.append(row)
        self.writer.append_timeseries(row.values())
        state.steps_since_mechanics += 1
        if self.mechanics is not None and state.steps_since_mechanics >= self.case.mechanics.every_n_steps:
            self.solve_mechanics(rec.time_s)

    def _run_state(self) -> RunState:
        assert self.state is not None, "the run state exists once run() started"
        return self.state

    def solve_mechanics(self, time_s: float) -> None:
        t0 = time.perf_counter()
        state = self._run_state()
        mechanics = self.mechanics
        assert mechanics is not None, "solve_mechanics runs only with [mechanics] enabled"
        mechanics.solve(self.problem.particle_concentration)
        state.steps_since_mechanics = 0
        if self.case.mechanics.stress_enhanced_diffusion:  # two-way coupling, σ_h lagged by one step
            self.problem.hydrostatic_stress.interpolate(mechanics.fields()["sigma_hydrostatic_Pa"])
        for probe in mechanics.probes():
            c = float(probe.get("c_over_cmax", float("nan")))
            soc = (self.x0 - c) / self.dx_nominal if math.isfinite(c) else float("nan")
            values = dict(probe, time_s=time_s, soc=soc, c_over_cmax=c)
            self.writer.append_probe([values[name] for name in PROBE_NAMES])
            state.peaks.add_probe(probe["probe"], probe["sigma_eq_Pa"])
        state.peaks.add_particle_stress(state.stepper.cycle + 1, mechanics.particle_stress())
        self.timings["mechanics_s"] = self.timings.get("mechanics_s", 0.0) + time.perf_counter() - t0

    def write_output(self, time_s: float) -> None:
        """particles.csv rows and fields at an output time."""
        t0 = time.perf_counter()
        state = self._run_state()
        if self.mechanics is not None and state.steps_since_mechanics > 0:
            self.solve_mechanics(time_s)
        state.particle_rows.extend(self._particle_rows(time_s))
        self.writer.write_particles(state.particle_rows)
        if self.fields is not None:
            extra = list(self.mechanics.fields().values()) if self.mechanics is not None else []
            self.fields.write(time_s, extra)
        state.outputs_written.append(time_s)
        self.timings["output_s"] = self.timings.get("output_s", 0.0) + time.perf_counter() - t0

    def _particle_rows(self, time_s: float) -> list[list[Any]]:
        from femsim.run_outputs import particle_rows

        stress = self.mechanics.particle_stress() if self.mechanics is not None else None
        return particle_rows(time_s, self.stats, self.table, self.problem.c_max, self.soc, stress,
                             self._run_state().peaks)

    # -- the run -------------------------------------------------------------------------------
    def _start_state(self) -> RunState:
        """A fresh run state and initial solution, or both read from the newest snapshot."""
        problem = self.problem
        if not self.resume:
            problem.set_initial_state()
            return RunState.fresh(len(self.stats.ids), self.case.solver.dt_initial_s)
        snap = self.snapshots.read(owned_cells(self.domain.mesh), [a.shape for a in problem.state_arrays()])
        snap.solver.apply_to(problem)
        self.writer.truncate_after(snap.time_s)
        self.writer.write_particles(snap.run.particle_rows)
        self.writer.update_manifest(resumed_from={"snapshot": str(snap.path), "step": snap.step, "time_s": snap.time_s})
        LOG.info("resumed from %s: step %d, t = %.6g s", snap.path, snap.step, snap.time_s)
        return snap.run

    def solver_state(self) -> SolverState:
        return SolverState.of(self.problem, self.domain.mesh)

    def _before_time_step(self) -> None:
        """At the loop top (the stepper's ``before_time_step``): act on a signal, write a due snapshot."""
        self.interrupts.check(self.comm)
        self.snapshots.write_if_due(self._run_state(), self.solver_state)

    def run(self) -> RunResult:
        from femsim.io.progress import Progress
        from femsim.protocol_termination import stop_at_termination
        from femsim.run_outputs import cycles_to_jump
        from femsim.solvers.stepping import stepper_for

        case = self.case
        state = self._start_state()
        stepper = stepper_for(self.problem, case, state.stepper)
        self.state, self.stepper = state, stepper
        self.damage_cycles = self._make_damage_cycles()
        if self.resume:
            self.write_damage()  # the feedback factors of the restored damage
        progress = Progress(case.output.progress, self.rank)
        garbage = CollectiveGarbage(self.comm)
        n_steps = len(stepper.steps)

        def on_step(rec: Any) -> None:
            garbage.collect()
            self.record_step(rec)
            if rec.time_s == 0.0 and 0.0 in case.output.times_s and 0.0 not in state.outputs_written:
                self.write_output(0.0)
            fraction = protocol_fraction(stepper, state, rec)
            progress.update(fraction, f"{stepper.label()} t={rec.time_s:7.1f} s V={rec.voltage_V:.4f} V "
                                      f"i={rec.current_density_A_m2:.4g} A/m² dt={rec.dt_s:.3g} s")

        def on_step_end(entry: dict[str, Any]) -> None:
            if entry["step"] == n_steps:
                if not stop_at_termination(case.protocol, stepper.state, entry) and self.damage_cycles is not None:
                    # the cycles to jump over ([damage] max_jump_cycles) are skipped
                    stepper.state.cycle += cycles_to_jump(self.damage_cycles, stepper.state.step_log, entry)
                self.write_cycles()

        stepper.before_time_step.append(self._before_time_step)
        stepper.before_switch.append(lambda: self.interrupts.check(self.comm))
        if case.solver.return_overfill:  # before the potentials are re-solved (femsim.solvers.overfill)
            factors = self.problem.damage_factors if self.problem.detachment else None
            connected = (lambda: factors.global_values("contact_conductance_S_m2") > 0.0) if factors else None
            stepper.before_switch.append(OverfillReturn(self.domain, self.problem.particle_concentration,
                                                        self.problem.c_max, connected).apply)
        stepper.on_step.append(on_step)
        stepper.on_accepted.append(self.snapshots.accepted)
        stepper.on_step_end.append(on_step_end)
        stepper.on_output.append(self.write_output)
        self.interrupts.deferred = True
        t0 = time.perf_counter()
        try:
            with garbage:
                termination = stepper.run()
        finally:
            progress.close()
            self.timings["stepping_s"] = time.perf_counter() - t0
        written = state.outputs_written
        if case.output.final_output and (not written or abs(written[-1] - stepper.state.time_s) > 1e-9):
            self.write_output(stepper.state.time_s)
        self.write_cycles()
        return self._finish("finished", termination)

    def write_cycles(self) -> None:
        """Rewrite cycles.csv from the series (rank 0 writes; atomic)."""
        from femsim.io.cycles import cycle_rows

        state = self._run_state()
        if not state.series:
            return
        peaks = {int(k): v for k, v in state.peaks.per_cycle.items()}
        metrics = state.peaks.stress_metric_names() if self.mechanics is not None else []
        header, rows = cycle_rows(state.series_table(), self.area, peaks, metrics)
        self.writer.write_cycles(header, rows)
        self.write_damage()

    def _make_damage_cycles(self) -> Any:
        if not self.case.damage.enabled or self.mechanics is None:
            return None
        from femsim.run_outputs import damage_cycles_for

        return damage_cycles_for(self.case.damage, self._run_state().peaks.cycle_stress, self.stats,
                                 self.cathode_thickness, self.stepper.cycles)

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
        summary: dict[str, Any] = {"termination": termination}
        if self.state is not None:
            summary.update(self.state.series_summary(self.area, len(self.stepper.steps)))
            if self.mechanics is not None:
                summary.update(self.state.peaks.summary())
        if getattr(self, "damage_cycles", None) is not None:
            summary.update(self.damage_cycles.summary())
        summary.update(n_dofs=self.problem.n_dofs, solver_preset=self.problem.preset,
                       jacobian_assemblies=self.problem.jacobian_assemblies,
                       wall_time_s=time.perf_counter() - self.t_start,
                       mechanics_wall_time_s=self.timings.get("mechanics_s", 0.0))
        self.summary = summary
        self.writer.update_manifest(status=status, reason=reason, summary=summary, timings=self.timings)
        if self.fields is not None:
            self.fields.close()
        return RunResult(status, self.folder, summary)


def run_case(case: Any, comm: Any = None, resume: bool = False) -> RunResult:
    """Run a validated case; returns the status, results folder and summary.

    Solver failures (step below the minimum) end with status ``failed`` (not an exception);
    SIGTERM/SIGINT end with status ``interrupted``.
    """
    interrupts = Interrupts()
    sim = Simulation(case, comm, resume, interrupts)
    interrupts.install()
    try:
        sim.setup()
        interrupts.install()  # again: gmsh and PETSc install their own C handlers during set-up
        return sim.run()
    except SolverError as exc:
        LOG.error("run failed: %s", exc)
        if sim.state is not None:
            diag = sim.snapshots.write(sim.state, sim.solver_state(), diagnostic=True)  # never resumed from
            sim.writer.update_manifest(diagnostic_snapshot=str(diag) if diag else None)
        if getattr(sim, "fields", None) is not None and sim.state is not None:
            sim.write_output(sim.state.stepper.time_s)
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
        interrupts.restore()
