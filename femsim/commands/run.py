"""``femsim run CASE``: mesh (or reuse the mesh), solve the coupled problem, write the results."""

from __future__ import annotations

import argparse

HELP = "run a case: mesh, coupled electrochemistry and stress, results folder"


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("case", help="case TOML file")
    parser.add_argument("--resume", action="store_true", help="continue from the newest complete snapshot")
    parser.add_argument("--out", help="results folder (overrides output.folder)")
    parser.add_argument("--allow-large", action="store_true",
                        help="accept a mesh estimated above the element-count limit (femsim validate says it)")
    parser.add_argument("--force", action="store_true",
                        help="break the folder's lock left by a run on another host that is gone")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from femsim.case import load_case
    from femsim.io.lock import collective_lock
    from femsim.mpi import comm_world, in_mpi_run, world_rank_size
    from femsim.preflight import preflight

    case = load_case(args.case)
    if args.out:
        case.output.folder = Path(args.out).resolve()
    # one run per results folder, for the whole run (rank 0 holds it; refusals reach every rank)
    with collective_lock(case.results_dir(), comm_world() if in_mpi_run() else None, force=args.force):
        preflight(case, allow_large=args.allow_large)  # what would stop the run later, before any output
        from femsim.simulation import run_case

        result = run_case(case, resume=args.resume)
    s = result.summary

    if world_rank_size()[0] == 0:
        print(f"{case.name}: {result.status} ({s.get('termination')}) after {s.get('time_end_s', 0):.1f} s simulated, "
              f"{s.get('n_steps', 0)} steps, {s.get('n_dofs', 0)} unknowns, wall {s.get('wall_time_s', 0):.1f} s; "
              f"results in {result.folder}")
        if s.get("time_to_cutoff_s") is not None:
            print(
                f"  cut-off at {s['time_to_cutoff_s']:.1f} s, delivered {s['delivered_capacity_mAh_cm2']:.3f} mAh/cm², "
                f"mean Δφ_l {1e3 * s['mean_electrolyte_potential_drop_V']:.2f} mV"
            )
        if s.get("soc_separator_150s") is not None:
            print(f"  SOC at 150 s: separator-side {s['soc_separator_150s']:.4f}, "
                  f"collector-side {s['soc_collector_150s']:.4f}")
        if s.get("peak_sigma_eq_Pa") is not None:
            print(f"  peak σ_eq: P_s {s['peak_sigma_eq_separator_Pa'] / 1e6:.1f} MPa, "
                  f"P_cc {s['peak_sigma_eq_collector_Pa'] / 1e6:.1f} MPa, nodal maximum of any particle "
                  f"{s['peak_sigma_eq_Pa'] / 1e6:.1f} MPa (mesh-dependent)")
            if s.get("sigma_eq_p95_peak_median_Pa") is not None:
                print(f"  per-particle peak of the p95 σ_eq: median {s['sigma_eq_p95_peak_median_Pa'] / 1e6:.1f} MPa, "
                      f"max {s['sigma_eq_p95_peak_max_Pa'] / 1e6:.1f} MPa")
    return 0 if result.status == "finished" else 1
