"""Blockwise segmentation of volumes larger than the memory budget (``--max-memory-gb``).

A 3D volume whose whole-volume segmentation would need more than the budget
(:data:`femsim.segmentation.io.BYTES_PER_VOXEL` per voxel) is segmented in z slabs:

* every slab is a *core* of z slices plus ``overlap_vox`` slices on each side (default 32 voxels,
  more than the diameter of the particles the pipeline is meant for: about 21 voxels in the NREL
  volume), so a particle whose centroid lies in the core is entirely inside its slab;
* the slabs are normalised with the grey range of the whole volume inside its field of view
  (constant padding left out, :mod:`femsim.segmentation.field_of_view`); each slab has its own
  threshold and grey levels (stationary images give the same values; a slow drift along z is
  followed);
* a particle (or fragment) belongs to the slab whose core holds its centroid; its voxels, columns
  and crack masks come from that slab, and the masks of the images kept for overlays from each core.
  A centroid within a fraction of a voxel of a core boundary can be measured on both sides of it
  by the two slabs: the later slab drops a particle whose voxels the earlier one already holds;
* classes, ranks, depth profile and network are recomputed on the assembled table
  (:func:`femsim.segmentation.pipeline.analyse`), ``touches_border`` from the bounding boxes and
  the padding outside the field of view.

Memory: :data:`ASSEMBLED_BYTES_PER_VOXEL` per voxel of the whole volume for the assembled arrays
plus :data:`~femsim.segmentation.io.BYTES_PER_VOXEL` per voxel of one slab; the slab thickness is
the largest that fits.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np

from femsim.errors import InputError
from femsim.segmentation import field_of_view, io, pipeline

log = logging.getLogger(__name__)

#: bytes per voxel of the whole volume held while segmenting in blocks (raw image up to 4 B,
#: normalised image 4 B, int32 labels and fragments 8 B, four bool masks)
ASSEMBLED_BYTES_PER_VOXEL = 20


def slab_plan(nz: int, slice_voxels: int, budget_bytes: float, overlap_vox: int) -> list[tuple[int, int, int, int]]:
    """(slab start, core start, core end, slab end) z indices of each block.

    Raises:
        InputError: not even a slab of one core slice plus the overlaps fits.
    """
    room = budget_bytes - ASSEMBLED_BYTES_PER_VOXEL * nz * slice_voxels
    thick = int(room // (io.BYTES_PER_VOXEL * slice_voxels)) if room > 0 else 0
    core = min(nz, thick - 2 * overlap_vox)
    if core < max(1, overlap_vox // 2):
        raise InputError(f"--max-memory-gb {budget_bytes / 1024**3:.2f}: too small even for blockwise "
                         f"segmentation (slabs of {thick} slices, {2 * overlap_vox} of them overlap): crop "
                         "(--crop) or downsample (--downsample) the image")
    plan = []
    for c0 in range(0, nz, core):
        c1 = min(nz, c0 + core)
        plan.append((max(0, c0 - overlap_vox), c0, c1, min(nz, c1 + overlap_vox)))
    return plan


def segment_blocks(image: np.ndarray, voxel_size_um: float, cfg: pipeline.SegmentConfig, budget_bytes: float,
                   source: str | None = None, overlap_vox: int = 32) -> pipeline.Segmentation:
    """Segment a 3D volume slab by slab (see module doc); the result is one :class:`Segmentation`."""
    from femsim.segmentation import filters

    if image.ndim != 3:
        raise InputError("blockwise segmentation needs a 3D volume", file=source)
    nz, ny, nx = image.shape
    plan = slab_plan(nz, ny * nx, budget_bytes, overlap_vox)
    log.info("segmenting %s in %d z slabs (cores of %d slices, overlap %d)", source, len(plan),
             plan[0][2] - plan[0][1], overlap_vox)
    grey = field_of_view.grey_range_of_slabs(image, [(s0, s1) for s0, _, _, s1 in plan])  # padding left out
    filters.normalise(image[:1], source, grey)  # constant-image check on the whole range
    h = float(voxel_size_um)
    labels = np.zeros(image.shape, dtype=np.int32)
    frag_labels = np.zeros(image.shape, dtype=np.int32)
    norm = np.zeros(image.shape, dtype=np.float32)
    masks = {k: np.zeros(image.shape, dtype=bool) for k in ("solid", "void", "open_crack", "fine_crack", "outside")}
    parts: list[dict[str, np.ndarray]] = []
    frags: list[dict[str, np.ndarray]] = []
    slab_cfg = replace(cfg, depth_face="zmax")
    first = None
    n_lab = n_frag = 0
    for s0, c0, c1, s1 in plan:
        try:
            seg = pipeline.segment_image(image[s0:s1], h, slab_cfg, source, grey)
        except InputError as exc:
            if "no particles found" in exc.message:
                continue
            raise
        first = first or seg
        core = slice(c0 - s0, c1 - s0)
        norm[c0:c1] = seg.image[core]
        for k in masks:
            arr = getattr(seg, k)
            if arr is not None:
                masks[k][c0:c1] = arr[core]
        for table, lab_src, lab_dst, out, offset in ((seg.table, seg.labels, labels, parts, n_lab),
                                                     (seg.fragments, seg.fragment_labels, frag_labels, frags, n_frag)):
            if not table or not len(table["id"]):
                continue
            z = table["z"] / h - 0.5 + s0  # centroid in global voxel index
            keep = (z >= c0 - 0.5) & (z < c1 - 0.5)
            assert lab_src is not None  # a table with rows has its label image
            sub = lab_src.astype(np.int64)
            view = lab_dst[s0:s1]
            # a particle whose centroid lies within a fraction of a voxel of the core boundary can be
            # measured on both sides of it by the two slabs: the second keeps it only if the first did not
            n_src = len(table["id"])
            taken = np.bincount(sub[view > 0], minlength=n_src + 1)[1:]
            keep &= taken <= 0.5 * np.bincount(sub.ravel(), minlength=n_src + 1)[1:]
            mapping = np.zeros(n_src + 1, dtype=np.int32)
            mapping[1:][keep] = offset + np.arange(1, int(keep.sum()) + 1)
            mapped = mapping[sub]
            view[mapped > 0] = mapped[mapped > 0]
            cols = {k: np.asarray(v)[keep] for k, v in table.items()}
            cols["id"] = mapping[1:][keep]
            for key in ("z", "bbox_min_z_um", "bbox_max_z_um"):
                if key in cols:
                    cols[key] = cols[key] + s0 * h
            out.append(cols)
            if lab_dst is labels:
                n_lab += int(keep.sum())
            else:
                n_frag += int(keep.sum())
    if first is None or not parts:
        raise InputError("no particles found in any block", file=source)
    table = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    fragments = {k: np.concatenate([p[k] for p in frags]) for k in frags[0]} if frags else {}
    ext = (nx * h, ny * h, nz * h)
    for tab in (table, fragments):
        if tab:
            lo = np.column_stack([tab[f"bbox_min_{a}_um"] for a in "xyz"])
            hi = np.column_stack([tab[f"bbox_max_{a}_um"] for a in "xyz"])
            tab["touches_border"] = np.any(lo <= 1e-9, axis=1) | np.any(hi >= np.array(ext) - 1e-9, axis=1)
    outside = masks["outside"] if masks["outside"].any() else None
    if outside is not None:  # cut by the edge of the field of view
        table["touches_border"] |= np.isin(table["id"], field_of_view.touching(labels, outside))
    seg = pipeline.Segmentation(
        image=norm, solid=masks["solid"], void=masks["void"], edges=None, labels=labels, table=table,
        voxel_size_um=h, extent_um=ext, threshold=first.threshold, threshold_method=first.threshold_method,
        binary_input=first.binary_input, timings={"blocks": float(len(plan))}, fragments=fragments,
        fragment_labels=frag_labels, open_crack=masks["open_crack"], fine_crack=masks["fine_crack"],
        crack_levels=first.crack_levels, min_particle_voxels=first.min_particle_voxels, outside=outside)
    pipeline.analyse(seg, cfg)
    return seg
