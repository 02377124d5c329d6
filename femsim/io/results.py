"""The results folder of one run (format: ``docs/results_format.md``).

Only rank 0 writes the shared files (CSV, JSON); every file is written atomically, series grow
by whole rows. The manifest ``run.json`` is rewritten on every status change.
"""

from __future__ import annotations

import datetime
import platform
from pathlib import Path
from typing import Any

from femsim.io.atomic import CsvSeries, write_csv, write_json

TIMESERIES_HEADER = ["time_s", "current_A", "voltage_V", "electrolyte_potential_drop_V", "soc_mean",
                     "soc_separator_10um", "soc_collector_10um", "newton_iterations", "dt_s"]
PARTICLES_HEADER = ["time_s", "particle_id", "x_um", "y_um", "z_um", "radius_um", "depth_um", "volume_um3",
                    "c_mean_over_cmax", "c_surface_min_over_cmax", "c_surface_max_over_cmax", "soc",
                    "sigma_eq_max_Pa", "sigma_eq_mean_Pa", "sigma_1_max_Pa", "sigma_eq_peak_Pa"]
PROBES_HEADER = ["time_s", "probe", "x_um", "y_um", "z_um", "particle_id", "soc", "c_over_cmax", "sigma_eq_Pa"]


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
        self._particle_rows: list[list[Any]] = []
        # an uncaught error on any rank aborts them all: the failing rank marks the run failed
        # (rank 0 is then blocked in a collective and writes nothing; the write is atomic)
        from femsim.mpi import on_fatal

        on_fatal("results", self._mark_failed)
        if self.is_root:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.timeseries = CsvSeries(self.folder / "timeseries.csv", TIMESERIES_HEADER, resume=resume)
            self.probes = CsvSeries(self.folder / "probes.csv", PROBES_HEADER, resume=resume)

    def _mark_failed(self, reason: str) -> None:
        if self.manifest:
            manifest = dict(self.manifest, status="failed", reason=reason,
                            updated=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"))
            write_json(self.folder / "run.json", manifest)

    def update_manifest(self, **items: Any) -> None:
        self.manifest.update(items)
        self.manifest["updated"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        if self.is_root:
            write_json(self.folder / "run.json", self.manifest)

    def append_timeseries(self, row: list[Any]) -> None:
        if self.is_root:
            self.timeseries.append(row)

    def append_probe(self, row: list[Any]) -> None:
        if self.is_root:
            self.probes.append(row)

    def add_particle_rows(self, rows: list[list[Any]]) -> None:
        """Add the rows of one output time and rewrite particles.csv atomically."""
        self._particle_rows.extend(rows)
        if self.is_root:
            write_csv(self.folder / "particles.csv", PARTICLES_HEADER + self.extra_particle_columns,
                      self._particle_rows)

    def set_particle_rows(self, rows: list[list[Any]]) -> None:
        """Replace all rows (used on restart)."""
        self._particle_rows = []
        self.add_particle_rows(rows)

    def truncate_after(self, time_s: float) -> None:
        """Drop series rows beyond ``time_s`` (restart from a snapshot)."""
        if self.is_root:
            self.timeseries.truncate_after(time_s)
            self.probes.truncate_after(time_s)
