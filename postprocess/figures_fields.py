"""Field figures from ``fields/particles.pvd``: mid-plane section and top/bottom views of c/c_max
(paper Fig. 5b), sections of a separator-side and a collector-side particle (Fig. 5d), and a 3D
view of all particles coloured by their peak σ_eq.

Sections are drawn with matplotlib (``tripcolor`` on the triangulated pyvista slice, lengths in
µm); the 3D pictures are rendered off-screen with pyvista and placed in a matplotlib figure with
a matplotlib colour bar, so every panel shares one style.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.ticker import MaxNLocator
from matplotlib.tri import Triangulation

from postprocess.fracture import fracture_metric
from postprocess.reader import ResultsFolder, Table
from postprocess.style import (
    CMAP_CONC,
    CMAP_STRESS,
    DOUBLE_COLUMN_IN,
    PROBE_COLOURS,
    FigureResult,
    new_figure,
    save_figure,
    style,
)

log = logging.getLogger(__name__)

CONC = "c_over_cmax"
SIGMA = "sigma_eq_Pa"


def to_micrometres(grid: Any) -> Any:
    """A copy of a pyvista mesh with coordinates converted from m to µm."""
    g = grid.copy()
    g.points = g.points * 1e6
    return g


def point_array(grid: Any, name: str) -> np.ndarray | None:
    """Point values of ``name`` (cell data averaged to points when only cell data exists)."""
    if name in grid.point_data:
        return np.asarray(grid.point_data[name])
    if name in grid.cell_data:
        return np.asarray(grid.cell_data_to_point_data().point_data[name])
    return None


def section(grid: Any, normal: str, origin: tuple[float, float, float],
            names: tuple[str, ...]) -> dict[str, np.ndarray] | None:
    """Slice ``grid`` by the plane (``normal`` in 'x'/'y'/'z', ``origin``) and triangulate.

    Returns ``{'points': (n, 3), 'triangles': (m, 3), name: (n,) ...}`` for the arrays present,
    or None when the plane misses the mesh.
    """
    cut = grid.slice(normal=normal, origin=origin)
    if cut.n_cells == 0:
        return None
    tri = cut.triangulate()
    faces = np.asarray(tri.faces).reshape(-1, 4)[:, 1:]
    pts = np.asarray(tri.points)
    # drop zero-area triangles (plane through mesh vertices/edges): they draw as stray lines
    edge1, edge2 = pts[faces[:, 1]] - pts[faces[:, 0]], pts[faces[:, 2]] - pts[faces[:, 0]]
    area = 0.5 * np.linalg.norm(np.cross(edge1, edge2), axis=1)
    faces = faces[area > 1e-9 * max(float(area.max(initial=0.0)), 1e-300)]
    out: dict[str, np.ndarray] = {"points": pts, "triangles": faces}
    for n in names:
        if n in tri.point_data:
            out[n] = np.asarray(tri.point_data[n])
    return out


def _axes_of(normal: str) -> tuple[int, int]:
    return {"x": (1, 2), "y": (0, 2), "z": (0, 1)}[normal]


def _draw_section(ax: Any, sec: dict[str, np.ndarray], name: str, normal: str, norm: Normalize, cmap: str,
                  scale: float = 1.0) -> Any:
    i, j = _axes_of(normal)
    tri = Triangulation(sec["points"][:, i], sec["points"][:, j], sec["triangles"])
    art = ax.tripcolor(tri, sec[name] * scale, shading="gouraud", cmap=cmap, norm=norm)
    ax.set_aspect("equal")
    ax.grid(False)
    ax.set_xlabel(f"{'xyz'[i]} (µm)")
    ax.set_ylabel(f"{'xyz'[j]} (µm)")
    return art


def _render_views(surface: Any, scalars: np.ndarray, cmap: str, clim: tuple[float | None, float | None],
                  views: tuple[str, ...], bounds_box: Any | None = None) -> list[np.ndarray]:
    """Render ``surface`` coloured by ``scalars`` off-screen from each view ('top', 'bottom', 'iso')."""
    import pyvista as pv

    pv.OFF_SCREEN = True
    images = []
    with pv.vtk_verbosity("off"):
        pl = pv.Plotter(off_screen=True, window_size=(900, 900))
        try:
            pl.set_background("white")
            # mostly ambient light: colours stay close to the colour bar, shading still shows shape
            pl.add_mesh(surface, scalars=scalars, cmap=cmap, clim=clim, show_scalar_bar=False,
                        smooth_shading=True, ambient=0.45, diffuse=0.55, specular=0.0)
            if bounds_box is not None:
                pl.add_mesh(bounds_box.outline(), color="black", line_width=1.5)
            for view in views:
                if view == "iso":
                    pl.disable_parallel_projection()
                    pl.view_isometric()
                    pl.camera.azimuth = pl.camera.azimuth + 180
                else:
                    pl.enable_parallel_projection()
                    pl.view_xy(negative=(view == "bottom"))
                pl.reset_camera()
                images.append(_crop(pl.screenshot(return_img=True)))
        finally:
            pl.close()
    return images


def _crop(img: np.ndarray, pad: int = 6) -> np.ndarray:
    """Trim the white border of a rendered RGB image."""
    mask = np.any(img[..., :3] < 250, axis=-1)
    if not mask.any():
        return img
    rows, cols = np.where(mask.any(axis=1))[0], np.where(mask.any(axis=0))[0]
    r0, r1 = max(rows[0] - pad, 0), min(rows[-1] + pad + 1, img.shape[0])
    c0, c1 = max(cols[0] - pad, 0), min(cols[-1] + pad + 1, img.shape[1])
    return img[r0:r1, c0:c1]


def fig_sections(results: ResultsFolder, grid: Any, t_read: float | None, out_dir: Path,
                 warnings: list[str]) -> FigureResult:
    """Fig. 5b: c/c_max on the mid-plane section y = y_mid (x–z, µm) and views from the top
    (separator side) and bottom (collector side) of the particle surfaces.

    ``grid`` is the particle mesh in m. Plotted data: ``section_points_um``, ``section_c_over_cmax``
    and ``y_mid_um``. If the off-screen rendering fails, only the section is drawn and a warning is
    appended to ``warnings``.
    """
    g = to_micrometres(grid)
    c = point_array(g, CONC)
    if c is None:
        raise KeyError(f"{CONC} not in the particle field file")
    g.point_data[CONC] = c
    y_mid = 0.5 * (g.bounds[2] + g.bounds[3])
    sec = section(g, "y", (g.center[0], y_mid, g.center[2]), (CONC,))
    norm = Normalize(vmin=float(np.nanmin(c)), vmax=float(np.nanmax(c)))
    images: list[np.ndarray] = []
    b = g.bounds
    x_lim, z_lim = (min(b[0], 0.0), max(b[1], 0.0)), (0.0, max(b[5], results.cathode_thickness_um))
    try:
        import pyvista as pv

        surf = g.extract_surface(algorithm="dataset_surface")
        frame = pv.Box(bounds=(x_lim[0], x_lim[1], min(b[2], 0.0), max(b[3], 0.0), 0.0, z_lim[1]))
        images = _render_views(surf, np.asarray(surf.point_data[CONC]), CMAP_CONC, (norm.vmin, norm.vmax),
                               ("top", "bottom"), bounds_box=frame)
    except Exception as exc:  # rendering depends on the machine's OpenGL
        warnings.append(f"top/bottom views of c/c_max not rendered ({exc})")
        log.debug("off-screen rendering failed: %s", exc, exc_info=True)
    tlabel = f"t = {t_read:g} s" if t_read is not None else "last output"
    with style():
        fig, axes = new_figure(DOUBLE_COLUMN_IN, 3.4, ncols=1 + len(images), squeeze=False,
                               width_ratios=[1.0] + [1.6] * len(images))
        axes = axes[0]
        if sec is not None:
            _draw_section(axes[0], sec, CONC, "y", norm, CMAP_CONC)
        axes[0].set_xlim(*x_lim)
        axes[0].set_ylim(*z_lim)
        axes[0].xaxis.set_major_locator(MaxNLocator(3))
        axes[0].axhline(results.cathode_thickness_um, color="0.3", ls="--", lw=0.8)
        axes[0].set_title(f"(a) section y = {y_mid:.1f} µm")
        for ax, img, title in zip(axes[1:], images, ("(b) top view (separator side)",
                                                    "(c) bottom view (collector side)")):
            ax.imshow(img)
            ax.set_axis_off()
            ax.set_title(title)
        fig.colorbar(ScalarMappable(norm=norm, cmap=CMAP_CONC), ax=list(axes), label=r"$c/c_{max}$ (–)",
                     shrink=0.85)
        fig.suptitle(f"{results.name}: normalised Li concentration in the particles, {tlabel}", fontsize=9)
        path = save_figure(fig, out_dir / "fig5b_concentration.png")
    caption = (f"c/c_max in the particles at {tlabel}: (a) section through the mid-plane y = {y_mid:.1f} µm "
               "(x and z in µm; dashed: separator/cathode boundary)"
               + ("; (b) seen from the separator side; (c) seen from the collector side." if images else "."))
    data = {"y_mid_um": y_mid}
    if sec is not None:
        data.update({"section_points_um": sec["points"], "section_c_over_cmax": sec[CONC]})
    return FigureResult("fig5b_concentration", path, caption, fig, data)


def choose_probe_particles(results: ResultsFolder, summary: Table) -> dict[str, int]:
    """Particle ids for the separator-side and collector-side sections.

    The probes' particles (``probes.csv``; by default whole particles) when present, else the
    shallowest and the deepest whole (unclipped) particle of ``summary`` (any particle when the
    summary has no ``clipped`` column or every particle is clipped), so that the sections are
    full circles.
    """
    out: dict[str, int] = {}
    whole = summary["clipped"] == 0 if "clipped" in summary else np.ones(summary["particle_id"].size, dtype=bool)
    if not whole.any():
        whole[:] = True
    depth = np.where(whole, summary["depth_um"], np.nan)
    for p, pick in (("Ps", np.nanargmin), ("Pcc", np.nanargmax)):
        h = results.probe_history(p)
        if h is not None and np.isfinite(h["particle_id"][0]):
            out[p] = int(h["particle_id"][0])
        else:
            out[p] = int(summary["particle_id"][pick(depth)])
    return out


def fig_particle_sections(results: ResultsFolder, grid: Any, t_read: float | None, summary: Table,
                          out_dir: Path, warnings: list[str]) -> FigureResult | None:
    """Fig. 5d: c/c_max and σ_eq (MPa) on x–z sections (µm) through the centres of a
    separator-side (P_s) and a collector-side (P_cc) particle; the probe point is marked.

    Returns None (and warns) when the mesh lacks ``particle_id``. Plotted data per probe ``p``:
    ``{p}_particle_id``, ``{p}_points_um``, ``{p}_c_over_cmax`` and ``{p}_sigma_eq_MPa``.
    """
    if "particle_id" not in grid.cell_data:
        warnings.append("particle field file has no particle_id cell data: particle sections skipped")
        return None
    g = to_micrometres(grid)
    for name in (CONC, SIGMA):
        vals = point_array(g, name)
        if vals is not None:
            g.point_data[name] = vals
    has_sigma = SIGMA in g.point_data
    if not has_sigma:
        warnings.append("no sigma_eq_Pa in the particle field file: stress sections skipped")
    chosen = choose_probe_particles(results, summary)
    pid_cells = np.asarray(g.cell_data["particle_id"]).astype(int)
    row_of = {int(i): k for k, i in enumerate(summary["particle_id"])}
    sections: dict[str, dict[str, np.ndarray]] = {}
    for p, pid in chosen.items():
        part = g.extract_cells(np.where(pid_cells == pid)[0])
        if part.n_cells == 0 or pid not in row_of:
            warnings.append(f"particle {pid} ({p}) not found in the field file")
            continue
        k = row_of[pid]
        centre = (summary["x_um"][k], summary["y_um"][k], summary["z_um"][k])
        sec = section(part, "y", centre, (CONC, SIGMA))
        if sec is not None:
            sections[p] = sec | {"particle_id": np.array(pid), "centre": np.array(centre)}
    if not sections:
        warnings.append("no particle section could be cut: Fig. 5d skipped")
        return None
    cols = [CONC, SIGMA] if has_sigma else [CONC]
    norms = {n: Normalize(*_range(np.concatenate([s[n] for s in sections.values()]) * (1e-6 if n == SIGMA else 1)))
             for n in cols}
    tlabel = f"t = {t_read:g} s" if t_read is not None else "last output"
    data: dict[str, Any] = {}
    with style():
        fig, axes = new_figure(DOUBLE_COLUMN_IN if has_sigma else 3.8, 2.8 * len(sections),
                               nrows=len(sections), ncols=len(cols), squeeze=False)
        for r, (p, sec) in enumerate(sections.items()):
            depth = results.cathode_thickness_um - float(sec["centre"][2])
            for cidx, n in enumerate(cols):
                ax = axes[r][cidx]
                scale = 1e-6 if n == SIGMA else 1.0
                art = _draw_section(ax, sec, n, "y", norms[n], CMAP_STRESS if n == SIGMA else CMAP_CONC, scale)
                h = results.probe_history(p)
                if h is not None:
                    ax.plot(h["x_um"][0], h["z_um"][0], marker="x", color=PROBE_COLOURS[p], ms=6, mew=1.5)
                what = r"$c/c_{max}$" if n == CONC else r"$\sigma_{eq}$"
                ax.set_title(f"{p}: particle {int(sec['particle_id'])} (depth {depth:.1f} µm), {what}")
                fig.colorbar(art, ax=ax, label=r"$c/c_{max}$ (–)" if n == CONC else r"$\sigma_{eq}$ (MPa)")
            data[f"{p}_particle_id"] = int(sec["particle_id"])
            data[f"{p}_points_um"] = sec["points"]
            data[f"{p}_c_over_cmax"] = sec[CONC]
            if has_sigma:
                data[f"{p}_sigma_eq_MPa"] = sec[SIGMA] * 1e-6
        fig.suptitle(f"{results.name}: sections through a separator-side and a collector-side particle, {tlabel}",
                     fontsize=9)
        path = save_figure(fig, out_dir / "fig5d_particle_sections.png")
    caption = (f"Sections (x–z plane through the particle centre, µm) of the particles holding P_s and P_cc "
               f"(× marks the probe) at {tlabel}: c/c_max" + (" and σ_eq (MPa)." if has_sigma else "."))
    return FigureResult("fig5d_particle_sections", path, caption, fig, data)


def _range(v: np.ndarray) -> tuple[float, float]:
    lo, hi = float(np.nanmin(v)), float(np.nanmax(v))
    return (lo, hi) if hi > lo else (lo - 0.5 * abs(lo) - 1e-12, hi + 0.5 * abs(hi) + 1e-12)


def fig_peak_stress_3d(results: ResultsFolder, grid: Any | None, summary: Table, out_dir: Path,
                       warnings: list[str]) -> FigureResult | None:
    """3D view of all particles coloured by their fracture metric (MPa, ``fracture_metric_Pa`` of the
    summary: by default the run peak of the p95 σ_eq).

    Uses the particle mesh when given (and carrying ``particle_id``), else spheres from the
    particle table. Plotted data: ``particle_id``, ``peak_sigma_eq_MPa`` (per particle) and
    ``cell_peak_sigma_eq_MPa`` (the value painted on each rendered cell).
    """
    import pyvista as pv

    peak = fracture_metric(summary) * 1e-6
    if not np.isfinite(peak).any():
        warnings.append("no stresses in particles.csv: 3D peak-stress view skipped")
        return None
    lut = dict(zip(summary["particle_id"].astype(int), peak))
    if grid is not None and "particle_id" in grid.cell_data:
        mesh = to_micrometres(grid).extract_surface(algorithm="dataset_surface")
        cell_pid = np.asarray(mesh.cell_data["particle_id"]).astype(int)
    else:
        spheres = []
        for k, pid in enumerate(summary["particle_id"].astype(int)):
            s = pv.Sphere(radius=summary["radius_um"][k], center=(summary["x_um"][k], summary["y_um"][k],
                                                                   summary["z_um"][k]))
            s.cell_data["particle_id"] = np.full(s.n_cells, pid)
            spheres.append(s)
        mesh = pv.merge(spheres)
        cell_pid = np.asarray(mesh.cell_data["particle_id"]).astype(int)
    cell_vals = np.array([lut.get(i, np.nan) for i in cell_pid])
    mesh.cell_data["peak_sigma_eq_MPa"] = cell_vals
    norm = Normalize(*_range(peak[np.isfinite(peak)]))
    b = mesh.bounds
    box = pv.Box(bounds=(min(b[0], 0.0), max(b[1], 0.0), min(b[2], 0.0), max(b[3], 0.0), 0.0,
                         results.cathode_thickness_um))
    try:
        (img,) = _render_views(mesh, cell_vals, CMAP_STRESS, (norm.vmin, norm.vmax), ("iso",),
                               bounds_box=box)
    except Exception as exc:
        warnings.append(f"3D peak-stress view not rendered ({exc})")
        log.debug("off-screen rendering failed: %s", exc, exc_info=True)
        return None
    with style():
        fig, ax = new_figure(4.5, 4.2)
        ax.imshow(img)
        ax.set_axis_off()
        fig.colorbar(ScalarMappable(norm=norm, cmap=CMAP_STRESS), ax=ax, shrink=0.8,
                     label=f"{results.fracture_metric} (MPa)")
        ax.set_title(f"{results.name}: particles coloured by {results.fracture_metric}\n"
                     f"(box: cathode, separator on top, collector at the bottom)")
        path = save_figure(fig, out_dir / "fig_peak_stress_3d.png")
    caption = (f"All particles coloured by {results.fracture_metric} of particles.csv (MPa); "
               "the outline is the cathode "
               f"box (0 ≤ z ≤ {results.cathode_thickness_um:g} µm), separator on top.")
    return FigureResult("fig_peak_stress_3d", path, caption, fig,
                        {"particle_id": summary["particle_id"], "peak_sigma_eq_MPa": peak,
                         "cell_peak_sigma_eq_MPa": cell_vals})
