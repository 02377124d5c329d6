"""The results folder of one run (format: ``docs/results_format.md``).

Only rank 0 writes the shared files (CSV, JSON); every file is written atomically, series grow
by whole rows. The manifest ``run.json`` is rewritten on every status change. Every writing
method is called on all ranks: an OSError on rank 0 (disk full, read-only) is raised on every rank
together (:func:`femsim.mpi.raise_together`). A 64 KiB reserve file ``.run.json.reserve`` is kept
while the run lasts, so that on a full disk it can be given up to record ``status = "failed"``.
"""

from __future__ import annotations

import datetime
import platform
from pathlib import Path
from typing import Any

from femsim.io.atomic import CsvSeries, write_csv, write_json
from femsim.io.columns import PARTICLES, PROBES, SERIES_NAMES, names
from femsim.mpi import raise_together

RESERVE_NAME = ".run.json.reserve"
RESERVE_BYTES = 64 * 1024
#: a resolved case larger than this (as JSON) is kept in run.json by reference (case file + sha256)
CASE_INLINE_MAX_BYTES = 1_000_000


def case_record(case: dict[str, Any], case_file: str | None) -> dict[str, Any]:
    """run.json's ``case``: the resolved case itself, or, above :data:`CASE_INLINE_MAX_BYTES`,
    ``{"by_reference": case file, "sha256": sha256 of its canonical JSON, "bytes": size}``
    (the canonical JSON is ``json.dumps(case, sort_keys=True, default=str)``)."""
    import hashlib
    import json

    text = json.dumps(case, sort_keys=True, default=str)
    if len(text) <= CASE_INLINE_MAX_BYTES:
        return case
    return {"by_reference": case_file, "sha256": hashlib.sha256(text.encode()).hexdigest(), "bytes": len(text)}

#: file headers (the columns are defined in :mod:`femsim.io.columns`)
TIMESERIES_HEADER = list(SERIES_NAMES)
PARTICLES_HEADER = list(names(PARTICLES))
PROBES_HEADER = list(names(PROBES))


def versions() -> dict[str, str]:
    """Versions of femsim and its numerical stack."""
    import numpy

    import femsim

    out = {"femsim": femsim.__version__, "python": platform.python_version(), "numpy": numpy.__version__}
    try:
        from femsim.mpi import import_dolfinx

        dolfinx = import_dolfinx()
        from petsc4py import PETSc

        out["dolfinx"] = dolfinx.__version__
        out["petsc"] = ".".join(map(str, PETSc.Sys.getVersion()))
    except ImportError:  # pragma: no cover
        pass
    try:
        import gmsh

        out["gmsh"] = gmsh.__version__
    except (ImportError, AttributeError):  # pragma: no cover
        pass
    return out


class ResultsWriter:
    """Writes the CSV series, the particle table and the manifest of a run (rank 0 only)."""

    def __init__(self, folder: str | Path, comm: Any, resume: bool = False,
                 extra_particle_columns: list[str] | None = None):
        self.folder = Path(folder)
        self.comm = comm
        self.is_root = comm.rank == 0
        self.manifest: dict[str, Any] = {}
        self.extra_particle_columns = list(extra_particle_columns or [])
        # an uncaught error on any rank aborts them all: the failing rank marks the run failed
        # (rank 0 is then blocked in a collective and writes nothing; the write is atomic)
        from femsim.mpi import on_fatal

        on_fatal("results", self.mark_failed)
        self._on_root(self._open, resume)

    def _open(self, resume: bool) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        reserve = self.folder / RESERVE_NAME
        if not reserve.is_file() or reserve.stat().st_size < RESERVE_BYTES:
            reserve.write_bytes(b"\0" * RESERVE_BYTES)
        self.timeseries = CsvSeries(self.folder / "timeseries.csv", TIMESERIES_HEADER, resume=resume)
        self.probes = CsvSeries(self.folder / "probes.csv", PROBES_HEADER, resume=resume)

    def _on_root(self, fn: Any, *args: Any) -> None:
        """Run ``fn`` on rank 0; its OSError is raised on every rank."""
        error = None
        if self.is_root:
            try:
                fn(*args)
            except OSError as exc:
                error = exc
        raise_together(self.comm, error)

    def mark_failed(self, reason: str) -> bool:
        """Record ``status = "failed"`` with ``reason`` in run.json wherever it can still be written
        (giving up the reserve file on a full disk); never raises, not collective. Returns whether
        run.json was written. Any rank may call it (the failing one, before an MPI abort)."""
        if not self.manifest:
            return False
        self.manifest.update(status="failed", reason=reason)
        manifest = dict(self.manifest, updated=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"))
        for attempt in range(2):
            try:
                write_json(self.folder / "run.json", manifest)
                return True
            except OSError:
                if attempt == 0:
                    try:
                        (self.folder / RESERVE_NAME).unlink()
                    except OSError:
                        return False
        return False

    def update_manifest(self, **items: Any) -> None:
        if isinstance(items.get("case"), dict):
            items["case"] = case_record(items["case"], items.get("case_file", self.manifest.get("case_file")))
        self.manifest.update(items)
        self.manifest["updated"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        self._on_root(write_json, self.folder / "run.json", self.manifest)
        if items.get("status") in ("finished", "failed", "interrupted") and self.is_root:
            (self.folder / RESERVE_NAME).unlink(missing_ok=True)

    def append_timeseries(self, row: list[Any]) -> None:
        self._on_root(lambda: self.timeseries.append(row))

    def append_probe(self, row: list[Any]) -> None:
        self._on_root(lambda: self.probes.append(row))

    def write_cycles(self, header: list[str], rows: list[list[Any]]) -> None:
        """Rewrite cycles.csv (one row per cycle so far) atomically."""
        if self.is_root:
            write_csv(self.folder / "cycles.csv", header, rows)

    def write_table(self, name: str, header: Any, rows: list[Any]) -> None:
        """Rewrite a whole table of the results folder atomically (rank 0)."""
        if self.is_root:
            write_csv(self.folder / name, header, rows)

    def write_particles(self, rows: list[list[Any]]) -> None:
        """Rewrite particles.csv atomically with ``rows`` (every output time so far)."""
        self._on_root(write_csv, self.folder / "particles.csv", PARTICLES_HEADER + self.extra_particle_columns, rows)

    def truncate_after(self, time_s: float) -> None:
        """Drop series rows beyond ``time_s`` (restart from a snapshot)."""
        def truncate() -> None:
            self.timeseries.truncate_after(time_s)
            self.probes.truncate_after(time_s)

        self._on_root(truncate)
