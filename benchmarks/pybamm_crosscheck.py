"""3D femsim vs PyBaMM DFN on homogenised-limit cases: RMS/max ΔV, time to cut-off, Δφ_l, soc.

Usage: python benchmarks/pybamm_crosscheck.py CASE.toml [CASE.toml ...] [--reuse] [--out DIR]
       python benchmarks/pybamm_crosscheck.py CASE.toml --drop-3d   (dropped terms on the 3D side)

For every case: mesh → ``femsim tortuosity`` → ``femsim run`` (3D) → PyBaMM (the full model and
the variants with a physics term dropped) → ``comparison.json`` and ``comparison.png`` in the
case's results folder (copied to ``--out``, default ``cases/homogenised/crosscheck``), one summary line
per comparison. ``--reuse`` keeps a finished 3D run instead of running it again. ``--drop-3d`` runs
the 3D model once more with the diffusion-potential term removed (thermodynamic factor 1e-9) and
compares it with the *full* PyBaMM model of the unchanged case (``<stem>_3d_no_diffusion_potential``).
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="+")
    parser.add_argument("--reuse", action="store_true", help="reuse a finished 3D run")
    parser.add_argument("--out", default="cases/homogenised/crosscheck")
    parser.add_argument("--drop-3d", action="store_true", help="drop the diffusion potential in the 3D model")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("femsim.progress").setLevel(logging.WARNING)
    from femsim.mpi import import_dolfinx

    import_dolfinx()
    from femsim.case import load_case
    from femsim.crosscheck.compare import run_comparison
    from femsim.crosscheck.pybamm_model import VARIANTS

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for case_path in args.cases:
        if args.drop_3d:
            _drop_3d(case_path, out)
            continue
        record = run_comparison(case_path, tuple(VARIANTS), rerun_3d=not args.reuse)
        folder = load_case(case_path).results_dir()
        stem = Path(case_path).stem
        for name in ("comparison.json", "comparison.png"):
            shutil.copyfile(folder / name, out / f"{stem}_{name}")
        full = record["comparisons"]["full"]
        print(json.dumps({"case": stem, **{k: full[k] for k in (
            "rms_voltage_V", "max_voltage_V", "time_to_cutoff_a_s", "time_to_cutoff_b_s", "time_to_cutoff_rel",
            "probe_time_s", "drop_a_V", "drop_b_V", "soc_separator_a", "soc_separator_b", "soc_collector_a",
            "soc_collector_b")}, "femsim_3d": record["femsim_3d"]}))
        for variant, c in record["comparisons"].items():
            print(f"  {variant:24s} RMS {1e3 * c['rms_voltage_V']:6.2f} mV  max {1e3 * c['max_voltage_V']:6.2f} mV  "
                  f"Δφ_l {100 * c['drop_rel']:+6.1f} %  t_cut {c['time_to_cutoff_rel']}")


def _drop_3d(case_path: str, out: Path) -> None:
    """3D run without the diffusion potential vs the full PyBaMM model of the original case."""
    import dataclasses

    from femsim.case import load_case
    from femsim.crosscheck.compare import compare_series, read_3d_series
    from femsim.crosscheck.pybamm_model import inputs_from_case, run_pybamm
    from femsim.crosscheck.tortuosity import case_tortuosity
    from femsim.geometry.pipeline import REPORT_NAME, mesh_case
    from femsim.io.atomic import write_json
    from femsim.simulation import run_case

    case = load_case(case_path)
    tort = case_tortuosity(case)
    report = json.loads((mesh_case(case).parent / REPORT_NAME).read_text(encoding="utf-8"))
    reference = run_pybamm(inputs_from_case(case, tort, report))
    dropped = dataclasses.replace(case, materials=dataclasses.replace(
        case.materials, electrolyte_overrides={"thermodynamic_factor": 1e-9}),
        output=dataclasses.replace(case.output, folder=case.results_dir().with_name(
            case.results_dir().name + "_3d_no_diffusion_potential")))
    dropped.geometry = case.geometry
    dropped.mesh = dataclasses.replace(case.mesh, file=mesh_case(case))
    run_case(dropped)
    c = compare_series(read_3d_series(dropped.results_dir(), "femsim 3D without diffusion potential"), reference)
    write_json(out / f"{Path(case_path).stem}_3d_no_diffusion_potential.json", c.to_dict())
    print(c.summary())


if __name__ == "__main__":
    main()
