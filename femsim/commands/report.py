"""``femsim report DIR [DIR2 ...]``: figures and an HTML report from results folders.

Writes ``DIR/report/index.html`` (or ``--out``) with the paper's Fig. 5 panels, depth profiles,
a 3D view of peak stresses and, given measured fracture data, the stress-versus-fracture
comparison. Several folders: their time series are overlaid in the first folder's report.

On ``femsim segment`` output folders (``femsim report SEG1 SEG2 …``) it compares electrodes side by
side instead: class-population radar chart, depth profiles, network statistics and 3D network
views (:mod:`femsim.segmentation.compare`); results folders of runs with ``[damage]`` may stand
beside them: the simulated damage classes and network of a cycle (``--damage-cycle``) compared
with the measured ones by the same code (:mod:`femsim.segmentation.simulated`).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from femsim.errors import InputError

log = logging.getLogger(__name__)

HELP = "figures and an HTML report from results folders (and comparison with measured fracture)"


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dirs", nargs="+", type=Path, metavar="DIR",
                        help="results folder(s); with several, their time series are overlaid")
    parser.add_argument("--time", type=float, default=150.0, metavar="SECONDS",
                        help="time of the field sections and state-of-charge profile (s, default 150)")
    parser.add_argument("--measured-profile", type=Path, metavar="CSV",
                        help="measured fracture depth profile (the CSV `femsim segment` writes)")
    parser.add_argument("--measured-particles", type=Path, metavar="CSV",
                        help="per-particle measured damage classes (columns id, damage_class)")
    parser.add_argument("--out", type=Path, metavar="OUTDIR",
                        help="output folder (default DIR/report; segmentation folders: SEG1/compare)")
    parser.add_argument("--depth-window", type=float, default=10.0, metavar="UM",
                        help="segmentation folders: depth window of the profiles (%(default)s µm)")
    parser.add_argument("--damage-cycle", type=int, nargs="+", metavar="N",
                        help="segmentation folders beside results folders of runs with [damage]: the simulated "
                             "electrode after each of these cycles (default: its last cycle in damage.csv)")
    parser.add_argument("--projected-window", action="store_true",
                        help="segmentation folders: classify on the sum projection of each depth window "
                             "(the paper's projected-window method) instead of the 3D labels")


def run(args: argparse.Namespace) -> int:
    for path in (args.measured_profile, args.measured_particles):
        if path is not None and not path.is_file():
            raise InputError("file not found", file=path)
    for d in args.dirs:
        if not d.is_dir():
            raise InputError("results folder not found", file=d)
    from femsim.segmentation.compare import compare, is_segmentation_folder
    from femsim.segmentation.simulated import is_damage_folder

    seg = [is_segmentation_folder(d) for d in args.dirs]
    if any(seg):
        for d, is_seg in zip(args.dirs, seg):
            if not is_seg and not is_damage_folder(d):
                raise InputError("not a `femsim segment` output folder (particles.csv, report.json) nor the "
                                 "results of a run with [damage] (damage.csv): segmentations can be compared "
                                 "with simulated damage only", file=d)
        summary = compare(args.dirs, args.out, args.depth_window, args.projected_window, args.damage_cycle)
        print(f"comparison of {len(summary['folders'])} electrodes ({sum(seg)} segmentations): "
              f"{summary['out']}/index.html ({', '.join(summary['files'])})")
        return 0
    if args.damage_cycle:
        raise InputError("--damage-cycle needs at least one `femsim segment` folder among the folders")
    from postprocess.report import make_report

    report = make_report(args.dirs[0], out_dir=args.out, time_s=args.time,
                         measured_profile=args.measured_profile, measured_particles=args.measured_particles,
                         compare_with=args.dirs[1:])
    for warning in report.warnings:
        log.warning("%s", warning)
    print(f"report: {report.index} ({len(report.figures)} figures, {len(report.warnings)} warnings)")
    return 0
