"""The SLURM executor: one job array per submission, one array task per point.

The script (``<sweep dir>/slurm/sweep.sbatch``) carries ``#SBATCH`` directives made of checked
plain tokens only (partition, account, time, nodes, tasks, array, extra options); paths go on the
``sbatch`` command line as separate arguments (no shell) and into the script body through
:func:`shlex.quote`, so sweep folders and names with spaces or quotes are safe. Each array task runs
``mpiexec -n $SLURM_NTASKS femsim run <case>`` with its output in the point's ``run.log`` and then
writes the point's ``task.json`` (exit status, array job and task ids).

Array task ids are the point indices of the manifest, so ``squeue`` lines map back to points.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import logging
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

from femsim.errors import InputError
from femsim.io.atomic import write_json, write_text
from femsim.sweep.local import default_mpiexec, femsim_command
from femsim.sweep.spec import SlurmOptions
from femsim.sweep.state import LOG_NAME, TASK, PointState

LOG = logging.getLogger(__name__)
SCRIPT = "sweep.sbatch"
JOBS = "jobs.json"


def job_name(name: str) -> str:
    """A job name made of safe characters only (it goes into an ``#SBATCH`` line)."""
    return re.sub(r"[^A-Za-z0-9_.+-]+", "_", name).strip("_")[:64] or "femsim-sweep"


def _comment(text: str) -> str:
    return text.replace("\r", " ").replace("\n", "\\n")


def array_spec(indices: list[int], max_parallel: int = 0) -> str:
    """``0-3,7,9-10%4``: compact ranges of the array indices, with the optional throttle."""
    parts: list[str] = []
    idx = sorted(set(indices))
    i = 0
    while i < len(idx):
        j = i
        while j + 1 < len(idx) and idx[j + 1] == idx[j] + 1:
            j += 1
        parts.append(str(idx[i]) if i == j else f"{idx[i]}-{idx[j]}")
        i = j + 1
    return ",".join(parts) + (f"%{max_parallel}" if max_parallel > 0 else "")


def render_script(name: str, entries: list[dict[str, Any]], opts: SlurmOptions) -> str:
    """The job-array script for ``entries`` (manifest points) with the given options."""
    directives = [
        f"--job-name={job_name(name)}",
        f"--array={array_spec([e['index'] for e in entries], opts.max_parallel)}",
        f"--nodes={opts.nodes}",
        f"--ntasks={opts.tasks_per_case}",
        f"--cpus-per-task={opts.cpus_per_task}",
    ]
    for flag, value in (("partition", opts.partition), ("account", opts.account), ("time", opts.time)):
        if value:
            directives.append(f"--{flag}={value}")
    directives += list(opts.extra)
    femsim = " ".join(shlex.quote(p) for p in femsim_command())
    mpiexec = shlex.quote(opts.mpiexec or default_mpiexec())
    lines = ["#!/bin/bash"] + [f"#SBATCH {d}" for d in directives] + [
        f"# femsim sweep {_comment(name)!s}: {len(entries)} point(s), one array task each.",
        "# Paths are passed by `femsim sweep run --executor slurm` as sbatch options (--chdir, --output).",
        "set -u",
        "export OMP_NUM_THREADS=\"${SLURM_CPUS_PER_TASK:-1}\"",
    ]
    if opts.setup:
        lines += ["# setup lines from the sweep file ([slurm] setup)"] + list(opts.setup)
    lines += [
        "declare -a POINTS",
        *[f"POINTS[{e['index']}]={shlex.quote(str(e['folder']))}" for e in entries],
        "DIR=\"${POINTS[$SLURM_ARRAY_TASK_ID]}\"",
        f"rm -f \"$DIR\"/{TASK}",
        "rc=0",
        f"{mpiexec} -n \"${{SLURM_NTASKS:-1}}\" {femsim} run \"$DIR/case.toml\" >\"$DIR/{LOG_NAME}\" 2>&1 || rc=$?",
        "printf '{\"executor\": \"slurm\", \"exit_status\": %d, \"array_job_id\": \"%s\", \"array_task_id\": \"%s\", "
        "\"job_id\": \"%s\", \"finished\": \"%s\", \"log\": \"%s\"}\\n' \"$rc\" \"${SLURM_ARRAY_JOB_ID:-}\" "
        "\"$SLURM_ARRAY_TASK_ID\" \"${SLURM_JOB_ID:-}\" \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\" "
        f"\"{LOG_NAME}\" >\"$DIR/.{TASK}.tmp\" && mv -f \"$DIR/.{TASK}.tmp\" \"$DIR/{TASK}\"",
        "exit \"$rc\"",
    ]
    return "\n".join(lines) + "\n"


def sbatch_command(script: Path, sweep_dir: Path) -> list[str]:
    """The ``sbatch`` argument list (paths as separate arguments; ``%A_%a`` = job_task)."""
    out = sweep_dir / "slurm" / "slurm-%A_%a.out"
    return ["sbatch", "--parsable", f"--chdir={sweep_dir}", f"--output={out}", str(script)]


@dataclasses.dataclass
class Submission:
    script: Path
    command: list[str]
    text: str
    job_id: str | None = None


def submit(name: str, sweep_dir: Path, entries: list[dict[str, Any]], opts: SlurmOptions,
           dry_run: bool = False) -> Submission:
    """Write the script; unless ``dry_run``, submit it and record the job in ``slurm/jobs.json``."""
    if not entries:
        raise InputError("nothing to submit: every point is finished (use --force to run them again)")
    text = render_script(name, entries, opts)
    script = sweep_dir / "slurm" / SCRIPT
    write_text(script, text)
    cmd = sbatch_command(script, sweep_dir)
    sub = Submission(script, cmd, text)
    if dry_run:
        return sub
    if shutil.which("sbatch") is None:
        raise InputError("--executor slurm: 'sbatch' not found on PATH (use --dry-run to only write the script)")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise InputError(f"sbatch failed (exit {proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}")
    sub.job_id = proc.stdout.strip().split(";")[0]
    jobs_file = sweep_dir / "slurm" / JOBS
    jobs = submitted_jobs(sweep_dir)
    jobs.append({"job_id": sub.job_id, "indices": [e["index"] for e in entries],
                 "submitted": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
                 "script": str(script), "command": cmd})
    write_json(jobs_file, {"jobs": jobs})
    LOG.info("submitted job array %s (%d points)", sub.job_id, len(entries))
    return sub


def submitted_jobs(sweep_dir: Path) -> list[dict[str, Any]]:
    path = sweep_dir / "slurm" / JOBS
    if not path.is_file():
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    return list(data.get("jobs", [])) if isinstance(data, dict) else []


def queue(sweep_dir: Path) -> dict[int, str]:
    """Array index → SLURM state (PENDING, RUNNING, ...) of this sweep's jobs still in the queue."""
    jobs = submitted_jobs(sweep_dir)
    if not jobs or shutil.which("squeue") is None:
        return {}
    ids = ",".join(j["job_id"] for j in jobs)
    try:
        proc = subprocess.run(["squeue", "-h", "-r", "-j", ids, "-o", "%i|%T"], capture_output=True, text=True,
                              timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        LOG.warning("squeue failed: %s", exc)
        return {}
    out: dict[int, str] = {}
    for line in proc.stdout.splitlines():
        jid, _, st = line.strip().partition("|")
        m = re.match(r"^(\d+)_(\d+)$", jid)
        if m:
            out[int(m.group(2))] = st
    return out


def overlay_queue(states: list[PointState], q: dict[int, str], jobs: list[dict[str, Any]] | None = None) -> None:
    """Combine the point files with the queue (read the queue *before* the files).

    Points the queue holds become ``queued`` (pending) or ``running``. A point of the latest
    submission that left the queue without an exit status (cancelled, out of time, node failure:
    the array task was killed before it could write ``task.json``) becomes ``failed``.
    """
    last_job: dict[int, str] = {}
    for job in jobs or []:
        for index in job.get("indices", []):
            last_job[int(index)] = str(job.get("job_id"))
    for s in states:
        index = int(s.entry["index"])
        st = q.get(index)
        if st is None:
            if s.status in ("running", "not run") and index in last_job and s.task is None:
                jid = last_job[index]
                s.status = "failed"
                s.error = (f"left the SLURM queue without an exit status (job {jid}_{index} cancelled, out of "
                           f"time or killed); see slurm/slurm-{jid}_{index}.out")
            continue
        if s.status == "finished" and st not in ("RUNNING", "COMPLETING"):
            continue
        if st in ("PENDING", "CONFIGURING", "REQUEUED", "SUSPENDED", "REQUEUE_HOLD", "REQUEUE_FED"):
            s.status = "queued"
        elif st in ("RUNNING", "COMPLETING", "STAGE_OUT", "SIGNALING"):
            s.status = "running"
