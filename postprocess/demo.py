"""A small synthetic-but-consistent results folder (tests, ``femsim report --demo``-style checks).

It follows ``docs/results_format.md`` exactly: CSV series, ``run.json`` and VTK ``.pvd``
collections of a particle mesh (a dozen tetrahedralised spheres, coordinates in m) and an
electrolyte box. The numbers are made up but obey the format's relations (depth = L_c − z,
soc = (x0 − x)/Δx, probes P_s / P_cc in the shallowest / deepest particle).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from femsim.io.atomic import write_csv, write_json, write_text
from postprocess.reader import PARTICLES_COLUMNS, PROBES_COLUMNS, TIMESERIES_COLUMNS, plain

L_C_UM = 40.0  #: cathode thickness (µm)
L_S_UM = 25.0  #: separator thickness (µm)
SIDE_UM = 20.0  #: RVE lateral size (µm)
X0, DX = 0.917, 0.659  #: initial stoichiometry and nominal swing
OUTPUT_TIMES = (0.0, 150.0, 300.0)  #: field / particle output times (s)
CLASSES = ("least", "mild", "severe")


def _rows(rows: list[list[Any]]) -> list[list[Any]]:
    return [[plain(v) for v in r] for r in rows]


def _particles() -> dict[str, np.ndarray]:
    """Twelve particles, three per 10-µm depth window (µm)."""
    rng = np.random.default_rng(7)
    z = np.array([35, 33, 36, 25, 26, 24, 15, 16, 14, 5.5, 6, 5], dtype=float)
    x = np.tile([5.0, 15.0, 10.0], 4) + rng.uniform(-1, 1, 12)
    y = np.tile([5.0, 10.0, 15.0], 4) + rng.uniform(-1, 1, 12)
    r = 2.6 + rng.uniform(0, 0.8, 12)
    return {"id": np.arange(1, 13), "x": x, "y": y, "z": z, "r": r}


def _soc(t: np.ndarray | float, depth: float) -> np.ndarray:
    """Synthetic per-particle state of charge: shallow particles charge faster."""
    return np.asarray(t) / 720.0 * (1.3 - 0.6 * depth / L_C_UM)


def _sigma_peak(t: np.ndarray | float, depth: float, pid: int) -> np.ndarray:
    """Synthetic per-particle peak σ_eq (Pa)."""
    return 4e8 * np.sqrt(np.maximum(_soc(t, depth), 0.0)) * (1.0 + 0.05 * np.sin(pid))


def _sphere_mesh(center_um: np.ndarray, radius_um: float) -> Any:
    """A tetrahedral ball (pyvista UnstructuredGrid) in µm."""
    import pyvista as pv

    outer = pv.Sphere(radius=radius_um, theta_resolution=18, phi_resolution=12).points
    inner = pv.Sphere(radius=0.5 * radius_um, theta_resolution=10, phi_resolution=6).points
    pts = np.vstack([outer, inner, [[0.0, 0.0, 0.0]]]) + center_um
    return pv.PolyData(pts).delaunay_3d()


def _save_vtk(mesh: Any, path: Path) -> None:
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    mesh.save(str(tmp))
    os.replace(tmp, path)


def _write_pvd(path: Path, entries: list[tuple[float, str]]) -> None:
    items = "\n".join(f'    <DataSet timestep="{t!r}" group="" part="0" file="{f}"/>' for t, f in entries)
    write_text(path, '<?xml version="1.0"?>\n<VTKFile type="Collection" version="0.1">\n'
               f"  <Collection>\n{items}\n  </Collection>\n</VTKFile>\n")


def make_demo_results(folder: str | Path, mechanics: bool = True, fields: bool = True) -> Path:
    """Write a synthetic results folder into ``folder`` and return its path.

    Args:
        folder: target folder (created).
        mechanics: include stresses (σ_eq columns and field arrays); NaN/absent otherwise.
        fields: write ``fields/*.pvd``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    P = _particles()
    depth = L_C_UM - P["z"]
    vol = 4.0 / 3.0 * np.pi * P["r"] ** 3
    # time series: 0..300 s every 10 s
    t = np.arange(0.0, 301.0, 10.0)
    dphi = 0.02 * (1 - np.exp(-t / 20.0))
    volt = 3.75 + 0.35 * t / 300.0 + dphi
    ts_rows = [
        [ti, 2.9e-8, vi, di, ti / 720.0, float(_soc(ti, 5.0)), float(_soc(ti, 35.0)), 3, 10.0]
        for ti, vi, di in zip(t, volt, dphi)
    ]
    write_csv(folder / "timeseries.csv", TIMESERIES_COLUMNS, _rows(ts_rows))
    # particle table
    severity = np.argsort(np.argsort([-float(_sigma_peak(300.0, d, i)) for d, i in zip(depth, P["id"])]))
    damage = np.where(severity < 4, "severe", np.where(severity < 8, "mild", "least"))
    p_rows = []
    for tt in OUTPUT_TIMES:
        for k, pid in enumerate(P["id"]):
            soc = float(_soc(tt, depth[k]))
            cm = X0 - DX * soc
            sig = float(_sigma_peak(tt, depth[k], pid)) if mechanics else float("nan")
            p_rows.append([tt, int(pid), P["x"][k], P["y"][k], P["z"][k], P["r"][k], depth[k], vol[k],
                           cm, cm - 0.1 * soc, cm + 0.05 * soc, soc, sig, 0.5 * sig, 0.7 * sig,
                           0.1 * k, damage[k]])
    write_csv(folder / "particles.csv", (*PARTICLES_COLUMNS, "crack_fraction", "damage_class"), _rows(p_rows))
    # probes: Ps in the shallowest particle, Pcc in the deepest
    ks, kc = int(np.argmin(depth)), int(np.argmax(depth))
    pr_rows = []
    for ti in t:
        for name, k in (("Ps", ks), ("Pcc", kc)):
            soc = float(_soc(ti, depth[k]))
            sig = float(_sigma_peak(ti, depth[k], P["id"][k])) if mechanics else float("nan")
            pr_rows.append([ti, name, P["x"][k], P["y"][k], P["z"][k] + 0.8 * P["r"][k], int(P["id"][k]),
                            soc, X0 - DX * soc - 0.1 * soc, sig])
    write_csv(folder / "probes.csv", PROBES_COLUMNS, _rows(pr_rows))
    if fields:
        _write_fields(folder, P, depth, volt, t, dphi, mechanics)
    summary = {
        "time_end_s": 300.0, "time_to_cutoff_s": None, "termination": "end_time",
        "delivered_capacity_mAh_cm2": 0.96, "mean_electrolyte_potential_drop_V": float(dphi.mean()),
        "voltage_end_V": float(volt[-1]), "soc_end": 300.0 / 720.0,
        "soc_separator_150s": float(_soc(150.0, 5.0)), "soc_collector_150s": float(_soc(150.0, 35.0)),
        "peak_sigma_eq_separator_Pa": float(_sigma_peak(300.0, depth[ks], P["id"][ks])) if mechanics else None,
        "peak_sigma_eq_collector_Pa": float(_sigma_peak(300.0, depth[kc], P["id"][kc])) if mechanics else None,
        "peak_sigma_eq_Pa": float(max(_sigma_peak(300.0, d, i) for d, i in zip(depth, P["id"]))) if mechanics else None,
        "n_steps": len(t) - 1, "n_dofs": 12345, "wall_time_s": 42.0, "mechanics_wall_time_s": 7.0,
    }
    write_json(folder / "run.json", {
        "status": "finished", "reason": "end time reached",
        "case": {"name": "demo", "protocol": {"c_rate": 5.0}, "geometry": {"cathode_thickness_um": L_C_UM}},
        "case_file": "cases/demo.toml", "versions": {"femsim": "demo"},
        "mesh": {"n_cells": 1000, "n_particles": 12}, "timings": {"total_s": 42.0}, "summary": summary,
        "resumed_from": None,
    })
    return folder


def _write_fields(folder: Path, P: dict[str, np.ndarray], depth: np.ndarray, volt: np.ndarray,
                  t: np.ndarray, dphi: np.ndarray, mechanics: bool) -> None:
    import pyvista as pv

    fdir = folder / "fields"
    fdir.mkdir(exist_ok=True)
    balls = [_sphere_mesh(np.array([P["x"][k], P["y"][k], P["z"][k]]), P["r"][k]) for k in range(len(P["id"]))]
    p_entries, e_entries = [], []
    for n, tt in enumerate(OUTPUT_TIMES):
        pieces = []
        for k, ball in enumerate(balls):
            b = ball.copy()
            rel2 = np.sum((b.points - [P["x"][k], P["y"][k], P["z"][k]]) ** 2, axis=1) / P["r"][k] ** 2
            soc = float(_soc(tt, depth[k]))
            # surface depleted, core Li-rich; the volume mean of rel2 over a ball is 3/5
            b.point_data["c_over_cmax"] = X0 - DX * soc - 0.3 * soc * (rel2 - 0.6)
            b.point_data["solid_potential_V"] = np.full(b.n_points, float(np.interp(tt, t, volt)))
            if mechanics:
                b.point_data["sigma_eq_Pa"] = float(_sigma_peak(tt, depth[k], P["id"][k])) * (0.2 + 0.8 * rel2)
            b.cell_data["particle_id"] = np.full(b.n_cells, int(P["id"][k]), dtype=np.int32)
            pieces.append(b)
        grid = pv.merge(pieces, merge_points=False)
        grid.points *= 1e-6  # µm -> m
        name = f"particles_{n:06d}.vtu"
        _save_vtk(grid, fdir / name)
        p_entries.append((tt, name))
        box = pv.ImageData(dimensions=(5, 5, 14), spacing=(5e-6, 5e-6, 5e-6)).cast_to_unstructured_grid()
        z_um = box.points[:, 2] * 1e6
        drop = float(np.interp(tt, t, dphi))
        box.point_data["electrolyte_potential_V"] = -drop * np.clip((L_C_UM - z_um) / L_C_UM, 0, 1)
        box.point_data["electrolyte_concentration_mol_m3"] = 1000.0 + 5.0 * (z_um - 32.5) * tt / 300.0
        name = f"electrolyte_{n:06d}.vtu"
        _save_vtk(box, fdir / name)
        e_entries.append((tt, name))
    _write_pvd(fdir / "particles.pvd", p_entries)
    _write_pvd(fdir / "electrolyte.pvd", e_entries)


def make_demo_measured(folder: str | Path) -> tuple[Path, Path]:
    """Write a measured depth profile and a per-particle damage table matching the demo run.

    Returns ``(profile_csv, particles_csv)``. The per-particle classes follow the demo's
    simulated peak stress exactly (so the correlation is perfect).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    profile = folder / "measured_profile.csv"
    write_csv(profile, ("depth_min_um", "depth_max_um", "n_particles", "fraction_least", "fraction_mild",
                        "fraction_severe"),
              [[0.0, 10.0, 30, 0.1, 0.3, 0.6], [10.0, 20.0, 28, 0.2, 0.4, 0.4],
               [20.0, 30.0, 25, 0.4, 0.4, 0.2], [30.0, 40.0, 27, 0.6, 0.3, 0.1]])
    P = _particles()
    depth = L_C_UM - P["z"]
    severity = np.argsort(np.argsort([-float(_sigma_peak(300.0, d, i)) for d, i in zip(depth, P["id"])]))
    damage = np.where(severity < 4, "severe", np.where(severity < 8, "mild", "least"))
    table = folder / "measured_particles.csv"
    write_csv(table, ("id", "x", "y", "z", "radius", "damage_class"),
              _rows([[int(i), P["x"][k], P["y"][k], P["z"][k], P["r"][k], damage[k]] for k, i in enumerate(P["id"])]))
    return profile, table
