"""Effective ionic transport of a meshed electrode: tortuosity and equivalent Bruggeman exponent.

The conduction problem is solved on the **matrix cells only** (the carbon-binder/electrolyte
matrix of the cathode, 0 ≤ z ≤ L_c; the separator is excluded, its transport is the homogeneous
``ε_sep^b_sep``): −∇·∇φ = 0 with φ = 1 on the current-collector plane z = 0, φ = 0 on the
cathode/separator plane z = L_c, and no flux elsewhere (lateral faces and particle surfaces:
the particles are insulating obstacles). With unit conductivity and a unit potential step the
dissipation ∫|∇φ|² dx equals the current, so the matrix-normalised effective conductivity is

    f = σ_eff/σ_m = L_c ∫|∇φ|² dx / A      (A = lateral area of the box; P1 gives f_h ≥ f).

Reported quantities (``φ_p`` = particle volume fraction of the cathode from the mesh):

* packing factor f, the geometric tortuosity of the particle packing ``τ_p = (1 − φ_p)/f`` and its
  Bruggeman exponent ``b_p = ln f / ln(1 − φ_p)``;
* the Maxwell–Garnett (dilute Rayleigh) estimate for insulating spheres ``(1 − φ_p)/(1 + φ_p/2)``;
* with the matrix treated as an already homogenised medium of porosity ε_m and Bruggeman
  exponent b_m: the electrolyte volume fraction ``ε = ε_m (1 − φ_p)``, the total transport
  efficiency ``B = ε_m^b_m f`` (κ_eff = B κ, D_eff = B D), the tortuosity factor ``τ = ε/B`` and the
  equivalent Bruggeman exponent ``b = ln B / ln ε`` (the value a 1D porous-electrode model needs).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from femsim.geometry import tags
from femsim.mpi import import_dolfinx
from femsim.units import UM

if TYPE_CHECKING:
    from femsim.case import Case

_LOG = logging.getLogger(__name__)


def maxwell_garnett(fraction: float) -> float:
    """σ_eff/σ_0 of a medium with insulating spheres at volume fraction ``fraction`` (-)."""
    return (1.0 - fraction) / (1.0 + 0.5 * fraction)


@dataclasses.dataclass
class TortuosityResult:
    """Effective transport of a meshed cathode (all dimensionless unless the name says)."""

    particle_fraction: float
    packing_factor: float
    maxwell_garnett: float
    matrix_porosity: float
    matrix_bruggeman: float
    thickness_m: float
    area_m2: float
    n_cells: int
    n_dofs: int
    elapsed_s: float
    region: str = "matrix cells of the cathode (0 <= z <= L_c); separator excluded"

    @property
    def matrix_fraction(self) -> float:
        return 1.0 - self.particle_fraction

    @property
    def packing_tortuosity(self) -> float:
        """τ_p = (1 − φ_p)/f: tortuosity factor of the particle packing alone."""
        return self.matrix_fraction / self.packing_factor

    @property
    def packing_bruggeman(self) -> float:
        """b_p with f = (1 − φ_p)^b_p."""
        return math.log(self.packing_factor) / math.log(self.matrix_fraction)

    @property
    def maxwell_garnett_error(self) -> float:
        """f / f_MG − 1."""
        return self.packing_factor / self.maxwell_garnett - 1.0

    @property
    def porosity(self) -> float:
        """Electrolyte volume fraction of the cathode, ε = ε_m (1 − φ_p)."""
        return self.matrix_porosity * self.matrix_fraction

    @property
    def transport_efficiency(self) -> float:
        """B = κ_eff/κ = ε_m^b_m × f."""
        return self.matrix_porosity**self.matrix_bruggeman * self.packing_factor

    @property
    def tortuosity(self) -> float:
        """τ = ε/B: tortuosity factor of the cathode's electrolyte."""
        return self.porosity / self.transport_efficiency

    @property
    def bruggeman_exponent(self) -> float:
        """b with B = ε^b: the equivalent Bruggeman exponent for a 1D model."""
        return math.log(self.transport_efficiency) / math.log(self.porosity)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        for name in ("matrix_fraction", "packing_tortuosity", "packing_bruggeman", "maxwell_garnett_error",
                     "porosity", "transport_efficiency", "tortuosity", "bruggeman_exponent"):
            data[name] = getattr(self, name)
        return data

    def summary(self) -> str:
        return (f"particle fraction {self.particle_fraction:.4f}; packing factor f = σ_eff/σ_m = "
                f"{self.packing_factor:.4f} (Maxwell–Garnett {self.maxwell_garnett:.4f}, "
                f"{100 * self.maxwell_garnett_error:+.2f} %), packing tortuosity {self.packing_tortuosity:.4f}, "
                f"Bruggeman {self.packing_bruggeman:.3f}\n"
                f"with the matrix (ε_m = {self.matrix_porosity:g}, b_m = {self.matrix_bruggeman:g}): porosity ε = "
                f"{self.porosity:.4f}, transport efficiency B = {self.transport_efficiency:.4f}, tortuosity "
                f"τ = ε/B = {self.tortuosity:.4f}, equivalent Bruggeman exponent b = {self.bruggeman_exponent:.4f}")


def _matrix_submesh(mesh: Any, cell_tags: Any) -> Any:
    dolfinx = import_dolfinx()
    tdim = mesh.topology.dim
    n_owned = mesh.topology.index_map(tdim).size_local
    values = np.zeros(n_owned + mesh.topology.index_map(tdim).num_ghosts, dtype=np.int32)
    values[cell_tags.indices] = cell_tags.values
    cells = np.flatnonzero(values[:n_owned] == tags.MATRIX).astype(np.int32)
    sub = dolfinx.mesh.create_submesh(mesh, tdim, cells)[0]
    sub.topology.create_connectivity(tdim - 1, tdim)
    return sub


def _global_bounds(mesh: Any) -> tuple[np.ndarray, np.ndarray]:
    from mpi4py import MPI

    x = mesh.geometry.x
    lo = np.min(x, axis=0) if x.size else np.full(3, np.inf)
    hi = np.max(x, axis=0) if x.size else np.full(3, -np.inf)
    glo, ghi = np.empty(3), np.empty(3)
    mesh.comm.Allreduce(np.ascontiguousarray(lo, dtype=float), glo, op=MPI.MIN)
    mesh.comm.Allreduce(np.ascontiguousarray(hi, dtype=float), ghi, op=MPI.MAX)
    return glo, ghi


def effective_conductivity(mesh: Any, cell_tags: Any, cathode_box: tuple[float, ...] | None = None,
                           rtol: float = 1e-10) -> tuple[float, float, dict[str, Any]]:
    """Solve the matrix conduction problem; return (packing factor f, particle fraction, info).

    Args:
        mesh: parent mesh (metres) with cell tags as in :mod:`femsim.geometry.tags`.
        cell_tags: its cell tags.
        cathode_box: (Lx, Ly, L_c) in metres (default: from the matrix cells' bounding box).
        rtol: relative tolerance of the CG/GAMG solve.
    """
    import_dolfinx()
    import dolfinx.fem.petsc
    import ufl
    from mpi4py import MPI

    sub = _matrix_submesh(mesh, cell_tags)
    lo, hi = _global_bounds(sub)
    size = hi - lo if cathode_box is None else np.asarray(cathode_box, dtype=float)
    z0 = lo[2] if cathode_box is None else 0.0
    lc, area = float(size[2]), float(size[0] * size[1])
    tol = 1e-6 * lc
    V = dolfinx.fem.functionspace(sub, ("Lagrange", 1))
    fdim = sub.topology.dim - 1
    bottom = dolfinx.mesh.locate_entities_boundary(sub, fdim, lambda x: np.abs(x[2] - z0) < tol)
    top = dolfinx.mesh.locate_entities_boundary(sub, fdim, lambda x: np.abs(x[2] - (z0 + lc)) < tol)
    n_b, n_t = (sub.comm.allreduce(len(f), op=MPI.SUM) for f in (bottom, top))
    if n_b == 0 or n_t == 0:
        raise ValueError(f"matrix has no facets on z = 0 ({n_b}) or z = L_c ({n_t}): not a cathode mesh?")
    # a numpy scalar is what DOLFINx wants here; its annotation lists only float/complex/arrays
    bcs = [dolfinx.fem.dirichletbc(dolfinx.default_scalar_type(value),  # type: ignore[arg-type]
                                   dolfinx.fem.locate_dofs_topological(V, fdim, facets), V)
           for value, facets in ((1.0, bottom), (0.0, top))]
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    zero = dolfinx.fem.Constant(sub, dolfinx.default_scalar_type(0.0))
    problem = dolfinx.fem.petsc.LinearProblem(
        ufl.inner(ufl.grad(u), ufl.grad(v)) * ufl.dx, zero * v * ufl.dx, bcs=bcs,
        petsc_options_prefix="femsim_tortuosity_",
        petsc_options={"ksp_type": "cg", "pc_type": "gamg", "ksp_rtol": rtol, "ksp_atol": 1e-14,
                       "ksp_max_it": 2000, "ksp_error_if_not_converged": True})
    phi = problem.solve()
    dissipation = sub.comm.allreduce(dolfinx.fem.assemble_scalar(dolfinx.fem.form(
        ufl.inner(ufl.grad(phi), ufl.grad(phi)) * ufl.dx)), op=MPI.SUM)
    volume = sub.comm.allreduce(dolfinx.fem.assemble_scalar(dolfinx.fem.form(
        dolfinx.fem.Constant(sub, 1.0) * ufl.dx)), op=MPI.SUM)
    particle_fraction = 1.0 - volume / (area * lc)
    info = {"thickness_m": lc, "area_m2": area, "n_cells": sub.topology.index_map(3).size_global,
            "n_dofs": V.dofmap.index_map.size_global,
            "iterations": problem.solver.getIterationNumber()}
    return dissipation * lc / area, particle_fraction, info


def measure_tortuosity(mesh_path: str | Path, matrix_porosity: float, matrix_bruggeman: float,
                       comm: Any = None, cathode_box_um: Any = None) -> TortuosityResult:
    """Load a case mesh (.msh, µm) and measure its effective transport (see module docstring)."""
    from femsim.geometry.load import load_mesh

    t0 = time.perf_counter()
    mesh, cell_tags, _ = load_mesh(mesh_path, comm)
    box = None if cathode_box_um is None else tuple(UM * float(v) for v in cathode_box_um)
    f, phi_p, info = effective_conductivity(mesh, cell_tags, box)
    result = TortuosityResult(particle_fraction=phi_p, packing_factor=f, maxwell_garnett=maxwell_garnett(phi_p),
                              matrix_porosity=matrix_porosity, matrix_bruggeman=matrix_bruggeman,
                              thickness_m=info["thickness_m"], area_m2=info["area_m2"], n_cells=info["n_cells"],
                              n_dofs=info["n_dofs"], elapsed_s=time.perf_counter() - t0)
    _LOG.info("tortuosity of %s: f = %.5f (MG %.5f), %d dofs, %d CG iterations, %.1f s", mesh_path,
              f, result.maxwell_garnett, info["n_dofs"], info["iterations"], result.elapsed_s)
    return result


def case_tortuosity(case: Case, comm: Any = None, force_mesh: bool = False) -> TortuosityResult:
    """Mesh (or reuse the mesh of) ``case`` and measure its effective transport."""
    from femsim.geometry.pipeline import mesh_case

    msh = mesh_case(case, force=force_mesh, comm=comm)
    return measure_tortuosity(msh, case.materials.matrix_porosity, case.materials.matrix_bruggeman, comm,
                              case.geometry.box_um)
