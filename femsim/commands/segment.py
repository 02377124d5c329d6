"""``femsim segment IMAGE --voxel-size UM --out DIR``: tomogram → particle table and damage statistics.

See :mod:`femsim.segmentation.pipeline` for the stages and their defaults and
:mod:`femsim.segmentation.outputs` for the files written.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

HELP = "segment a tomography volume/slice into particles, damage classes, depth profile and network"


def _floats(n: int | tuple[int, ...]) -> Callable[[str], tuple[float, ...]]:
    counts = (n,) if isinstance(n, int) else n

    def parse(text: str) -> tuple[float, ...]:
        try:
            vals = tuple(float(v) for v in text.replace(" ", "").split(","))
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: expected comma-separated numbers") from None
        if len(vals) not in counts:
            raise argparse.ArgumentTypeError(f"{text!r}: expected {' or '.join(map(str, counts))} numbers")
        return vals

    return parse


def register(parser: argparse.ArgumentParser) -> None:
    from femsim.segmentation.pipeline import SegmentConfig

    d = SegmentConfig()
    parser.add_argument("image",
                        help="multi-page TIFF, folder of TIFF slices, .npy/.npz or HDF5 (FILE.h5:/dataset)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--voxel-size", type=float, default=None, metavar="UM",
                        help="voxel edge in µm (default: from the file's metadata)")
    g = parser.add_argument_group("input")
    g.add_argument("--dataset", default=None, help="HDF5 dataset path or .npz key")
    g.add_argument("--crop", default=None, metavar="Z0:Z1,Y0:Y1,X0:X1", help="read only this block (voxels)")
    g.add_argument("--downsample", type=int, default=1, metavar="N", help="block-average by N after cropping")
    g.add_argument("--max-memory-gb", type=float, default=None,
                   help="memory budget (default 80%% of available memory); larger 3D volumes are segmented in z slabs, "
                        "larger 2D images refused")
    g.add_argument("--map", default=None, metavar="MAP",
                   help="co-registered chemical map (e.g. a Ni K-edge energy map), same shape as the image; "
                        "per-particle mean/spread in bulk, open and fine cracks and the surface shell "
                        "(chemical_map.csv, chemical_map.png)")
    g.add_argument("--map-dataset", default=None, help="HDF5 dataset path or .npz key of the map")
    g.add_argument("--map-shell", type=float, default=0.5, metavar="UM",
                   help="surface shell thickness for the map statistics (%(default)s µm)")
    g = parser.add_argument_group("stages")
    g.add_argument("--invert", action="store_true", help="particles are dark on a bright background")
    g.add_argument("--median", type=int, default=d.median_size, metavar="N",
                   help="median filter size, 0 = off (default: 3; none on 2D three-phase slices)")
    g.add_argument("--edges", choices=("canny2d", "canny3d", "off"), default=d.edges,
                   help="edge detection: Canny per slice, 3D gradient + hysteresis, or off (%(default)s)")
    g.add_argument("--edge-sigma", type=float, default=d.edge_sigma, help="edge smoothing σ, voxels (%(default)s)")
    g.add_argument("--edge-quantiles", type=_floats(2), default=(d.edge_low, d.edge_high), metavar="LOW,HIGH",
                   help="hysteresis thresholds as gradient quantiles (%(default)s)")
    g.add_argument("--edge-use", choices=("overlay", "cut"), default=d.edge_use,
                   help="overlay: no edge map (the overlays show particle outlines); cut: edges cut from the mask "
                        "before the watershed (%(default)s)")
    g.add_argument("--threshold", choices=("auto", "otsu", "multiotsu", "phases3", "binary"), default=d.threshold,
                   help="particle/background separation (%(default)s: binary input as is; three-phase images "
                        "(void, binder, particles) phases3; else Otsu)")
    g.add_argument("--classes", type=int, default=d.classes, help="Multi-Otsu classes (%(default)s)")
    g.add_argument("--threshold-value", type=float, default=None, help="explicit threshold, normalised grey 0..1")
    g.add_argument("--close-radius", type=int, default=d.close_radius,
                   help="closing before hole filling, voxels (default: 0 on 2D three-phase slices, 1 on 3D three-phase "
                        "images, else 2)")
    g.add_argument("--envelope-radius", type=int, default=d.envelope_radius,
                   help="per-particle closing that seals open cracks, voxels (%(default)s)")
    g.add_argument("--merge-factor", type=float, default=d.merge_factor,
                   help="merge a seed within this × the inscribed radius of a higher one (%(default)s)")
    g.add_argument("--saddle-ratio", type=float, default=d.saddle_ratio,
                   help="merge seeds joined by a neck wider than this × the lower seed's radius, 0 = off "
                        "(default: 0.9 on grey volumes, else 0.75)")
    g.add_argument("--min-seed-radius", type=float, default=d.min_seed_radius,
                   help="smallest seed, voxels (%(default)s)")
    g.add_argument("--min-voxels", type=int, default=d.min_voxels, help="drop smaller particles (%(default)s)")
    g.add_argument("--min-radius", type=float, default=d.min_radius_um, metavar="UM",
                   help="particle size limit: smaller objects (equivalent radius, µm) are reported as fragments "
                        "(fragments.csv), out of particle and class statistics (%(default)s µm)")
    g.add_argument("--max-hole-radius", type=float, default=d.max_hole_radius, metavar="VOX",
                   help="2D grey slices: fill only holes of at most this inscribed radius before the watershed, "
                        "0 = fill every hole (default: 3 on three-phase slices, else 0)")
    g.add_argument("--thin-hole-ratio", type=float, default=d.thin_hole_ratio, metavar="R",
                   help="with --max-hole-radius: a wider hole is still filled when its area is at least R x its "
                        "inscribed radius squared (crossing cracks; enclosed pores are 4-8), 0 = off (%(default)s)")
    g.add_argument("--pore-core-ratio", type=float, default=d.pore_core_ratio, metavar="R",
                   help="2D grey slices: a filled binder-grey hole deep in a blob is reopened as a junction pore "
                        "when opening it keeps R x the local distance maximum (a crack through the core halves "
                        "it), 0 = off (%(default)s)")
    g.add_argument("--crack-core-ratio", type=float, default=d.crack_core_ratio, metavar="R",
                   help="2D grey slices: a wide hole left open is filled as a crack when, open, the local distance "
                        "maximum is below R x the filled one (a ring of one particle around it), 0 = off "
                        "(%(default)s)")
    g.add_argument("--crack-estimator", choices=("unmix", "threshold"), default=d.crack_estimator,
                   help="crack fraction from grey-level unmixing or from thresholded voxels (%(default)s)")
    g.add_argument("--no-sphericity", action="store_true", help="skip the per-particle surface meshes")
    g = parser.add_argument_group("damage statistics")
    g.add_argument("--mild", type=float, default=d.mild,
                   help="crack fraction from which a particle is mild (%(default)s)")
    g.add_argument("--severe", type=float, default=d.severe,
                   help="crack fraction from which it is severe (%(default)s)")
    g.add_argument("--depth-face", choices=("zmax", "zmin"), default=d.depth_face,
                   help="face depth is measured from (the separator side); zmin mirrors z in the outputs (%(default)s)")
    g.add_argument("--depth-window", type=float, default=d.depth_window_um, metavar="UM",
                   help="depth bin (%(default)s µm)")
    g.add_argument("--knn", type=int, default=d.knn, help="neighbours per severe particle in the network (%(default)s)")
    g = parser.add_argument_group("particle table window")
    g.add_argument("--window", type=_floats(6), default=None, metavar="X0,Y0,Z0,X1,Y1,Z1",
                   help="keep particles whose centroid is in this box (µm) and recentre on its lower corner")
    g.add_argument("--window-size", type=_floats(3), default=None, metavar="LX,LY,LZ",
                   help="window of this size (µm), centred unless --window-origin is given")
    g.add_argument("--window-origin", type=_floats(3), default=None, metavar="X0,Y0,Z0",
                   help="window lower corner (µm)")
    g.add_argument("--max-sphere-overlap", type=float, default=0.0, metavar="F",
                   help="shrink table radii so no two spheres overlap by more than F × the smaller radius "
                        "(%(default)s; the RVE builder accepts at most 0.1)")
    g.add_argument("--keep-overlaps", action="store_true", help="write the equivalent radii unchanged")
    g.add_argument("--no-overlays", action="store_true", help="skip the overlay PNGs")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from femsim.errors import InputError
    from femsim.segmentation.pipeline import SegmentConfig

    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise InputError("--out: is a file, not a folder", file=args.out)
    from femsim.segmentation.workflow import run_segmentation

    cfg = SegmentConfig(
        invert=args.invert, median_size=args.median, edges=args.edges, edge_sigma=args.edge_sigma,
        edge_low=args.edge_quantiles[0],
        edge_high=args.edge_quantiles[1], edge_use=args.edge_use, threshold=args.threshold, classes=args.classes,
        threshold_value=args.threshold_value, close_radius=args.close_radius, max_hole_radius=args.max_hole_radius,
        thin_hole_ratio=args.thin_hole_ratio, pore_core_ratio=args.pore_core_ratio,
        crack_core_ratio=args.crack_core_ratio,
        envelope_radius=args.envelope_radius,
        merge_factor=args.merge_factor, saddle_ratio=args.saddle_ratio, min_seed_radius=args.min_seed_radius,
        min_voxels=args.min_voxels, min_radius_um=args.min_radius, mild=args.mild, severe=args.severe,
        depth_face=args.depth_face,
        depth_window_um=args.depth_window, knn=args.knn, sphericity=not args.no_sphericity,
        crack_estimator=args.crack_estimator)
    rep = run_segmentation(args.image, args.out, args.voxel_size, cfg, args.dataset, args.crop, args.downsample,
                           args.max_memory_gb, args.window_size, args.window_origin, args.window,
                           overlays=not args.no_overlays,
                           max_sphere_overlap=None if args.keep_overlaps else args.max_sphere_overlap,
                           map_path=args.map, map_dataset=args.map_dataset, map_shell_um=args.map_shell)
    cc = rep["class_counts"]
    mean_r = rep["mean_equivalent_radius_um"]
    radius = (f"mean equivalent radius {mean_r:.3f} µm" if math.isfinite(mean_r)
              else "no mean equivalent radius (every particle touches the border)")
    print(f"{rep['n_particles']} particles ({rep['n_interior_particles']} not touching the border), "
          f"{rep['n_fragments']} fragments below {rep['fragment_limit']['min_radius_um']:g} µm, "
          f"{radius}; "
          f"least/mild/severe {cc['least']}/{cc['mild']}/{cc['severe']}; "
          f"{rep['elapsed_s']:.1f} s, peak {rep['peak_memory_mb']:.0f} MB")
    if "window" in rep:
        print(f"window {rep['window']['lower_um']}–{rep['window']['upper_um']} µm: "
              f"{rep['window']['n_particles']} particles in {args.out}/particles.csv")
    print(f"wrote {', '.join(rep['files'])} to {args.out}")
    return 0
