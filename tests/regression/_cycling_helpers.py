"""The small cycling case of the regression tests and running femsim as a child process."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reliability"))

from _reliability_helpers import run_and_kill, run_femsim, small_case, write_small_case  # noqa: E402

__all__ = ["kill_and_resume", "mesh_cycle_geometry", "run_femsim", "write_cycle_case"]

#: the 4-particle restart geometry on a coarse mesh (about 3000 cells, particle volumes within 6 %)
#: and long steps (dt doubles after an easy step, 50 mV per CC step, 25 % current change per hold
#: step): these tests check the protocol logic (step ends, switching, restarts, ranks), not accuracy
CYCLE_CASE = small_case("""\
[mesh]
{mesh_line}size_surface_per_radius = 0.4
size_max_um = 3.0
size_particle_core_um = 3.0
[protocol]
areal_capacity_mAh_cm2 = {capacity}
initial_stoichiometry = 0.40
steps = {steps}
cycles = {cycles}
[solver]
dt_initial_s = 2.0
dt_max_s = 20.0
dt_growth = 2.0
max_voltage_change_V = 0.05
max_hold_current_change = 0.25
[mechanics]
enabled = {mechanics}
[output]
times_s = []
fields = false
progress = false
snapshot_every_steps = 1
""", name="cycle")


def write_cycle_case(folder: Path, steps: str, capacity_mAh_cm2: float, mesh_file: Path | None = None,
                     cycles: int = 1, mechanics: bool = False) -> Path:
    """The 4-particle restart geometry (10 µm cube) with a protocol of ``steps`` (TOML list text)
    repeated ``cycles`` times; ``mesh_file``: an existing mesh of it (see :func:`mesh_cycle_geometry`)."""
    text = CYCLE_CASE.format(steps=steps, capacity=capacity_mAh_cm2, cycles=cycles,
                             mechanics="true" if mechanics else "false",
                             mesh_line=f'file = "{mesh_file}"\n' if mesh_file else "")
    return write_small_case(folder, text)


def mesh_cycle_geometry(folder: Path) -> Path:
    """Mesh the cycling geometry once into ``folder/mesh`` (``femsim mesh``); returns the .msh path."""
    case = write_cycle_case(folder, '["Rest for 1 second"]', 0.19)
    proc = run_femsim(["mesh", str(case), "--out", str(folder / "mesh")])
    assert proc.returncode == 0, proc.stderr[-3000:]
    return folder / "mesh" / "rve.msh"


def kill_and_resume(case: Path, out: Path, n_kill: int) -> dict[str, Any]:
    """Run ``case`` into ``out``, SIGKILL it as soon as snapshot ``step_<n_kill>`` exists, check it was
    left ``running``, resume it to the end; returns the resumed run's manifest (status ``finished``)."""
    run_and_kill(["run", str(case), "--out", str(out)], 1, until=out / "snapshots" / f"step_{n_kill:08d}")
    assert json.loads((out / "run.json").read_text())["status"] == "running"
    proc = run_femsim(["run", str(case), "--out", str(out), "--resume"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["status"] == "finished", manifest["status"]
    return manifest
