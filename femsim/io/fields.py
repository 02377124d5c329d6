"""ParaView-ready field output (VTK ``.pvd`` collections, coordinates in metres).

``fields/particles.pvd``: c/c_max, φ_s (transferred from the conductor submesh), particle id
(cell data) and, with mechanics, the stress fields and displacement; fields of another point
element go to ``fields/particles_vectors.pvd`` (VTK takes one point element per file);
``fields/electrolyte.pvd``: c_e, φ_e.

Each output time is written as its own piece set (``<name>_t<time>…pvtu``) and the ``.pvd``
index is rewritten atomically after every output, so a killed run keeps a readable collection
and a resumed run continues it (entries at or after the resume time are replaced). A piece set is
written into ``.tmp_<stem>/`` and each file is renamed into place only once it is complete (ends
with ``</VTKFile>``), so a full disk never leaves a truncated ``.vtu`` under a final name; an error
on any rank is raised on every rank.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from femsim.io.atomic import _io_fault, file_mode, write_text
from femsim.mpi import import_dolfinx, raise_together


def _move_complete(src: Path, dst: Path) -> None:
    """Rename a written VTK file into place after checking it is complete."""
    _io_fault(dst)
    with open(src, "rb") as fh:
        fh.seek(max(0, os.path.getsize(src) - 64))
        if b"</VTKFile>" not in fh.read():
            raise OSError(errno.EIO, "incomplete VTK file (disk full?)", str(src))
    os.chmod(src, file_mode())
    os.replace(src, dst)


class _Collection:
    """One ``.pvd`` index over per-time VTK piece sets."""

    def __init__(self, folder: Path, name: str, comm: Any):
        self.folder, self.name, self.comm = folder, name, comm
        self.entries: list[tuple[float, str]] = []
        index = folder / f"{name}.pvd"
        if index.is_file():  # resume: keep what is there
            text = index.read_text()
            self.entries = [(float(t), f) for t, f in re.findall(r'timestep="([^"]+)"[^>]*file="([^"]+)"', text)]

    def _together(self, error: BaseException | None, tmp: Path) -> None:
        """Raise an error of any rank on every rank, removing the unfinished piece set first."""
        try:
            raise_together(self.comm, error)
        except OSError:
            if self.comm.rank == 0:
                shutil.rmtree(tmp, ignore_errors=True)
            raise

    def write(self, functions: list[Any], time_s: float) -> None:
        dolfinx = import_dolfinx()
        comm, rank = self.comm, self.comm.rank
        stem = f"{self.name}_t{time_s:013.4f}".replace(".", "p")
        tmp = self.folder / f".tmp_{stem}"
        error: BaseException | None = None
        if rank == 0:
            try:
                shutil.rmtree(tmp, ignore_errors=True)
                tmp.mkdir(parents=True)
            except OSError as exc:
                error = exc
        raise_together(comm, error)
        piece = f"{stem}_p{rank}_000000.vtu"
        try:
            vtk = dolfinx.io.VTKFile(comm, str(tmp / f"{stem}.pvd"), "w")
            try:
                vtk.write_function(functions, time_s)
            finally:
                vtk.close()
                del vtk  # its per-time .pvd is written on destruction: now, inside tmp
            _move_complete(tmp / piece, self.folder / piece)
        except OSError as exc:
            error = exc
        except RuntimeError as exc:  # the C++ writer's failures: name a full disk as such
            full = shutil.disk_usage(self.folder).free < max(1 << 20, 0.001 * shutil.disk_usage(self.folder).total)
            error = OSError(errno.ENOSPC if full else errno.EIO,
                            f"{os.strerror(errno.ENOSPC) if full else 'VTK write failed'} ({exc})", str(tmp / piece))
        self._together(error, tmp)
        self.entries = [(t, f) for t, f in self.entries if t < time_s - 1e-9] + [(time_s, f"{stem}000000.pvtu")]
        if rank == 0:
            try:
                _move_complete(tmp / f"{stem}000000.pvtu", self.folder / f"{stem}000000.pvtu")
                shutil.rmtree(tmp, ignore_errors=True)
                body = "".join(f'    <DataSet timestep="{t!r}" part="0" file="{f}"/>\n' for t, f in self.entries)
                write_text(self.folder / f"{self.name}.pvd",
                           '<?xml version="1.0"?>\n<VTKFile type="Collection" version="0.1">\n  <Collection>\n'
                           f"{body}  </Collection>\n</VTKFile>\n")
            except OSError as exc:
                error = exc
        self._together(error, tmp)


class FieldWriter:
    """Writes the particle and electrolyte fields at output times."""

    def __init__(self, folder: str | Path, domain: Any, problem: Any):
        import_dolfinx()
        import dolfinx.io

        self.folder = Path(folder)
        if domain.comm.rank == 0:
            self.folder.mkdir(parents=True, exist_ok=True)
        domain.comm.barrier()
        self.domain, self.problem = domain, problem
        V_p = problem.particle_concentration.function_space
        self.c_over_cmax = dolfinx.fem.Function(V_p, name="c_over_cmax")
        self.solid_potential = dolfinx.fem.Function(V_p, name="solid_potential_V")
        dg0 = dolfinx.fem.functionspace(domain.particles.mesh, ("DG", 0))
        self.particle_id = dolfinx.fem.Function(dg0, name="particle_id")
        self.particle_id.x.array[:] = domain.particle_cell_ids
        V_e = problem.electrolyte_concentration.function_space
        self.c_e = dolfinx.fem.Function(V_e, name="electrolyte_concentration_mol_m3")
        self.phi_e = dolfinx.fem.Function(V_e, name="electrolyte_potential_V")
        # particle submesh cells ↔ conductor submesh cells (through the parent mesh)
        n_p = len(domain.particles.parent_cells)
        n_parent = domain.mesh.topology.index_map(3).size_local + domain.mesh.topology.index_map(3).num_ghosts
        parent_to_conductor = domain.conductor.cell_map.sub_topology_to_topology(
            np.arange(n_parent, dtype=np.int32), inverse=True)
        self._cells_p = np.arange(n_p, dtype=np.int32)
        self._cells_c = np.asarray(parent_to_conductor[domain.particles.parent_cells], dtype=np.int32)
        comm = domain.comm
        self._particles = _Collection(self.folder, "particles", comm)
        self._vectors = _Collection(self.folder, "particles_vectors", comm)
        self._electrolyte = _Collection(self.folder, "electrolyte", comm)

    def write(self, time_s: float, extra_particle_fields: list[Any] | None = None) -> None:
        p = self.problem
        self.c_over_cmax.x.array[:] = p.particle_concentration.x.array / p.c_max
        if getattr(p, "particle_potential", None) is not None:  # detachment: the particles' own φ_s
            self.solid_potential.x.array[:] = p.particle_potential.x.array
        else:
            self.solid_potential.interpolate(p.solid_potential, self._cells_c, self._cells_p)
        self.c_e.x.array[:] = p.electrolyte_concentration.x.array
        self.phi_e.x.array[:] = p.electrolyte_potential.x.array
        scalars = [self.c_over_cmax, self.solid_potential]
        vectors: list[Any] = []
        for f in extra_particle_fields or []:
            (scalars if f.function_space.element == self.c_over_cmax.function_space.element else vectors).append(f)
        self._particles.write(scalars + [self.particle_id], time_s)
        if vectors:
            self._vectors.write(vectors, time_s)
        self._electrolyte.write([self.c_e, self.phi_e], time_s)

    def close(self) -> None:
        """Nothing stays open between outputs (kept for symmetry with other writers)."""
