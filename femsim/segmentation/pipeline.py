"""The segmentation pipeline: image → labels → particle table → damage statistics.

Stages and defaults (every one configurable through :class:`SegmentConfig` / ``femsim segment``):

1. normalise grey levels to [0, 1] (``invert``: for dark particles on a bright background): the
   range is the image's inside its field of view (constant padding outside it is left out of every
   histogram, :mod:`femsim.segmentation.field_of_view`), far outliers clipped
   (:func:`femsim.segmentation.filters.grey_range`);
2. median filter, 3 voxels (skipped for already-binary input; by default the particle mask of 2D three-phase
   slices is thresholded on the unfiltered grey, see 5);
3. edges: Canny per z slice (σ 1 voxel, hysteresis at the 80th/90th gradient percentiles), computed
   only with ``edge_use="cut"``: removed from the mask before the distance transform (the default
   ``"overlay"`` computes nothing: the overlays draw the particle outlines);
4. particle/background separation: ``auto``: 2D three-phase slices (void, carbon-binder/fine cracks,
   particles; see :func:`femsim.segmentation.filters.three_phase_levels`) keep the brightest
   Multi-Otsu class with void-facing edges at mid grey; 3D three-phase volumes put the particle edge
   half-way to the phase it faces, void or binder (:func:`femsim.segmentation.filters.local_midpoint_solid`:
   blurred binder in the necks stays out of the mask; the brightest-class mask splits 3D particles);
   two-phase volumes and slices use Otsu; the three grey levels also type the cracks (stage 6);
   ``phases3`` forces the brightest-class mask, ``multiotsu``: brightest of 3 classes; binary input as is;
5. envelopes: closing (radius 2; 1 on a ``phases3`` volume mask, none on 2D three-phase slices) + hole filling (2D
   three-phase slices: mask from the unfiltered grey, only holes of
   inscribed radius ≤ ``max_hole_radius`` 3 voxels filled, so pores that a ring of touching sections
   encloses stay open, and wider holes thin for their size, area ≥ ``thin_hole_ratio`` 12 × r² (where
   cracks cross: X and star cracks, which split their particle when left open), then binder-grey holes deep
   in a blob whose opening keeps ``pore_core_ratio`` 0.88 of the local distance maximum are opened again
   (junction pores between touching sections; a crack through the core halves it), and wider holes left open
   whose filling raises the local distance maximum by more than 1 / ``crack_core_ratio`` (0.58: a crossing crack
   with a ring of its particle around it) and thin cracks whose mouth reaches the pore space (sealed by a
   radius-1 closing) are filled (:mod:`femsim.segmentation.holes`); elsewhere every hole,
   as the 3D pore space percolates and holes are cracks);
   distance-transform watershed splits touching particles (a seed inside the inscribed sphere of a higher one,
   ``merge_factor`` 1.0, or joined to it through a neck wider than ``saddle_ratio`` of its height is merged:
   auto 0.9 on grey volumes, whose blur widens every neck by about a voxel, else 0.75; 251x256x256 phantom:
   merged truth pairs 17.7 -> 11.2 %, F1 0.917 -> 0.931);
6. per-particle envelopes with cracks (closing radius 3 + hole filling) and crack voids; objects
   whose equivalent radius is below ``min_radius_um`` (default 1 µm: carbon-binder specks and
   debris, smaller than any NMC secondary particle) become *fragments*: their own table, out of the
   particle and class statistics; the crack fractions (``crack_estimator="unmix"``) split into open
   and fine cracks on three-phase images (:mod:`femsim.segmentation.cracks`), else unmix interior
   grey levels between particle and void grey (robust to blur; see
   :func:`femsim.segmentation.measure.crack_fraction_unmixed`); ``"threshold"`` (always used for
   binary input) counts the voxels under the threshold;
7. measurements, damage classes (crack fraction < 0.03 least, < 0.10 mild, else severe), depth
   profile in 10-µm windows from the ``zmax`` face, 3-nearest-neighbour network of severe particles.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from femsim.errors import InputError
from femsim.segmentation import cracks, damage, field_of_view, filters, holes, measure, network, segment

log = logging.getLogger(__name__)


@dataclass
class SegmentConfig:
    """Settings of every stage (lengths in voxels unless the name says µm)."""

    invert: bool = False
    median_size: int | None = None
    edges: str = "canny2d"
    edge_sigma: float = 1.0
    edge_low: float = 0.8
    edge_high: float = 0.9
    edge_use: str = "overlay"
    threshold: str = "auto"
    classes: int = 3
    threshold_value: float | None = None
    close_radius: int | None = None
    max_hole_radius: float | None = None
    thin_hole_ratio: float = segment.THIN_HOLE_RATIO
    pore_core_ratio: float = holes.PORE_CORE_RATIO
    crack_core_ratio: float = holes.CRACK_CORE_RATIO
    envelope_radius: int = 3
    merge_factor: float = 1.0
    saddle_ratio: float | None = None
    min_seed_radius: float = 2.0
    smooth_sigma: float = 0.5
    min_voxels: int = 27
    min_radius_um: float = 1.0
    mild: float = 0.03
    severe: float = 0.10
    depth_face: str = "zmax"
    depth_window_um: float = 10.0
    knn: int = 3
    sphericity: bool = True
    crack_estimator: str = "unmix"
    shell_vox: int = 1

    def validate(self) -> None:
        """Raise :class:`InputError` for out-of-range settings."""
        problems = []
        if self.max_hole_radius is not None and self.max_hole_radius < 0:
            problems.append(f"max hole radius {self.max_hole_radius}: must be ≥ 0 (0 = fill every hole)")
        if self.thin_hole_ratio < 0:
            problems.append(f"thin hole ratio {self.thin_hole_ratio}: must be ≥ 0 (0 = off)")
        if self.pore_core_ratio < 0:
            problems.append(f"pore core ratio {self.pore_core_ratio}: must be ≥ 0 (0 = off)")
        if self.crack_core_ratio < 0:
            problems.append(f"crack core ratio {self.crack_core_ratio}: must be ≥ 0 (0 = off)")
        if self.median_size is not None and self.median_size < 0:
            problems.append(f"median size {self.median_size}: must be ≥ 0")
        if self.edge_use not in ("overlay", "cut"):
            problems.append(f"edge use {self.edge_use!r}: choose overlay or cut")
        for name in ("close_radius", "envelope_radius"):
            if (getattr(self, name) or 0) < 0:
                problems.append(f"{name} {getattr(self, name)}: must be ≥ 0")
        if self.saddle_ratio is not None and self.saddle_ratio < 0:
            problems.append(f"saddle ratio {self.saddle_ratio}: must be ≥ 0 (0 = off)")
        if self.merge_factor < 0 or self.min_seed_radius < 0 or self.min_voxels < 1 or self.min_radius_um < 0:
            problems.append("merge factor and seed radius must be ≥ 0, minimum particle voxels ≥ 1")
        if self.depth_face not in ("zmax", "zmin"):
            problems.append(f"depth face {self.depth_face!r}: choose zmax or zmin")
        if self.crack_estimator not in ("unmix", "threshold"):
            problems.append(f"crack estimator {self.crack_estimator!r}: choose unmix or threshold")
        if self.knn < 1:
            problems.append(f"knn {self.knn}: must be ≥ 1")
        if problems:
            raise InputError(problems[0], problems=problems[1:])
        damage.DamageThresholds(self.mild, self.severe)


@dataclass
class Segmentation:
    """Everything the pipeline produced (images at the analysed resolution).

    Attributes:
        image: normalised (and median-filtered) grey image.
        solid, void, edges: bool images (edges None when off).
        labels: int32 particle labels (envelopes incl. cracks); objects below the particle size
            limit (``min_radius_um``) are in ``fragment_labels`` and the ``fragments`` table instead,
            out of every particle and class statistic.
        open_crack, fine_crack: bool crack-core masks of the two crack types
            (:mod:`femsim.segmentation.cracks`).
        table: particle columns (see :func:`femsim.segmentation.measure.measure_particles`) plus
            ``scan_depth_um``, ``damage_class``, ``crack_rank``; coordinates in femsim's convention
            (z mirrored when ``depth_face`` is ``zmin``, so the separator side is at z max).
        extent_um: (x, y, z) size of the analysed image (µm).
    """

    image: np.ndarray
    solid: np.ndarray
    void: np.ndarray
    edges: np.ndarray | None
    labels: np.ndarray
    table: dict[str, np.ndarray]
    voxel_size_um: float
    extent_um: tuple[float, float, float]
    threshold: float
    threshold_method: str
    binary_input: bool
    timings: dict[str, float] = field(default_factory=dict)
    network_edges: list[tuple[int, int, float]] = field(default_factory=list)
    network_summary: dict[str, Any] = field(default_factory=dict)
    depth_rows: list[tuple] = field(default_factory=list)
    fragments: dict[str, np.ndarray] = field(default_factory=dict)
    fragment_labels: np.ndarray | None = None
    open_crack: np.ndarray | None = None
    fine_crack: np.ndarray | None = None
    crack_levels: dict[str, float] | None = None
    min_particle_voxels: int = 0
    #: constant padding outside the field of view (field_of_view.py), None where there is none
    outside: np.ndarray | None = None

    @property
    def ndim(self) -> int:
        return self.labels.ndim

    @property
    def outside_fraction(self) -> float:
        """Share of the image outside the field of view."""
        return 0.0 if self.outside is None else float(self.outside.mean())


def segment_image(image: np.ndarray, voxel_size_um: float, config: SegmentConfig | None = None,
                  source: str | None = None, grey_range: tuple[float, float] | None = None) -> Segmentation:
    """Run every stage on a 2D slice or a 3D volume (z, y, x).

    Args:
        image: grey or binary image, any real dtype.
        voxel_size_um: voxel edge (µm).
        config: stage settings (defaults above).
        source: file name for error messages.
        grey_range: grey values mapped to 0 and 1 (default: the image's min and max inside the field of
            view, far outliers left out: :func:`femsim.segmentation.filters.grey_range`).

    Raises:
        InputError: constant image, no particle found, bad settings.
    """
    cfg = config or SegmentConfig()
    cfg.validate()
    if not (np.isfinite(voxel_size_um) and voxel_size_um > 0):
        raise InputError(f"voxel size {voxel_size_um!r} µm: must be a positive number", file=source)
    timings: dict[str, float] = {}
    t = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t
        now = time.perf_counter()
        timings[name] = round(now - t, 3)
        t = now

    outside = field_of_view.outside_mask(image, source)  # constant padding outside the reconstruction
    inside = None if outside is None else ~outside
    if grey_range is None:  # the image's extremes inside the field of view, far outliers left out
        grey_range = field_of_view.grey_range([(np.asarray(image), outside)])
    img = filters.normalise(image, source, grey_range)
    if cfg.invert:  # dark particles on a bright background
        img = 1.0 - img
    if outside is not None:
        img[outside] = float(np.clip(img[inside].min(), 0.0, 1.0))  # pore grey, left out of every histogram
    raw = img
    binary = filters.is_binary(img)
    lap("normalise")
    if not binary:
        img = filters.median(img, 3 if cfg.median_size is None else cfg.median_size)
    lap("median")
    # the edge map only serves the cut (the overlays draw particle outlines): not computed otherwise
    edge_map = None if (binary or cfg.edge_use != "cut") else filters.edges(img, cfg.edges, cfg.edge_sigma,
                                                                           cfg.edge_low, cfg.edge_high)
    lap("edges")
    solid, thr, method = filters.threshold(img, cfg.threshold, cfg.classes, cfg.threshold_value, inside)
    if not solid.any() or solid.all():
        raise InputError(f"no particles found: threshold {thr:.3f} leaves "
                         f"{'no' if not solid.any() else 'only'} particle voxels", file=source)
    grey2d = img.ndim == 2 and method == "phases3"
    if grey2d and cfg.median_size is None and cfg.threshold == "auto":
        # auto median on 2D three-phase slices: the particle mask from the unfiltered grey (the 3-voxel
        # median erases the one-voxel pore gaps between touching sections and joins them); the crack
        # cores keep the median image; the median mask stays when the raw histogram is not three-phase
        raw_solid, raw_thr, raw_method = filters.threshold(raw, cfg.threshold, cfg.classes, cfg.threshold_value,
                                                           inside)
        if raw_method == "phases3":
            solid, thr = raw_solid, raw_thr
    if img.ndim == 3 and method == "phases3" and cfg.threshold == "auto":
        # 3D three-phase volumes: the particle edge at the local midpoint towards the phase it faces (void or
        # binder; filters.local_midpoint_solid), so blurred binder in the necks stays out (251x256x256 phantom:
        # real merges 5.0 -> 2.9 %, F1 0.931 -> 0.945 vs the Otsu mask; the brightest-class mask, grown into
        # binder that lies near void, splits particles: F1 0.80); the three grey levels also type the cracks
        levels = filters.three_phase_levels(img, inside)
        if levels is not None:
            solid = filters.local_midpoint_solid(img, levels)
    lap("threshold")
    # auto hole bound: 3 voxels on 2D three-phase slices (pores a ring of touching sections encloses stay
    # open), else every hole is filled (0)
    mhr = cfg.max_hole_radius if cfg.max_hole_radius is not None else (3.0 if grey2d else 0.0)
    bound = mhr if (img.ndim == 2 and not binary and mhr > 0) else None
    # auto closing: none on 2D three-phase slices, radius 1 on a brightest-class (--threshold phases3) mask
    # of a volume (a larger one bridges the binder necks the threshold just excluded), else 2 (seals crack mouths)
    brightest_class_3d = method == "phases3" and not (img.ndim == 3 and cfg.threshold == "auto")
    close_radius = cfg.close_radius if cfg.close_radius is not None else (
        (0 if grey2d else 1) if brightest_class_3d else 2)
    filled = segment.fill_particles(solid, close_radius, bound, cfg.thin_hole_ratio or None)
    levels2d = filters.three_phase_levels(img, inside) if (bound is not None and cfg.pore_core_ratio > 0) else None
    if levels2d is not None:
        # binder-grey holes deep in a blob whose opening keeps the local distance maximum: junction pores
        filled = holes.reopen_junction_pores(solid, filled, img, levels2d["void"], levels2d["fine"],
                                               cfg.pore_core_ratio)
    if bound is not None and cfg.thin_hole_ratio:
        # thin cracks whose mouth reaches the open pore space (a radius-1 closing encloses them)
        filled = holes.seal_crack_mouths(solid, filled, cfg.thin_hole_ratio, bound)
    if bound is not None and cfg.crack_core_ratio > 0:
        # wide holes left open that are cracks through a core (a ring of one particle around them)
        filled = holes.fill_core_cracks(solid, filled, cfg.crack_core_ratio, bound)
    lap("fill")
    cut = edge_map & ~segment.fill_particles(solid, 0) if (edge_map is not None and cfg.edge_use == "cut") else None
    saddle = cfg.saddle_ratio if cfg.saddle_ratio is not None else (0.9 if img.ndim == 3 and not binary else 0.75)
    labels = segment.watershed_split(filled, cfg.merge_factor, cfg.min_seed_radius, cfg.smooth_sigma, cut,
                                     saddle)
    lap("watershed")
    env = segment.particle_envelopes(labels, solid, cfg.envelope_radius, cfg.min_voxels)
    del labels, filled
    if outside is not None:  # envelopes closed across the edge of the field of view
        env.labels[outside], env.void[outside] = 0, False
    r_vox = cfg.min_radius_um / voxel_size_um
    min_vox = max(cfg.min_voxels, int(np.ceil((4 / 3 if img.ndim == 3 else 1.0) * np.pi * r_vox**img.ndim)))
    env.labels, fragment_labels = segment.split_fragments(env.labels, min_vox)
    lap("envelopes")
    if env.labels.max() == 0:
        raise InputError(f"no particles found: every region is smaller than the particle size limit "
                         f"(equivalent radius {cfg.min_radius_um:g} µm = {min_vox} voxels; "
                         f"{int(fragment_labels.max())} fragments)", file=source)
    table = measure.measure_particles(env.labels, env.void, voxel_size_um, cfg.sphericity)
    fragments = measure.measure_particles(fragment_labels, env.void, voxel_size_um, sphericity=False)
    env.void &= env.labels > 0
    if outside is not None:  # cut by the edge of the field of view
        table["touches_border"] |= np.isin(table["id"], field_of_view.touching(env.labels, outside))
    open_mask, fine_mask, levels = cracks.add_crack_columns(table, env.labels, env.void, img, raw, solid, binary,
                                                            cfg.crack_estimator, cfg.shell_vox, inside)
    del raw
    lap("measure")
    shape = env.labels.shape
    extent = (shape[-1] * voxel_size_um, shape[-2] * voxel_size_um,
              shape[0] * voxel_size_um if env.labels.ndim == 3 else 0.0)
    seg = Segmentation(image=img, solid=solid, void=env.void, edges=edge_map, labels=env.labels, table=table,
                       voxel_size_um=float(voxel_size_um), extent_um=extent, threshold=thr,
                       threshold_method=method, binary_input=binary, timings=timings,
                       fragments=fragments, fragment_labels=fragment_labels, open_crack=open_mask,
                       fine_crack=fine_mask, crack_levels=levels, min_particle_voxels=min_vox,
                       outside=outside)
    analyse(seg, cfg)
    lap("analyse")
    log.info("%d particles segmented (%s threshold %.3f)", len(table["id"]), method, thr)
    return seg


def analyse(seg: Segmentation, cfg: SegmentConfig) -> None:
    """Damage classes, depth, crack ranking, depth profile and severe-damage network (in place)."""
    tab = seg.table
    th = damage.DamageThresholds(cfg.mild, cfg.severe)
    tab["damage_class"] = damage.classify(tab["crack_fraction"], th)
    order = np.argsort(-tab["crack_fraction"], kind="stable")
    rank = np.empty(len(order), dtype=int)
    rank[order] = np.arange(1, len(order) + 1)
    tab["crack_rank"] = rank
    if seg.ndim == 3:
        lz = seg.extent_um[2]
        if cfg.depth_face == "zmin":  # mirror so the separator side is at z max (femsim convention)
            tab["z"] = lz - tab["z"]
            tab["bbox_min_z_um"], tab["bbox_max_z_um"] = lz - tab["bbox_max_z_um"], lz - tab["bbox_min_z_um"]
        tab["scan_depth_um"] = lz - tab["z"]
        seg.depth_rows = damage.depth_profile(tab["scan_depth_um"], tab["damage_class"], lz, cfg.depth_window_um)
    else:
        tab["scan_depth_um"] = np.zeros(len(tab["id"]))
    severe = tab["damage_class"] == "severe"
    pts = np.column_stack([tab["x"], tab["y"], tab["z"]])[severe]
    seg.network_edges = network.knn_edges(tab["id"][severe], pts, cfg.knn)
    ex = seg.extent_um
    volume = ex[0] * ex[1] * (ex[2] if seg.ndim == 3 else seg.voxel_size_um)
    seg.network_summary = network.network_summary(int(severe.sum()), seg.network_edges, volume)


def select_window(table: dict[str, np.ndarray], lower_um: tuple[float, ...],
                  upper_um: tuple[float, ...]) -> dict[str, np.ndarray]:
    """Particles whose centroid lies in the box [lower, upper] (µm), coordinates made relative to
    ``lower`` (so a 20×20×40 µm window gives 0 ≤ x, y ≤ 20 and 0 ≤ z ≤ 40). Depth is kept as
    measured in the full volume."""
    lo = np.asarray(lower_um, dtype=float)
    hi = np.asarray(upper_um, dtype=float)
    if np.any(hi <= lo):
        raise InputError(f"window {tuple(lo)}–{tuple(hi)} µm: upper corner must exceed lower corner")
    xyz = np.column_stack([table["x"], table["y"], table["z"]])
    keep = np.all((xyz >= lo) & (xyz <= hi), axis=1)
    out = {k: np.asarray(v)[keep] for k, v in table.items()}
    for k, name in enumerate("xyz"):
        out[name] = out[name] - lo[k]
        for b in ("min", "max"):
            key = f"bbox_{b}_{name}_um"
            if key in out:
                out[key] = out[key] - lo[k]
    return out


def mesh_radii(centres_um: np.ndarray, radii_um: np.ndarray, max_overlap: float = 0.0) -> np.ndarray:
    """Sphere radii for the mesher: the equivalent radii, shrunk where spheres overlap.

    Real particles are not spheres, so the equivalent spheres of touching particles overlap (by up
    to a third of a radius in the NREL volume), which the RVE builder refuses. For every pair
    overlapping by more than ``max_overlap`` × the smaller radius (closest pairs first) both radii
    are scaled by the same factor until the overlap equals that limit; one pass suffices because
    shrinking never creates a new overlap. Centres do not move.
    """
    from scipy.spatial import cKDTree

    r = np.asarray(radii_um, dtype=float).copy()
    pts = np.asarray(centres_um, dtype=float).reshape(-1, 3)
    if len(r) < 2:
        return r
    pairs = cKDTree(pts).query_pairs(2.0 * float(r.max()), output_type="ndarray")
    if len(pairs) == 0:
        return r
    dist = np.linalg.norm(pts[pairs[:, 0]] - pts[pairs[:, 1]], axis=1)
    for k in np.argsort(dist, kind="stable"):
        i, j = pairs[k]
        d = dist[k]
        allowed = d + max_overlap * min(r[i], r[j])
        if r[i] + r[j] > allowed:
            # scale both by f with f (r_i + r_j) = d + max_overlap f min(r_i, r_j)
            f = d / (r[i] + r[j] - max_overlap * min(r[i], r[j]))
            r[i] *= f
            r[j] *= f
    return r


def config_dict(cfg: SegmentConfig) -> dict[str, Any]:
    """The configuration as a plain dict (for report.json)."""
    return asdict(cfg)
