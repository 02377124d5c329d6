"""The local executor: run the points of a planned sweep as ``femsim run`` processes.

``jobs`` points run at once, each under ``mpiexec -n R`` when ``R > 1``. Finished points are
skipped (unless ``force``); a failing point is recorded in its ``task.json`` (exit status, error
line, log path) and the others go on. One progress line is printed per finished point.
"""

from __future__ import annotations

import concurrent.futures
import datetime as _dt
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from femsim.io.atomic import write_json
from femsim.sweep.state import LOG_NAME, TASK, error_line, point_state

LOG = logging.getLogger(__name__)


def femsim_command() -> list[str]:
    """How to start ``femsim`` from here: the console script beside this Python, else ``-m``."""
    exe = Path(sys.executable).parent / "femsim"
    return [str(exe)] if exe.is_file() else [sys.executable, "-m", "femsim.cli"]


def default_mpiexec() -> str:
    """The ``mpiexec`` beside this Python (the MPI that mpi4py uses), else ``mpiexec`` on PATH."""
    exe = Path(sys.executable).parent / "mpiexec"
    return str(exe) if exe.is_file() else "mpiexec"


def point_command(case_file: str | Path, ranks: int, mpiexec: str | None = None) -> list[str]:
    """The command line that runs one point."""
    cmd = femsim_command() + ["run", str(case_file)]
    if ranks > 1:
        cmd = [mpiexec or default_mpiexec(), "-n", str(ranks)] + cmd
    return cmd


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


class LocalExecutor:
    """Runs points in a thread pool of subprocesses (see module docstring)."""

    def __init__(self, jobs: int = 1, ranks: int = 1, timeout_s: float | None = None, mpiexec: str | None = None,
                 out: Any = None):
        self.jobs = max(1, jobs)
        self.ranks = max(1, ranks)
        self.timeout_s = timeout_s or None
        self.mpiexec = mpiexec
        self.out = out if out is not None else sys.stdout
        self._procs: set[subprocess.Popen] = set()
        self._lock = threading.Lock()

    def _run_point(self, entry: dict[str, Any]) -> dict[str, Any]:
        folder = Path(entry["folder"])
        folder.mkdir(parents=True, exist_ok=True)
        (folder / TASK).unlink(missing_ok=True)
        log = folder / LOG_NAME
        cmd = point_command(entry["case_file"], self.ranks, self.mpiexec)
        env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"), FEMSIM_SWEEP_POINT=entry["dir"])
        started, t0 = _now(), time.perf_counter()
        timed_out = False
        with open(log, "wb") as fh:
            proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                    cwd=folder, start_new_session=True)
            with self._lock:
                self._procs.add(proc)
            try:
                rc = proc.wait(timeout=self.timeout_s)
            except subprocess.TimeoutExpired:
                timed_out = True
                self._kill(proc)
                rc = proc.wait()
            finally:
                with self._lock:
                    self._procs.discard(proc)
        task = {"executor": "local", "command": cmd, "exit_status": rc, "started": started, "finished": _now(),
                "elapsed_s": time.perf_counter() - t0, "log": str(log), "timed_out": timed_out}
        if rc != 0:
            task["error"] = (f"timed out after {self.timeout_s:g} s" if timed_out else error_line(log))
        write_json(folder / TASK, task)
        return task

    @staticmethod
    def _kill(proc: subprocess.Popen) -> None:
        """Terminate a point's process group (mpiexec and its ranks), then kill it if it lingers."""
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)

    def run(self, entries: list[dict[str, Any]], force: bool = False) -> dict[str, int]:
        """Run the entries that are not finished (all with ``force``); return counts by outcome."""
        todo, skipped = [], 0
        for e in entries:
            if not force and point_state(e).status == "finished":
                skipped += 1
            else:
                todo.append(e)
        total = len(entries)
        print(f"sweep: {total} points, {skipped} already finished, {len(todo)} to run "
              f"({self.jobs} at a time, {self.ranks} rank(s) each)", file=self.out, flush=True)
        done, failed = skipped, 0
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=self.jobs)
        futures = {pool.submit(self._run_point, e): e for e in todo}
        try:
            for fut in concurrent.futures.as_completed(futures):
                entry = futures[fut]
                try:
                    task = fut.result()
                    state = point_state(entry)
                    ok = state.status == "finished"
                    why = "" if ok else (task.get("error") or state.error or f"exit status {task['exit_status']}")
                except Exception as exc:  # noqa: BLE001 - one point's trouble must not stop the others
                    ok, why, task = False, f"{type(exc).__name__}: {exc}", {"elapsed_s": 0.0}
                done += ok
                failed += not ok
                running = len(todo) - (done - skipped) - failed
                line = (f"[{done + failed}/{total}] {'finished' if ok else 'FAILED'} {entry['dir']} "
                        f"({task.get('elapsed_s', 0.0):.1f} s)" + ("" if ok else f": {why}") +
                        f"; {done} finished, {failed} failed, {max(running, 0)} left")
                print(line, file=self.out, flush=True)
        except KeyboardInterrupt:
            with self._lock:
                procs = list(self._procs)
            for proc in procs:
                self._kill(proc)
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        return {"total": total, "skipped": skipped, "finished": done, "failed": failed}
