"""Performance benchmark of the coupled half-cell run (issue 8: fast enough to sweep).

Runs a case (default: the 5C reference) at several mesh resolutions and rank counts, each in
its own process (``mpiexec -n R``), and records per run: mesh time, DOFs, accepted steps, Newton
and Krylov iterations, assembly (residual, Jacobian) vs linear-solve time, mechanics time, total
wall and CPU time, peak RSS, and, in the same process on the same mesh, the cost of one
CG + GAMG Poisson solve (P1 on the whole mesh, Dirichlet on the current collector), so that every
step cost is also given in "Poisson-solve equivalents" (PSE), a ratio that carries across
machines. Results: ``benchmarks/results/solver_scaling_<stamp>.{json,csv}`` with the machine.

Usage::

    .venv/bin/python benchmarks/solver_scaling.py              # short: 12 steps, levels coarse+default, 1 and 2 ranks
    .venv/bin/python benchmarks/solver_scaling.py --steps 0            # full charge to the cut-off
    .venv/bin/python benchmarks/solver_scaling.py --levels default --ranks 2 --steps 0 --mechanics
    .venv/bin/python benchmarks/solver_scaling.py --case cases/ci/tiny.toml --levels default --ranks 1

Levels scale every mesh size of the case by ``LEVELS[level]`` (coarse ≈ ¼, fine ≈ 4 × the
default DOFs). ``--steps N`` stops after N accepted steps (0: run the whole protocol); a short run
starts from ``--dt0`` so that its steps are representative of the charge (dt near dt_max).
Under load, compare the CPU-time columns and the PSE ratios rather than wall times.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
#: mesh-size factor per level (DOFs ∝ factor⁻³: coarse ≈ ¼, fine ≈ 4 × default)
LEVELS = {"coarse": 1.59, "default": 1.0, "fine": 0.63}


def scale_mesh(mesh: Any, level: str) -> None:
    """Scale every size of a case's ``[mesh]`` section by ``LEVELS[level]`` (in place)."""
    f = LEVELS[level]
    mesh.size_surface_um *= f
    mesh.size_max_um *= f
    mesh.size_separator_um *= f
    mesh.size_particle_core_um *= f
    mesh.size_surface_per_radius = min(1.0, mesh.size_surface_per_radius * f)
    mesh.grading_distance_um *= f
EVENTS = ("SNESFunctionEval", "SNESJacobianEval", "KSPSolve", "PCSetUp")


def machine() -> dict:
    info = {"hostname": platform.node(), "platform": platform.platform(), "python": platform.python_version(),
            "cpus": os.cpu_count(), "loadavg_start": os.getloadavg()}
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                info["mem_total_kB"] = int(line.split()[1])
                break
    except OSError:
        pass
    return info


# ------------------------------------------------------------------------------------------------
# worker: one run, inside mpiexec
# ------------------------------------------------------------------------------------------------
class _Stop(Exception):
    pass


def poisson_reference(mesh, facet_tags, repeats: int = 3) -> dict:
    """Best-of-``repeats`` CPU and wall time of one CG + GAMG solve of −Δu = 1 (P1, whole mesh)."""
    import dolfinx
    import dolfinx.fem.petsc
    import numpy as np
    import ufl
    from mpi4py import MPI
    from petsc4py import PETSc

    from femsim.geometry import tags

    V = dolfinx.fem.functionspace(mesh, ("Lagrange", 1))
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    a = dolfinx.fem.form(ufl.inner(ufl.grad(u), ufl.grad(v)) * ufl.dx)
    L = dolfinx.fem.form(dolfinx.fem.Constant(mesh, 1.0) * v * ufl.dx)
    facets = facet_tags.find(tags.CURRENT_COLLECTOR)
    dofs = dolfinx.fem.locate_dofs_topological(V, 2, facets)
    bc = dolfinx.fem.dirichletbc(0.0, dofs, V)
    A = dolfinx.fem.petsc.assemble_matrix(a, bcs=[bc])
    A.assemble()
    b = dolfinx.fem.petsc.assemble_vector(L)
    dolfinx.fem.petsc.apply_lifting(b, [a], bcs=[[bc]])
    b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
    dolfinx.fem.petsc.set_bc(b, [bc])
    x = b.duplicate()
    best = None
    for _ in range(repeats):
        ksp = PETSc.KSP().create(mesh.comm)
        ksp.setOperators(A)
        ksp.setType("cg")
        ksp.setTolerances(rtol=1e-8)
        pc = ksp.getPC()
        pc.setType("gamg")
        x.set(0.0)
        mesh.comm.Barrier()
        w0, c0 = time.perf_counter(), time.process_time()
        ksp.setUp()
        ksp.solve(b, x)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        wall = mesh.comm.allreduce(wall, op=MPI.MAX)
        cpu = mesh.comm.allreduce(cpu, op=MPI.MAX)
        its = ksp.getIterationNumber()
        ksp.destroy()
        if best is None or cpu < best["cpu_s"]:
            best = {"wall_s": wall, "cpu_s": cpu, "iterations": its, "dofs": V.dofmap.index_map.size_global}
    del np
    return best


def worker(args: argparse.Namespace) -> None:
    from femsim.mpi import import_dolfinx

    import_dolfinx()
    from mpi4py import MPI
    from petsc4py import PETSc

    from femsim.case import load_case
    from femsim.simulation import Simulation

    comm = MPI.COMM_WORLD
    wall0, cpu0 = time.perf_counter(), time.process_time()
    case = load_case(args.case)
    if args.level != "default":
        scale_mesh(case.mesh, args.level)
    elif args.mesh_file:
        case.mesh.file = Path(args.mesh_file)
    case.mechanics.enabled = args.mechanics
    case.output.fields = False
    case.output.progress = False
    case.output.folder = Path(args.out_dir)
    if args.preset:
        case.solver.preset = args.preset
    if args.steps and args.dt0:
        case.solver.dt_initial_s = args.dt0
    if args.level != "default":
        # the mesh cache lives in the results folder: keep one per level next to the case's own
        case.output.folder = Path(args.out_dir)
    PETSc.Log.begin()
    sim = Simulation(case, comm)
    sim.setup()
    problem = sim.problem
    snes = problem.newton.snes
    accepted = {"n": 0}
    counters = {"steps_tried": 0, "newton": 0, "krylov": 0, "step_wall": [], "step_cpu": [], "dt": []}
    orig_step = problem.step

    def step(dt, current):
        if args.steps and accepted["n"] >= args.steps:
            raise _Stop()
        w0, c0 = time.perf_counter(), time.process_time()
        ok, its, why = orig_step(dt, current)
        counters["steps_tried"] += 1
        counters["newton"] += its
        counters["krylov"] += snes.getLinearSolveIterations()
        counters["step_wall"].append(time.perf_counter() - w0)
        counters["step_cpu"].append(time.process_time() - c0)
        counters["dt"].append(dt)
        counters.setdefault("per_step", []).append(
            {"dt_s": dt, "ok": bool(ok), "newton": its, "krylov": snes.getLinearSolveIterations(),
             "wall_s": counters["step_wall"][-1], "cpu_s": counters["step_cpu"][-1],
             "rss_GB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, "loadavg_1min": os.getloadavg()[0]})
        if comm.rank == 0:
            print(f"[step] {json.dumps(counters['per_step'][-1])}", flush=True)
        return ok, its, why

    problem.step = step

    # mechanics CPU time (process time is robust to other load on a shared machine; wall is not)
    mech_cpu = {"s": 0.0, "n": 0}
    orig_mech = sim.solve_mechanics

    def solve_mechanics(*a, **k):
        c0 = time.process_time()
        try:
            return orig_mech(*a, **k)
        finally:
            mech_cpu["s"] += time.process_time() - c0
            mech_cpu["n"] += 1

    sim.solve_mechanics = solve_mechanics

    def on_step(rec):
        # the initial state (t = 0) is recorded through the same hook: it is not a step (runs before
        # this fix stopped one accepted step short of --steps)
        if rec.time_s > 0.0:
            accepted["n"] += 1

    ev0 = {e: PETSc.Log.Event(e).getPerfInfo()["time"] for e in EVENTS}
    orig_run = sim.run

    def run():
        from femsim.solvers import stepping

        orig_init = stepping.ProtocolStepper.__init__

        def init(self, *a, **k):
            orig_init(self, *a, **k)
            self.on_step.append(on_step)

        stepping.ProtocolStepper.__init__ = init
        try:
            return orig_run()
        finally:
            stepping.ProtocolStepper.__init__ = orig_init

    t_run0, c_run0 = time.perf_counter(), time.process_time()
    termination = "steps"
    try:
        result = run()
        termination = result.summary.get("termination", "")
    except _Stop:
        pass
    run_wall = comm.allreduce(time.perf_counter() - t_run0, op=MPI.MAX)
    run_cpu = comm.allreduce(time.process_time() - c_run0, op=MPI.MAX)
    ev = {e: comm.allreduce(PETSc.Log.Event(e).getPerfInfo()["time"] - ev0[e], op=MPI.MAX) for e in EVENTS}
    poisson = poisson_reference(sim.domain.mesh, sim.domain.facet_tags)
    rss_kB = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rss = comm.gather(rss_kB, root=0)
    mech = sim.mechanics
    n_cells = comm.allreduce(sim.domain.mesh.topology.index_map(3).size_local, op=MPI.SUM)
    series = sim.state.series if sim.state is not None else []
    n_acc = len(series) - 1 if series else 0
    step_cpu = comm.allreduce(sum(counters["step_cpu"]), op=MPI.MAX)
    step_wall = comm.allreduce(sum(counters["step_wall"]), op=MPI.MAX)
    mech_s = sim.timings.get("mechanics_s", 0.0)
    n_mech = getattr(mech, "n_solves", None)
    if comm.rank == 0:
        tried = max(counters["steps_tried"], 1)
        row = {
            "case": str(args.case), "level": args.level, "ranks": comm.size, "preset": problem.preset,
            "dofs": problem.n_dofs, "cells": n_cells, "displacement_dofs": getattr(mech, "n_dofs", None),
            "mesh_s": sim.timings.get("mesh_s"), "setup_s": sim.timings.get("setup_s"),
            "termination": termination, "accepted_steps": n_acc, "tried_steps": counters["steps_tried"],
            "newton_iterations": counters["newton"], "krylov_iterations": counters["krylov"],
            "jacobian_assemblies": problem.jacobian_assemblies,
            "newton_per_step": counters["newton"] / tried,
               "krylov_per_newton": counters["krylov"] / max(counters["newton"], 1),
            "residual_assembly_s": ev["SNESFunctionEval"], "jacobian_assembly_s": ev["SNESJacobianEval"],
            "linear_solve_s": ev["KSPSolve"], "pc_setup_s": ev["PCSetUp"],
            "step_wall_s": step_wall, "step_cpu_s": step_cpu,
            "step_wall_mean_s": step_wall / tried, "step_cpu_mean_s": step_cpu / tried,
            "mechanics_s": mech_s, "mechanics_per_solve_s": None,
            "run_wall_s": run_wall, "run_cpu_s": run_cpu,
            "total_wall_s": time.perf_counter() - wall0, "total_cpu_s": time.process_time() - cpu0,
            "peak_rss_max_rank_GB": max(rss) / 1e6, "peak_rss_sum_GB": sum(rss) / 1e6,
            "poisson_dofs": poisson["dofs"], "poisson_wall_s": poisson["wall_s"], "poisson_cpu_s": poisson["cpu_s"],
            "poisson_iterations": poisson["iterations"],
            "voltage_end_V": series[-1].voltage_V if series else None,
            "time_end_s": series[-1].time_s if series else None,
            "loadavg_end": os.getloadavg()[0],
        }
        row["step_pse_cpu"] = row["step_cpu_mean_s"] / poisson["cpu_s"]
        row["step_pse_wall"] = row["step_wall_mean_s"] / poisson["wall_s"]
        n_mech_solves = n_mech if n_mech else (n_acc + 1 if mech is not None else 0)
        if mech is not None and n_mech_solves:
            row["mechanics_per_solve_s"] = mech_s / n_mech_solves
            row["mechanics_pse_wall"] = row["mechanics_per_solve_s"] / poisson["wall_s"]
        if mech_cpu["n"]:
            row["mechanics_cpu_per_solve_s"] = comm.allreduce(mech_cpu["s"], op=MPI.MAX) / mech_cpu["n"]
            row["mechanics_pse_cpu"] = row["mechanics_cpu_per_solve_s"] / poisson["cpu_s"]
            row["mechanics_timings"] = dict(mech.timings)
        row["peak_rss_per_rank_GB"] = [r / 1e6 for r in rss]
        row["per_step_rank0"] = counters.get("per_step", [])
        row["voltage_series"] = [[r.time_s, r.voltage_V, r.newton_iterations, r.dt_s] for r in series]
        Path(args.json_out).write_text(json.dumps(row, indent=1, default=str))


# ------------------------------------------------------------------------------------------------
# driver
# ------------------------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--case", default=str(ROOT / "cases" / "5C.toml"))
    ap.add_argument("--levels", default="coarse,default", help="comma list of " + ", ".join(LEVELS))
    ap.add_argument("--ranks", default="1,2", help="comma list of MPI rank counts")
    ap.add_argument("--steps", type=int, default=12, help="accepted steps per run (0: the whole protocol)")
    ap.add_argument("--dt0", type=float, default=5.0, help="initial dt of a short run (s)")
    ap.add_argument("--preset", default="", help="override solver.preset")
    ap.add_argument("--mechanics", action="store_true", help="solve the stress every step")
    ap.add_argument("--mesh-file", default="", help="cached .msh for the default level")
    ap.add_argument("--tag", default="", help="label appended to the output file names")
    ap.add_argument("--runs", default="", help="comma list of CASE:RANKS[:LEVEL] (instead of --case/--levels/--ranks), "
                                               "e.g. cases/5C.toml:1,cases/region/double_rve.toml:2 (weak scaling)")
    ap.add_argument("--timeout", type=float, default=3600.0)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--level", default="default", help=argparse.SUPPRESS)
    ap.add_argument("--out-dir", default="", help=argparse.SUPPRESS)
    ap.add_argument("--json-out", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args)
        return
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S") + (f"_{args.tag}" if args.tag else "")
    mpiexec = str(Path(sys.executable).with_name("mpiexec"))
    rows = []
    for case, level, ranks in plan(args):
        row = run_one(args, case, level, ranks, mpiexec)
        rows.append(row)
        if "error" in row:
            continue
        print(f"[bench] {Path(case).stem} {level} x{ranks}: {row['dofs']} dofs, {row['accepted_steps']} steps, "
              f"{row['newton_per_step']:.2f} Newton/step, {row['krylov_per_newton']:.1f} Krylov/Newton, "
              f"step {row['step_wall_mean_s']:.2f} s wall / {row['step_cpu_mean_s']:.2f} s cpu = "
              f"{row['step_pse_cpu']:.1f} PSE (cpu), RSS {row['peak_rss_max_rank_GB']:.2f} GB, "
              f"load {row['loadavg_end']:.1f}", flush=True)
    summary = {"machine": machine(), "args": vars(args), "runs": rows, "derived": derived(rows)}
    (RESULTS / f"solver_scaling_{stamp}.json").write_text(json.dumps(summary, indent=1, default=str))
    keys = [k for k in (rows[0].keys() if rows else []) if k != "voltage_series"]
    for r in rows[1:]:
        keys += [k for k in r if k not in keys and k != "voltage_series"]
    with open(RESULTS / f"solver_scaling_{stamp}.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=keys, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow(r)
    print(json.dumps(summary["derived"], indent=1))
    print(f"[bench] wrote {RESULTS / f'solver_scaling_{stamp}.json'} and .csv")


def plan(args: argparse.Namespace) -> list[tuple[str, str, int]]:
    """(case, level, ranks) of every run: ``--runs`` as given, else every level x rank count of ``--case``."""
    if args.runs:
        out = []
        for item in args.runs.split(","):
            case, ranks, *level = item.split(":")
            out.append((case, level[0] if level else "default", int(ranks)))
        return out
    return [(args.case, level, int(r)) for level in args.levels.split(",") for r in args.ranks.split(",")]


_MESHED: set[str] = set()


def run_one(args: argparse.Namespace, case: str, level: str, ranks: int, mpiexec: str) -> dict:
    """One worker run under ``mpiexec -n ranks``; the row of results (or an error row)."""
    case_stem = Path(case).stem
    default_mesh = args.mesh_file or str(ROOT / "results" / case_stem / "mesh" / "rve.msh")
    if not args.mesh_file and level == "default" and case not in _MESHED:
        # (re)mesh the case's default level where `femsim run` keeps it: `femsim mesh` reuses the
        # cached file only when its input hash matches the case, so a stale mesh is never timed
        femsim = str(Path(sys.executable).with_name("femsim"))
        subprocess.run([femsim, "mesh", case], cwd=ROOT, check=True, capture_output=True)
        _MESHED.add(case)
    out_dir = Path(tempfile.gettempdir()) / f"femsim_bench_{case_stem}_{level}"
    json_out = Path(tempfile.mkstemp(suffix=".json")[1])
    cmd = [mpiexec, "-n", str(ranks), sys.executable, __file__, "--worker", "--case", case,
           "--level", level, "--out-dir", str(out_dir), "--json-out", str(json_out),
           "--steps", str(args.steps), "--dt0", str(args.dt0)]
    if args.preset:
        cmd += ["--preset", args.preset]
    if args.mechanics:
        cmd.append("--mechanics")
    if level == "default" and Path(default_mesh).is_file():
        cmd += ["--mesh-file", default_mesh]
    print(f"[bench] {case_stem} {level} on {ranks} rank(s) ...", flush=True)
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, timeout=args.timeout, capture_output=True, text=True)
    except subprocess.TimeoutExpired:
        print(f"[bench] {level} x{ranks}: timed out after {args.timeout:g} s", flush=True)
        return {"case": case, "level": level, "ranks": ranks, "error": f"timeout {args.timeout:g} s"}
    if proc.returncode != 0 or not json_out.stat().st_size:
        print(proc.stdout[-3000:], proc.stderr[-3000:], file=sys.stderr)
        return {"case": case, "level": level, "ranks": ranks, "error": proc.returncode}
    row = json.loads(json_out.read_text())
    json_out.unlink()
    row["process_wall_s"] = time.perf_counter() - t0
    unknowns = row["dofs"] + (row.get("displacement_dofs") or 0)
    row["rss_GB_per_million_unknowns_per_rank"] = row["peak_rss_max_rank_GB"] / (unknowns / ranks / 1e6)
    return row


def derived(rows: list[dict]) -> dict:
    """Speed-up 1 → 2 ranks and cost-per-step growth vs DOFs between levels."""
    ok = [r for r in rows if "error" not in r]
    out: dict = {}
    first = [r for r in ok if r["level"] == "default"]
    cases = list(dict.fromkeys(r["case"] for r in first))
    if len(cases) == 2:
        # weak scaling: the second case is n × the first on n × its ranks (same work per rank)
        a = next(r for r in first if r["case"] == cases[0])
        b = next(r for r in first if r["case"] == cases[1])
        out["weak_scaling"] = {
            "cases": cases, "ranks": [a["ranks"], b["ranks"]],
            "dofs_per_rank": [a["dofs"] / a["ranks"], b["dofs"] / b["ranks"]],
            "step_time_ratio_wall": b["step_wall_mean_s"] / a["step_wall_mean_s"],
            "step_time_ratio_cpu": b["step_cpu_mean_s"] / a["step_cpu_mean_s"],
            "newton_per_step": [a["newton_per_step"], b["newton_per_step"]],
            "loadavg_end": [a["loadavg_end"], b["loadavg_end"]]}
        ok = [r for r in ok if r["case"] != cases[1] or r["level"] != "default"]
    by = {(r["level"], r["ranks"]): r for r in ok}
    for level in LEVELS:
        if (level, 1) in by and (level, 2) in by:
            r1, r2 = by[(level, 1)], by[(level, 2)]
            out[f"speedup_2ranks_{level}_wall"] = r1["step_wall_mean_s"] / r2["step_wall_mean_s"]
            out[f"speedup_2ranks_{level}_cpu"] = r1["step_cpu_mean_s"] / r2["step_cpu_mean_s"]
    names = list(LEVELS)
    for ranks in sorted({r["ranks"] for r in ok}):
        for a, b in zip(names, names[1:]):
            if (a, ranks) in by and (b, ranks) in by:
                ra, rb = by[(a, ranks)], by[(b, ranks)]
                dof_ratio = rb["dofs"] / ra["dofs"]
                cost_ratio = rb["step_cpu_mean_s"] / ra["step_cpu_mean_s"]
                out[f"cost_growth_{a}_to_{b}_{ranks}ranks"] = {
                    "dof_ratio": dof_ratio, "cost_ratio_cpu": cost_ratio,
                    "cost_ratio_over_dof_ratio": cost_ratio / dof_ratio}
        levels = [n for n in names if (n, ranks) in by]
        if len(levels) >= 3:
            # cost ∝ DOFs^p fitted over all levels; growth over a 4× refinement = 4^(p−1)
            import numpy as np

            dofs = np.log([by[(n, ranks)]["dofs"] for n in levels])
            cost = np.log([by[(n, ranks)]["step_cpu_mean_s"] for n in levels])
            p = float(np.polyfit(dofs, cost, 1)[0])
            out[f"cost_vs_dofs_{ranks}ranks"] = {"levels": levels, "exponent": p,
                                                 "growth_over_linear_per_4x_dofs": 4.0 ** (p - 1.0)}
    return out


if __name__ == "__main__":
    main()
