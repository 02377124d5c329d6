"""The small cycling case of the regression tests and running femsim as a child process."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reliability"))

from _reliability_helpers import run_and_kill, run_femsim, small_case, write_small_case  # noqa: E402

__all__ = ["run_and_kill", "run_femsim", "write_cycle_case"]

CYCLE_CASE = small_case("""\
[protocol]
areal_capacity_mAh_cm2 = {capacity}
initial_stoichiometry = 0.40
steps = {steps}
[solver]
dt_initial_s = 1.0
dt_max_s = 10.0
[mechanics]
enabled = false
[output]
times_s = []
fields = false
progress = false
snapshot_every_steps = 1
""", name="cycle")


def write_cycle_case(folder: Path, steps: str, capacity_mAh_cm2: float) -> Path:
    """The 4-particle restart geometry (10 µm cube) with a protocol of ``steps`` (TOML list text)."""
    return write_small_case(folder, CYCLE_CASE.format(steps=steps, capacity=capacity_mAh_cm2))
