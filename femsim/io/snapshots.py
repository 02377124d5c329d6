"""Restart snapshots: write the run state every N steps / minutes and resume from the newest one.

Format (our own; io4dolfinx/adios4dolfinx cannot be used with the DOLFINx wheel)::

    <results>/snapshots/step_<n>/snapshot.json    manifest (rank 0): format, case hash, n_ranks,
                                                  mesh file sha256, step, time, stepper state,
                                                  run bookkeeping, sha256 of every rank file,
                                                  and ``manifest_sha256``: the sha256 of the
                                                  manifest itself (canonical JSON without it)
    <results>/snapshots/step_<n>/rank_<r>.npz     per-rank arrays: the four unknowns (owned and
                                                  ghost entries), the owned cells' original
                                                  indices (the partition), the time-series rows,
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
import hashlib
import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from femsim.errors import InputError, RunInterrupted
from femsim.io.atomic import atomic_open, write_json

LOG = logging.getLogger(__name__)

FORMAT_VERSION = 2
MANIFEST = "snapshot.json"
KEEP = 2
FAULT_ENV = "FEMSIM_FAULT_INJECT"
#: output keys that may change between a run and its resumption
_OUTPUT_ONLY_KEYS = ("folder", "progress", "snapshot_every_steps", "snapshot_every_minutes")


def case_hash(case: Any) -> str:
    """sha256 of the resolved case without the output-only keys; input files (particle table,
    mesh) count by their content, not their path, so a moved case folder can still resume."""
    data = case.to_dict()
    out = dict(data.get("output", {}))
    for key in _OUTPUT_ONLY_KEYS:
        out.pop(key, None)
    data["output"] = out
    text = json.dumps(_by_content(data), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _by_content(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _by_content(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_by_content(v) for v in value]
    if isinstance(value, str | Path) and Path(value).is_absolute() and Path(value).is_file():
        return "sha256:" + file_sha256(value)
    return value


def file_sha256(path: str | Path) -> str:
    """sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _step_of(path: Path) -> int:
    try:
        return int(path.name.split("_", 1)[1])
    except (IndexError, ValueError):
        return -1


def complete_snapshots(folder: Path) -> list[Path]:
    """``step_*`` snapshot folders, newest first (completeness is checked by :func:`verify`)."""
    if not folder.is_dir():
        return []
    found = [p for p in folder.glob("step_*") if p.is_dir() and _step_of(p) >= 0]
    return sorted(found, key=_step_of, reverse=True)


def _manifest_digest(manifest: dict[str, Any]) -> str:
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    text = json.dumps(body, sort_keys=True, allow_nan=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def seal(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest as plain JSON data with its own checksum ``manifest_sha256`` added."""
    from femsim.io.atomic import _json_default

    plain = json.loads(json.dumps(manifest, default=_json_default, allow_nan=True))
    plain["manifest_sha256"] = _manifest_digest(plain)
    return plain


def binding(case_hash_: str, step: int, time_s: float, rank: int) -> str:
    """What ties a rank file to its snapshot (stored in the file as ``binding``)."""
    return f"{case_hash_}:{int(step)}:{float(time_s)!r}:{int(rank)}"


def verify(path: Path) -> dict[str, Any]:
    """Read a snapshot's manifest, check its own checksum, every rank file's checksum and that the
    rank files belong to this snapshot; raises ValueError."""
    try:
        manifest = json.loads((path / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"unreadable manifest ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_VERSION:
        fmt = manifest.get("format") if isinstance(manifest, dict) else None
        raise ValueError(f"format {fmt!r}, this femsim reads {FORMAT_VERSION}")
    if manifest.get("manifest_sha256") != _manifest_digest(manifest):
        raise ValueError(f"checksum mismatch in {MANIFEST} (edited or damaged)")
    for name, expected in manifest.get("files", {}).items():
        file = path / name
        if not file.is_file():
            raise ValueError(f"missing {name}")
        if file_sha256(file) != expected:
            raise ValueError(f"checksum mismatch in {name}")
    if len(manifest.get("files", {})) != manifest.get("n_ranks"):
        raise ValueError("rank files missing from the manifest")
    if "stepper_state" in manifest:  # restart snapshots: every rank file is bound to this manifest
        for r in range(int(manifest["n_ranks"])):
            try:
                with np.load(path / f"rank_{r}.npz") as data:
                    bound = str(data["binding"]) if "binding" in data.files else None
            except (OSError, ValueError) as exc:
                raise ValueError(f"unreadable rank_{r}.npz ({exc})") from None
            if bound != binding(manifest.get("case_hash", ""), manifest.get("step", -1),
                                manifest.get("time_s", float("nan")), r):
                raise ValueError(f"rank_{r}.npz belongs to another snapshot ({bound})")
    return manifest


def newest_valid(folder: Path, skipped: list[str] | None = None) -> tuple[Path, dict[str, Any]] | None:
    """The newest snapshot that passes :func:`verify` (broken ones are logged as warnings and
    listed in ``skipped``)."""
    for path in complete_snapshots(folder):
        try:
            return path, verify(path)
        except ValueError as exc:
            LOG.warning("skipping snapshot %s: %s; falling back to an older one", path, exc)
            if skipped is not None:
                skipped.append(f"{path.name}: {exc}")
    return None


def _fault_injection(rank: int, step: int) -> None:
    """Test hook: raise on the rank and step named by ``FEMSIM_FAULT_INJECT="rank=R,step=N"``."""
    spec = os.environ.get(FAULT_ENV)
    if not spec:
        return
    try:
        items = dict(part.split("=", 1) for part in spec.split(","))
        want_rank, want_step = int(items.get("rank", "0")), int(items.get("step", "1"))
    except ValueError:
        LOG.warning("ignoring malformed %s=%r", FAULT_ENV, spec)
        return
    if rank == want_rank and step == want_step:
        raise RuntimeError(f"injected fault on rank {rank} at step {step} ({FAULT_ENV})")


def _pack_memory(memory: dict[str, Any] | None) -> dict[str, np.ndarray]:
    """A dict of scalars/None and lists of arrays → npz entries (no pickle)."""
    if memory is None:
        return {"memory_meta": np.array("null")}
    meta: dict[str, Any] = {}
    out: dict[str, np.ndarray] = {}
    for key, value in memory.items():
        if isinstance(value, list | tuple) and all(isinstance(a, np.ndarray) for a in value):
            meta[key] = {"arrays": len(value)}
            out.update({f"memory_{key}_{i}": a for i, a in enumerate(value)})
        else:
            meta[key] = {"value": value.item() if hasattr(value, "item") else value}
    out["memory_meta"] = np.array(json.dumps(meta))
    return out


def _unpack_memory(data: dict[str, np.ndarray]) -> dict[str, Any] | None:
    if "memory_meta" not in data:
        return None
    meta = json.loads(str(data["memory_meta"]))
    if meta is None:
        return None
    return {key: [data[f"memory_{key}_{i}"] for i in range(m["arrays"])] if "arrays" in m else m["value"]
            for key, m in meta.items()}


class _SnapshotTrigger:
    """Wraps the stepper's problem: a due snapshot is written when the next step starts.

    At that point the stepper has finished its bookkeeping of the accepted step (outputs, dt
    growth, start of the rest), so the saved state is exactly the loop-top state. It is also
    where a SIGTERM/SIGINT received while stepping is acted on (on all ranks together): raised
    inside a solver callback, the exception would be swallowed by PETSc as a failed solve.
    """

    def __init__(self, problem: Any, manager: SnapshotManager):
        self._problem, self._manager = problem, manager

    def __getattr__(self, name: str) -> Any:
        return getattr(self._problem, name)

    def step(self, dt: float, applied_current_density: float) -> tuple[bool, int, str]:
        self._manager.check_interrupt()
        if self._manager.pending:
            self._manager.pending = False
            self._manager.write()
        return self._problem.step(dt, applied_current_density)

    def solve_potentials(self, applied_current_density: float) -> tuple[bool, int, str]:
        self._manager.check_interrupt()
        return self._problem.solve_potentials(applied_current_density)


class SnapshotManager:
    """Writes and restores the snapshots of one :class:`femsim.simulation.Simulation`.

    Created at the start of ``Simulation.setup``. On resume it locates the newest complete
    snapshot and checks the case hash and rank count before any output is touched; on a fresh
    run it removes the snapshots of an earlier run in the same folder.
    """

    def __init__(self, sim: Any):
        self.sim, self.comm = sim, sim.comm
        self.folder = Path(sim.folder) / "snapshots"
        out = sim.case.output
        self.every_steps = int(out.snapshot_every_steps)
        self.every_s = float(out.snapshot_every_minutes) * 60.0
        self.case_hash = case_hash(sim.case)
        self.pending = False
        self._last_wall = time.monotonic()
        self.found: tuple[Path, dict[str, Any]] | None = None
        if sim.resume:
            self.found = self._locate()
            if self.comm.rank == 0:
                for stale in self.folder.glob(".tmp_*"):
                    shutil.rmtree(stale, ignore_errors=True)
        elif self.comm.rank == 0 and self.folder.exists():
            shutil.rmtree(self.folder, ignore_errors=True)
        self.comm.barrier()

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
            raise InputError(result, file=str(self.sim.case.source or self.folder))
        return Path(result[0]), result[1]

    def _mesh_file(self) -> Path:
        return Path(self.sim.writer.manifest["mesh"]["file"])

    def _owned_cells(self) -> np.ndarray:
        mesh = self.sim.domain.mesh
        n_owned = mesh.topology.index_map(3).size_local
        return np.asarray(mesh.topology.original_cell_index[:n_owned], dtype=np.int64)

    # -- writing -------------------------------------------------------------------------------
    def attach(self, stepper: Any) -> None:
        """Hook into the stepper: due snapshots, deferred interrupts, the fault-injection test hook."""
        stepper.on_snapshot = self._accepted
        stepper.problem = _SnapshotTrigger(stepper.problem, self)
        self.sim.defer_interrupt = True

    def check_interrupt(self) -> None:
        """Raise the run's interrupt exception if any rank received SIGTERM/SIGINT (collective)."""
        name = getattr(self.sim, "interrupt", None) or ""
        if self.comm.size > 1:
            name = next((n for n in self.comm.allgather(name) if n), "")
        if name:
            raise RunInterrupted(name)

    def _accepted(self, state: Any) -> None:
        _fault_injection(self.comm.rank, state.n_steps)
        due = self.every_steps > 0 and state.n_steps % self.every_steps == 0
        if self.every_s > 0 and not due:
            due = bool(self.comm.bcast(time.monotonic() - self._last_wall >= self.every_s, root=0))
        self.pending = due

    def write(self, diagnostic: bool = False) -> Path | None:
        """Write a snapshot of the current (committed) state on all ranks (collective).

        Failures are logged, not raised: a run is not stopped because a snapshot could not be
        written. Returns the snapshot folder, or None.
        """
        sim, comm = self.sim, self.comm
        state = sim.stepper.state
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
            arrays = {f"u{k}": a for k, a in enumerate(sim.problem.state_arrays())}
            arrays.update(_pack_memory(sim.problem.restart_state()))
            arrays["owned_cells"] = self._owned_cells()
            width = len(sim.rows[0]) if sim.rows else 0
            arrays["series_rows"] = np.array(sim.rows, dtype=float).reshape(len(sim.rows), width)
            arrays["binding"] = np.array(binding(self.case_hash, state.n_steps, state.time_s, comm.rank))
            with atomic_open(tmp / f"rank_{comm.rank}.npz", "wb") as fh:
                np.savez(fh, **arrays)
            digest = file_sha256(tmp / f"rank_{comm.rank}.npz")
        except (OSError, ValueError) as exc:
            LOG.warning("snapshot rank file not written: %s", exc)
        digests = comm.gather(digest, root=0)
        if comm.rank == 0:
            error = self._finish_write(tmp, final, digests, diagnostic)
        error = comm.bcast(error, root=0)
        if error is not None:
            LOG.warning("snapshot not written: %s", error)
            return None
        self._last_wall = time.monotonic()
        LOG.info("snapshot %s at t = %.6g s (%.2f s)", final, state.time_s, time.perf_counter() - t0)
        return final

    def _finish_write(self, tmp: Path, final: Path, digests: list[str | None], diagnostic: bool) -> str | None:
        """Rank 0: manifest, rename into place, prune. Returns an error message or None."""
        sim = self.sim
        if any(d is None for d in digests):
            shutil.rmtree(tmp, ignore_errors=True)
            return "a rank could not write its file"
        state = sim.stepper.state
        manifest = {
            "format": FORMAT_VERSION, "kind": "diagnostic" if diagnostic else "restart",
            "case_hash": self.case_hash, "n_ranks": self.comm.size,
            "mesh_file": str(self._mesh_file()), "mesh_sha256": file_sha256(self._mesh_file()),
            "step": state.n_steps, "time_s": state.time_s,
            "stepper_state": dataclasses.asdict(state),
            "rejected_steps": sim.stepper.rejected_steps,
            "outputs_written": list(sim.outputs_written),
            "steps_since_mechanics": sim.steps_since_mechanics,
            "peak_probe": dict(sim.peak_probe),
            "peak_particle_stress": np.asarray(sim.peak_particle_stress, dtype=float).tolist(),
            "stress_peaks": sim.stress_peaks.to_dict(),
            "cycle_peaks": sim.cycle_peaks,
            "cycle_stress": sim.cycle_stress.to_dict(),
            "particle_rows": sim.writer._particle_rows,
            "files": {f"rank_{r}.npz": d for r, d in enumerate(digests)},
            "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        try:
            write_json(tmp / MANIFEST, seal(manifest))
            if final.exists():
                shutil.rmtree(final)
            os.rename(tmp, final)
            _fsync_dir(self.folder)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            return f"cannot write {final}: {exc}"
        if not diagnostic:
            for old in complete_snapshots(self.folder)[KEEP:]:
                shutil.rmtree(old, ignore_errors=True)
        return None

    # -- resuming ------------------------------------------------------------------------------
    def restore(self, stepper: Any) -> float:
        """Load the located snapshot into the problem, stepper, simulation and results writer.

        Returns the initial voltage (for the progress display). Raises InputError (on every
        rank) when the mesh file or the partition differs from the snapshot's.
        """
        from femsim.solvers.stepping import StepperState

        assert self.found is not None, "restore() without a located snapshot"
        sim, comm = self.sim, self.comm
        path, manifest = self.found
        problem = None
        if comm.rank == 0 and file_sha256(self._mesh_file()) != manifest["mesh_sha256"]:
            problem = f"cannot resume from {path.name}: the mesh file {self._mesh_file()} changed since the snapshot"
        problem = comm.bcast(problem, root=0)
        if problem is None:
            with np.load(path / f"rank_{comm.rank}.npz") as data:
                saved = {k: data[k] for k in data.files}
            arrays = [saved[f"u{k}"] for k in range(len(sim.problem.unknowns))]
            same = (np.array_equal(saved["owned_cells"], self._owned_cells())
                    and all(a.shape == u.x.array.shape for a, u in zip(arrays, sim.problem.unknowns)))
            if not comm.allreduce(same, op=_land()):
                problem = (f"cannot resume from {path.name}: the mesh partition differs from the snapshot's "
                           f"(same mesh and rank count needed)")
        if problem is not None:
            raise InputError(problem, file=str(sim.case.source or self.folder))
        sim.problem.set_state_arrays(arrays)
        for u in sim.problem.unknowns:
            u.x.scatter_forward()
        sim.problem.commit()
        sim.problem.set_restart_state(_unpack_memory(saved))
        stepper.state = StepperState(**manifest["stepper_state"])
        stepper.rejected_steps = int(manifest["rejected_steps"])
        sim.rows = saved["series_rows"].tolist()
        for row in sim.rows:
            row[7] = int(row[7])
            row[9:] = [int(v) for v in row[9:]]  # cycle, step, step-kind code
        sim.outputs_written = [float(t) for t in manifest["outputs_written"]]
        sim.steps_since_mechanics = int(manifest["steps_since_mechanics"])
        sim.peak_probe = {k: float(v) for k, v in manifest["peak_probe"].items()}
        sim.peak_particle_stress = np.array(manifest["peak_particle_stress"], dtype=float)
        sim.stress_peaks.restore(manifest.get("stress_peaks", {}))
        sim.cycle_peaks = {c: dict(p) for c, p in manifest.get("cycle_peaks", {}).items()}
        sim.cycle_stress.restore(manifest.get("cycle_stress", {}))
        sim.writer.truncate_after(float(manifest["time_s"]))
        sim.writer.set_particle_rows(manifest["particle_rows"])
        sim.writer.update_manifest(resumed_from={"snapshot": str(path), "step": manifest["step"],
                                                 "time_s": manifest["time_s"]})
        LOG.info("resumed from %s: step %d, t = %.6g s", path, manifest["step"], manifest["time_s"])
        return float(sim.rows[0][2])


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _land() -> Any:
    from mpi4py import MPI

    return MPI.LAND
