"""``femsim params show CASE`` / ``femsim params export CASE --bpx out.json``: the resolved material sets.

``show`` lists every cathode, electrolyte and counter-electrode parameter with its unit and where its
value came from (femsim set, BPX field, PyBaMM set, ``cathode_overrides``, femsim default), then
what of a BPX file or PyBaMM set femsim did not use. ``export`` writes the cathode and electrolyte
as a BPX file (mechanics in ``User-defined``); reading it back gives the same parameters.
"""

from __future__ import annotations

import argparse

HELP = "show a case's material parameters with their sources, or export them as BPX"


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("show", "export"), help="show the parameters, or export them")
    parser.add_argument("case", help="case TOML file")
    parser.add_argument("--bpx", metavar="OUT.json", help="export: BPX file to write")


def run(args: argparse.Namespace) -> int:
    from femsim.case import load_case
    from femsim.errors import InputError

    case = load_case(args.case)
    if args.action == "export":
        if not args.bpx:
            raise InputError("params export: give --bpx OUT.json")
        from femsim.parameters.bpx_export import export_bpx

        doc = export_bpx(case, args.bpx)
        print(f"{args.bpx}: {doc['Header']['Title']} (BPX {doc['Header']['BPX']}, model {doc['Header']['Model']})")
        return 0
    from femsim.parameters import build_material_sets

    sets = build_material_sets(case.materials, case.protocol.temperature_K)
    for role in ("cathode", "electrolyte", "counter_electrode"):
        material = getattr(sets, role)
        print(f"[{role}] {material.name}")
        for name, value, unit, source in material.table():
            value_txt = f"{value:.6g}" if isinstance(value, float) else str(value)
            print(f"  {name} = {value_txt}{f' [{unit}]' if unit else ''}{f'  # {source}' if source else ''}")
    for line in sets.notes:
        print(f"note: {line}")
    return 0
