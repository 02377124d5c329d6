# # femsim from Python: one sphere, then the tiny RVE
#
# This demo drives femsim through its Python API instead of the ``femsim run`` command. It has
# two parts:
#
# 1. **A single sphere lithiated at constant flux.** A sphere in a very conductive matrix and
#    electrolyte sees a uniform Butler–Volmer current, so its Li concentration follows Crank's
#    constant-flux series and its stress the closed form of a traction-free sphere
#    (docs/physics.md §6.1 and §6.2). We compare the surface concentration and the surface hoop
#    stress of the run with both.
# 2. **The tiny RVE** of the test suite (``cases/ci/tiny.toml``: six particles in a
#    10 × 10 × 20 µm cathode under a 5 µm separator), read from its TOML file, changed in Python,
#    meshed, run for a few steps and read back.
#
# It runs serially or in parallel and writes into the folder given (or a new temporary one):
#
# ```
# python examples/demo_api.py [OUT]
# mpiexec -n 2 python examples/demo_api.py [OUT]
# ```
#
# Three calls make up the API used here:
#
# * :func:`femsim.case.parse_case` (a dict) or :func:`femsim.case.load_case` (a TOML file) build a
#   validated :class:`femsim.case.Case`; a bad key or value raises
#   :class:`femsim.errors.InputError` naming it;
# * :func:`femsim.simulation.run_case` meshes and runs the case (the call ``femsim run`` makes) and
#   returns the status, the results folder and a summary;
# * :class:`postprocess.reader.ResultsFolder` reads a results folder (docs/results_format.md)
#   without importing any solver.

from __future__ import annotations

import math
import sys
import tempfile
from pathlib import Path

import numpy as np

from femsim.case import load_case, parse_case, read_toml
from femsim.mpi import comm_world
from femsim.parameters import build_material_sets
from femsim.simulation import run_case
from femsim.units import FARADAY, UM
from femsim.verification import crank_sphere_concentration
from postprocess.reader import ResultsFolder

REPO = Path(__file__).resolve().parents[1]


def say(text: str) -> None:
    """Print on rank 0 only."""
    if comm_world().rank == 0:
        print(text, flush=True)


# ## Part 1: a single sphere
#
# The particle: radius a = 3 µm at the centre of an 8 µm cube of matrix, under a 2 µm separator.
# Geometry inputs are in µm: a particle table is a CSV ``id,x,y,z,radius`` that the case names.

RADIUS_UM = 3.0
BOX_UM = 8.0
#: solid diffusivity (m²/s): the diffusion time a²/D is 90 s
D_S = 1e-13
#: reaction current density on the sphere (A/m²); negative (cathodic): the particle takes up Li
I_N = -5.0


def sphere_case(folder: Path) -> tuple[object, list[float]]:
    """The single-sphere case, written as a dict and validated by :func:`parse_case`, and its
    comparison times (s)."""
    comm = comm_world()
    table = folder / "sphere.csv"
    if comm.rank == 0:
        half = BOX_UM / 2
        table.write_text(f"id,x,y,z,radius\n1,{half},{half},{half},{RADIUS_UM}\n")
    comm.barrier()
    a = RADIUS_UM * UM
    # The protocol gives the current per collector area; all of it enters the one sphere, so the
    # applied current density is |i_n| · 4πa² / A_cc.
    i_app = abs(I_N) * 4 * math.pi * a**2 / (BOX_UM * UM) ** 2
    # compare at τ = D t / a² = 0.1 (9 s, an output time) and 0.2 (18 s, the end of the run)
    times = [0.1 * a**2 / D_S, 0.2 * a**2 / D_S]
    data = {
        "case": {"name": "sphere"},
        "geometry": {"particle_table": str(table), "box_um": [BOX_UM] * 3, "separator_thickness_um": 2.0},
        # element size 0.3 µm at the particle surface (a tenth of the radius), growing within 1 µm
        "mesh": {"size_surface_per_radius": 0.1, "size_particle_core_um": 0.8, "size_max_um": 3.0,
                 "grading_distance_um": 1.0},
        # a conductive matrix and electrolyte make the reaction current uniform over the sphere
        "materials": {"cathode_overrides": {"diffusivity": D_S, "electronic_conductivity": 1e3},
                      "electrolyte_overrides": {"conductivity_scale": 1e3, "diffusivity_scale": 1e3},
                      "carbon_binder_conductivity_S_m": 1e5},
        # discharging the cathode lithiates it: a constant current for 18 s from x0 = 0.5
        "protocol": {"initial_stoichiometry": 0.5,
                     "steps": [f"Discharge at {i_app:.6f} A/m2 for {times[-1]:g} seconds"]},
        # fixed 1 s steps; 'chord' keeps the LU factors of the Jacobian across iterations and steps
        "solver": {"preset": "chord", "dt_initial_s": 1.0, "dt_max_s": 1.0},
        # the stress does not feed back here (one-way coupling): mechanics at the output times only
        "mechanics": {"enabled": True, "every_n_steps": 1000},
        "output": {"folder": str(folder / "sphere_results"), "times_s": times[:1], "fields": False,
                   "progress": False, "snapshot_every_minutes": 0.0},
    }
    return parse_case(data, folder / "sphere.toml"), times


# The closed forms are in units of F₀a/D (concentration) and ΩE/(1−ν)·F₀a/D (stress), with the
# surface flux F₀ = −i_n/F (mol m⁻² s⁻¹, positive into the particle). ``probes.csv`` holds nodal
# values at the probe points; for a single sphere P_s is its top point, a surface vertex.

def run_sphere(folder: Path) -> dict[str, float]:
    case, times = sphere_case(folder)
    result = run_case(case)
    comm_world().barrier()  # rank 0 writes the files: every rank reads them once it is done
    if result.status != "finished":
        raise RuntimeError(f"sphere run {result.status}: {result.summary}")
    probes = ResultsFolder.open(result.folder).probes
    nmc = build_material_sets(case.materials, case.protocol.temperature_K).cathode
    a = RADIUS_UM * UM
    f0 = -I_N / FARADAY
    conc_scale = f0 * a / D_S
    stress_scale = nmc.partial_molar_volume * nmc.youngs_modulus / (1 - nmc.poisson_ratio) * conc_scale
    c0 = case.protocol.initial_stoichiometry * nmc.max_concentration
    errors = {}
    for t in times:
        tau = D_S * t / a**2
        u_surface = float(crank_sphere_concentration(1.0, tau)[0])
        # σ_θ(a) = ΩE/(3(1−ν)) (c̄ − c_s), and the mean rises as c̄ − c0 = 3τ F₀a/D (mass balance)
        hoop = (3 * tau - u_surface) / 3
        row = np.isclose(probes["time_s"], t) & (probes["probe"] == "Ps")
        c_fe = float(probes["c_over_cmax"][row][0]) * nmc.max_concentration
        # on the surface σ_r = 0 and σ_θ = σ_φ, so von Mises is |σ_θ|
        sigma_eq_fe = float(probes["sigma_eq_Pa"][row][0])
        errors[f"surface_c_tau{tau:.2f}"] = ((c_fe - c0) / conc_scale - u_surface) / u_surface
        errors[f"hoop_tau{tau:.2f}"] = (sigma_eq_fe / stress_scale - abs(hoop)) / abs(hoop)
        say(f"sphere τ = {tau:.2f}: c_s − c0 = {c_fe - c0:7.1f} mol/m³ (closed form {u_surface * conc_scale:7.1f}, "
            f"{100 * errors[f'surface_c_tau{tau:.2f}']:+.2f} %); σ_eq(a) = {sigma_eq_fe / 1e6:6.2f} MPa "
            f"(|σ_θ(a)| {abs(hoop) * stress_scale / 1e6:6.2f} MPa, {100 * errors[f'hoop_tau{tau:.2f}']:+.2f} %)")
    return errors


# ## Part 2: the tiny RVE from its TOML file
#
# :func:`load_case` reads and validates ``cases/ci/tiny.toml`` as it is (20 s at 5C). To change a
# few keys, read the TOML into a dict with :func:`read_toml`, edit it, and validate it with
# :func:`parse_case`, giving the file's path so that relative paths (the particle table) resolve
# against its folder, as for ``femsim run``.

def run_tiny(folder: Path) -> dict[str, float]:
    path = REPO / "cases" / "ci" / "tiny.toml"
    reference = load_case(path)
    data = read_toml(path)
    data["protocol"]["end_time_s"] = 1.5  # a few steps only
    data["solver"]["preset"] = "chord"
    data["output"] = {"folder": str(folder / "tiny_results"), "times_s": [0.5], "fields": False,
                      "progress": False, "snapshot_every_minutes": 0.0}
    case = parse_case(data, path)
    assert case.geometry.particle_table == reference.geometry.particle_table
    result = run_case(case)
    comm_world().barrier()
    if result.status != "finished":
        raise RuntimeError(f"tiny run {result.status}: {result.summary}")
    # The results folder: timeseries.csv (one row per step), particles.csv (one row per particle
    # and output time), probes.csv and run.json; the reader gives {column: numpy array}.
    res = ResultsFolder.open(result.folder)
    ts, parts = res.timeseries, res.particles
    drop_mV = 1e3 * ts["electrolyte_potential_drop_V"][-1]
    say(f"tiny RVE: {len(ts['time_s']) - 1} steps to t = {ts['time_s'][-1]:g} s, voltage "
        f"{ts['voltage_V'][0]:.4f} → {ts['voltage_V'][-1]:.4f} V, Δφ_l {drop_mV:.2f} mV")
    last = parts["time_s"] == parts["time_s"].max()
    for pid, depth, c, s in zip(parts["particle_id"][last], parts["depth_um"][last], parts["c_mean_over_cmax"][last],
                                parts["sigma_eq_p95_Pa"][last], strict=True):
        say(f"  particle {int(pid)}: depth {depth:5.2f} µm, c/c_max {c:.4f}, p95 σ_eq {s / 1e6:6.2f} MPa")
    return {"tiny_steps": float(len(ts["time_s"]) - 1),
            "tiny_voltage_rise_V": float(ts["voltage_V"][-1] - ts["voltage_V"][0])}


def main(out: str | Path | None = None) -> dict[str, float]:
    """Run both parts into ``out`` (a new temporary folder if None); returns the numbers compared."""
    comm = comm_world()
    if out is None:
        out = comm.bcast(tempfile.mkdtemp(prefix="femsim-demo-") if comm.rank == 0 else None, root=0)
    folder = Path(out)
    if comm.rank == 0:
        folder.mkdir(parents=True, exist_ok=True)
    comm.barrier()
    numbers = run_sphere(folder)
    numbers.update(run_tiny(folder))
    return numbers


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
