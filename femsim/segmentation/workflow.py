"""Scan → files: read an image, segment it, write every output and ``report.json``.

``report.json`` keys: ``n_particles``, ``n_interior_particles`` (not touching the image border),
``mean_equivalent_radius_um`` / ``_vox`` and ``median_equivalent_radius_um`` (interior particles),
``class_counts`` (all particles) and ``class_counts_interior``, ``network`` (severe-damage
network summary), ``elapsed_s`` (read to last file), ``timings_s`` (per stage),
``peak_memory_mb`` (peak resident memory of the process), ``cpu_s`` (CPU time of the process, the
cost on a machine shared with other jobs), ``memory_estimate_mb``, ``image``
(source, shape, dtype, voxel size, crop offset, binary), ``threshold``, ``depth_face``,
``depth_window_um``, ``window`` (when selected), ``n_radii_shrunk`` (table spheres shrunk to
remove overlaps), ``top_cracked`` (ids ranked by crack fraction), ``n_fragments`` and
``fragment_limit`` (objects below the particle size limit, kept out of every particle statistic),
``crack_levels`` (grey levels of the crack-type split, None on two-phase images),
``blocks`` (number of z slabs: volumes over the memory budget are segmented blockwise, see
:mod:`femsim.segmentation.blocks`), ``config`` (all stage settings), ``chemical_map`` (with ``--map``:
source, shell thickness and the mean over particles of each region's mean) and ``files``.
"""

from __future__ import annotations

import logging
import os
import resource
import time
from pathlib import Path
from typing import Any

import numpy as np

from femsim.errors import InputError
from femsim.io.atomic import write_csv, write_json
from femsim.segmentation import blocks, chemmap, damage, io, outputs, pipeline

log = logging.getLogger(__name__)


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far (MB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def resolve_window(extent_um: tuple[float, float, float], size_um: tuple[float, float, float] | None = None,
                   origin_um: tuple[float, ...] | None = None,
                   bounds_um: tuple[float, ...] | None = None) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
    """Window [lower, upper] in table coordinates (µm) from explicit bounds (x0,y0,z0,x1,y1,z1) or a
    size with an optional lower corner (default: centred in the image)."""
    if bounds_um is not None:
        if len(bounds_um) != 6:
            raise InputError(f"--window {bounds_um}: give x0,y0,z0,x1,y1,z1 (µm)")
        return tuple(bounds_um[:3]), tuple(bounds_um[3:])
    if size_um is None:
        if origin_um is not None:
            raise InputError("--window-origin needs --window-size")
        return None
    if len(size_um) != 3 or min(size_um) <= 0:
        raise InputError(f"--window-size {size_um}: give three positive lengths LX,LY,LZ (µm)")
    if any(s > e + 1e-9 for s, e in zip(size_um, extent_um)):
        raise InputError(f"--window-size {tuple(size_um)} µm exceeds the image extent "
                         f"{tuple(round(e, 3) for e in extent_um)} µm")
    if origin_um is None:
        origin_um = tuple((e - s) / 2 for s, e in zip(size_um, extent_um))
    if len(origin_um) != 3:
        raise InputError(f"--window-origin {origin_um}: give x0,y0,z0 (µm)")
    return tuple(origin_um), tuple(o + s for o, s in zip(origin_um, size_um))


def build_report(seg: pipeline.Segmentation, vol: io.Volume, cfg: pipeline.SegmentConfig) -> dict[str, Any]:
    """Summary numbers of a segmentation (see module doc)."""
    tab = seg.table
    interior = ~tab["touches_border"]
    r = tab["equivalent_radius_um"][interior]
    order = np.argsort(-tab["crack_fraction"], kind="stable")[:20]
    return {
        "n_particles": int(len(tab["id"])),
        "n_interior_particles": int(interior.sum()),
        "n_fragments": int(len(seg.fragments.get("id", []))),
        "fragment_limit": {"min_radius_um": cfg.min_radius_um, "min_voxels": seg.min_particle_voxels},
        "crack_levels": seg.crack_levels,
        "crack_fraction_open_mean": float(np.mean(tab["crack_fraction_open"])),
        "crack_fraction_fine_mean": float(np.mean(tab["crack_fraction_fine"])),
        "mean_equivalent_radius_um": float(r.mean()) if r.size else float("nan"),
        "mean_equivalent_radius_vox": float(r.mean() / seg.voxel_size_um) if r.size else float("nan"),
        "median_equivalent_radius_um": float(np.median(r)) if r.size else float("nan"),
        "class_counts": damage.class_counts(tab["damage_class"]),
        "class_counts_interior": damage.class_counts(tab["damage_class"][interior]),
        "network": seg.network_summary,
        "image": {"source": vol.source, "shape": list(seg.labels.shape), "dtype": str(vol.data.dtype),
                  "voxel_size_um": seg.voxel_size_um, "offset_vox": list(vol.offset_vox),
                  "extent_um": list(seg.extent_um), "binary": seg.binary_input,
                  "outside_field_of_view_fraction": seg.outside_fraction},
        "threshold": {"method": seg.threshold_method, "value_normalised": seg.threshold},
        "depth_face": cfg.depth_face,
        "depth_window_um": cfg.depth_window_um,
        "damage_thresholds": {"mild": cfg.mild, "severe": cfg.severe},
        "top_cracked": [{"id": int(tab["id"][i]), "crack_fraction": float(tab["crack_fraction"][i]),
                         "damage_class": str(tab["damage_class"][i])} for i in order],
        "config": pipeline.config_dict(cfg),
    }


def run_segmentation(image: str | os.PathLike, out_dir: str | os.PathLike, voxel_size_um: float | None = None,
                     config: pipeline.SegmentConfig | None = None, dataset: str | None = None,
                     crop: str | None = None, downsample: int = 1, max_memory_gb: float | None = None,
                     window_size_um: tuple[float, float, float] | None = None,
                     window_origin_um: tuple[float, float, float] | None = None,
                     window_bounds_um: tuple[float, ...] | None = None, overlays: bool = True,
                     max_sphere_overlap: float | None = 0.0, map_path: str | os.PathLike | None = None,
                     map_dataset: str | None = None, map_shell_um: float = 0.5) -> dict[str, Any]:
    """Read ``image``, segment it and write all outputs into ``out_dir``; returns the report.

    ``max_sphere_overlap``: largest overlap of two table spheres, as a fraction of the smaller
    radius (radii are shrunk to respect it; None keeps the equivalent radii as they are).
    ``map_path``: co-registered chemical map (:mod:`femsim.segmentation.chemmap`), read and
    checked before the segmentation, so that a bad map writes nothing.
    """
    if max_sphere_overlap is not None and not 0.0 <= max_sphere_overlap < 1.0:
        raise InputError(f"--max-sphere-overlap {max_sphere_overlap}: must lie in [0, 1)")
    t0 = time.perf_counter()
    cfg = config or pipeline.SegmentConfig()
    cfg.validate()
    budget = max_memory_gb * 1024**3 if max_memory_gb else 0.8 * io._available_memory_bytes()  # noqa: SLF001
    try:
        vol = io.read_image(image, voxel_size_um, dataset, crop, downsample, max_memory_gb)
        blocked = False
    except io.MemoryBudgetError as whole:  # too large for one piece: a 3D volume goes in z slabs
        try:
            vol = io.read_image(image, voxel_size_um, dataset, crop, downsample,
                                budget / 1024**3 * io.BYTES_PER_VOXEL / blocks.ASSEMBLED_BYTES_PER_VOXEL)
        except io.MemoryBudgetError:
            raise whole from None
        if vol.data.ndim != 3:
            raise whole from None
        blocked = True
    t_read = time.perf_counter() - t0
    log.info("read %s: shape %s, %s, voxel %.4g µm (%.1f s)", vol.source, vol.data.shape, vol.data.dtype,
             vol.voxel_size_um, t_read)
    window = None  # checked before the (long) segmentation
    if vol.data.ndim == 3:
        nz, ny, nx = vol.data.shape
        h = vol.voxel_size_um
        window = resolve_window((nx * h, ny * h, nz * h), window_size_um, window_origin_um, window_bounds_um)
    elif window_size_um or window_bounds_um:
        raise InputError("--window/--window-size need a 3D volume", file=vol.source)
    chem = shell_vox = None
    if map_path is not None:
        shell_vox = chemmap.shell_voxels(map_shell_um, vol.voxel_size_um)
        chem = chemmap.read_map(map_path, vol.data.shape, vol.voxel_size_um, map_dataset, crop, downsample,
                                max_memory_gb)
    if blocked:
        seg = blocks.segment_blocks(vol.data, vol.voxel_size_um, cfg, budget, vol.source)
    else:
        seg = pipeline.segment_image(vol.data, vol.voxel_size_um, cfg, vol.source)
    report = build_report(seg, vol, cfg)
    report["blocks"] = int(seg.timings.get("blocks", 1))
    stats = None
    if chem is not None:
        # set together with chem; region_masks needs the crack masks (it fails on None as before)
        assert shell_vox is not None and seg.open_crack is not None and seg.fine_crack is not None
        masks = chemmap.region_masks(seg.labels, seg.solid, seg.open_crack, seg.fine_crack, shell_vox)
        stats = chemmap.map_statistics(seg.labels, masks, chem)
        report["chemical_map"] = chemmap.summary(stats, str(map_path), map_shell_um, shell_vox)
    info = outputs.write_all(out_dir, seg, window, vol.offset_vox, overlays, max_sphere_overlap)
    if stats is not None and chem is not None:  # (both or neither)
        write_csv(Path(out_dir) / "chemical_map.csv", chemmap.map_header(),
                  [[int(stats["id"][i])] + [stats[c][i] for c in chemmap.map_header()[1:]]
                   for i in range(len(stats["id"]))])
        chemmap.write_figure(Path(out_dir) / "chemical_map.png", chem, seg.labels, stats)
        info["files"] += ["chemical_map.csv", "chemical_map.png"]
    report.update(info)
    timings = {"read": round(t_read, 3), **seg.timings}
    report["timings_s"] = timings
    report["memory_estimate_mb"] = float(np.prod(seg.labels.shape) * io.BYTES_PER_VOXEL / 1024**2)
    report["peak_memory_mb"] = round(peak_memory_mb(), 1)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    report["cpu_s"] = round(usage.ru_utime + usage.ru_stime, 3)  # wall time on a shared machine overstates the cost
    report["elapsed_s"] = round(time.perf_counter() - t0, 3)
    report["files"] = report.get("files", []) + ["report.json"]
    write_json(Path(out_dir) / "report.json", report)
    return report
