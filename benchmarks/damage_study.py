"""Issue #19's reference-RVE table from damage-study run folders (cases/cycling_5C_damage*.toml).

    PYTHONPATH=$PWD .venv/bin/python benchmarks/damage_study.py \
        --run off=/work/runs/i19/off --run detachment=/work/runs/i19/det \
        --log off=/work/runs/i19/off.log --log detachment=/work/runs/i19/det.log \
        --cycles 10 50 --json benchmarks/results/damage_study_5C.json

For every run and requested cycle N, one row: the fraction of severe particles in the
separator-side and the collector-side 10-µm window, their ratio, the discharge capacity of the
last simulated cycle up to N, the cycles simulated of those requested and the wall time.

- ``source = "run"``: the run reached cycle N: the row is the run's damage_profile.csv at N, and
  ``cycle_was`` says whether N was simulated or extrapolated by the run's own cycle jumps (the
  capacity is then the last simulated cycle's, ``capacity_from_cycle``).
- ``source = "last reached"``: the run stopped before N: the run's damage_profile.csv at the last
  cycle it completed (the row says which).
- ``source = "projected"`` (only where the run stopped before N): the run's damage continued
  offline to N by the run's own jump rule (:func:`femsim.model.damage_history.replay`: the
  per-particle amplitudes of the last two simulated cycles extrapolated linearly, held after a
  single one). NOT simulated: the feedbacks' effect on the stress of the cycles after the last
  simulated one is missing. The history is the one in the run's newest snapshot: its completed
  cycles, or, where none completed, the peaks so far of the cycle that was running (the row says
  so). Particle radii are the run's (meshed volumes, mesh_report.json); depths are the run's own
  (damage.csv), or for runs from before those columns the centroids of the table's spheres cut by
  the box (Monte Carlo), checked against the run's own profile where it has that cycle.

Wall time: the run's summary (finished runs), the run's timings so far, and with ``--log`` the
wall of every simulated cycle (log time stamps, start to next start).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import re
from pathlib import Path

import numpy as np

from femsim.case import load_case
from femsim.geometry.particles import read_particle_table
from femsim.model.damage_history import DRIVERS, CycleStressHistory, damage_law, replay
from femsim.segmentation.damage import depth_profile

#: (k_cr factor, amplitude factor) of the sensitivity rows: the Paris rate over two decades, the
#: per-particle amplitude ±20 % (the coarse mesh's surface p95 stress is mesh-dependent)
SENSITIVITY = ((0.1, 1.0), (10.0, 1.0), (1.0, 0.8), (1.0, 1.2), (0.01, 1.0))


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with open(path) as f:
        return list(csv.DictReader(f))


def cut_sphere_depths_um(case, samples: int = 200_000, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(ids, depth from the separator µm) of the centroids of the table's spheres cut by the cathode box."""
    table = read_particle_table(case.geometry.particle_table)
    lx, ly, lc = case.geometry.box_um
    rng = np.random.default_rng(seed)
    unit = rng.uniform(-1.0, 1.0, size=(samples, 3))
    unit = unit[np.sum(unit**2, axis=1) <= 1.0]
    depths = []
    for centre, radius in zip(table.centres, table.radii):
        p = centre + radius * unit
        inside = np.all((p >= 0.0) & (p <= [lx, ly, lc]), axis=1)
        depths.append(lc - float(np.mean(p[inside, 2])))
    return np.asarray(table.ids), np.asarray(depths)


def run_depths_um(folder: Path, ids: np.ndarray) -> np.ndarray | None:
    """The run's own particle depths (µm from the separator) from damage.csv (written since the
    position columns were added), else None."""
    rows = [r for r in _rows(folder / "damage.csv") if "depth_um" in r]
    if not rows:
        return None
    depth = {int(r["particle_id"]): float(r["depth_um"]) for r in rows if int(r["cycle"]) == int(rows[0]["cycle"])}
    return np.array([depth[int(i)] for i in ids])


def cycle_walls_s(log: Path) -> dict[int, float]:
    """Wall time (s) from the start of each cycle to the start of the next, from a run log's
    ``HH:MM:SS INFO cycle C/N step 1/…`` lines (first start of each cycle; a resumed run's log
    appended to the same file counts its restart as part of the cycle it resumed in)."""
    starts: dict[int, float] = {}
    last = None
    for line in log.read_text(errors="replace").splitlines():
        m = re.match(r"(\d\d):(\d\d):(\d\d) INFO +cycle (\d+)/\d+ step 1/", line)
        if not m:
            continue
        t = 3600 * int(m[1]) + 60 * int(m[2]) + int(m[3])
        if last is not None and t < last - 43200:
            t += 86400  # past midnight
        last = t
        starts.setdefault(int(m[4]), t)
    c = sorted(starts)
    return {a: float(starts[b] - starts[a]) for a, b in zip(c, c[1:])}


def jumps_from(simulated: list[int], reached: int) -> list[list[int]]:
    """[first extrapolated cycle, cycles] of the gaps between the simulated cycles up to ``reached``."""
    ends = [*simulated, reached + 1] if simulated and reached > simulated[-1] else simulated
    return [[a + 1, b - a - 1] for a, b in zip(ends, ends[1:]) if b - a > 1]


def windows(profile: list[dict[str, str]], cycle: int) -> tuple[dict[str, str], dict[str, str]] | None:
    rows = [r for r in profile if int(r["cycle"]) == cycle]
    if not rows:
        return None
    rows.sort(key=lambda r: float(r["depth_min_um"]))
    return rows[0], rows[-1]


def _ratio(separator: float, collector: float) -> float | None:
    return separator / collector if collector > 0 else None


def newest_history(folder: Path) -> tuple[CycleStressHistory, float, int]:
    """The stress history (per-cycle per-particle peaks, durations, jumps) of the run's newest
    snapshot, its time (s) and the number of particles."""
    snapshots = sorted((folder / "snapshots").glob("step_*"))
    saved = json.loads((snapshots[-1] / "snapshot.json").read_text())
    stress = saved["cycle_stress"]
    n = len(next(iter(stress["peaks"].values()))[DRIVERS[0]])
    history = CycleStressHistory(n)
    history.restore(stress)
    return history, float(saved["time_s"]), n


def projected_profile(folder: Path, case, cycle: int, k_cr_factor: float = 1.0,
                      sigma_factor: float = 1.0) -> tuple[int, bool, float, list[tuple], list[tuple]]:
    """The run's damage continued offline to ``cycle`` by :func:`replay` of the stress history in
    its newest snapshot: (last simulated cycle, whether that cycle was still running, snapshot time,
    profile rows at that cycle, profile rows at ``cycle``). ``k_cr_factor`` and ``sigma_factor``
    scale the Paris rate and every amplitude (the sensitivity rows)."""
    history, time_s, n = newest_history(folder)
    for peaks in history.peaks.values():
        peaks[DRIVERS[0]] *= sigma_factor
    volumes = json.loads((folder / "mesh" / "mesh_report.json").read_text())["particle_volumes"]
    ids = np.array(sorted(int(k) for k in volumes))
    assert len(ids) == n, (len(ids), n)
    radius_m = (3 * np.array([volumes[str(i)]["meshed_um3"] for i in ids]) / (4 * np.pi)) ** (1 / 3) * 1e-6
    depth_um = run_depths_um(folder, ids)
    if depth_um is None:
        table_ids, depth = cut_sphere_depths_um(case)
        depth_um = np.array([depth[list(table_ids).index(i)] for i in ids])
    law = dataclasses.replace(damage_law(case.damage), k_cr=damage_law(case.damage).k_cr * k_cr_factor)
    thickness = case.geometry.box_um[2]
    completed = {int(r["cycle"]) for r in _rows(folder / "cycles.csv")}
    if completed:  # a cycle still running has only its first peaks: it is left out
        history.peaks = {c: p for c, p in history.peaks.items() if c in completed}
    last = max(history.peaks)
    running = last not in completed
    at_last = replay(history, last, ids, radius_m, law)
    history.jumps[last] = cycle - last
    at_cycle = replay(history, cycle, ids, radius_m, law)
    window = case.damage.window_um
    return (last, running, time_s, depth_profile(depth_um, at_last.classes(), thickness, window),
            depth_profile(depth_um, at_cycle.classes(), thickness, window))


def study_rows(label: str, folder: Path, requested: list[int], log: Path | None = None) -> list[dict]:
    manifest = json.loads((folder / "run.json").read_text())
    case = load_case(manifest["case_file"])
    summary = manifest.get("summary", {})
    profile = _rows(folder / "damage_profile.csv")
    cycles = _rows(folder / "cycles.csv")
    simulated = sorted(int(r["cycle"]) for r in cycles)
    reached = max((int(r["cycle"]) for r in profile), default=0)
    timings = manifest.get("timings") or {}
    walls = cycle_walls_s(log) if log is not None and log.is_file() else {}
    base = {"run": label, "folder": str(folder), "status": manifest["status"],
            "termination": summary.get("termination"),
            "cycles_requested": case.protocol.cycles, "cycles_simulated": len(cycles), "simulated_cycles": simulated,
            "cycles_reached": reached, "cycle_jumps": summary.get("cycle_jumps") or jumps_from(simulated, reached),
            "wall_time_s": summary.get("wall_time_s"),
            "wall_time_so_far_s": sum(v for k, v in timings.items() if k.endswith("_s")) or None,
            "wall_per_simulated_cycle_s": {str(c): walls[c] for c in simulated if c in walls} or None,
            "n_ranks": manifest.get("n_ranks")}
    out = []
    for n in requested:
        targets = [(n, "run")] if n <= reached else [(reached, "last reached")] if reached else []
        for cycle, source in targets:
            sep, col = windows(profile, cycle)
            fs, fc = float(sep["fraction_severe"]), float(col["fraction_severe"])
            capacity = [float(r["discharge_capacity_mAh_cm2"]) for r in cycles if int(r["cycle"]) <= cycle]
            out.append({**base, "cycle_asked": n, "cycle": cycle, "source": source,
                        "cycle_was": "simulated" if cycle in simulated else "extrapolated (cycle jump)",
                        "capacity_from_cycle": max((c for c in simulated if c <= cycle), default=None),
                        "severe_separator_10um": fs, "severe_collector_10um": fc, "ratio": _ratio(fs, fc),
                        "n_separator_10um": int(sep["n_particles"]), "n_collector_10um": int(col["n_particles"]),
                        "discharge_capacity_last_simulated_mAh_cm2": capacity[-1] if capacity else None})
        if n > reached:
            last, running, time_s, at_last, at_n = projected_profile(folder, case, n)
            own = windows(profile, last)
            check = None if own is None else [float(own[0]["fraction_severe"]), float(own[1]["fraction_severe"])]
            fs, fc = at_n[0][5], at_n[-1][5]
            out.append({**base, "cycle_asked": n, "cycle": n, "source": "projected",
                        "projected_from_cycle": last, "that_cycle_still_running_at_s": time_s if running else None,
                        "severe_separator_10um": fs, "severe_collector_10um": fc, "ratio": _ratio(fs, fc),
                        "n_separator_10um": at_n[0][2], "n_collector_10um": at_n[-1][2],
                        "fraction_mild_separator_collector": [at_n[0][4], at_n[-1][4]],
                        "at_projected_from_cycle_severe_separator_collector": [at_last[0][5], at_last[-1][5]],
                        "run_profile_at_that_cycle_severe_separator_collector": check,
                        "discharge_capacity_last_simulated_mAh_cm2": None})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", action="append", required=True, help="LABEL=FOLDER of a study run")
    parser.add_argument("--log", action="append", default=[], help="LABEL=FILE: a run's log (wall per cycle)")
    parser.add_argument("--cycles", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--json", type=Path, help="write the rows here")
    args = parser.parse_args()
    rows = []
    logs = dict(spec.split("=", 1) for spec in args.log)
    for spec in args.run:
        label, folder = spec.split("=", 1)
        rows += study_rows(label, Path(folder), args.cycles, Path(logs[label]) if label in logs else None)
    fmt = ("{run:11s} {cycle_asked:>3} {source:13s} {cycle:>3} {was:12s} sep {s:>6}  col {c:>6}  ratio {r:>6}  "
           "cap {cap}")
    for r in rows:
        ratio = "n/a" if r["ratio"] is None else f"{r['ratio']:.2f}"
        print(fmt.format(**r, was=r.get("cycle_was", "projected")[:12],
                         s=f"{r['severe_separator_10um']:.3f}", c=f"{r['severe_collector_10um']:.3f}", r=ratio,
                         cap=r["discharge_capacity_last_simulated_mAh_cm2"]))
    sensitivity = []
    label, folder = args.run[0].split("=", 1)
    case = load_case(json.loads((Path(folder) / "run.json").read_text())["case_file"])
    for k_cr_factor, sigma_factor in SENSITIVITY:
        for n in args.cycles:
            *_, at_n = projected_profile(Path(folder), case, n, k_cr_factor, sigma_factor)
            fs, fc = at_n[0][5], at_n[-1][5]
            sensitivity.append({"run": label, "k_cr_factor": k_cr_factor, "sigma_factor": sigma_factor, "cycle": n,
                                "severe_separator_10um": fs, "severe_collector_10um": fc, "ratio": _ratio(fs, fc)})
            print(f"sensitivity ({label}, projected) k_cr x{k_cr_factor:g} sigma x{sigma_factor:g} cycle {n:3d}: "
                  f"sep {fs:.3f} col {fc:.3f} ratio {_ratio(fs, fc)}")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "sensitivity_projected": sensitivity}, indent=1) + "\n")


if __name__ == "__main__":
    main()
