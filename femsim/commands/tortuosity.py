"""``femsim tortuosity CASE``: effective ionic transport of the case's meshed cathode.

Steady conduction through the electrolyte-filled matrix cells of the cathode (separator
excluded; particles are insulating obstacles), φ = 1 on the current collector z = 0 and φ = 0 on
the cathode/separator plane z = L_c. Prints the packing factor σ_eff/σ_m against the
Maxwell–Garnett estimate, the tortuosity factor and the equivalent Bruggeman exponent, and writes
``tortuosity.json`` into the case's results folder (or ``--out``).
"""

from __future__ import annotations

import argparse

HELP = "effective ionic transport of a meshed electrode: tortuosity and equivalent Bruggeman exponent"


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("case", help="case TOML file")
    parser.add_argument("--out", metavar="JSON", help="write the result here (default: <results>/tortuosity.json)")
    parser.add_argument("--force-mesh", action="store_true", help="rebuild the mesh even if it is up to date")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from femsim.case import load_case
    from femsim.crosscheck.tortuosity import case_tortuosity
    from femsim.io.atomic import write_json
    from femsim.mpi import world_rank_size

    case = load_case(args.case)
    result = case_tortuosity(case, force_mesh=args.force_mesh)
    if world_rank_size()[0] != 0:
        return 0
    out = Path(args.out) if args.out else case.results_dir() / "tortuosity.json"
    write_json(out, {"case": str(case.source), **result.to_dict()})
    print(result.summary())
    print(f"written: {out}")
    return 0
