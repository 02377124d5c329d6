"""femsim 3D vs PyBaMM DFN, both from the same BPX file, on the homogenised array (1C charge).

Usage: python benchmarks/bpx_crosscheck.py CELL_BPX.json [--c-rate 1] [--mesh coarse|fine] [--out DIR]

Writes ``<out>/bpx_<stem>_<rate>C.toml`` (the ``sc_r2_f30`` array: 8 spheres, R = 2.08 µm, φ = 30 %,
40 µm cathode, 25 µm separator) with ``[materials] bpx = CELL_BPX.json``, the charge from the BPX
maximum stoichiometry to 4.3 V and 1C = the array's capacity over the BPX stoichiometry window;
runs :func:`femsim.crosscheck.compare.run_comparison` (mesh → tortuosity → femsim 3D → PyBaMM with
the positive electrode and electrolyte of ``ParameterValues.create_from_bpx(CELL_BPX.json)``) and
prints the RMS/max voltage difference. Results: ``<out>/comparison.json`` and ``.png``; the summary
is copied to ``benchmarks/results/bpx/``. The BPX file is not copied anywhere.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bpx_file")
    parser.add_argument("--c-rate", type=float, default=1.0)
    parser.add_argument("--mesh", choices=("coarse", "fine"), default="coarse")
    parser.add_argument("--out", default="results/bpx_crosscheck")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("femsim.progress").setLevel(logging.WARNING)
    from femsim.mpi import import_dolfinx

    import_dolfinx()
    import sys

    sys.path.insert(0, str(REPO / "benchmarks"))
    from pybamm_cases import COARSE, FINE

    from femsim.crosscheck.arrays import SphereArray, write_array_case
    from femsim.crosscheck.compare import run_comparison
    from femsim.parameters.bpx_format import read_bpx_file
    from femsim.units import C_M2_PER_MAH_CM2, FARADAY, UM

    bpx_file = Path(args.bpx_file).resolve()
    cathode = read_bpx_file(bpx_file).cathode
    array = SphereArray((1, 1, 8), 5.0, 0.30)
    x0, x_end = cathode.maximum_stoichiometry, cathode.minimum_stoichiometry
    capacity_mAh_cm2 = (
        cathode.max_concentration * array.fraction * array.box_um[2] * UM * (x0 - x_end) * FARADAY / C_M2_PER_MAH_CM2
    )
    out = Path(args.out).resolve()
    name = f"bpx_{bpx_file.stem}_{args.c_rate:g}C"
    case_path = write_array_case(
        array, out, name, c_rate=args.c_rate, mesh=COARSE if args.mesh == "coarse" else FINE,
        extra={"materials": {"bpx": str(bpx_file)},
               "protocol": {"areal_capacity_mAh_cm2": round(capacity_mAh_cm2, 6), "initial_stoichiometry": x0,
                            "voltage_cutoff_V": 4.3},
               "solver": {"dt_max_s": 20.0 / args.c_rate},
               "output": {"folder": str(out / name)}},
        description=f"homogenised limit with the BPX file {bpx_file.name}")
    record = run_comparison(case_path, ("full", "no_diffusion_potential", "no_transference"), out_dir=out / name)
    full = record["comparisons"]["full"]
    summary = {"bpx_file": bpx_file.name, "case": name, "mesh": args.mesh, "c_rate": args.c_rate,
               "capacity_mAh_cm2": capacity_mAh_cm2, "x0": x0, "x_end": x_end,
               "femsim_3d": record["femsim_3d"], "tortuosity": record["tortuosity"],
               "comparisons": record["comparisons"]}
    dest = REPO / "benchmarks" / "results" / "bpx"
    dest.mkdir(parents=True, exist_ok=True)
    (dest / f"{name}_{args.mesh}.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    shutil.copyfile(out / name / "comparison.png", dest / f"{name}_{args.mesh}.png")
    for variant, c in record["comparisons"].items():
        print(f"{variant:24s} RMS {1e3 * c['rms_voltage_V']:6.2f} mV  max {1e3 * c['max_voltage_V']:6.2f} mV  "
              f"Δφ_l {100 * c['drop_rel']:+6.1f} %  t_cut {c['time_to_cutoff_a_s']} / {c['time_to_cutoff_b_s']}")
    print(f"full: RMS {1e3 * full['rms_voltage_V']:.2f} mV (acceptance 5 mV)")


if __name__ == "__main__":
    main()
