"""``femsim sweep plan|run|status|collect SWEEP``: parameter sweeps, on a laptop or a SLURM cluster.

``plan`` writes one case per point (and shared meshes) into the sweep folder; ``run`` plans, then
runs the unfinished points locally (``--executor local --jobs J --ranks-per-case R``) or submits
them as a SLURM job array (``--executor slurm``, ``--dry-run`` prints the script); ``status``
counts finished / failed / running / queued points; ``collect`` writes ``results.csv`` (and
``results.parquet`` with pyarrow). See :mod:`femsim.sweep.spec` for the sweep file.
"""

from __future__ import annotations

import argparse
from typing import Any

HELP = "parameter sweeps: plan, run (local or SLURM array), status, collect one results table"


def _common(p: argparse.ArgumentParser, needs_file: bool = True) -> None:
    p.add_argument("sweep", help="sweep TOML file" + ("" if needs_file else " (or a planned sweep folder)"))
    p.add_argument("--dir", metavar="DIR", help="sweep folder (overrides sweep.folder)")


def register(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="sweep_command", metavar="ACTION", required=True)
    p = sub.add_parser("plan", help="write one case file per point and the manifest")
    _common(p)
    p.add_argument("--no-mesh", action="store_true", help="do not mesh now; each point meshes itself")
    p.add_argument("--break-lock", action="store_true",
                   help="break the sweep folder's lock left by a process on another host that is gone")
    r = sub.add_parser("run", help="run the unfinished points (local pool or SLURM job array)")
    _common(r)
    r.add_argument("--executor", choices=("local", "slurm"), default="local")
    r.add_argument("--jobs", "-j", type=int, help="points at once (local; default [local] jobs)")
    r.add_argument("--ranks-per-case", type=int,
                   help="MPI ranks per point (local: mpiexec -n R; slurm: --ntasks)")
    r.add_argument("--force", action="store_true", help="run finished points again")
    r.add_argument("--break-lock", action="store_true",
                   help="break the sweep folder's lock left by a process on another host that is gone")
    r.add_argument("--no-mesh", action="store_true", help="do not mesh at plan time; each point meshes itself")
    r.add_argument("--timeout-min", type=float, help="local: kill a point after this many minutes")
    r.add_argument("--mpiexec", help="MPI launcher (default: the mpiexec beside this Python)")
    s = r.add_argument_group("SLURM (--executor slurm; command line overrides [slurm] of the sweep file)")
    s.add_argument("--partition")
    s.add_argument("--account")
    s.add_argument("--time", help="time limit per point, e.g. 02:00:00")
    s.add_argument("--nodes", type=int)
    s.add_argument("--max-parallel", type=int, help="array throttle (%%N)")
    s.add_argument("--sbatch-option", action="append", default=[], metavar="OPT",
                   help="extra #SBATCH option, e.g. --sbatch-option=--mem=8G (repeatable)")
    s.add_argument("--dry-run", action="store_true", help="write and print the script, do not submit")
    s.add_argument("--wait", action="store_true", help="wait for the array to finish, then collect")
    s.add_argument("--poll-s", type=float, default=5.0, help="queue polling interval with --wait (s)")
    s.add_argument("--wait-timeout-min", type=float, default=0.0, help="give up waiting after this (0: never)")
    st = sub.add_parser("status", help="finished / failed / running / queued points")
    _common(st, needs_file=False)
    st.add_argument("--all", action="store_true", help="one line per point (default: problems only)")
    c = sub.add_parser("collect", help="write the results table (CSV; Parquet with pyarrow)")
    _common(c, needs_file=False)
    c.add_argument("--out", help="CSV path (default <sweep dir>/results.csv)")


def _manifest(args: argparse.Namespace) -> dict[str, Any]:
    from pathlib import Path

    from femsim.sweep.plan import MANIFEST, read_manifest
    from femsim.sweep.spec import load_sweep

    path = Path(args.sweep)
    if path.is_dir() and (path / MANIFEST).is_file():
        return read_manifest(path)
    return read_manifest(load_sweep(path, args.dir).folder)


def _states(manifest: dict[str, Any]) -> list[Any]:
    from pathlib import Path

    from femsim.sweep import slurm
    from femsim.sweep.state import sweep_states

    folder = Path(manifest["folder"])
    q = slurm.queue(folder)  # the queue first: a task writes its files before it leaves the queue
    states = sweep_states(manifest)
    slurm.overlay_queue(states, q, slurm.submitted_jobs(folder))
    return states


def _collect(manifest: dict[str, Any], out: str | None = None) -> int:
    from pathlib import Path

    from femsim.sweep.collect import table, write_table
    from femsim.sweep.state import summary_line

    states = _states(manifest)
    columns, rows = table(manifest, states)
    path = Path(out).resolve() if out else Path(manifest["folder"]) / "results.csv"
    files = write_table(columns, rows, path)
    print(f"{summary_line(states)}; table: {', '.join(str(f) for f in files)}")
    return 0


def _slurm_options(args: argparse.Namespace, base: Any) -> Any:
    import dataclasses

    from femsim.errors import InputError
    from femsim.sweep import spec

    changes: dict[str, Any] = {}
    problems = []
    for flag, key, check in (
        ("--partition", "partition", spec._check_token),
        ("--account", "account", spec._check_token),
        ("--time", "time", spec._check_time),
    ):
        value = getattr(args, key)
        if value is not None:
            msg = check(value)
            if msg:
                problems.append(f"{flag}: {msg}")
            changes[key] = value
    for key, attr in (("nodes", "nodes"), ("max_parallel", "max_parallel"), ("tasks_per_case", "ranks_per_case")):
        value = getattr(args, attr)
        if value is not None:
            if value < (0 if key == "max_parallel" else 1):
                problems.append(f"--{attr.replace('_', '-')}: must be >= 1, got {value}")
            changes[key] = value
    if args.sbatch_option:
        msg = spec._check_directives(args.sbatch_option)
        if msg:
            problems.append(f"--sbatch-option: {msg}")
        changes["extra"] = list(base.extra) + list(args.sbatch_option)
    if args.mpiexec:
        changes["mpiexec"] = args.mpiexec
    if problems:
        raise InputError(problems[0], problems=problems[1:])
    return dataclasses.replace(base, **changes)


def _wait(manifest: dict[str, Any], indices: set[int], poll_s: float, timeout_min: float) -> None:
    import time
    from pathlib import Path

    from femsim.sweep import slurm
    from femsim.sweep.state import summary_line

    t0, last = time.monotonic(), ""
    while True:
        q = slurm.queue(Path(manifest["folder"]))
        states = _states(manifest)
        line = summary_line(states)
        if line != last:
            print(f"waiting: {line}", flush=True)
            last = line
        if not indices & set(q):
            return
        if timeout_min and time.monotonic() - t0 > 60 * timeout_min:
            print(f"stopped waiting after {timeout_min:g} min; the jobs go on (femsim sweep status)", flush=True)
            return
        time.sleep(max(poll_s, 0.2))


def _run(args: argparse.Namespace, sweep: Any) -> int:
    from pathlib import Path

    from femsim.errors import InputError
    from femsim.sweep import slurm
    from femsim.sweep.plan import plan
    from femsim.sweep.state import sweep_states

    for flag in ("jobs", "ranks_per_case"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            raise InputError(f"--{flag.replace('_', '-')}: must be >= 1, got {value}")
    manifest = plan(sweep, share_meshes=False if args.no_mesh else None)
    entries = manifest["points"]
    if args.executor == "local":
        from femsim.sweep.local import LocalExecutor

        loc = sweep.file.local
        timeout = args.timeout_min if args.timeout_min is not None else loc.timeout_min
        ex = LocalExecutor(jobs=args.jobs or loc.jobs, ranks=args.ranks_per_case or loc.ranks_per_case,
                           timeout_s=60 * timeout if timeout else None, mpiexec=args.mpiexec)
        result = ex.run(entries, force=args.force)
        _collect(manifest)
        return 0 if result["failed"] == 0 else 1
    opts = _slurm_options(args, sweep.file.slurm)
    q = slurm.queue(sweep.folder)
    states = {s.entry["index"]: s.status for s in sweep_states(manifest)}
    todo = [e for e in entries if e["index"] not in q and (args.force or states[e["index"]] != "finished")]
    if not todo:
        print("nothing to submit: every point is finished or already in the queue")
        return 0
    sub = slurm.submit(sweep.name, Path(sweep.folder), todo, opts, dry_run=args.dry_run)
    import shlex

    if args.dry_run:
        print(sub.text, end="")
        print(f"# submit with: {shlex.join(sub.command)}")
        return 0
    print(f"submitted job array {sub.job_id}: {len(todo)} point(s); script {sub.script}")
    if args.wait:
        _wait(manifest, {e["index"] for e in todo}, args.poll_s, args.wait_timeout_min)
        _collect(manifest)
        return 0 if all(s.status == "finished" for s in _states(manifest)) else 1
    return 0


def _status(args: argparse.Namespace) -> int:
    from femsim.sweep.state import summary_line

    manifest = _manifest(args)
    states = _states(manifest)
    print(f"sweep {manifest['name']} ({manifest['folder']})")
    for s in states:
        if args.all or s.status != "finished":
            extra = f": {s.error} (log {s.log})" if s.status == "failed" else ""
            print(f"  {s.entry['index']:4d} {s.status:9s} {s.entry['dir']}{extra}")
    print(summary_line(states))
    return 0


def _locked(args: argparse.Namespace) -> int:
    """plan and run hold the sweep folder's lock (one planner/runner per sweep folder)."""
    from femsim.io.lock import folder_lock
    from femsim.sweep.spec import load_sweep

    sweep = load_sweep(args.sweep, args.dir)
    with folder_lock(sweep.folder, force=args.break_lock, what="sweep folder", force_flag="--break-lock"):
        return _plan(args, sweep) if args.sweep_command == "plan" else _run(args, sweep)


def _plan(args: argparse.Namespace, sweep: Any) -> int:
    from femsim.sweep.plan import plan

    manifest = plan(sweep, share_meshes=False if args.no_mesh else None)
    print(f"sweep {sweep.name}: {len(manifest['points'])} points, {len(manifest['meshes'])} shared mesh(es) "
          f"in {sweep.folder}")
    for e in manifest["points"]:
        print(f"  {e['index']:4d} {e['dir']}")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.sweep_command in ("plan", "run"):
        return _locked(args)
    if args.sweep_command == "status":
        return _status(args)
    return _collect(_manifest(args), args.out)
