"""Tables a run writes from its state: the particles.csv rows of an output time (the simulation
decides when; :mod:`femsim.io.results` writes them)."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from femsim.io.columns import PARTICLES, STRESS_METRIC_PEAKS, names
from femsim.run_state import RunPeaks
from femsim.units import UM

LOG = logging.getLogger("femsim.simulation")
PARTICLE_NAMES = names(PARTICLES)


def particle_rows(time_s: float, stats: Any, table: Any | None, c_max: float, soc: Any,
                  stress: dict[str, np.ndarray] | None, peaks: RunPeaks) -> list[list[Any]]:
    """The particles.csv rows of one output time: the columns of :data:`femsim.io.columns.PARTICLES`,
    then the particle table's pass-through columns.

    Args:
        time_s: the output time.
        stats: :class:`femsim.model.particles.ParticleStatistics` (ids, centroids, volumes, depths in m).
        table: the particle table the mesh was built from (radii in µm, pass-through columns), or None.
        c_max: the cathode's maximum concentration (mol/m³).
        soc: state of charge of a mean concentration (mol/m³ → -).
        stress: the mechanics solver's per-particle stress, or None without mechanics (NaN columns).
        peaks: the run's stress peaks so far.
    """
    mean = stats.mean_concentration()
    lo, hi = stats.surface_extrema()
    n = len(stats.ids)
    nan = np.full(n, np.nan)
    mech = stress is not None
    stress = stress or {}
    radius = stats.equivalent_radius
    extra_cols: list[list[str]] = [[] for _ in range(n)]
    if table is not None:
        index = {int(i): k for k, i in enumerate(table.ids)}
        rows_in_table = [index.get(int(i)) for i in stats.ids]
        radius = np.array([table.radii[k] * UM if k is not None else r for k, r in zip(rows_in_table, radius)])
        extra_cols = [[table.extra[c][k] if k is not None else "" for c in table.extra] for k in rows_in_table]
    columns: dict[str, Any] = {
        "particle_id": [int(i) for i in stats.ids], "x_um": stats.centroid[:, 0] / UM,
        "y_um": stats.centroid[:, 1] / UM, "z_um": stats.centroid[:, 2] / UM, "radius_um": radius / UM,
        "depth_um": stats.depth / UM, "volume_um3": stats.volume / UM**3, "c_mean_over_cmax": mean / c_max,
        "c_surface_min_over_cmax": lo / c_max, "c_surface_max_over_cmax": hi / c_max, "soc": [soc(m) for m in mean],
        **{name: stress.get(name, nan) for name in ("sigma_eq_max_Pa", "sigma_eq_mean_Pa", "sigma_1_max_Pa")},
        "sigma_eq_peak_Pa": peaks.particle_sigma_eq_Pa if mech else nan,
        "clipped": [int(v) for v in stress["clipped"]] if mech else nan,
        **{name: stress.get(name, nan) for name in STRESS_METRIC_PEAKS},
        **(peaks.metrics.columns() if mech else dict.fromkeys(STRESS_METRIC_PEAKS.values(), nan)),
    }
    return [[time_s, *(columns[name][k] for name in PARTICLE_NAMES[1:]), *extra_cols[k]] for k in range(n)]


def particle_table_for(case: Any) -> Any | None:
    """The (adjusted) particle table the mesh was built from, if the case has one."""
    if case.geometry.particle_table is None:
        return None
    from femsim.geometry.pipeline import prepare_table

    table, _ = prepare_table(case)
    return table


def scheduler_environment() -> dict[str, str]:
    """Batch-scheduler variables worth keeping with the results (SLURM array task, job ids, host)."""
    import os
    import socket

    keys = ("SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_JOB_ID", "SLURM_JOB_ID", "SLURM_NTASKS", "SLURM_JOB_PARTITION")
    env = {k: os.environ[k] for k in keys if k in os.environ}
    env["hostname"] = socket.gethostname()
    return env


def damage_cycles_for(damage: Any, cycle_stress: Any, stats: Any, cathode_thickness_m: float, cycles: int) -> Any:
    """The run's :class:`femsim.model.damage_cycles.DamageCycles` (``damage``: the case's ``[damage]``)."""
    from femsim.model.damage_cycles import DamageCycles

    return DamageCycles(damage, cycle_stress, stats.ids, stats.equivalent_radius, stats.depth / UM, stats.centroid / UM,
                        cathode_thickness_m / UM, cycles)


def cycles_to_jump(damage_cycles: Any, step_log: list[dict[str, Any]], entry: dict[str, Any]) -> int:
    """After the cycle that ``entry`` (its last step's log entry) ends: how many cycles to extrapolate."""
    start = next(e["start_s"] for e in step_log if e["cycle"] == entry["cycle"] and e["step"] == 1)
    jump = int(damage_cycles.end_cycle(entry["cycle"], entry["end_s"] - start))
    if jump:
        LOG.info("cycle %d: damage increments agree, cycles %d-%d extrapolated", entry["cycle"],
                 entry["cycle"] + 1, entry["cycle"] + jump)
    return jump


def protocol_fraction(stepper: Any, state: Any, rec: Any) -> float:
    """How far through the protocol a step record is (0-1, for the progress line): by time within the
    present step, or by voltage towards its ``until`` voltage when that is further."""
    n_steps = len(stepper.steps)
    st, step = stepper.state, stepper.step
    within = min((rec.time_s - st.step_start_s) / step.duration_s, 1.0) if step.duration_s else 0.0
    if step.until_voltage_V is not None and step.kind != "hold":
        start = state.switch_voltage()
        start = rec.voltage_V if start is None else start
        if step.until_voltage_V != start:
            within = max(within, (rec.voltage_V - start) / (step.until_voltage_V - start))
    fraction = (st.cycle + (st.step_index + min(max(within, 0.0), 1.0)) / n_steps) / stepper.cycles
    return fraction
