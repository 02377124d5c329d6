"""The columns of the results tables (``docs/results_format.md``), defined once.

The writers (:mod:`femsim.io.results`, :mod:`femsim.simulation`, :mod:`femsim.io.cycles`), the
restart snapshots (:mod:`femsim.io.snapshots`) and the reader (:mod:`postprocess.reader`) all take
their column names from here. Nothing here imports the solver (a results folder is read on a laptop).

* ``timeseries.csv``: the fields of :class:`SeriesRecord`, in order. Adding a time-series column is
  adding a field there (and giving its value where the record is made, ``Simulation.record_step``):
  the CSV header, the snapshot's series array and the reader follow.
* ``particles.csv``, ``probes.csv``, ``cycles.csv``: :data:`PARTICLES`, :data:`PROBES`, :data:`CYCLES`.

A column's ``required`` says whether a reader may count on it: it is in every results folder of
every femsim version (``required=False``: added later, e.g. the cycle columns and the stress metrics).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from femsim.protocol import KINDS


@dataclasses.dataclass(frozen=True)
class Column:
    """One column of a results table: its name (units in the name), unit and meaning."""

    name: str
    unit: str
    doc: str
    #: a reader may count on it (it is in the files of every femsim version)
    required: bool = True


def names(columns: tuple[Column, ...], required_only: bool = False) -> tuple[str, ...]:
    """The column names in file order (only the ``required`` ones if asked)."""
    return tuple(c.name for c in columns if c.required or not required_only)


def _field(unit: str, doc: str, required: bool = True, codes: tuple[str, ...] | None = None) -> Any:
    """A :class:`SeriesRecord` field; ``codes``: a text column stored as its index in snapshots."""
    return dataclasses.field(metadata={"unit": unit, "doc": doc, "required": required, "codes": codes})


@dataclasses.dataclass(frozen=True)
class SeriesRecord:
    """One row of ``timeseries.csv``: an accepted time step, or a protocol-step switch (``dt_s`` = 0)."""

    time_s: float = _field("s", "time at the end of the step")
    current_A: float = _field("A", "cell current (> 0 on charge)")
    voltage_V: float = _field("V", "cell voltage")
    electrolyte_potential_drop_V: float = _field("V", "electrolyte potential drop across the cell")
    soc_mean: float = _field("-", "state of charge of all particles")
    soc_separator_10um: float = _field("-", "state of charge of the particles within 10 µm of the separator")
    soc_collector_10um: float = _field("-", "state of charge of the particles within 10 µm of the collector")
    newton_iterations: int = _field("-", "Newton iterations of the step")
    dt_s: float = _field("s", "time step (0 at a step switch)")
    cycle: int = _field("-", "protocol cycle (1-based)", required=False)
    step: int = _field("-", "protocol step in the cycle (1-based)", required=False)
    step_kind: str = _field("-", "charge, discharge, hold or rest", required=False, codes=KINDS)

    def values(self) -> list[Any]:
        """The CSV row (file column order)."""
        return [getattr(self, f.name) for f in _SERIES_FIELDS]

    def numbers(self) -> list[float]:
        """The row as numbers (a text column as its code), as a snapshot stores it."""
        return [float(f.metadata["codes"].index(v) if f.metadata["codes"] else v)
                for f, v in zip(_SERIES_FIELDS, self.values())]

    @classmethod
    def from_numbers(cls, values: Any, columns: tuple[str, ...] | None = None) -> SeriesRecord:
        """The inverse of :meth:`numbers`; ``columns``: the names of ``values`` (default: this
        femsim's columns). Raises KeyError naming a column that ``values`` lacks."""
        given = dict(zip(columns or SERIES_NAMES, values))
        out: dict[str, Any] = {}
        for f in _SERIES_FIELDS:
            v = given[f.name]
            codes = f.metadata["codes"]
            out[f.name] = codes[int(v)] if codes else int(v) if f.type in ("int", int) else float(v)
        return cls(**out)


_SERIES_FIELDS = dataclasses.fields(SeriesRecord)
#: ``timeseries.csv``
SERIES: tuple[Column, ...] = tuple(Column(f.name, f.metadata["unit"], f.metadata["doc"], f.metadata["required"])
                                   for f in _SERIES_FIELDS)
SERIES_NAMES = names(SERIES)

#: per-particle stress metric (femsim.model.stress_metrics) → the particles.csv column of its run maximum
STRESS_METRIC_PEAKS = {"sigma_eq_p95_Pa": "sigma_eq_p95_peak_Pa",
                       "sigma_1_surface_p95_Pa": "sigma_1_surface_p95_peak_Pa",
                       "failure_probability": "failure_probability_peak"}
_METRIC_UNITS = {"sigma_eq_p95_Pa": "Pa", "sigma_1_surface_p95_Pa": "Pa", "failure_probability": "-"}

#: ``particles.csv`` (followed by the pass-through columns of the particle table)
PARTICLES: tuple[Column, ...] = (
    Column("time_s", "s", "output time"),
    Column("particle_id", "-", "particle id (the particle table's, or the mesh's)"),
    Column("x_um", "µm", "centroid x"),
    Column("y_um", "µm", "centroid y"),
    Column("z_um", "µm", "centroid z (0 at the collector)"),
    Column("radius_um", "µm", "radius (the table's, else that of the meshed volume)"),
    Column("depth_um", "µm", "distance from the separator"),
    Column("volume_um3", "µm³", "meshed volume"),
    Column("c_mean_over_cmax", "-", "volume mean of c/c_max"),
    Column("c_surface_min_over_cmax", "-", "minimum of c/c_max on the surface"),
    Column("c_surface_max_over_cmax", "-", "maximum of c/c_max on the surface"),
    Column("soc", "-", "state of charge of the particle"),
    Column("sigma_eq_max_Pa", "Pa", "nodal maximum of σ_eq (mesh-dependent)"),
    Column("sigma_eq_mean_Pa", "Pa", "volume mean of σ_eq"),
    Column("sigma_1_max_Pa", "Pa", "nodal maximum of σ_1 (mesh-dependent)"),
    Column("sigma_eq_peak_Pa", "Pa", "run maximum of sigma_eq_max_Pa", required=False),
    Column("clipped", "-", "1 when a box face cuts the particle", required=False),
    *(Column(m, _METRIC_UNITS[m], "per-particle stress metric (docs/results_format.md)", required=False)
      for m in STRESS_METRIC_PEAKS),
    *(Column(p, _METRIC_UNITS[m], f"run maximum of {m}", required=False) for m, p in STRESS_METRIC_PEAKS.items()),
)
#: ``probes.csv``
PROBES: tuple[Column, ...] = (
    Column("time_s", "s", "time of the mechanics solve"),
    Column("probe", "-", "Ps (separator side) or Pcc (collector side)"),
    Column("x_um", "µm", "probe point x"),
    Column("y_um", "µm", "probe point y"),
    Column("z_um", "µm", "probe point z"),
    Column("particle_id", "-", "the particle the probe is in"),
    Column("soc", "-", "state of charge at the probe"),
    Column("c_over_cmax", "-", "c/c_max at the probe"),
    Column("sigma_eq_Pa", "Pa", "σ_eq at the probe"),
)
#: ``cycles.csv`` (followed by ``peak_<metric>`` for every per-particle stress metric, with mechanics)
CYCLES: tuple[Column, ...] = (
    Column("cycle", "-", "protocol cycle (1-based)"),
    Column("start_s", "s", "start of the cycle"),
    Column("end_s", "s", "end of the cycle"),
    Column("duration_s", "s", "end − start"),
    Column("charge_capacity_mAh_cm2", "mAh/cm²", "Σ i dt of the charging steps"),
    Column("discharge_capacity_mAh_cm2", "mAh/cm²", "−Σ i dt of the discharging steps"),
    Column("coulombic_efficiency", "-", "discharge / charge capacity"),
    Column("mean_charge_voltage_V", "V", "charge energy / charge capacity"),
    Column("mean_discharge_voltage_V", "V", "discharge energy / discharge capacity"),
    Column("charge_energy_mWh_cm2", "mWh/cm²", "Σ V i dt on charge"),
    Column("discharge_energy_mWh_cm2", "mWh/cm²", "−Σ V i dt on discharge"),
    Column("n_steps", "-", "accepted time steps of the cycle"),
)
