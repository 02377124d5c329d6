"""What a sweep point has done, from the files in its folder.

* ``run.json`` (written by ``femsim run``): ``status`` running / finished / failed / interrupted and
  the resolved ``case``; a finished run whose case differs from the planned one is ``stale``.
* ``task.json`` (written by the executor after the process ends): ``exit_status``, times, log.
* ``run.log``: the run's output, searched for the error line when a point failed.

States: ``finished``, ``failed``, ``running``, ``stale``, ``not run`` (plus ``queued`` and
``running`` from the SLURM queue, see :mod:`femsim.sweep.slurm`).
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

from femsim.sweep.plan import case_digest

TASK = "task.json"
LOG_NAME = "run.log"
_LOGGED = re.compile(r"\b(ERROR|CRITICAL)\b")
_CLI = re.compile(r"^error: ")
_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit)\b.*")
_ERROR = re.compile(r"(error|exception|failed|abort|killed)", re.IGNORECASE)


@dataclasses.dataclass
class PointState:
    entry: dict[str, Any]
    status: str
    exit_status: int | None = None
    error: str = ""
    run: dict[str, Any] | None = None
    task: dict[str, Any] | None = None

    @property
    def folder(self) -> Path:
        return Path(self.entry["folder"])

    @property
    def log(self) -> Path:
        return self.folder / LOG_NAME


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def error_line(log: Path, max_bytes: int = 200_000) -> str:
    """The most telling line of a failed run's log.

    In order: the last logged ``ERROR``/``CRITICAL`` line, the CLI's ``error:`` line, the last
    Python exception line (``SomeError: ...``), the last error-looking line, the last line.
    """
    try:
        with open(log, "rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - max_bytes))
            text = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for pattern in (_LOGGED, _CLI, _EXCEPTION, _ERROR):
        for line in reversed(lines):
            if pattern.search(line) and not line.startswith(("Traceback", "During handling")):
                return line[:300]
    return lines[-1][:300] if lines else ""


def point_state(entry: dict[str, Any]) -> PointState:
    """The state of one manifest entry (see module docstring)."""
    folder = Path(entry["folder"])
    run = _read_json(folder / "run.json")
    task = _read_json(folder / TASK)
    exit_status = task.get("exit_status") if task else None
    state = PointState(entry, "not run", exit_status, "", run, task)
    if run is not None:
        status = run.get("status", "running")
        if status == "finished":
            planned = entry.get("case_digest")
            recorded = run.get("case", {})
            digest = (str(recorded.get("sha256", ""))[:16] if "by_reference" in recorded  # a large case
                      else case_digest(recorded))
            if planned and digest != planned:
                state.status = "stale"
            else:
                state.status = "finished"
            return state
        if status in ("failed", "interrupted"):
            state.status = "failed"
            state.error = f"{status}: {run.get('reason') or error_line(state.log)}"
            return state
        # "running": trust it unless the executor saw the process end (task.json is removed at start)
        if task is not None and task.get("exit_status") is not None:
            state.status = "failed"
            state.error = error_line(state.log) or f"exit status {exit_status}"
            return state
        state.status = "running"
        return state
    if task is not None and exit_status not in (None, 0):
        state.status = "failed"
        state.error = error_line(state.log) or f"exit status {exit_status}"
    elif task is not None and exit_status == 0:
        state.status = "failed"
        state.error = "exited with status 0 but wrote no run.json"
    return state


def sweep_states(manifest: dict[str, Any]) -> list[PointState]:
    return [point_state(e) for e in manifest["points"]]


def counts(states: list[PointState]) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in states:
        out[s.status] = out.get(s.status, 0) + 1
    return out


def summary_line(states: list[PointState]) -> str:
    c = counts(states)
    order = ["finished", "failed", "running", "queued", "stale", "not run"]
    parts = [f"{c[k]} {k}" for k in order if c.get(k)]
    return f"{len(states)} points: " + (", ".join(parts) if parts else "none")
