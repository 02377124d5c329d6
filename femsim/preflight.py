"""Checks ``femsim validate`` and ``femsim run`` make before any meshing or solving.

:func:`preflight` raises one :class:`~femsim.errors.InputError` listing every problem of a loaded
case that would otherwise stop ``run`` later (or make it run for hours):

* the particle table: every check of :func:`femsim.geometry.pipeline.prepare_table` (columns,
  numbers, ids, radius, box, overlaps) and geometric feasibility (no sphere as wide as the box);
* a current the electrolyte cannot carry: refused above :data:`LIMITING_CURRENT_FACTOR` times the
  bulk diffusion-limited current density ``i_lim = 2 F D(c0) c0 / ((1 - t+) L)`` (``L`` = cathode
  + separator thickness; bulk D without tortuosity, so the real limit is lower still);
* ``[solver.petsc_options]``: names and values checked against PETSc's own option database;
* ``mesh.file``: a gmsh ``.msh`` file (its ``$MeshFormat`` header);
* the mesh size: an estimate of the element count (:func:`estimate_cells`), refused above
  :data:`MAX_CELLS` unless ``--allow-large``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from femsim.errors import InputError
from femsim.parameters import FARADAY
from femsim.units import AH_M2_PER_MAH_CM2, UM

if TYPE_CHECKING:
    from femsim.case import Case

#: refuse a mesh estimated larger than this (cells) unless --allow-large; the 5C reference case has 106k
MAX_CELLS = 5_000_000
#: refuse currents above this multiple of the bulk diffusion-limited current density
LIMITING_CURRENT_FACTOR = 10.0
#: tetrahedra per (particle surface area / surface element size²), fitted to three meshes of the
#: builder (4, 6 and 52 particles: 7.2, 8.0 and 5.9)
_CELLS_PER_SURFACE_PATCH = 7.0
_TET_VOLUME_FACTOR = 1.0 / (6.0 * math.sqrt(2.0))  # regular tetrahedron of edge h: h³/(6√2)


def estimate_cells(case: Case, radii_um: list[float] | None) -> float:
    """Estimated number of mesh cells: surface-refined shells of the particles plus the matrix
    and separator at their element sizes (within ±25 % on the builder's meshes)."""
    m, g = case.mesh, case.geometry
    box = g.box_um
    cells = box[0] * box[1] * box[2] / (_TET_VOLUME_FACTOR * m.size_max_um ** 3)
    cells += box[0] * box[1] * g.separator_thickness_um / (_TET_VOLUME_FACTOR * m.size_separator_um ** 3)
    for r in radii_um or []:
        h = min(m.size_surface_um, m.size_surface_per_radius * r)
        cells += _CELLS_PER_SURFACE_PATCH * 4.0 * math.pi * r * r / (h * h)
    return cells


def _table_problems(case: Case) -> tuple[list[str], list[float] | None]:
    if case.geometry.particle_table is None or case.mesh.file is not None:
        return [], None
    from femsim.geometry.pipeline import prepare_table

    try:
        table, _ = prepare_table(case)
    except InputError as exc:
        return [exc.format()], None
    return [], [float(r) for r in table.radii]


def _mesh_file_problems(case: Case) -> list[str]:
    path = case.mesh.file
    if path is None or not Path(path).is_file():
        return []  # a missing file is reported by load_case
    try:
        with open(path, "rb") as fh:
            head = fh.read(64).lstrip()
    except OSError as exc:
        return [f"mesh.file: cannot read {path}: {exc.strerror}"]
    if not head.startswith(b"$MeshFormat"):
        return [f"mesh.file: {path} is not a gmsh .msh file (no $MeshFormat header)"]
    return []


def _current_problems(case: Case) -> list[str]:
    from femsim.parameters import build_material_sets

    p = case.protocol
    try:
        electrolyte = build_material_sets(case.materials).electrolyte
    except InputError:
        return []  # reported by load_case already
    c0, temp = p.initial_electrolyte_concentration_mol_m3, p.temperature_K
    d = float(electrolyte.diffusivity(c0, temp))
    t_plus = float(electrolyte.transference(c0, temp))
    length_m = (case.geometry.box_um[2] + case.geometry.separator_thickness_um) * UM
    if not (d > 0 and t_plus < 1):
        return []
    i_lim = 2.0 * FARADAY * d * c0 / ((1.0 - t_plus) * length_m)
    i, key, what = p.current_density_A_m2, "protocol.c_rate", f"{p.c_rate:g} C"
    if p.steps is not None or p.step is not None:  # the largest step current
        from femsim.protocol import build_steps

        steps = build_steps(p)[0]
        if not steps:
            return []
        k = max(range(len(steps)), key=lambda n: steps[n].current_density_A_m2)
        i = steps[k].current_density_A_m2
        key = f"protocol.{'steps' if p.steps is not None else 'step'}[{k}]"
        what = f'"{steps[k].text}"'
    if not math.isfinite(i) or i > LIMITING_CURRENT_FACTOR * i_lim:
        return [f"{key}: {what} gives {i:.4g} A/m², more than {LIMITING_CURRENT_FACTOR:g} x the "
                f"electrolyte's diffusion-limited current density 2 F D c0 / ((1 - t+) L) = {i_lim:.4g} A/m² "
                f"(D = {d:.3g} m²/s, c0 = {c0:g} mol/m³, t+ = {t_plus:.3g}, L = {length_m * 1e6:g} µm): "
                f"at most {LIMITING_CURRENT_FACTOR * i_lim / (p.capacity_mAh_cm2 * AH_M2_PER_MAH_CM2):.4g} C"]
    return []


def petsc_option_problems(options: dict[str, Any]) -> list[str]:
    """Unknown names and refused values in ``[solver.petsc_options]``, checked by PETSc itself.

    Each option is set in PETSc's database under a scratch prefix next to a SNES/KSP/PC made from
    the options; an option PETSc did not read is unknown, one whose value makes
    ``setFromOptions`` fail is refused.
    """
    if not options:
        return []
    from femsim.mpi import import_dolfinx

    import_dolfinx()
    from mpi4py import MPI
    from petsc4py import PETSc

    prefix = "femsim_check_"
    db = PETSc.Options()

    def attempt(items: dict[str, Any]) -> tuple[str | None, set[str]]:
        for key in list(db.getAll()):
            if key.startswith(prefix):
                db.delValue(key)
        for key, value in items.items():
            db.setValue(prefix + key, str(value).lower() if isinstance(value, bool) else value)
        snes = PETSc.SNES().create(MPI.COMM_SELF)  # type: ignore[arg-type]  # petsc4py takes mpi4py comms
        try:
            snes.setOptionsPrefix(prefix)
            snes.setFromOptions()
            ksp = snes.getKSP()
            ksp.setFromOptions()
            ksp.getPC().setFromOptions()
            if snes.getType() in ("newtonls", "newtontr"):
                snes.getLineSearch().setFromOptions()
            used = {k for k in items if db.used(prefix + k)}
            return None, used
        except PETSc.Error as exc:
            return f"error code {exc.ierr}", set()  # type: ignore[attr-defined]  # set at run time
        finally:
            snes.destroy()
            for key in list(db.getAll()):
                if key.startswith(prefix):
                    db.delValue(key)

    problems = []
    clean = {k.lstrip("-"): v for k, v in options.items()}
    accepted: dict[str, Any] = {}
    for key, value in clean.items():  # one at a time: the first value PETSc refuses is named
        error, _ = attempt({**accepted, key: value})
        if error is not None:
            problems.append(f"solver.petsc_options.{key}: PETSc refuses the value {value!r} ({error})")
        else:
            accepted[key] = value
    _, used = attempt(accepted)
    factor_used, factor_error = _factorisation_options_used(accepted, prefix)
    used |= factor_used
    if factor_error:
        names = ", ".join(f"solver.petsc_options.{k}" for k in sorted(factor_used))
        problems.append(f"{names}: PETSc refuses these factorisation options ({factor_error})")
    # options read only when the solver is set up (field splits, multigrid levels): not checked here
    deferred = ("fieldsplit_", "pc_fieldsplit_", "mg_", "pc_mg_", "pc_gamg_", "pc_hypre_", "sub_", "snes_lag_")
    for key in accepted:
        if key not in used and not key.startswith(deferred):
            problems.append(f"solver.petsc_options.{key}: not a PETSc option (PETSc did not read it)")
    return problems


def _factorisation_options_used(options: dict[str, Any], prefix: str) -> tuple[set[str], str | None]:
    """Names among ``mat_*`` / ``pc_factor_*`` options that a MUMPS LU set-up reads, and its error.

    These are read only when a factorisation is set up, so a 2 × 2 system is factored with MUMPS
    (the factorisation every preset uses) under the scratch prefix, with the options given.
    """
    from mpi4py import MPI
    from petsc4py import PETSc

    names = [k for k in options if k.startswith(("mat_", "pc_factor_"))]
    if not names:
        return set(), None
    db = PETSc.Options()
    for key, value in options.items():
        if key.startswith(("mat_", "pc_factor_")):
            db.setValue(prefix + key, str(value).lower() if isinstance(value, bool) else value)
    db.setValue(prefix + "pc_type", "lu")
    if "pc_factor_mat_solver_type" not in options:
        db.setValue(prefix + "pc_factor_mat_solver_type", "mumps")
    # petsc4py takes mpi4py communicators at run time; its stubs name only its own Comm
    matrix = PETSc.Mat().createAIJ((2, 2), nnz=2, comm=MPI.COMM_SELF)  # type: ignore[arg-type]
    ksp = PETSc.KSP().create(MPI.COMM_SELF)  # type: ignore[arg-type]
    try:
        matrix.setValue(0, 0, 2.0)
        matrix.setValue(1, 1, 3.0)
        matrix.assemble()
        ksp.setOptionsPrefix(prefix)
        ksp.setOperators(matrix)
        ksp.setFromOptions()
        ksp.setUp()
        return {k for k in names if db.used(prefix + k)}, None
    except PETSc.Error as exc:
        return set(names), f"error code {exc.ierr}"  # type: ignore[attr-defined]  # set at run time
    finally:
        ksp.destroy()
        matrix.destroy()
        for key in list(db.getAll()):
            if key.startswith(prefix):
                db.delValue(key)


def preflight(case: Case, allow_large: bool = False) -> dict[str, Any]:
    """Raise InputError with every problem ``run`` would meet; return what was estimated."""
    where = f"{case.source}: " if case.source else ""
    problems, radii = _table_problems(case)  # these name the table file
    problems += [where + p for p in _mesh_file_problems(case) + _current_problems(case)
                 + petsc_option_problems(dict(case.solver.petsc_options))]
    info: dict[str, Any] = {}
    if case.mesh.file is None and radii is not None:
        info["estimated_cells"] = cells = estimate_cells(case, radii)
        if cells > MAX_CELLS and not allow_large:
            problems.append(f"{where}mesh.size_surface_um: these mesh sizes give about {cells:.3g} cells, more than "
                            f"{MAX_CELLS:,} (meshing alone would take hours); coarsen the mesh or pass --allow-large")
    if problems:
        raise InputError(problems[0], problems=problems[1:])
    return info
