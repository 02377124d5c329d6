"""Cycle jumps vs every cycle simulated (issue 19): damage after N cycles, cycles simulated.

    nice -n 10 .venv/bin/python benchmarks/damage_jumps.py [--cycles 20] [--table meshes/tiny_6.csv]
        [--out benchmarks/results/damage_jumps.json]

Runs one case twice, ``max_jump_cycles = 1`` (every cycle) and ``max_jump_cycles = 8``
(``jump_tolerance`` 0.05), with crack wetting and detachment on (the feedback makes the
amplitudes drift, so the error control has something to control) and reports the largest relative
difference of the crack length over the particles after the last cycle, the cycles simulated and
the wall times. Default geometry: a single sphere (R 3.5 µm, 10 µm cube) with 5C cycles of
20 s charge / 20 s discharge and k_cr = 1e-18 (a crack that grows ~15 %/cycle).
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import time
from pathlib import Path

CASE = """\
[case]
name = "damage_jumps_{label}"
[geometry]
particle_table = "{table}"
box_um = {box}
separator_thickness_um = 5.0
[mesh]
size_surface_um = {surface}
size_max_um = 2.5
[protocol]
areal_capacity_mAh_cm2 = {capacity}
initial_stoichiometry = 0.40
steps = ["Charge at 5C for 20 seconds", "Discharge at 5C for 20 seconds"]
cycles = {cycles}
[solver]
dt_initial_s = 2.0
dt_max_s = 10.0
[mechanics]
enabled = true
[damage]
enabled = true
cracking_rate = {k_cr}
crack_wetting = true
detachment = true
isolation_damage = {isolation}
max_jump_cycles = {max_jump}
jump_tolerance = {tolerance}
[output]
times_s = []
fields = false
progress = false
"""


def run(folder: Path, label: str, args: argparse.Namespace, max_jump: int) -> dict:
    case = folder / f"{label}.toml"
    box = "[10.0, 10.0, 10.0]" if args.table is None else "[10.0, 10.0, 20.0]"
    table = folder / "sphere.csv"
    if args.table is None:
        table.write_text("id,x,y,z,radius\n1,5.0,5.0,5.0,3.5\n")
    else:
        table = Path(args.table).resolve()
    case.write_text(CASE.format(label=label, table=table, box=box, surface=1.0 if args.table is None else 0.8,
                                capacity=0.1 if args.table is None else 0.3, cycles=args.cycles, k_cr=args.k_cr,
                                max_jump=max_jump, tolerance=args.tolerance, isolation=args.isolation_damage))
    out = folder / label
    t0 = time.perf_counter()
    done = subprocess.run([str(Path(sys.executable).parent / "femsim"), "run", str(case), "--out", str(out)],
                          capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{label}: femsim run failed\n{done.stderr[-3000:]}")
    rows = list(csv.DictReader(open(out / "damage.csv")))
    last = max(int(r["cycle"]) for r in rows)
    summary = json.loads((out / "run.json").read_text())["summary"]
    return {"wall_s": wall, "summary": {k: summary.get(k) for k in ("cycles_requested", "cycles_simulated",
                                                                     "cycle_jumps")},
            "crack_length_m": {r["particle_id"]: float(r["crack_length_m"]) for r in rows if int(r["cycle"]) == last},
            "area_factor": {r["particle_id"]: float(r["area_factor"]) for r in rows if int(r["cycle"]) == last}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--table", default=None, help="particle table (default: one sphere)")
    parser.add_argument("--k-cr", type=float, default=1e-18)
    parser.add_argument("--tolerance", type=float, default=0.05)
    parser.add_argument("--isolation-damage", type=float, default=0.5,
                        help="δ_iso (a single sphere isolated at 0.10 leaves no current path)")
    parser.add_argument("--work", default="/tmp/femsim_damage_jumps")
    parser.add_argument("--out", default="benchmarks/results/damage_jumps.json")
    args = parser.parse_args()
    folder = Path(args.work)
    folder.mkdir(parents=True, exist_ok=True)
    every = run(folder, "every", args, 1)
    jumps = run(folder, "jumps", args, 8)
    diff = max(abs(jumps["crack_length_m"][p] - every["crack_length_m"][p]) / every["crack_length_m"][p]
               for p in every["crack_length_m"])
    result = {"cycles": args.cycles, "k_cr": args.k_cr, "tolerance": args.tolerance, "table": args.table or "sphere",
              "every_cycle": every, "with_jumps": jumps, "max_relative_crack_length_difference": diff}
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({"max_relative_crack_length_difference": diff,
                      "cycles_simulated": jumps["summary"]["cycles_simulated"],
                      "wall_s": [every["wall_s"], jumps["wall_s"]]}))


if __name__ == "__main__":
    main()
