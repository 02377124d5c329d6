"""Files written by ``femsim segment`` (all atomically, see :mod:`femsim.io.atomic`).

=========================  ==================================================================
``particles.csv``          particle table read by ``femsim mesh`` (µm): ``id,x,y,z,radius`` (the
                           equivalent radius, shrunk where spheres would overlap, see
                           :func:`~femsim.segmentation.pipeline.mesh_radii`), then
                           ``volume_um3`` (``area_um2`` in 2D), ``equivalent_radius_um``,
                           ``sphericity``, ``touches_border`` (0/1), ``crack_fraction``
                           (= ``crack_fraction_open`` + ``crack_fraction_fine``, the two crack
                           types, see :mod:`~femsim.segmentation.cracks`),
                           ``damage_class``, ``scan_depth_um`` (depth from the chosen face of the
                           scanned volume; the run computes its own ``depth_um``), ``crack_rank``,
                           bounding box columns.
                           With a window: only particles whose centroid is in it, coordinates
                           relative to its lower corner; the whole table is ``particles_all.csv``.
``fragments.csv``          objects below the particle size limit (``--min-radius``): ``id,x,y,z``,
                           ``volume_um3``/``area_um2``, ``equivalent_radius_um``, ``touches_border``.
``labels.npz``             ``labels`` (uint16/uint32, (z, y, x)), ``fragments`` (their labels),
                           ``void`` (bool), ``open_crack``/``fine_crack`` (crack cores),
                           ``voxel_size_um``, ``offset_vox`` (crop origin in the stored image).
``depth_profile.csv``      class fractions per depth window (3D only).
``damage_network.csv``     ``source_id,target_id,length_um``; ``damage_network.vtk`` polylines.
``report.json``            counts, mean radius, class counts, timings, peak memory, settings.
``overlay_*.png``          grey slices with particle outlines coloured by damage class, open
                           cracks blue, fine cracks magenta, fragments outlined grey.
=========================  ==================================================================
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np

from femsim.io.atomic import atomic_open, write_csv
from femsim.segmentation import damage, network
from femsim.segmentation.pipeline import Segmentation

CLASS_COLOURS = {"least": (0.2, 0.8, 0.2), "mild": (1.0, 0.65, 0.0), "severe": (0.9, 0.1, 0.1)}
CRACK_COLOURS = {"open crack": (0.2, 0.5, 1.0), "fine crack": (1.0, 0.2, 0.9)}
FRAGMENT_HEADER_2D = ("id", "x", "y", "z", "area_um2", "equivalent_radius_um", "touches_border")
FRAGMENT_HEADER_3D = ("id", "x", "y", "z", "volume_um3", "equivalent_radius_um", "touches_border")


def table_columns(table: dict[str, np.ndarray], ndim: int) -> list[str]:
    """Column order of the particle table (contract with ``femsim mesh`` first)."""
    size = "volume_um3" if ndim == 3 else "area_um2"
    cols = ["id", "x", "y", "z", "radius", size, "equivalent_radius_um", "sphericity", "touches_border",
            "crack_fraction", "damage_class", "crack_fraction_open", "crack_fraction_fine", "scan_depth_um",
            "crack_rank"]
    cols += [f"bbox_{b}_{a}_um" for b in ("min", "max") for a in "xyz"]
    return [c for c in cols if c in table]


def _rows(table: dict[str, np.ndarray], cols: list[str]) -> list[list[Any]]:
    n = len(table["id"])
    out = []
    for i in range(n):
        row: list[Any] = []
        for c in cols:
            v = table[c][i]
            if c in ("id", "crack_rank"):
                row.append(int(v))
            elif c == "touches_border":
                row.append(int(bool(v)))
            elif c == "damage_class":
                row.append(str(v))
            else:
                row.append(round(float(v), 6))
        out.append(row)
    return out


def write_particle_table(path: str | os.PathLike, table: dict[str, np.ndarray], ndim: int,
                         max_overlap: float | None = 0.0) -> int:
    """Write a particle table CSV (see module doc); returns how many sphere radii were shrunk.

    ``radius`` is the equivalent radius, shrunk by :func:`~femsim.segmentation.pipeline.mesh_radii`
    where spheres would overlap by more than ``max_overlap`` × the smaller radius (None: never).
    """
    from femsim.segmentation.pipeline import mesh_radii

    tab = dict(table)
    req = tab["equivalent_radius_um"]
    if max_overlap is None or ndim != 3:
        tab["radius"] = req
    else:
        tab["radius"] = mesh_radii(np.column_stack([tab["x"], tab["y"], tab["z"]]), req, max_overlap)
    cols = table_columns(tab, ndim)
    write_csv(path, cols, _rows(tab, cols))
    return int(np.sum(tab["radius"] < req - 1e-12))


def write_labels(path: str | os.PathLike, seg: Segmentation, offset_vox: tuple[int, ...]) -> None:
    """Write the label image and crack voxels as a compressed ``.npz``."""
    dtype = np.uint16 if seg.labels.max() < 65535 else np.uint32
    with atomic_open(path, "wb") as fh:
        frag = seg.fragment_labels if seg.fragment_labels is not None else np.zeros_like(seg.labels)
        extra = {k: v for k, v in (("open_crack", seg.open_crack), ("fine_crack", seg.fine_crack)) if v is not None}
        # numpy's stub cannot tell that **extra names no keyword argument (allow_pickle)
        np.savez_compressed(fh, labels=seg.labels.astype(dtype), fragments=frag.astype(np.uint32), void=seg.void,
                            **extra,  # type: ignore[arg-type]
                            voxel_size_um=np.float64(seg.voxel_size_um), offset_vox=np.asarray(offset_vox))


def _overlay(ax: Any, grey: np.ndarray, labels: np.ndarray, open_crack: np.ndarray, fine_crack: np.ndarray,
             fragments: np.ndarray | None, classes: np.ndarray, title: str) -> None:
    from skimage.segmentation import find_boundaries

    ax.imshow(grey, cmap="gray", interpolation="nearest")
    rgba = np.zeros(grey.shape + (4,))
    bnd = find_boundaries(labels, mode="inner")
    lut = np.zeros((len(classes) + 1, 3))
    for k, c in enumerate(classes, start=1):
        lut[k] = CLASS_COLOURS.get(str(c), (1, 1, 1))
    rgba[..., :3] = lut[labels]
    rgba[..., 3] = bnd * 1.0
    if fragments is not None:
        rgba[find_boundaries(fragments, mode="inner")] = (0.6, 0.6, 0.6, 0.9)
    rgba[open_crack] = (*CRACK_COLOURS["open crack"], 0.75)
    rgba[fine_crack] = (*CRACK_COLOURS["fine crack"], 0.6)
    ax.imshow(rgba, interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.set_axis_off()


def write_overlays(out_dir: Path, seg: Segmentation, classes: np.ndarray) -> list[str]:
    """Slice-overlay PNGs (mid z and mid y slices in 3D, the image in 2D); returns the file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    views: list[tuple[str, tuple, str]] = []
    if seg.ndim == 2:
        views.append(("overlay.png", (slice(None), slice(None)), "image"))
    else:
        nz, ny, _ = seg.labels.shape
        views.append(("overlay_xy.png", (nz // 2, slice(None), slice(None)), f"xy slice z index {nz // 2}"))
        views.append(("overlay_xz.png", (slice(None), ny // 2, slice(None)), f"xz slice y index {ny // 2}"))
    names = []
    for name, sl, title in views:
        fine_all = seg.fine_crack if seg.fine_crack is not None else np.zeros_like(seg.void)
        open_all = seg.open_crack if seg.open_crack is not None else seg.void
        frag_all = seg.fragment_labels if seg.fragment_labels is not None else np.zeros_like(seg.labels)
        views_of = [a[sl] for a in (seg.image, seg.labels, open_all, fine_all, frag_all)]
        if seg.ndim == 3 and sl[0] == slice(None):  # xz view: put z (through-thickness) upwards
            views_of = [a[::-1] for a in views_of]
        grey, lab, op, fi, fr = views_of
        h, w = grey.shape
        fig, ax = plt.subplots(figsize=(min(16, 2 + 8 * w / max(h, w)), min(16, 1 + 8 * h / max(h, w))))
        _overlay(ax, grey, lab, op, fi, fr, classes,
                 f"{title}: outlines by damage class, open cracks blue, fine cracks magenta, fragments grey")
        colours = {**CLASS_COLOURS, **CRACK_COLOURS, "fragment": (0.6, 0.6, 0.6)}
        ax.legend(handles=[Patch(color=c, label=k) for k, c in colours.items()], loc="lower right",
                  fontsize=8, framealpha=0.7)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100 if seg.ndim == 3 else 160, bbox_inches="tight")
        plt.close(fig)
        with atomic_open(out_dir / name, "wb") as fh:
            fh.write(buf.getvalue())
        names.append(name)
    return names


def write_all(out_dir: str | os.PathLike, seg: Segmentation, window: tuple[tuple[float, ...], tuple[float, ...]] | None,
              offset_vox: tuple[int, ...], overlays: bool = True, max_overlap: float | None = 0.0) -> dict[str, Any]:
    """Write every output file; returns facts for the report (file names, window count)."""
    from femsim.segmentation.pipeline import select_window

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tab = seg.table
    files = ["particles.csv"]
    info: dict[str, Any] = {}
    if window is not None:
        sub = select_window(tab, window[0], window[1])
        shrunk = write_particle_table(out / "particles.csv", sub, seg.ndim, max_overlap)
        write_particle_table(out / "particles_all.csv", tab, seg.ndim, max_overlap)
        files.append("particles_all.csv")
        info["window"] = {"lower_um": list(window[0]), "upper_um": list(window[1]),
                          "n_particles": int(len(sub["id"]))}
    else:
        shrunk = write_particle_table(out / "particles.csv", tab, seg.ndim, max_overlap)
    info["n_radii_shrunk"] = shrunk
    frag = seg.fragments
    header = FRAGMENT_HEADER_3D if seg.ndim == 3 else FRAGMENT_HEADER_2D
    write_csv(out / "fragments.csv", header, _rows(frag, list(header)) if frag else [])
    write_labels(out / "labels.npz", seg, offset_vox)
    files += ["fragments.csv", "labels.npz"]
    if seg.ndim == 3:
        write_csv(out / "depth_profile.csv", damage.PROFILE_HEADER, seg.depth_rows)
        files.append("depth_profile.csv")
    severe = tab["damage_class"] == "severe"
    write_csv(out / "damage_network.csv", network.NETWORK_HEADER, seg.network_edges)
    network.write_vtk(out / "damage_network.vtk", tab["id"][severe],
                      np.column_stack([tab["x"], tab["y"], tab["z"]])[severe], seg.network_edges)
    files += ["damage_network.csv", "damage_network.vtk"]
    if overlays:
        files += write_overlays(out, seg, tab["damage_class"])
    info["files"] = files
    return info
