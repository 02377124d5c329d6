"""``femsim validate CASE``: check a case file and report every problem at once."""

from __future__ import annotations

import argparse

from femsim.units import AH_M2_PER_MAH_CM2

HELP = ("check a case file and everything `run` would refuse (particle table, geometry, current, PETSc "
        "options, mesh size) without meshing; every problem is reported with its file and key or row")


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("case", nargs="?", help="case TOML file")
    parser.add_argument("--describe", action="store_true", help="list every key with unit and default")
    parser.add_argument("--allow-large", action="store_true",
                        help="accept a mesh estimated above the element-count limit (see femsim.preflight)")


def run(args: argparse.Namespace) -> int:
    from femsim.case import Case, load_case
    from femsim.errors import InputError
    from femsim.schema import describe

    if args.describe:
        for key, unit, default, doc in describe(Case):
            if key == "source":
                continue
            unit_txt = f" [{unit}]" if unit else ""
            print(f"{key}{unit_txt} = {default!r}  # {doc}")
        from femsim.parameters import describe_material_sources

        print("\n".join(describe_material_sources()))
        return 0
    if not args.case:
        raise InputError("validate: give a case file (or --describe)")
    from femsim.preflight import preflight

    case = load_case(args.case)
    info = preflight(case, allow_large=args.allow_large)
    cells = f", about {info['estimated_cells']:.3g} mesh cells" if "estimated_cells" in info else ""
    prot = case.protocol
    steps = "; ".join(s.text for s in prot.cycle_steps())
    cycles = f" × {prot.cycles} cycles" if prot.cycles > 1 else ""
    one_c = prot.capacity_mAh_cm2 * AH_M2_PER_MAH_CM2
    print(f"{args.case}: ok ({case.name}: {steps}{cycles}; 1C = {one_c:.2f} A/m²{cells}, "
          f"results in {case.results_dir()})")
    return 0
