"""``femsim report``: figures, tables and a self-contained HTML page from a results folder.

:func:`build_report` writes into ``<results>/report/`` (or ``out_dir``): ``index.html``, the PNG
figures beside it, ``key_numbers.json``, ``particle_summary.csv``, ``depth_profile.csv`` and, with
measured fracture data, ``fracture_comparison.json`` / ``fracture_particles.csv`` /
``fracture_windows.csv``. A figure that cannot be made (missing field file, no stresses, failed
off-screen rendering) is skipped with a warning shown in the report.
"""

from __future__ import annotations

import html
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from femsim.io.atomic import write_csv, write_json, write_text
from postprocess import figures_cycling, figures_damage, figures_depth, figures_fields, figures_timeseries, fracture
from postprocess.reader import PROBES, ResultsFolder, Table, plain, read_field
from postprocess.style import FigureResult

log = logging.getLogger(__name__)


def key_numbers(res: ResultsFolder) -> dict[str, Any]:
    """Headline numbers (SI units in the key names), from ``run.json``'s summary where present,
    else recomputed from the CSV series; None where unknown."""
    s, ts = res.summary, res.timeseries
    t, d = ts["time_s"], ts["electrolyte_potential_drop_V"]
    dphi = s.get("mean_electrolyte_potential_drop_V")
    if dphi is None and t.size > 1 and t[-1] > t[0]:
        dphi = float(np.trapezoid(d, t) / (t[-1] - t[0]))
    peaks = {}
    for p, key in zip(PROBES, ("peak_sigma_eq_separator_Pa", "peak_sigma_eq_collector_Pa")):
        v = s.get(key)
        h = res.probe_history(p)
        if v is None and h is not None and np.isfinite(h["sigma_eq_Pa"]).any():
            v = float(np.nanmax(h["sigma_eq_Pa"]))
        peaks[key] = v
    wall = s.get("wall_time_s")
    if wall is None:
        wall = (res.run.get("timings") or {}).get("total_s")
    return {
        "status": res.run.get("status"), "termination": s.get("termination"),
        "time_end_s": s.get("time_end_s", float(t[-1]) if t.size else None),
        "time_to_cutoff_s": s.get("time_to_cutoff_s"),
        "delivered_capacity_mAh_cm2": s.get("delivered_capacity_mAh_cm2"),
        "mean_electrolyte_potential_drop_V": dphi,
        "voltage_end_V": s.get("voltage_end_V", float(ts["voltage_V"][-1]) if t.size else None),
        "soc_end": s.get("soc_end", float(ts["soc_mean"][-1]) if t.size else None),
        "soc_separator_150s": s.get("soc_separator_150s"), "soc_collector_150s": s.get("soc_collector_150s"),
        **peaks, "peak_sigma_eq_Pa": s.get("peak_sigma_eq_Pa"),
        "n_steps": s.get("n_steps", max(int(t.size) - 1, 0)), "n_dofs": s.get("n_dofs"),
        "wall_time_s": wall, "mechanics_wall_time_s": s.get("mechanics_wall_time_s"),
    }


#: (key, label, scale, unit, format) of the key-number table
_KEY_ROWS = (
    ("time_to_cutoff_s", "time to cut-off", 1.0, "s", "{:.1f}"),
    ("delivered_capacity_mAh_cm2", "delivered capacity", 1.0, "mAh cm⁻²", "{:.3f}"),
    ("mean_electrolyte_potential_drop_V", "mean electrolyte potential drop Δφ_l", 1e3, "mV", "{:.2f}"),
    ("peak_sigma_eq_separator_Pa", "peak σ_eq near the separator (P_s)", 1e-6, "MPa", "{:.1f}"),
    ("peak_sigma_eq_collector_Pa", "peak σ_eq near the collector (P_cc)", 1e-6, "MPa", "{:.1f}"),
    ("peak_sigma_eq_Pa", "peak σ_eq anywhere", 1e-6, "MPa", "{:.1f}"),
    ("voltage_end_V", "final voltage φ_ext", 1.0, "V", "{:.4f}"),
    ("soc_end", "final mean state of charge", 1.0, "–", "{:.3f}"),
    ("soc_separator_150s", "state of charge at 150 s, 10 µm at the separator", 1.0, "–", "{:.3f}"),
    ("soc_collector_150s", "state of charge at 150 s, 10 µm at the collector", 1.0, "–", "{:.3f}"),
    ("time_end_s", "simulated time", 1.0, "s", "{:.1f}"),
    ("n_steps", "time steps", 1.0, "", "{:.0f}"),
    ("n_dofs", "degrees of freedom", 1.0, "", "{:.0f}"),
    ("wall_time_s", "wall time", 1.0, "s", "{:.1f}"),
    ("mechanics_wall_time_s", "of which mechanics", 1.0, "s", "{:.1f}"),
)


#: report order of the figures (paper's Fig. 5 panels first)
_FIGURE_ORDER = ("fig5b_concentration", "fig5c_potentials", "fig5d_particle_sections", "fig5e_probes",
                 "fig_depth_profiles", "fig_peak_stress_3d", "fig_fracture_profile", "compare_runs")


def _num(v: Any, fmt: str) -> str:
    return fmt.format(v) if isinstance(v, (int, float)) and np.isfinite(v) else "n/a"


def mesh_rows(mesh: dict[str, Any]) -> list[tuple[str, str]]:
    """The run's mesh (``run.json["mesh"]`` with its ``mesh_report.json``) as readable (label, value) rows."""
    rep = mesh.get("report") or {}
    rows = [("mesh file", str(mesh.get("file", ""))),
            ("mesh size", f"{_num(mesh.get('n_cells'), '{:,.0f}')} cells, {_num(mesh.get('n_vertices'), '{:,.0f}')} "
                          f"vertices, {_num(mesh.get('n_dofs'), '{:,.0f}')} unknowns")]
    if "n_particles" in mesh or "n_particles" in rep:
        frac = rep.get("nmc_volume_fraction")
        rows.append(("particles", f"{mesh.get('n_particles', rep.get('n_particles'))}, NMC volume fraction "
                                  f"{_num(frac, '{:.4f}')} meshed / "
                                  f"{_num(rep.get('table_volume_fraction'), '{:.4f}')} exact"))
    if rep:
        volume_error = 100 * rep.get("particle_volume_max_rel_error", np.nan)
        area_error = 100 * (rep.get("interface_area_rel_error") or np.nan)
        rows.append(("mesh accuracy", f"particle volumes within {_num(volume_error, '{:.2f}')} %, "
                                      f"interface area {_num(area_error, '{:+.2f}')} %, "
                                      f"min quality {_num(rep.get('min_quality'), '{:.3f}')} (gamma)"))
        sizes = rep.get("sizes") or {}
        if sizes:
            rows.append(("mesh sizes (µm)", ", ".join(f"{k} {v:g}" for k, v in sizes.items()
                                                       if isinstance(v, (int, float)) and not isinstance(v, bool))))
        adj = rep.get("adjustments") or []
        text = "; ".join(f"{a.get('rule')} id {a.get('id')}: {a.get('action')}" for a in adj) if adj else "none"
        rows.append((f"table adjustments ({len(adj)})", text))
        if rep.get("elapsed_s") is not None:
            rows.append(("meshing time", f"{rep['elapsed_s']:.1f} s"))
    return rows


def _fmt_key(numbers: dict[str, Any], key: str, scale: float, fmt: str) -> str:
    v = numbers.get(key)
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "not reached" if key == "time_to_cutoff_s" and numbers.get("termination") else "n/a"
    return fmt.format(float(v) * scale)


def _write_table(path: Path, table: Table) -> None:
    cols = list(table)
    n = len(next(iter(table.values()))) if table else 0
    write_csv(path, cols, [[plain(table[c][i]) for c in cols] for i in range(n)])


def _attempt(what: str, warnings: list[str], fn: Any, *args: Any) -> Any:
    """Run one figure builder; on failure log it, record a warning and return None."""
    try:
        return fn(*args)
    except Exception as exc:  # one bad figure must not sink the report
        log.debug("%s skipped: %s", what, exc, exc_info=True)
        warnings.append(f"{what} skipped: {exc}")
        return None


@dataclass
class Report:
    """What :func:`make_report` produced.

    Attributes:
        index: the ``index.html`` path.
        figures: the figures written, with the data they plotted.
        numbers: the key numbers (SI units in the key names).
        warnings: figures skipped and other problems (also listed in the page).
    """

    index: Path
    figures: list[FigureResult]
    numbers: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    def figure(self, name: str) -> FigureResult:
        """The figure called ``name`` (file stem); KeyError if it was not made."""
        for f in self.figures:
            if f.name == name:
                return f
        raise KeyError(name)


def build_report(results_dir: str | Path, out_dir: str | Path | None = None, time_s: float = 150.0,
                 measured_profile: str | Path | None = None, measured_particles: str | Path | None = None,
                 compare_with: Sequence[str | Path] = ()) -> Path:
    """Build the report of one results folder and return the path of its ``index.html``
    (arguments as :func:`make_report`)."""
    return make_report(results_dir, out_dir, time_s, measured_profile, measured_particles, compare_with).index


def make_report(results_dir: str | Path, out_dir: str | Path | None = None, time_s: float = 150.0,
                measured_profile: str | Path | None = None, measured_particles: str | Path | None = None,
                compare_with: Sequence[str | Path] = ()) -> Report:
    """Build the report of one results folder.

    Args:
        results_dir: the results folder (``docs/results_format.md``).
        out_dir: output folder (default ``<results_dir>/report``).
        time_s: time (s) of the field snapshots and the state-of-charge profile (nearest output).
        measured_profile: measured depth profile CSV (``femsim segment`` format).
        measured_particles: per-particle measured classes CSV (``id``, ``damage_class``).
        compare_with: further results folders overlaid in a comparison figure.
    """
    res = ResultsFolder.open(results_dir)
    out = Path(out_dir) if out_dir is not None else res.path / "report"
    out.mkdir(parents=True, exist_ok=True)
    warnings = list(res.warnings)
    figs: list[FigureResult | None] = []
    tables: dict[str, Path] = {}
    figs.append(_attempt("Fig. 5c (potentials)", warnings, figures_timeseries.fig_potentials, res, out, time_s))
    figs.append(_attempt("Fig. 5e (probe histories)", warnings, figures_timeseries.fig_probes, res, out))
    figs.append(_attempt("cycling page", warnings, figures_cycling.fig_cycling, res, out))
    figs.append(_attempt("damage page", warnings, figures_damage.fig_damage, res.name, res.path, out))
    summary = None
    if res.particles is not None:
        summary = res.particle_summary(time_s)
        _write_table(out / "particle_summary.csv", summary)
        tables[f"per-particle summary (stresses in Pa, depth in µm; fracture_metric_Pa = {res.fracture_metric})"] = \
            out / "particle_summary.csv"
        prof = figures_depth.depth_profile(summary, figures_depth.depth_edges(res.cathode_thickness_um))
        _write_table(out / "depth_profile.csv", prof)
        tables["depth profile, 10-µm windows (stresses in Pa)"] = out / "depth_profile.csv"
        figs.append(_attempt("depth profiles", warnings, figures_depth.fig_depth_profiles, res.name, summary, prof, out,
                             _metric_label(res)))
    grid = t_read = None
    pvd = res.field_path("particles")
    if pvd is None:
        warnings.append("fields/particles.pvd not found: Fig. 5b, 5d skipped (3D view drawn from spheres)")
    else:
        loaded = _attempt("reading fields/particles.pvd", warnings, read_field, pvd, time_s)
        if loaded is not None:
            grid, t_read = loaded
            figs.append(_attempt("Fig. 5b (concentration sections)", warnings, figures_fields.fig_sections,
                                 res, grid, t_read, out, warnings))
            if summary is not None:
                figs.append(_attempt("Fig. 5d (particle sections)", warnings, figures_fields.fig_particle_sections,
                                     res, grid, t_read, summary, out, warnings))
    if summary is not None:
        figs.append(_attempt("3D peak-stress view", warnings, figures_fields.fig_peak_stress_3d,
                             res, grid, summary, out, warnings))
    fracture_html = ""
    if summary is not None:
        fracture_html, ffig = _fracture(res, summary, out, measured_profile, measured_particles, tables, warnings)
        figs.append(ffig)
    runs_numbers: list[tuple[str, dict[str, Any]]] = []
    if compare_with:
        others = [ResultsFolder.open(d) for d in compare_with]
        figs.append(_attempt("comparison of runs", warnings, figures_timeseries.compare_runs,
                             [res, *others], out / "compare_runs.png"))
        runs_numbers = [(r.name, key_numbers(r)) for r in [res, *others]]
    numbers = key_numbers(res)
    write_json(out / "key_numbers.json", {"case": res.name, "results": str(res.path), "report_time_s": time_s,
                                           **numbers, "runs": dict(runs_numbers) if runs_numbers else None,
                                           "warnings": warnings})
    tables["key numbers (JSON)"] = out / "key_numbers.json"
    figures = sorted((f for f in figs if f is not None), key=lambda f: _FIGURE_ORDER.index(f.name)
                     if f.name in _FIGURE_ORDER else len(_FIGURE_ORDER))
    index = out / "index.html"
    write_text(index, _html(res, out, numbers, figures, tables, warnings, fracture_html, runs_numbers, t_read, time_s))
    log.info("report written: %s (%d figures, %d warnings)", index, len(figures), len(warnings))
    return Report(index, figures, numbers, warnings)


def _fracture(res: ResultsFolder, summary: Table, out: Path, measured_profile: str | Path | None,
              measured_particles: str | Path | None, tables: dict[str, Path],
              warnings: list[str]) -> tuple[str, FigureResult | None]:
    """Compare with measured fracture when data are given (or passed through); returns HTML + figure."""
    measured: dict[int, str] | None = None
    source = ""
    if measured_particles is not None:
        measured, source = fracture.read_measured_classes(measured_particles), str(measured_particles)
    elif "damage_class" in summary:
        cls = [str(c).strip().lower() for c in summary["damage_class"]]
        if any(c in fracture.CLASSES for c in cls):
            measured = {int(i): c for i, c in zip(summary["particle_id"], cls) if c in fracture.CLASSES}
            source = "damage_class column of particles.csv"
    profile = fracture.read_measured_profile(measured_profile) if measured_profile is not None else None
    if measured is None and profile is None:
        return "", None
    if not np.isfinite(fracture.fracture_metric(summary)).any():
        warnings.append("no stresses in particles.csv: comparison with measured fracture skipped")
        return "", None
    parts: list[str] = ["<h2>Stress versus measured fracture</h2>"]
    result: dict[str, Any] = {}
    if measured is not None:
        cp = fracture.compare_particles(summary, measured)
        result["per_particle"] = {k: v for k, v in cp.items() if k != "rows"}
        write_csv(out / "fracture_particles.csv", list(cp["rows"][0]), [list(r.values()) for r in cp["rows"]])
        tables["per-particle fracture comparison"] = out / "fracture_particles.csv"
        parts.append(_particle_html(cp, source, _metric_label(res)))
    if profile is None and measured is not None:
        profile = fracture.profile_from_classes(summary, measured,
                                                figures_depth.depth_edges(res.cathode_thickness_um))
        parts.append("<p>No measured depth profile given: the profile below bins the per-particle classes by "
                     "simulated depth.</p>")
    assert profile is not None  # both None returned above
    cw = fracture.compare_profile(summary, profile)
    result["per_window"] = {k: v for k, v in cw.items() if k != "simulated_classes"}
    write_csv(out / "fracture_windows.csv", list(cw["windows"][0]), [list(w.values()) for w in cw["windows"]])
    tables["per-window fracture comparison"] = out / "fracture_windows.csv"
    write_json(out / "fracture_comparison.json", result)
    tables["fracture comparison (JSON)"] = out / "fracture_comparison.json"
    rs, rw = cw["spearman_peak_sigma"], cw["spearman_soc_swing"]
    parts.append(
        f"<p>Fracture metric: {html.escape(_metric_label(res))} (<code>{html.escape(res.fracture_metric)}</code>). "
        f"Per depth window ({len(cw['windows'])} windows): Spearman ρ between the simulated mean fracture metric "
        f"and the measured damage index (mild + 2·severe) = <b>{rs['rho']:.3f}</b> (p = {rs['p']:.3g}); "
        f"mean state-of-charge swing: ρ = <b>{rw['rho']:.3f}</b> (p = {rw['p']:.3g}).</p>")
    ffig = _attempt("fracture depth profile", warnings, figures_depth.fig_fracture_profile, res.name, cw, out)
    return "\n".join(parts), ffig


def _metric_label(res: ResultsFolder) -> str:
    from postprocess.reader import FRACTURE_METRIC, FRACTURE_METRIC_LABEL

    return FRACTURE_METRIC_LABEL if res.fracture_metric == FRACTURE_METRIC else "peak nodal σ_eq (mesh-dependent)"


def _particle_html(cp: dict[str, Any], source: str, metric: str) -> str:
    rs, rw, fr = cp["spearman_peak_sigma"], cp["spearman_soc_swing"], cp["measured_fractions"]
    head = "".join(f"<th>simulated {c}</th>" for c in fracture.CLASSES)
    body = "".join(f"<tr><th>measured {c}</th>" + "".join(f"<td>{n}</td>" for n in row) + "</tr>"
                   for c, row in zip(fracture.CLASSES, cp["confusion"]))
    return (
        f"<p>Per particle ({cp['n_matched']} of {cp['n_simulated']} simulated particles matched by id; classes from "
        f"{html.escape(source)}): Spearman ρ between {html.escape(metric)} and the measured class "
        f"(least 0, mild 1, severe 2) = "
        f"<b>{rs['rho']:.3f}</b> (p = {rs['p']:.3g}); state-of-charge swing: ρ = <b>{rw['rho']:.3f}</b> "
        f"(p = {rw['p']:.3g}).</p>"
        f"<p>Simulated particles split by {html.escape(metric)} with the measured proportions "
        f"(least {fr['least']:.2f}, "
        f"mild {fr['mild']:.2f}, severe {fr['severe']:.2f}); agreement {cp['agreement']:.2f}.</p>"
        f"<table class='num'><tr><th></th>{head}</tr>{body}</table>")


def _html(res: ResultsFolder, out: Path, numbers: dict[str, Any], figures: list[FigureResult],
          tables: dict[str, Path], warnings: list[str], fracture_html: str,
          runs_numbers: list[tuple[str, dict[str, Any]]], t_read: float | None, time_s: float) -> str:
    esc = html.escape
    rel = lambda p: esc(os.path.relpath(p, out).replace(os.sep, "/"))  # noqa: E731
    case = res.run.get("case") or {}
    info = [("case", res.name), ("results folder", str(res.path.resolve())), ("status", res.run.get("status")),
            ("reason", res.run.get("reason")), ("case file", res.run.get("case_file")),
            ("resumed from", res.run.get("resumed_from")),
            ("report time", f"{time_s:g} s (fields read at {t_read:g} s)" if t_read is not None else f"{time_s:g} s"),
            ("versions", ", ".join(f"{k} {v}" for k, v in (res.run.get("versions") or {}).items()))]
    info += mesh_rows(res.run.get("mesh") or {})
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(str(v))}</td></tr>" for k, v in info if v not in (None, ""))
    keyrows = "".join(f"<tr><th>{esc(lab)}</th><td>{_fmt_key(numbers, k, sc, fmt)}</td><td>{esc(u)}</td></tr>"
                      for k, lab, sc, u, fmt in _KEY_ROWS)
    def fig_html(fs: list[FigureResult]) -> str:
        return "".join(f"<figure id='{esc(f.name)}'><img src='{rel(f.path)}' alt='{esc(f.name)}'>"
                       f"<figcaption>{esc(f.caption)}</figcaption></figure>" for f in fs)

    special = ("fig_fracture_profile", "compare_runs", "fig_cycling", "fig_damage")
    figs = fig_html([f for f in figures if f.name not in special])
    cycling = [f for f in figures if f.name in ("fig_cycling", "fig_damage")]
    cycling_html = (f"<h2>Cycling</h2>{figures_cycling.cycles_html(res, esc)}{fig_html(cycling)}" if cycling else "")
    fracture_html += fig_html([f for f in figures if f.name == "fig_fracture_profile"])
    comp = ""
    if runs_numbers:
        labels = figures_timeseries._unique_labels([n for n, _ in runs_numbers])
        head = "".join(f"<th>{esc(n)}</th>" for n in labels)
        body = "".join(f"<tr><th>{esc(lab)} ({esc(u)})</th>" + "".join(f"<td>{_fmt_key(v, k, sc, fmt)}</td>"
                       for _, v in runs_numbers) + "</tr>" for k, lab, sc, u, fmt in _KEY_ROWS[:8])
        comp = (f"<h2>Comparison of runs</h2><table class='num'><tr><th></th>{head}</tr>{body}</table>"
                + fig_html([f for f in figures if f.name == "compare_runs"]))
    data_files = [res.path / n for n in ("run.json", "timeseries.csv", "cycles.csv", "particles.csv", "probes.csv")]
    data_files += sorted((res.path / "fields").glob("*.pvd")) if (res.path / "fields").is_dir() else []
    links = "".join(f"<li><a href='{rel(p)}'>{esc(p.name)}</a></li>" for p in data_files if p.exists())
    links += "".join(f"<li><a href='{rel(p)}'>{esc(p.name)}</a>: {esc(lab)}</li>" for lab, p in tables.items())
    warn = ("<h2>Warnings</h2><ul class='warn'>" + "".join(f"<li>{esc(w)}</li>" for w in warnings) + "</ul>"
            if warnings else "")
    desc = case.get("description") or case.get("name") or ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>femsim report: {esc(res.name)}</title>
<style>
body {{ font-family: Helvetica, Arial, sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }}
h1 {{ font-size: 1.5em; }} h2 {{ font-size: 1.2em; border-bottom: 1px solid #ccc; margin-top: 1.6em; }}
table {{ border-collapse: collapse; margin: 0.5em 0; }}
th, td {{ padding: 3px 10px; border-bottom: 1px solid #eee; text-align: left; font-size: 0.92em; }}
table.num td {{ text-align: right; font-variant-numeric: tabular-nums; }}
figure {{ margin: 1.5em 0; }} img {{ max-width: 100%; border: 1px solid #eee; }}
figcaption {{ font-size: 0.9em; color: #444; margin-top: 0.3em; }}
ul.warn li {{ color: #a15c00; }}
</style></head><body>
<h1>femsim report: {esc(res.name)}</h1>
<p>{esc(str(desc))}</p>
<h2>Case</h2><table>{rows}</table>
<details><summary>resolved case</summary><pre>{esc(json.dumps(case, indent=2, default=str))}</pre></details>
<h2>Key numbers</h2><table class="num">{keyrows}</table>
{warn}
<h2>Figures</h2>{figs}
{cycling_html}
{fracture_html}
{comp}
<h2>Data files</h2><ul>{links}</ul>
</body></html>
"""
