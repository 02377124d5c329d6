"""``mesh_case``: particle table → checked, near-contact-resolved geometry → ``rve.msh`` + report.

The mesh and ``mesh_report.json`` go to ``case.results_dir()/"mesh"`` (or ``out_dir``). A mesh is
reused when the report beside it carries the same input hash (geometry and mesh sections, the
particle table's content and :data:`BUILDER_VERSION`). gmsh runs on rank 0 only; every rank
returns the same path, and a failure on rank 0 (bad input included) is broadcast so that every
rank raises the same exception instead of hanging in a later collective call.

Report keys (µm, µm², µm³, s): ``n_particles``, ``nmc_volume_fraction`` (particle cells / cathode
box, from the mesh), ``table_volume_fraction`` (exact, from the adjusted table), ``n_cells``,
``n_vertices``, ``volumes`` (per region name), ``particle_volumes`` (id → meshed, exact, rel. error),
``interface_area`` / ``interface_area_exact``, ``min_quality`` (gamma), ``min_sicn``,
``adjustments`` (electrode-plane and near-contact rules fired), ``sizes``, ``elapsed_s``, ``input_hash``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from femsim.geometry import tags as T

if TYPE_CHECKING:
    from femsim.case import Case

_LOG = logging.getLogger(__name__)

#: bump when the builder changes what it produces for the same inputs
BUILDER_VERSION = 4
MESH_NAME = "rve.msh"
REPORT_NAME = "mesh_report.json"


def input_hash(case: Case) -> str:
    """SHA-256 of the geometry and mesh sections, the particle table bytes and the builder version."""
    data: dict[str, Any] = {"geometry": dataclasses.asdict(case.geometry), "mesh": dataclasses.asdict(case.mesh),
            "builder": BUILDER_VERSION}
    data["geometry"].pop("particle_table", None)
    h = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode())
    table = case.geometry.particle_table
    if table is not None and Path(table).is_file():
        h.update(Path(table).read_bytes())
    return h.hexdigest()


def sizes_from_case(case: Case) -> Any:
    from femsim.geometry.builder import MeshSizes

    m = case.mesh
    return MeshSizes(surface=m.size_surface_um, surface_per_radius=m.size_surface_per_radius,
                     particle_core=m.size_particle_core_um, matrix=m.size_max_um, separator=m.size_separator_um,
                     grading_distance=m.grading_distance_um, optimize=m.optimize, threads=m.threads, seed=m.seed,
                     volume_preserving=m.volume_preserving)


def prepare_table(case: Case) -> tuple[Any, list[dict[str, Any]]]:
    """Read, check and adjust the case's particle table; return (table, adjustments).

    The electrode-plane rule (separator shift, collector mirror) comes first, then the
    near-contact rules (:mod:`femsim.geometry.contacts`); the adjustments list both.
    """
    from femsim.geometry.contacts import apply_electrode_planes, resolve_near_contacts
    from femsim.geometry.particles import read_particle_table, validate_in_box

    g = case.geometry
    assert g.particle_table is not None, "prepare_table: the case has no particle table (mesh.file case)"
    table = read_particle_table(g.particle_table)
    validate_in_box(table, g.box_um, g.overlap_tolerance)
    table, planes = apply_electrode_planes(table, g.box_um, g.wall_clearance_um)
    table, contacts = resolve_near_contacts(table, g.box_um, g.min_gap_um, g.wall_clearance_um)
    return table, planes + contacts


def build_report(case: Case, table: Any, adjustments: list[dict[str, Any]], stats: dict[str, Any],
                 elapsed: float, digest: str) -> dict[str, Any]:
    """Assemble mesh_report.json from the mesh statistics and the exact clipped-sphere measures."""
    from femsim.geometry.clipping import clip_sphere

    box = np.asarray(case.geometry.box_um, dtype=float)
    cathode_volume = float(np.prod(box))
    vols, areas = stats["volumes"], stats["areas"]
    per_particle = {}
    exact_total, iface_exact = 0.0, 0.0
    for pid, c, r in zip(table.ids, table.centres, table.radii):
        cs = clip_sphere(c, r, box)
        meshed = vols.get(T.particle_tag(int(pid)), 0.0)
        per_particle[str(int(pid))] = {"meshed_um3": meshed, "exact_um3": cs.volume,
                                       "rel_error": meshed / cs.volume - 1.0 if cs.volume > 0 else None}
        exact_total += cs.volume
        iface_exact += cs.interface_area
    particle_volume = sum(v for k, v in vols.items() if T.is_particle_tag(k))
    errors = [abs(p["rel_error"]) for p in per_particle.values() if p["rel_error"] is not None]
    return {
        "n_particles": len(table),
        "nmc_volume_fraction": particle_volume / cathode_volume,
        "table_volume_fraction": exact_total / cathode_volume,
        "n_cells": stats["n_cells"], "n_vertices": stats["n_vertices"],
        "volumes_um3": {"particles": particle_volume, "matrix": vols.get(T.MATRIX, 0.0),
                        "separator": vols.get(T.SEPARATOR, 0.0)},
        "cells": {"particles": sum(n for k, n in stats["cells_per_tag"].items() if T.is_particle_tag(k)),
                  "matrix": stats["cells_per_tag"].get(T.MATRIX, 0),
                  "separator": stats["cells_per_tag"].get(T.SEPARATOR, 0)},
        "facet_areas_um2": {T.PHYSICAL_NAMES[k]: v for k, v in sorted(areas.items())},
        "interface_area_um2": areas.get(T.INTERFACE, 0.0), "interface_area_exact_um2": iface_exact,
        "interface_area_rel_error": areas.get(T.INTERFACE, 0.0) / iface_exact - 1.0 if iface_exact else None,
        "particle_volume_max_rel_error": max(errors) if errors else 0.0,
        "surface_offset_um": stats.get("surface_offset_um"),
        "particle_volumes": per_particle,
        "min_quality": stats["min_quality"], "quality_measure": "gamma (inscribed/circumscribed radius, 1 = regular)",
        "min_sicn": stats["min_sicn"], "n_cells_quality_below_0.1": stats["n_cells_quality_below_0.1"],
        "adjustments": adjustments,
        "box_um": box.tolist(), "separator_thickness_um": case.geometry.separator_thickness_um,
        "sizes": dataclasses.asdict(sizes_from_case(case)),
        "units": {"length": "µm", "msh": "µm"},
        "timing_s": stats["timing_s"], "elapsed_s": elapsed, "input_hash": digest,
        "particle_table": str(case.geometry.particle_table),
    }


def _reusable(msh: Path, report: Path, digest: str) -> bool:
    if not (msh.is_file() and report.is_file()):
        return False
    try:
        return json.loads(report.read_text(encoding="utf-8")).get("input_hash") == digest
    except (OSError, ValueError):
        return False


def _mesh_serial(case: Case, out: Path, force: bool) -> Path:
    from femsim.geometry.builder import build_mesh
    from femsim.io.atomic import write_json

    msh, report = out / MESH_NAME, out / REPORT_NAME
    digest = input_hash(case)
    if not force and _reusable(msh, report, digest):
        _LOG.info("mesh up to date: %s (input hash matches)", msh)
        return msh
    t0 = time.perf_counter()
    table, adjustments = prepare_table(case)
    if adjustments:
        _LOG.warning("near-contact rules changed %d particle(s) (see %s 'adjustments')",
                     len({a["id"] for a in adjustments}), report)
    stats = build_mesh(table, case.geometry.box_um, case.geometry.separator_thickness_um, sizes_from_case(case), msh)
    elapsed = time.perf_counter() - t0
    write_json(report, build_report(case, table, adjustments, stats, elapsed, digest))
    _LOG.info("wrote %s and %s (%.1f s)", msh, report.name, elapsed)
    return msh


def _wait_politely(comm: Any, poll_s: float = 0.05) -> None:
    """Barrier that sleeps instead of spinning: MPI busy-polling on the waiting ranks would steal
    the cores gmsh runs on (it doubled the meshing time on 2 cores)."""
    request = comm.Ibarrier()
    while not request.Test():
        time.sleep(poll_s)


def mesh_case(case: Case, out_dir: str | Path | None = None, force: bool = False, comm: Any = None) -> Path:
    """Mesh ``case`` (or reuse its mesh) and return the ``.msh`` path on every rank.

    Args:
        case: a :class:`femsim.case.Case`. With ``mesh.file`` set, that file is returned as is.
        out_dir: folder for ``rve.msh`` and ``mesh_report.json`` (default ``results_dir()/mesh``).
        force: rebuild even when the input hash matches.
        comm: MPI communicator (default COMM_WORLD when mpi4py is importable, else serial).

    Raises:
        InputError: bad particle table or geometry (on every rank).
        RuntimeError: gmsh failed (on every rank).
    """
    if case.mesh.file is not None:
        return Path(case.mesh.file)
    out = Path(out_dir) if out_dir is not None else case.results_dir() / "mesh"
    if comm is None:
        from femsim.mpi import comm_world, in_mpi_run

        comm = comm_world() if in_mpi_run() else None
    if comm is None or comm.size == 1:
        return _mesh_serial(case, out, force)
    result: Any = None
    if comm.rank == 0:
        try:
            result = _mesh_serial(case, out, force)
        except BaseException as exc:  # noqa: BLE001 - re-raised on every rank below
            result = exc
    _wait_politely(comm)
    result = comm.bcast(result, root=0)
    if isinstance(result, BaseException):
        raise result
    return Path(result)
