"""Shared helpers of the reliability tests: the small restart case, running femsim as a process."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
FEMSIM = str(BIN / "femsim")
MPIEXEC = str(BIN / "mpiexec")
#: four hand-placed particles in a 10 x 10 x 10 um cathode (own copy: independent of shipped tables)
TABLE_TEXT = """\
id,x,y,z,radius
1,2.8,2.8,2.8,2.4
2,7.2,7.0,3.0,2.3
3,3.0,7.0,7.2,2.3
4,7.0,3.0,7.0,2.4
"""

#: the geometry of the small test cases: ``table.csv`` (TABLE_TEXT) in a 10 µm cube, 5 µm separator
SMALL_GEOMETRY = """\
[geometry]
particle_table = "table.csv"
box_um = [10.0, 10.0, 10.0]
separator_thickness_um = 5.0
"""


def small_case(sections: str, name: str | None = None) -> str:
    """Case-file text of a small test case: ``[case] name`` (if given), SMALL_GEOMETRY, ``sections``."""
    return (f'[case]\nname = "{name}"\n' if name else "") + SMALL_GEOMETRY + sections


def write_small_case(folder: Path, text: str, table_text: str = TABLE_TEXT) -> Path:
    """Write ``table.csv`` and ``case.toml`` (``text``) into ``folder``; returns the case path."""
    (folder / "table.csv").write_text(table_text)
    path = folder / "case.toml"
    path.write_text(text)
    return path


#: the tiny CI geometry, no mechanics/fields, short protocol with an output time: 5 steps
RESTART_CASE = small_case("""\
[mesh]
{mesh_line}
[protocol]
c_rate = 5.0
areal_capacity_mAh_cm2 = 0.19
end_time_s = 4.0
[solver]
dt_initial_s = 0.5
dt_max_s = 1.0
[mechanics]
enabled = false
[output]
times_s = [3.0]
fields = false
progress = false
snapshot_every_steps = 1
""", name="restart")


def write_restart_case(folder: Path, mesh_file: Path | None = None, **replace: str) -> Path:
    """Write the restart case and its particle table into ``folder`` (``replace``: text substitutions)."""
    text = RESTART_CASE.format(mesh_line=f'file = "{mesh_file}"' if mesh_file else "")
    for old, new in replace.items():
        text = text.replace(old, new)
    return write_small_case(folder, text)


def stepped_restart_problem(folder: Path, comm, mesh_file: Path | None = None, **solver: object):
    """The restart case of ``folder`` (written there beforehand) set up on ``comm`` and advanced by one
    accepted 0.5 s step at its constant current; ``solver``: [solver] settings to override. Returns
    the HalfCellProblem (the step's level not yet committed) and that current (A/m²)."""
    from femsim.case import load_case
    from femsim.simulation import Simulation

    case = load_case(folder / "case.toml")
    case.output.folder = folder / "out"
    for key, value in solver.items():
        setattr(case.solver, key, value)
    sim = Simulation(case, comm)
    sim.setup()
    problem = sim.problem
    problem.set_initial_state()
    current = case.protocol.current_density_A_m2
    ok, _, _ = problem.step(0.5, current)
    assert ok
    return problem, current


def env() -> dict[str, str]:
    """Environment for child processes: one thread per rank, no fault injection by default."""
    out = dict(os.environ)
    out.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    out.pop("FEMSIM_FAULT_INJECT", None)
    return out


def femsim_cmd(args: list[str], ranks: int = 1) -> list[str]:
    cmd = [FEMSIM, *args]
    return [MPIEXEC, "-n", str(ranks), *cmd] if ranks > 1 else cmd


def run_femsim(args: list[str], ranks: int = 1, timeout: float = 240, cwd: Path | None = None,
               extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    e = env()
    e.update(extra_env or {})
    return subprocess.run(femsim_cmd(args, ranks), capture_output=True, text=True, timeout=timeout, cwd=cwd, env=e)


def run_and_kill(args: list[str], ranks: int, until: Path, timeout: float = 240,
                 sig: int = signal.SIGKILL) -> int:
    """Start femsim, send ``sig`` to its whole process group as soon as ``until`` exists.

    Returns the exit status (negative: killed by that signal)."""
    proc = subprocess.Popen(femsim_cmd(args, ranks), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=env(), start_new_session=True)
    t0 = time.monotonic()
    try:
        while not until.exists():
            if proc.poll() is not None:
                raise AssertionError(f"run ended before {until} appeared: {proc.stderr.read()[-2000:]}")
            if time.monotonic() - t0 > timeout:
                raise AssertionError(f"{until} did not appear within {timeout} s")
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        proc.stderr.close()
    return proc.returncode


def read_series(path: Path) -> list[list[float]]:
    with open(path) as fh:
        rows = list(csv.reader(fh))
    numeric = [k for k, name in enumerate(rows[0]) if name not in ("step_kind", "probe")]
    return [[float(r[k]) for k in numeric] for r in rows[1:] if r]
