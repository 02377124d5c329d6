"""Simulated damage as an electrode of ``femsim report SEG1 … RUN`` (issue #19, Fig. 4).

A results folder of a run with ``[damage] enabled`` (its ``damage.csv``, docs/results_format.md)
gives, at a chosen cycle, a particle population in the form :func:`femsim.segmentation.compare.load`
gives a ``femsim segment`` folder: per particle its centroid, its depth from the separator and its
damage class (the simulated crack fraction classed with the segmentation's thresholds, docs/damage.md),
and the severe-damage network built by the segmentation's own code
(:func:`femsim.segmentation.network.knn_edges`, 3 nearest neighbours). So the simulated and the
measured electrodes go through one comparison: class populations, depth profiles in 10-µm windows,
network statistics and 3D views side by side.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np

from femsim.errors import InputError
from femsim.segmentation import damage, network

#: the damage.csv columns a comparison needs
NEEDED = ("cycle", "particle_id", "x_um", "y_um", "z_um", "depth_um", "class")


def is_damage_folder(path: Path) -> bool:
    """True for a results folder with a ``damage.csv`` and a ``run.json``."""
    return (path / "damage.csv").is_file() and (path / "run.json").is_file()


def _damage_rows(path: Path) -> list[dict[str, str]]:
    try:
        with open(path, newline="") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror})", file=str(path)) from None
    if not rows:
        raise InputError("no completed cycle yet (no rows)", file=str(path))
    missing = [c for c in NEEDED if c not in rows[0]]
    if missing:
        raise InputError(f"lacks columns {missing} (written by femsim before the positions were added)",
                         file=str(path))
    return rows


def load_cycle(folder: Path, cycle: int = -1) -> dict[str, Any]:
    """The simulated population of ``folder`` after ``cycle`` (−1: the last in damage.csv) as
    :func:`femsim.segmentation.compare.load` returns a segmentation: name, folder, report (class
    counts, thresholds, extent with the cathode thickness as z, network summary), rows (``id, x,
    y, z, damage_class, scan_depth_um``) and the network's edges."""
    rows = _damage_rows(folder / "damage.csv")
    cycles = sorted({int(r["cycle"]) for r in rows})
    cycle = cycles[-1] if cycle == -1 else int(cycle)
    if cycle not in cycles:
        raise InputError(f"--damage-cycle {cycle}: the run has cycles {cycles[0]}..{cycles[-1]}",
                         file=str(folder / "damage.csv"))
    chosen = [r for r in rows if int(r["cycle"]) == cycle]
    manifest = json.loads((folder / "run.json").read_text())
    case = manifest.get("case") or {}
    box = (case.get("geometry") or {}).get("box_um")
    if not box:
        raise InputError("run.json has no case.geometry.box_um (the cathode extent)", file=str(folder / "run.json"))
    out = [{"id": r["particle_id"], "x": r["x_um"], "y": r["y_um"], "z": r["z_um"], "damage_class": r["class"],
            "scan_depth_um": r["depth_um"]} for r in chosen]
    severe = [r for r in out if r["damage_class"] == "severe"]
    ids = np.array([int(r["id"]) for r in severe], dtype=int)
    points = np.array([[float(r[k]) for k in "xyz"] for r in severe], dtype=float).reshape(-1, 3)
    edges = network.knn_edges(ids, points, k=3)
    volume_um3 = float(np.prod(box))
    report = {"class_counts": damage.class_counts(np.array([r["damage_class"] for r in out])),
              "n_particles": len(out), "n_fragments": None, "image": {"extent_um": [float(b) for b in box]},
              "network": network.network_summary(len(severe), edges, volume_um3), "simulated_cycle": cycle}
    name = f"{Path(folder).resolve().name} (simulated, cycle {cycle})"
    return {"name": name, "folder": folder, "report": report, "rows": out,
            "edges": [dict(zip(network.NETWORK_HEADER, e)) for e in edges]}
