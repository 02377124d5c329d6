"""Near-contact rules: remove the configurations that make gmsh slivers, and report each change.

Near-tangent surfaces give slivers (a 1e-3 µm gap between spheres gave 33 slivers of quality
0.0026; a sphere tangent to a wall gave 9 bad tets; exactly tangent spheres share one vertex). The
mesh builder therefore applies these documented rules to the particle table first (µm):

1. **Particle pairs.** Two spheres with surface gap ``g < min_gap`` (including an overlap,
   ``g < 0``, no deeper than the overlap tolerance; deeper overlaps are an
   :class:`~femsim.errors.InputError` raised by
   :func:`~femsim.geometry.particles.validate_in_box`): the smaller sphere (the later row on a tie)
   is shrunk so that the gap equals ``min_gap``. Its centre does not move.
2. **Box features.** For each face rectangle, edge segment and corner of the cathode box, let
   ``ρ`` be the distance from the centre to the nearest point of the feature. If
   ``|ρ - R| < wall_clearance`` the sphere surface is nearly tangent to that feature (either
   side); the centre is moved along the direction from that nearest point to the centre so that
   ``ρ = R - wall_clearance`` (the sphere then cuts the feature by ``wall_clearance``) when
   ``ρ < R``, or ``ρ = R + wall_clearance`` (clears it) otherwise. The radius does not change.

3. **Collector and separator planes** (:func:`apply_electrode_planes`, before rules 1-2; a
   generated packing never needs it). A particle crossing the separator plane z = L_c is
   **shifted** down along z until its top clears the plane by ``wall_clearance`` (rule
   ``separator_shift``; rule 1 may then shrink a neighbour); one crossing the collector plane
   z = 0 is kept and **clipped**, and its flat face at z = 0 is a mirror plane (u·n = 0) in the M1
   mechanics like the lateral cut faces (rule ``collector_mirror``, geometry unchanged). Never a
   silent sharp edge: both are listed in ``mesh_report.json["adjustments"]``.

Rules 1 and 2 are applied in passes until none fires (at most ``MAX_PASSES``; if they do not settle,
an InputError names the particle). Every change is returned as an ``adjustments`` entry (rule,
ids, measured gap or distance, old and new value), and the mesh report lists them.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from femsim.errors import InputError
from femsim.geometry.particles import ParticleTable, pair_overlaps

_LOG = logging.getLogger(__name__)

MAX_PASSES = 50
_EPS = 1e-9


def box_features(box_um: Sequence[float] | np.ndarray) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Faces, edges and corners of ``[0, box]`` as (name, lower corner, upper corner) of a box
    that is flat in some axes: a face is flat in one axis, an edge in two, a corner in three."""
    box = np.asarray(box_um, dtype=float)
    out: list[tuple[str, np.ndarray, np.ndarray]] = []
    axes = "xyz"
    for flat in (1, 2, 3):
        for fixed in itertools.combinations(range(3), flat):
            for sides in itertools.product((0, 1), repeat=flat):
                lo, hi = np.zeros(3), box.copy()
                name = []
                for axis, side in zip(fixed, sides):
                    lo[axis] = hi[axis] = box[axis] * side
                    name.append(f"{axes[axis]}_{'max' if side else 'min'}")
                kind = {1: "face", 2: "edge", 3: "corner"}[flat]
                out.append((f"{kind} {'/'.join(name)}", lo, hi))
    return out


def _pair_pass(table: ParticleTable, min_gap: float, log: list[dict[str, Any]]) -> bool:
    changed = False
    for i, j, _ in pair_overlaps(table.centres, table.radii, min_gap - _EPS):
        # recompute: an earlier shrink in this pass may already have fixed this pair
        gap = float(np.linalg.norm(table.centres[i] - table.centres[j]) - table.radii[i] - table.radii[j])
        if gap >= min_gap - _EPS:
            continue
        k = j if table.radii[j] <= table.radii[i] else i
        other = i if k == j else j
        old = float(table.radii[k])
        new = old - (min_gap - gap)
        if new <= 0.25 * old:
            raise InputError(f"rows {i + 1} and {j + 1} (ids {table.ids[i]}, {table.ids[j]}): cannot restore the "
                             f"{min_gap:g} µm gap by shrinking (gap {gap:.4g} µm)",
                             file=str(table.source) if table.source else None)
        table.radii[k] = new
        log.append({"rule": "pair_gap", "ids": [int(table.ids[k]), int(table.ids[other])], "gap_um": gap,
                    "action": "shrink radius", "id": int(table.ids[k]), "old_um": old, "new_um": new})
        changed = True
    return changed


def _feature_pass(table: ParticleTable, box_um: Sequence[float] | np.ndarray, clearance: float,
                  log: list[dict[str, Any]]) -> bool:
    if clearance <= 0:
        return False
    changed = False
    features = box_features(box_um)
    for p in range(len(table)):
        for name, lo, hi in features:
            c, R = table.centres[p], float(table.radii[p])
            nearest = np.clip(c, lo, hi)
            delta = c - nearest
            rho = float(np.linalg.norm(delta))
            if abs(rho - R) >= clearance - _EPS:
                continue
            if rho < 1e-12:  # centre on the feature: R < clearance, a tiny sphere; push into the box
                direction = np.where(hi == lo, np.where(lo == 0, 1.0, -1.0), 0.0)
                direction /= np.linalg.norm(direction)
            else:
                direction = delta / rho
            target = R - clearance if rho < R else R + clearance
            old = c.copy()
            table.centres[p] = nearest + direction * target
            log.append({"rule": "wall_clearance", "ids": [int(table.ids[p])], "feature": name,
                        "distance_um": rho, "radius_um": R, "action": "move centre",
                        "id": int(table.ids[p]), "old_um": old.tolist(), "new_um": table.centres[p].tolist()})
            changed = True
    return changed


def apply_electrode_planes(table: ParticleTable, box_um: Sequence[float] | np.ndarray,
                           wall_clearance_um: float) -> tuple[ParticleTable, list[dict[str, Any]]]:
    """Rule 3: shift particles off the separator plane, mark the collector-crossing ones as mirrored."""
    out = table.copy()
    log: list[dict[str, Any]] = []
    top = float(box_um[2])
    for p in range(len(out)):
        c, R = out.centres[p], float(out.radii[p])
        if c[2] + R > top - _EPS:
            old = c.copy()
            out.centres[p, 2] = top - R - wall_clearance_um
            log.append({"rule": "separator_shift", "ids": [int(out.ids[p])], "distance_um": top - float(old[2]),
                        "radius_um": R, "action": "move centre down (particle crossed z = L_c)",
                        "id": int(out.ids[p]), "old_um": old.tolist(), "new_um": out.centres[p].tolist()})
        elif c[2] - R < _EPS:
            log.append({"rule": "collector_mirror", "ids": [int(out.ids[p])], "distance_um": float(c[2]),
                        "radius_um": R, "action": "clip at z = 0; the cut face is a mirror plane (M1)",
                        "id": int(out.ids[p]), "old_um": c.tolist(), "new_um": c.tolist()})
    return out, log


def resolve_near_contacts(table: ParticleTable, box_um: Sequence[float] | np.ndarray, min_gap_um: float,
                          wall_clearance_um: float) -> tuple[ParticleTable, list[dict[str, Any]]]:
    """Apply the rules of this module; return the adjusted copy and the list of adjustments."""
    out = table.copy()
    log: list[dict[str, Any]] = []
    for _ in range(MAX_PASSES):
        changed = _pair_pass(out, min_gap_um, log)
        changed = _feature_pass(out, box_um, wall_clearance_um, log) or changed
        if not changed:
            break
    else:
        last = log[-1]["id"] if log else -1
        raise InputError(f"near-contact rules did not settle after {MAX_PASSES} passes (last change: id {last}); "
                         f"move the particles apart by hand", file=str(table.source) if table.source else None)
    for entry in log:
        _LOG.debug("near-contact %s: id %s %s (%s)", entry["rule"], entry["id"], entry["action"],
                  entry.get("feature", f"gap {entry.get('gap_um', 0):.3g} µm"))
    return out, log
