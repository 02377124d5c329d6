"""Post-processing of femsim results folders: figures, an HTML report and the comparison of
simulated stress with measured fracture.

Nothing here imports the solver (DOLFINx): a results folder copied off a cluster is enough.
Heavy modules (matplotlib, pyvista) load on first use.

Entry points: :func:`build_report` and :func:`compare_runs` (``femsim report`` on the command line).

What a report holds (``<results>/report/`` unless ``out_dir`` is given):

* ``fig5b_concentration.png``: c/c_max on the mid-plane section y = y_mid and seen from the
  separator (top) and collector (bottom) sides, at the report time (paper Fig. 5b);
* ``fig5c_potentials.png``: φ_ext (V) and Δφ_l (mV) versus time (Fig. 5c);
* ``fig5d_particle_sections.png``: c/c_max and σ_eq (MPa) on sections of the P_s and P_cc
  particles (Fig. 5d);
* ``fig5e_probes.png``: σ_eq (MPa) and c/c_max histories at P_s and P_cc (Fig. 5e);
* ``fig_depth_profiles.png``: per-particle state of charge and peak σ_eq in 10-µm depth windows;
* ``fig_peak_stress_3d.png``: all particles coloured by peak σ_eq (off-screen pyvista);
* ``fig_fracture_profile.png`` (with measured fracture data): measured damage fractions beside
  simulated stress classes per depth window;
* ``compare_runs.png`` (several folders): overlaid time series;
* ``index.html``, ``key_numbers.json``, ``particle_summary.csv``, ``depth_profile.csv`` and the
  ``fracture_*`` tables.

Module map: :mod:`~postprocess.reader` (results folder), :mod:`~postprocess.figures_timeseries`,
:mod:`~postprocess.figures_fields`, :mod:`~postprocess.figures_depth`, :mod:`~postprocess.fracture`
(Spearman, stress classes, confusion tables), :mod:`~postprocess.report` (HTML),
:mod:`~postprocess.demo` (a synthetic results folder for tests and demonstrations).
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
