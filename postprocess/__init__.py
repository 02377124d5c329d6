"""Post-processing of femsim results folders: figures, an HTML report and the comparison of
simulated stress with measured fracture.

Nothing here imports the solver (DOLFINx): a results folder copied off a cluster is enough.
Heavy modules (matplotlib, pyvista) load on first use.

Entry points: :func:`build_report` and :func:`compare_runs`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["build_report", "compare_runs"]


def build_report(results_dir: str | Path, out_dir: str | Path | None = None, time_s: float = 150.0,
                 measured_profile: str | Path | None = None, measured_particles: str | Path | None = None,
                 compare_with: Any = ()) -> Path:
    """Write ``index.html`` and its figures for a results folder; see :func:`postprocess.report.build_report`."""
    from postprocess.report import build_report as _build

    return _build(results_dir, out_dir=out_dir, time_s=time_s, measured_profile=measured_profile,
                  measured_particles=measured_particles, compare_with=compare_with)


def compare_runs(dirs: Any, out_path: str | Path) -> Path:
    """Overlay the time series of several results folders into one PNG (``out_path``) and return it."""
    from postprocess.figures_timeseries import compare_runs as _compare

    return _compare(dirs, out_path).path
