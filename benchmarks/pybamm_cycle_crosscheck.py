"""One CCCV cycle (charge to 4.3 V, hold to C/20, 10 min rest, discharge to 3.0 V) in 3D and in
PyBaMM's Experiment on a homogenised-limit case, at 1C and 5C (issue 18).

Usage: python benchmarks/pybamm_cycle_crosscheck.py [CASE.toml] [--rates 1C 5C] [--dt-max S]
       [--max-hold-current-change F] [--tag T] [--reuse] [--out DIR]

Writes ``cycle_<rate>.json`` / ``.png`` into ``--out`` (default benchmarks/results/cycle_crosscheck)
and prints the acceptance numbers: RMS ΔV over the galvanostatic steps (≤ 5 mV at 1C, ≤ 15 mV at
5C), RMS relative CV current difference (≤ 3 %), CV end time (≤ 2 %).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

LIMITS_V = {"1C": 5e-3, "5C": 15e-3}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case", nargs="?", default="cases/homogenised/ci_coarse_5C.toml")
    parser.add_argument("--rates", nargs="+", default=["1C", "5C"])
    parser.add_argument("--dt-max", type=float, default=None)
    parser.add_argument("--max-hold-current-change", type=float, default=None,
                        help="override solver.max_hold_current_change (relative current change per hold step)")
    parser.add_argument("--tag", default="", help="suffix of the output names (cycle_<rate><tag>.json)")
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--out", default="benchmarks/results/cycle_crosscheck")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("femsim.progress").setLevel(logging.WARNING)
    from femsim.mpi import import_dolfinx

    import_dolfinx()
    from femsim.crosscheck.cycle import run_cycle_comparison

    for rate in args.rates:
        rec = run_cycle_comparison(args.case, rate, Path(args.out), dt_max_s=args.dt_max, rerun_3d=not args.reuse,
                                   max_hold_current_change=args.max_hold_current_change, tag=args.tag)
        hold = next(s for s in rec["steps"] if s["kind"] == "hold")
        print(f"{rate}: RMS ΔV (galvanostatic) {1e3 * rec['rms_voltage_galvanostatic_V']:.2f} mV "
              f"(limit {1e3 * LIMITS_V.get(rate, float('nan')):.0f}), "
              f"max {1e3 * rec['max_voltage_galvanostatic_V']:.2f} mV; "
              f"CV current RMS rel {100 * hold['rms_current_rel']:.2f} % (limit 3); CV end "
              f"{hold['end_3d_s']:.1f} vs {hold['end_pybamm_s']:.1f} s ({100 * hold['end_rel']:+.2f} %, limit 2), "
              f"CV duration {hold['duration_3d_s']:.1f} vs {hold['duration_pybamm_s']:.1f} s; "
              f"3D {rec['femsim_3d']['n_steps']} steps, {rec['femsim_3d']['wall_time_s']:.0f} s wall", flush=True)
        for s in rec["steps"]:
            extra = (f", RMS ΔV {1e3 * s['rms_voltage_V']:.2f} mV" if "rms_voltage_V" in s else "")
            print(f"   step {s['step']} {s['kind']}: end {s['end_3d_s']:.1f} vs {s['end_pybamm_s']:.1f} s{extra}")


if __name__ == "__main__":
    main()
