"""Restart snapshots: a codec between a run's state and files, written every N steps / minutes;
a run resumes from the newest valid one.

:class:`SnapshotManager` writes a :class:`~femsim.run_state.RunState` and a
:class:`~femsim.run_state.SolverState` and reads them back; it knows nothing of the simulation
that owns them (the simulation decides when, through the stepper's hooks, and applies what is read).

Format (our own; io4dolfinx/adios4dolfinx cannot be used with the DOLFINx wheel)::

    <results>/snapshots/step_<n>/snapshot.json    manifest (rank 0): format, case hash, n_ranks,
                                                  mesh file sha256, step, time, stepper state,
                                                  run bookkeeping, sha256 of every rank file,
                                                  and ``manifest_sha256``: the sha256 of the
                                                  manifest itself (canonical JSON without it)
    <results>/snapshots/step_<n>/rank_<r>.npz     per-rank arrays: the four unknowns (owned and
                                                  ghost entries), the solver memory, the owned
                                                  cells' original indices (the partition), the
                                                  time-series rows (as numbers, columns named by
                                                  the manifest's ``series_columns``),
                                                  ``binding``: case hash, step, time and rank of the
                                                  snapshot it belongs to

Any edit or bit flip of a manifest or a rank file, or a rank file of another snapshot, fails
:func:`verify`; resuming then falls back to the previous complete snapshot with a warning, and is
refused (naming every snapshot skipped and why) when none is left.

A snapshot is written into ``.tmp_step_<n>`` and renamed to ``step_<n>`` once every rank file and
the manifest are on disk, so ``step_*`` folders are always complete; the newest two are kept. A
snapshot represents the state at the top of the stepping loop right after accepted step ``n``
(committed solution, grown dt, outputs of that time written), so the resumed run repeats exactly
the step sequence of an uninterrupted run. Resuming needs the same case (hash of the resolved case
without output-only keys), the same rank count and the same mesh file and partition; otherwise it
is refused with an :class:`~femsim.errors.InputError`. A failed run leaves a ``diagnostic_<n>``
snapshot (never used for resuming).

Test hook: ``FEMSIM_FAULT_INJECT="rank=R,step=N"`` raises a RuntimeError on rank R after accepted
step N (used by the MPI fault test; never set it in production runs).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from femsim.errors import InputError
from femsim.io.atomic import atomic_open, write_json
from femsim.io.columns import SERIES_NAMES, SeriesRecord
from femsim.io.snapshot_files import (
    FAULT_ENV,
    FORMAT_VERSION,
    KEEP,
    MANIFEST,
    binding,
    case_hash,
    complete_snapshots,
    fault_injection,
    file_sha256,
    fsync_dir,
    newest_valid,
    pack_memory,
    seal,
    unpack_memory,
    verify,
)
from femsim.model.damage_history import CycleStressHistory
from femsim.model.stress_metrics import StressPeaks
from femsim.run_state import RunPeaks, RunState, SolverState
from femsim.solvers.stepper_state import StepperState

__all__ = ["FAULT_ENV", "FORMAT_VERSION", "KEEP", "MANIFEST", "InputError", "Snapshot", "SnapshotManager", "binding",
           "case_hash", "complete_snapshots", "file_sha256", "newest_valid", "seal", "verify"]

LOG = logging.getLogger(__name__)
_fault_injection = fault_injection  # the name the reliability tests use
#: the time-series columns of snapshots written before the manifest named them (femsim ≤ b8e9256)
LEGACY_SERIES_COLUMNS = ("time_s", "current_A", "voltage_V", "electrolyte_potential_drop_V", "soc_mean",
                         "soc_separator_10um", "soc_collector_10um", "newton_iterations", "dt_s", "cycle", "step",
                         "step_kind")


@dataclasses.dataclass
class Snapshot:
    """A snapshot read back: the run state, this rank's solver state, where it came from."""

    run: RunState
    solver: SolverState
    path: Path
    step: int
    time_s: float


def encode_run_state(run: RunState) -> dict[str, Any]:
    """The manifest entries of a run state (JSON data; the series goes to the rank files)."""
    stepper = dataclasses.asdict(run.stepper)
    rejected = stepper.pop("rejected_steps")
    peaks = run.peaks
    return {"stepper_state": stepper, "rejected_steps": rejected, "outputs_written": list(run.outputs_written),
            "steps_since_mechanics": run.steps_since_mechanics, "peak_probe": dict(peaks.probe_sigma_eq_Pa),
            "peak_particle_stress": np.asarray(peaks.particle_sigma_eq_Pa, dtype=float).tolist(),
            "stress_peaks": peaks.metrics.to_dict(), "cycle_peaks": peaks.per_cycle,
            "cycle_stress": peaks.cycle_stress.to_dict(), "particle_rows": run.particle_rows,
            "series_columns": list(SERIES_NAMES)}


def decode_run_state(manifest: dict[str, Any], series_rows: np.ndarray) -> RunState:
    """The inverse of :func:`encode_run_state` (``series_rows``: the rank file's numbers)."""
    stepper = StepperState(**manifest["stepper_state"])
    stepper.rejected_steps = int(manifest["rejected_steps"])
    n = len(manifest["peak_particle_stress"])
    metrics, cycle_stress = StressPeaks(n), CycleStressHistory(n)
    metrics.restore(manifest.get("stress_peaks", {}))
    cycle_stress.restore(manifest.get("cycle_stress", {}))
    peaks = RunPeaks({k: float(v) for k, v in manifest["peak_probe"].items()},
                     np.array(manifest["peak_particle_stress"], dtype=float), metrics,
                     {c: dict(p) for c, p in manifest.get("cycle_peaks", {}).items()}, cycle_stress)
    columns = tuple(manifest.get("series_columns", LEGACY_SERIES_COLUMNS))
    series = [SeriesRecord.from_numbers(row, columns) for row in series_rows.tolist()]
    return RunState(stepper, peaks, series, list(manifest["particle_rows"]),
                    [float(t) for t in manifest["outputs_written"]], int(manifest["steps_since_mechanics"]))


class SnapshotManager:
    """Writes and reads the snapshots of one run (see the module docstring).

    Args:
        run: what identifies the run: any object with ``comm``, ``folder`` (the results folder),
            ``case`` and ``resume``. Nothing else of it is read.

    Created before any output is touched: on resume it locates the newest valid snapshot and checks
    the case hash and rank count; on a fresh run it removes the snapshots of an earlier run in the
    same folder. :attr:`mesh_file` must be set before the first :meth:`write` / :meth:`read`.
    """

    def __init__(self, run: Any):
        self.run, self.comm = run, run.comm
        self.folder = Path(run.folder) / "snapshots"
        out = run.case.output
        self.every_steps = int(out.snapshot_every_steps)
        self.every_s = float(out.snapshot_every_minutes) * 60.0
        self.case_hash = case_hash(run.case)
        self.mesh_file: Path | None = None
        self.pending = False
        self._last_wall = time.monotonic()
        self.found: tuple[Path, dict[str, Any]] | None = None
        if run.resume:
            self.found = self._locate()
            if self.comm.rank == 0:
                for stale in self.folder.glob(".tmp_*"):
                    shutil.rmtree(stale, ignore_errors=True)
        elif self.comm.rank == 0 and self.folder.exists():
            shutil.rmtree(self.folder, ignore_errors=True)
        self.comm.barrier()

    @property
    def sim(self) -> Any:
        """The run identity given to the constructor (the name the reliability tests use)."""
        return self.run

    def _refuse(self, message: str) -> InputError:
        return InputError(message, file=str(self.run.case.source or self.folder))

    # -- resume checks -------------------------------------------------------------------------
    def _locate(self) -> tuple[Path, dict[str, Any]]:
        result: Any = None
        if self.comm.rank == 0:
            skipped: list[str] = []
            found = newest_valid(self.folder, skipped)
            if found is None:
                result = f"cannot resume: no complete snapshot in {self.folder}" + (
                    f" (skipped {'; '.join(skipped)})" if skipped else "")
            else:
                path, manifest = found
                if manifest["n_ranks"] != self.comm.size:
                    result = (f"cannot resume: snapshot {path.name} was written by {manifest['n_ranks']} rank(s), "
                              f"this run has {self.comm.size} (run with mpiexec -n {manifest['n_ranks']})")
                elif manifest["case_hash"] != self.case_hash:
                    result = (f"cannot resume: the case changed since snapshot {path.name} was written "
                              f"(case hash {manifest['case_hash'][:12]} != {self.case_hash[:12]})")
                else:
                    result = (str(path), manifest)
        result = self.comm.bcast(result, root=0)
        if isinstance(result, str):
            raise self._refuse(result)
        return Path(result[0]), result[1]

    # -- writing -------------------------------------------------------------------------------
    def accepted(self, state: Any) -> None:
        """After an accepted step (the stepper's ``on_accepted`` hook): is a snapshot due? It is
        written by :meth:`write_if_due` when the next step starts. Also the fault-injection hook."""
        fault_injection(self.comm.rank, state.n_steps)
        due = self.every_steps > 0 and state.n_steps % self.every_steps == 0
        if self.every_s > 0 and not due:
            due = bool(self.comm.bcast(time.monotonic() - self._last_wall >= self.every_s, root=0))
        self.pending = due

    _accepted = accepted  # the name the reliability tests use

    def write_if_due(self, run: RunState, solver: Any) -> None:
        """Write the snapshot :meth:`accepted` found due (``solver``: a callable giving the
        :class:`SolverState`, called only then). Collective."""
        if self.pending:
            self.pending = False
            self.write(run, solver())

    def write(self, run: RunState, solver: SolverState, diagnostic: bool = False) -> Path | None:
        """Write a snapshot of the (committed) state on all ranks (collective).

        Failures are logged, not raised: a run is not stopped because a snapshot could not be
        written. Returns the snapshot folder, or None.
        """
        comm, state = self.comm, run.stepper
        name = f"{'diagnostic' if diagnostic else 'step'}_{state.n_steps:08d}"
        final, tmp = self.folder / name, self.folder / f".tmp_{name}"
        t0 = time.perf_counter()
        error: str | None = None
        if comm.rank == 0:
            try:
                shutil.rmtree(tmp, ignore_errors=True)
                tmp.mkdir(parents=True)
            except OSError as exc:
                error = f"cannot create {tmp}: {exc}"
        error = comm.bcast(error, root=0)
        if error is not None:
            LOG.warning("snapshot not written: %s", error)
            return None
        digest: str | None = None
        try:
            arrays: dict[str, Any] = {f"u{k}": a for k, a in enumerate(solver.unknowns)}
            arrays.update(pack_memory(solver.memory))
            arrays["owned_cells"] = solver.owned_cells
            width = len(SERIES_NAMES) if run.series else 0
            arrays["series_rows"] = np.array([r.numbers() for r in run.series], dtype=float).reshape(
                len(run.series), width)
            arrays["binding"] = np.array(binding(self.case_hash, state.n_steps, state.time_s, comm.rank))
            with atomic_open(tmp / f"rank_{comm.rank}.npz", "wb") as fh:
                np.savez(fh, **arrays)
            digest = file_sha256(tmp / f"rank_{comm.rank}.npz")
        except (OSError, ValueError) as exc:
            LOG.warning("snapshot rank file not written: %s", exc)
        digests = comm.gather(digest, root=0)
        if comm.rank == 0:
            error = self._finish_write(run, tmp, final, digests, diagnostic)
        error = comm.bcast(error, root=0)
        if error is not None:
            LOG.warning("snapshot not written: %s", error)
            return None
        self._last_wall = time.monotonic()
        LOG.info("snapshot %s at t = %.6g s (%.2f s)", final, state.time_s, time.perf_counter() - t0)
        return final

    def _finish_write(self, run: RunState, tmp: Path, final: Path, digests: list[str | None],
                      diagnostic: bool) -> str | None:
        """Rank 0: manifest, rename into place, prune. Returns an error message or None."""
        if any(d is None for d in digests):
            shutil.rmtree(tmp, ignore_errors=True)
            return "a rank could not write its file"
        assert self.mesh_file is not None, "SnapshotManager.mesh_file not set"
        state = run.stepper
        manifest = {
            "format": FORMAT_VERSION, "kind": "diagnostic" if diagnostic else "restart",
            "case_hash": self.case_hash, "n_ranks": self.comm.size,
            "mesh_file": str(self.mesh_file), "mesh_sha256": file_sha256(self.mesh_file),
            "step": state.n_steps, "time_s": state.time_s,
            **encode_run_state(run),
            "files": {f"rank_{r}.npz": d for r, d in enumerate(digests)},
            "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        try:
            write_json(tmp / MANIFEST, seal(manifest))
            if final.exists():
                shutil.rmtree(final)
            os.rename(tmp, final)
            fsync_dir(self.folder)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            return f"cannot write {final}: {exc}"
        if not diagnostic:
            for old in complete_snapshots(self.folder)[KEEP:]:
                # renamed first (atomic), then removed: a kill during the removal leaves a
                # ``.tmp_*`` folder (cleaned on resume), never a ``step_*`` without its manifest
                doomed = old.with_name(f".tmp_pruned_{old.name}")
                try:
                    os.rename(old, doomed)
                except OSError:
                    continue
                shutil.rmtree(doomed, ignore_errors=True)
        return None

    # -- reading -------------------------------------------------------------------------------
    def read(self, owned_cells: np.ndarray, shapes: list[tuple[int, ...]]) -> Snapshot:
        """Read the located snapshot (collective).

        Args:
            owned_cells: this rank's owned cells (original indices) in the present run.
            shapes: the shapes of the present problem's unknown arrays.

        Raises InputError (on every rank) when the mesh file, the partition or the time-series
        columns differ from the snapshot's.
        """
        assert self.found is not None, "read() without a located snapshot"
        assert self.mesh_file is not None, "SnapshotManager.mesh_file not set"
        comm = self.comm
        path, manifest = self.found
        problem = None
        if comm.rank == 0 and file_sha256(self.mesh_file) != manifest["mesh_sha256"]:
            problem = f"cannot resume from {path.name}: the mesh file {self.mesh_file} changed since the snapshot"
        problem = comm.bcast(problem, root=0)
        if problem is None:
            with np.load(path / f"rank_{comm.rank}.npz") as data:
                saved = {k: data[k] for k in data.files}
            arrays = [saved[f"u{k}"] for k in range(len(shapes))]
            same = (np.array_equal(saved["owned_cells"], owned_cells)
                    and all(a.shape == tuple(s) for a, s in zip(arrays, shapes)))
            if not comm.allreduce(same, op=_land()):
                problem = (f"cannot resume from {path.name}: the mesh partition differs from the snapshot's "
                           f"(same mesh and rank count needed)")
        if problem is not None:
            raise self._refuse(problem)
        missing = [c for c in SERIES_NAMES if c not in manifest.get("series_columns", LEGACY_SERIES_COLUMNS)]
        if missing:  # the same manifest on every rank: refused on all
            raise self._refuse(f"cannot resume from {path.name}: its time series has no column(s) "
                               f"{', '.join(missing)} (written by another femsim version)")
        run = decode_run_state(manifest, saved["series_rows"])
        solver = SolverState(arrays, unpack_memory(saved), saved["owned_cells"])
        return Snapshot(run, solver, path, int(manifest["step"]), float(manifest["time_s"]))


def _land() -> Any:
    from mpi4py import MPI

    return MPI.LAND
