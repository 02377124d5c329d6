"""Read a results folder (format: ``docs/results_format.md``) without any solver import.

Only numpy (and pyvista, imported lazily, for the VTK field files) are needed, so a results
folder copied off a cluster can be post-processed on a laptop.

Units follow the results format: time in s, CSV lengths in µm, stresses in Pa, potentials in V,
field-file coordinates in m.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from femsim.errors import InputError
from femsim.io import columns as _columns

log = logging.getLogger(__name__)

Table = dict[str, np.ndarray]

#: the columns a reader may count on (every femsim version writes them; the complete lists, with the
#: columns added later, are :data:`femsim.io.columns.SERIES`, ``PARTICLES``, ``PROBES``, ``CYCLES``)
TIMESERIES_COLUMNS = _columns.names(_columns.SERIES, required_only=True)
PARTICLES_COLUMNS = _columns.names(_columns.PARTICLES, required_only=True)
PROBES_COLUMNS = _columns.names(_columns.PROBES, required_only=True)
CYCLES_COLUMNS = _columns.names(_columns.CYCLES, required_only=True)
#: the two probe names of the results format (separator side, collector side)
PROBES = ("Ps", "Pcc")
#: the per-particle stress the fracture comparison and the depth figure use by default: a
#: mesh-converged run peak of particles.csv (benchmarks/results/stress_convergence.json)
FRACTURE_METRIC = "sigma_eq_p95_peak_Pa"
#: what the report calls it
FRACTURE_METRIC_LABEL = "peak p95 σ_eq"


def read_csv_table(path: str | Path, required: tuple[str, ...] = ()) -> Table:
    """Read a CSV with a header into ``{column: array}``.

    Columns whose every non-empty value parses as a float become float arrays (empty cells are
    NaN); other columns stay string arrays. Raises :class:`InputError` naming the file when a
    ``required`` column is missing or a row has the wrong number of cells.
    """
    path = Path(path)
    with open(path, encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.reader(fh) if r]
    if not rows:
        raise InputError("empty CSV file (no header)", file=path)
    header = [h.strip() for h in rows[0]]
    missing = [c for c in required if c not in header]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}", file=path)
    body = rows[1:]
    for i, r in enumerate(body, start=2):
        if len(r) != len(header):
            raise InputError(f"row {i} has {len(r)} cells, header has {len(header)}", file=path)
    table: Table = {}
    for j, name in enumerate(header):
        cells = [r[j].strip() for r in body]
        try:
            table[name] = np.array([float(c) if c else np.nan for c in cells], dtype=float)
        except ValueError:
            table[name] = np.array(cells, dtype=object)
    for name in required:
        if name not in _TEXT_COLUMNS and table[name].dtype == object:
            bad = next(c for c in table[name] if c and not _is_float(c))
            raise InputError(f"column {name} is not numeric (e.g. {bad!r})", file=path)
    return table


_TEXT_COLUMNS = ("probe", "damage_class", "step_kind")


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def plain(value: Any) -> Any:
    """A numpy scalar as the Python scalar (CSV/JSON writers format those exactly)."""
    return value.item() if isinstance(value, np.generic) else value


def select_rows(table: Table, mask: np.ndarray) -> Table:
    """Rows of ``table`` where ``mask`` is true."""
    return {k: v[mask] for k, v in table.items()}


@dataclass
class ResultsFolder:
    """A results folder: the manifest, the CSV series and the paths of the field files.

    Attributes:
        path: the folder.
        run: ``run.json`` as a dict (empty when absent).
        timeseries: ``timeseries.csv`` columns (always present).
        particles: ``particles.csv`` columns, or None when absent.
        probes: ``probes.csv`` columns, or None when absent.
        warnings: problems found while reading (shown in the report).
    """

    path: Path
    run: dict[str, Any]
    timeseries: Table
    particles: Table | None
    probes: Table | None
    warnings: list[str] = field(default_factory=list)

    @classmethod
    def open(cls, path: str | Path) -> ResultsFolder:
        """Read a results folder; :class:`InputError` if it is not one."""
        path = Path(path)
        if not path.is_dir():
            raise InputError("results folder not found", file=path)
        warnings: list[str] = []
        run: dict[str, Any] = {}
        if (path / "run.json").exists():
            try:
                run = json.loads((path / "run.json").read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise InputError(f"invalid JSON: {exc}", file=path / "run.json") from exc
        else:
            warnings.append("run.json not found: case summary and key numbers are partial")
        ts_path = path / "timeseries.csv"
        if not ts_path.exists():
            raise InputError("not a results folder (no timeseries.csv)", file=path)
        timeseries = read_csv_table(ts_path, required=TIMESERIES_COLUMNS)
        particles = probes = None
        if (path / "particles.csv").exists():
            particles = read_csv_table(path / "particles.csv", required=PARTICLES_COLUMNS)
        else:
            warnings.append("particles.csv not found: per-particle figures skipped")
        if (path / "probes.csv").exists():
            probes = read_csv_table(path / "probes.csv", required=PROBES_COLUMNS)
        else:
            warnings.append("probes.csv not found: probe histories skipped")
        if particles is not None and particles["time_s"].size == 0:
            particles = None
            warnings.append("particles.csv has no rows yet: per-particle figures skipped")
        if probes is not None and probes["time_s"].size == 0:
            probes = None
            warnings.append("probes.csv has no rows yet: probe histories skipped")
        return cls(path, run, timeseries, particles, probes, warnings)

    # ------------------------------------------------------------------ metadata
    @property
    def name(self) -> str:
        """Case name: the case file stem when known, else the folder name."""
        case_file = self.run.get("case_file")
        return Path(case_file).stem if case_file else self.path.resolve().name

    @property
    def summary(self) -> Mapping[str, Any]:
        """``run.json`` summary (empty dict when absent)."""
        return self.run.get("summary") or {}

    @property
    def cathode_thickness_um(self) -> float:
        """L_c in µm, from particle rows (depth + z = L_c), else 40 µm."""
        p = self.particles
        if p is not None and len(p["time_s"]):
            return float(np.nanmedian(p["depth_um"] + p["z_um"]))
        return 40.0

    def field_path(self, name: str) -> Path | None:
        """``fields/<name>.pvd`` if it exists, else None."""
        path = self.path / "fields" / f"{name}.pvd"
        return path if path.exists() else None

    # ------------------------------------------------------------------ per particle
    def output_times(self) -> np.ndarray:
        """Sorted distinct output times of ``particles.csv`` (s)."""
        if self.particles is None:
            return np.array([])
        return np.unique(self.particles["time_s"])

    def nearest_output_time(self, time_s: float) -> float:
        """The particles.csv output time nearest ``time_s`` (s)."""
        times = self.output_times()
        if times.size == 0:
            raise InputError("particles.csv has no rows", file=self.path / "particles.csv")
        return float(times[np.argmin(np.abs(times - time_s))])

    def particle_summary(self, time_s: float) -> Table:
        """One row per particle, sorted by id.

        Columns: ``particle_id``, ``x_um``, ``y_um``, ``z_um``, ``radius_um``, ``depth_um``,
        ``volume_um3``, ``soc`` and ``c_mean_over_cmax`` at the output time nearest ``time_s``,
        ``soc_swing`` (max − min of soc over the output times and the initial soc = 0),
        ``peak_sigma_eq_Pa`` (``sigma_eq_peak_Pa``, the nodal peak over every mechanics step, when
        the run wrote it; else the max over the output times of ``sigma_eq_max_Pa``; mesh-dependent),
        ``fracture_metric_Pa`` (the run peak :data:`FRACTURE_METRIC` when the run wrote it, else
        ``peak_sigma_eq_Pa``; :attr:`fracture_metric` names which), ``clipped`` (1/0, NaN if not
        written), and the pass-through ``damage_class`` / ``crack_fraction`` if present.
        """
        p = self.particles
        if p is None:
            raise InputError("particles.csv not found", file=self.path)
        t_sel = self.nearest_output_time(time_s)
        ids = np.unique(p["particle_id"]).astype(int)
        at_t = select_rows(p, np.isclose(p["time_s"], t_sel))
        order = {int(i): k for k, i in enumerate(at_t["particle_id"])}
        out: Table = {"particle_id": ids}
        for col in ("x_um", "y_um", "z_um", "radius_um", "depth_um", "volume_um3", "soc", "c_mean_over_cmax"):
            out[col] = np.array([at_t[col][order[i]] if i in order else np.nan for i in ids])
        pid = p["particle_id"].astype(int)
        soc_swing, peak = [], []
        for i in ids:
            m = pid == i
            soc = p["soc"][m]
            # soc is 0 at t = 0 by definition, which particles.csv need not list
            soc_swing.append(max(np.nanmax(soc), 0.0) - min(np.nanmin(soc), 0.0) if np.isfinite(soc).any() else np.nan)
            # the running peak over every mechanics step when the run wrote it, else output times only
            sig = p["sigma_eq_peak_Pa"][m] if "sigma_eq_peak_Pa" in p else p["sigma_eq_max_Pa"][m]
            peak.append(np.nanmax(sig) if np.isfinite(sig).any() else np.nan)
        out["soc_swing"] = np.array(soc_swing)
        out["peak_sigma_eq_Pa"] = np.array(peak)
        if FRACTURE_METRIC in p:
            out["fracture_metric_Pa"] = np.array([_nanmax(p[FRACTURE_METRIC][pid == i]) for i in ids])
        else:
            out["fracture_metric_Pa"] = out["peak_sigma_eq_Pa"]
        clipped = p["clipped"] if "clipped" in p else np.full(pid.size, np.nan)
        out["clipped"] = np.array([_nanmax(clipped[pid == i]) for i in ids])
        for extra in ("damage_class", "crack_fraction"):
            if extra in p:
                first = {int(i): v for i, v in zip(pid[::-1], p[extra][::-1])}
                out[extra] = np.array([first[int(i)] for i in ids], dtype=p[extra].dtype)
        out["time_s"] = np.full(ids.size, t_sel)
        return out

    @property
    def fracture_metric(self) -> str:
        """The particles.csv column behind ``fracture_metric_Pa`` of :meth:`particle_summary`."""
        p = self.particles
        return FRACTURE_METRIC if p is not None and FRACTURE_METRIC in p else "sigma_eq_peak_Pa"

    def probe_history(self, probe: str) -> Table | None:
        """Rows of ``probes.csv`` for one probe (``Ps`` or ``Pcc``), sorted by time; None if absent."""
        if self.probes is None:
            return None
        rows = select_rows(self.probes, self.probes["probe"].astype(str) == probe)
        if rows["time_s"].size == 0:
            return None
        order = np.argsort(rows["time_s"], kind="stable")
        return {k: v[order] for k, v in rows.items()}


def _nanmax(v: np.ndarray) -> float:
    v = np.asarray(v, dtype=float)
    return float(np.nanmax(v)) if np.isfinite(v).any() else float("nan")


def read_field(path: Path, time_s: float | None = None) -> tuple[Any, float | None]:
    """Read a ``.pvd`` collection at the stored time nearest ``time_s``.

    Returns ``(grid, time)``: one :class:`pyvista.UnstructuredGrid` (pieces merged, coordinates
    in m) and the time actually read (None when the file carries no times).
    """
    import pyvista as pv

    reader = pv.get_reader(str(path))
    t_read: float | None = None
    times = list(getattr(reader, "time_values", []) or [])
    if times:
        target = times[-1] if time_s is None else time_s
        t_read = float(min(times, key=lambda t: abs(t - target)))
        reader.set_active_time_value(t_read)
    data = reader.read()
    grid = _as_grid(data)
    if grid is None or grid.n_points == 0:
        raise InputError("field file holds no mesh at the selected time", file=path)
    if "vtkGhostType" in grid.cell_data:  # parallel pieces: keep each cell once
        owned = np.flatnonzero(np.asarray(grid.cell_data["vtkGhostType"]) == 0)
        if 0 < owned.size < grid.n_cells:
            grid = grid.extract_cells(owned)
    return grid, t_read


def _as_grid(data: Any) -> Any:
    """Merge a (nested) MultiBlock into one UnstructuredGrid."""
    import pyvista as pv

    if isinstance(data, pv.MultiBlock):
        blocks = [b for b in (_as_grid(b) for b in data if b is not None) if b is not None and b.n_cells]
        if not blocks:
            return None
        if len(blocks) == 1:
            return blocks[0].cast_to_unstructured_grid()
        return pv.merge(blocks, merge_points=False)
    return data.cast_to_unstructured_grid() if data is not None else None
