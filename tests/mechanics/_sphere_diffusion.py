"""A standalone single-sphere Li diffusion problem (constant surface flux) for the coupling tests.

Fick (optionally with D(c) = D(1 + θ_M c)) or the fully coupled stress-enhanced diffusion
(docs/physics.md §2.1): unknowns c (P1), u (the mechanics solver's space, with its rigid-body supports)
and s = σ_h (P1, the L2 projection of tr σ/3), solved monolithically by Newton each step.
Backward Euler. SI units; the flux F₀ (mol m⁻² s⁻¹) enters the particle when positive.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from femsim.mpi import import_dolfinx
from femsim.physics import mechanics as pm

MUMPS = {"ksp_type": "preonly", "pc_type": "lu", "pc_factor_mat_solver_type": "mumps",
         "snes_rtol": 1e-9, "snes_atol": 1e-12, "snes_stol": 0.0, "snes_max_it": 20, "mat_mumps_icntl_14": 200}


class SphereDiffusion:
    """Backward-Euler diffusion in the particle submesh of a single-sphere :class:`Domain`.

    Args:
        mech: a :class:`MechanicsSolver` on the domain (its spaces / supports are reused).
        D: diffusivity (m²/s); flux: F₀ (mol m⁻² s⁻¹); c0: initial concentration (mol/m³).
        mode: "fick", "fick_theta" (D(1 + θ_M c)), "coupled" (stress-enhanced, monolithic) or
            "lagged" (stress-enhanced with σ_h from the previous mechanics solve, as in the run loop).
        temperature: T (K).
    """

    def __init__(self, mech: Any, D: float, flux: float, c0: float, dt: float, mode: str = "fick",
                 temperature: float = 298.15):
        import_dolfinx()
        import dolfinx.fem.petsc
        import ufl

        self.mech, self.mode = mech, mode
        p = mech.params
        E, nu, om = mech.E, mech.nu, p.partial_molar_volume
        pmesh = mech.Vs.mesh
        self.c = dolfinx.fem.Function(mech.Vs, name="c")
        self.c_old = dolfinx.fem.Function(mech.Vs)
        self.c.x.array[:] = c0
        self.c_old.x.array[:] = c0
        v = ufl.TestFunction(mech.Vs)
        dx, ds = ufl.Measure("dx", domain=pmesh), ufl.Measure("ds", domain=pmesh)
        k = dolfinx.fem.Constant(pmesh, dt)
        self.time = 0.0
        self.dt = dt
        c = self.c
        if mode == "coupled":
            self.u = dolfinx.fem.Function(mech.V)
            self.s = dolfinx.fem.Function(mech.Vs)
            w, q = ufl.TestFunction(mech.V), ufl.TestFunction(mech.Vs)
            e_ch = om * (c - mech.c_ref) / 3
            sigma = pm.stress(self.u, e_ch, E, nu)
            N = pm.stress_enhanced_flux(c, self.s, D, om, temperature)
            # block weights make every residual O(1) (the Newton test, not the solution, changes)
            L, cs = 1e-6, max(abs(c0), 1.0)
            ss = E * om * cs
            wc = dt / (cs * L**3)
            F_c = wc * ((c - self.c_old) / k * v - ufl.inner(N, ufl.grad(v))) * dx - wc * flux * v * ds
            F_u = ufl.inner(sigma, pm.strain(w)) / (ss * L**2) * dx
            F_s = (self.s - pm.hydrostatic(sigma)) * q / (ss * L**3) * dx
            self.problem = dolfinx.fem.petsc.NonlinearProblem(
                [F_c, F_u, F_s], [c, self.u, self.s], bcs=mech.bcs, kind="mpi", petsc_options=MUMPS,
                petsc_options_prefix="sphere_coupled_")
        else:
            theta = pm.theta_m(E, nu, om, temperature) if mode == "fick_theta" else 0.0
            weight = dt / (max(abs(c0), 1.0) * 1e-18)  # O(1) residual per µm³
            F_c = weight * ((c - self.c_old) / k * v + D * (1 + theta * c) * ufl.inner(ufl.grad(c), ufl.grad(v))) * dx \
                - weight * flux * v * ds
            if mode == "lagged":
                mech.solve(self.c)
                self.sigma_h = mech.fields()["sigma_hydrostatic_Pa"]
                F_c = F_c + weight * pm.stress_enhanced_residual(c, self.sigma_h, v, D, om, temperature, dx)
            # Fick with constant D is linear: one Newton step, Jacobian factorised once for all steps
            opts = dict(MUMPS, snes_type="ksponly", snes_lag_jacobian=-2, snes_lag_jacobian_persists=True,
                        snes_lag_preconditioner=-2, snes_lag_preconditioner_persists=True) if mode == "fick" else MUMPS
            self.problem = dolfinx.fem.petsc.NonlinearProblem(F_c, c, petsc_options=opts,
                                                              petsc_options_prefix=f"sphere_{mode}_")

    def step(self) -> None:
        self.problem.solve()
        reason = self.problem.solver.getConvergedReason()
        if reason < 0 or (reason == 0 and self.mode != "fick"):
            raise RuntimeError(f"SNES did not converge ({reason})")
        self.c.x.scatter_forward()
        self.c_old.x.array[:] = self.c.x.array
        self.time += self.dt
        if self.mode == "lagged":
            self.mech.solve(self.c)  # σ_h for the next step (one-step lag, as after an accepted step)

    def run_to(self, t: float) -> None:
        while self.time < t - 1e-9 * self.dt:
            self.step()


def surface_mean(mech: Any, values: np.ndarray, centre: np.ndarray, radius: float) -> float:
    """Mean of a nodal array over the owned surface nodes of the sphere (all ranks)."""
    from mpi4py import MPI

    X = mech.Vs.tabulate_dof_coordinates()
    owned = mech.Vs.dofmap.index_map.size_local
    sel = np.linalg.norm(X[:owned] - centre, axis=1) > 0.999 * radius
    tot = mech.domain.comm.allreduce(np.array([values[:owned][sel].sum(), sel.sum()]), op=MPI.SUM)
    return tot[0] / tot[1]
