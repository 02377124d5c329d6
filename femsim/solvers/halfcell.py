"""The coupled half-cell problem: unknowns, forms and one implicit time step.

Unknowns (P1 Lagrange, SI units), one submesh per region (:class:`femsim.model.domain.Domain`):

* ``particle_concentration``  c_s (mol/m³) on the particles;
* ``solid_potential``         φ_s (V) on particles + carbon-binder matrix;
* ``electrolyte_concentration`` c_e (mol/m³) and ``electrolyte_potential`` φ_e (V) on matrix +
  separator.

Backward Euler in time; all four fields are solved monolithically by Newton (PETSc SNES) with the
Butler–Volmer coupling on the oriented particle interface. Each block residual is multiplied by a
constant weight so that the blocks' residual norms are commensurate (this changes the Newton
stopping test, not the solution).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from femsim.geometry import tags
from femsim.model.domain import MATRIX, PARTICLES, SEPARATOR, Domain
from femsim.mpi import import_dolfinx
from femsim.physics import electrochemistry as ec
from femsim.solvers import presets
from femsim.solvers.presets import make_nonlinear_problem

LOG = logging.getLogger(__name__)
LENGTH_SCALE = 1e-6  # m, residual weights are per µm³ / µm²
#: contact conductance between the terminal and the collector face in potentiostatic steps (S/m²):
#: 1e-7 Ω m² (1 mΩ cm², negligible next to the electrode's ~10 Ω cm²), comparable to the
#: conduction stiffness σ/h of the matrix at µm elements, so it leaves the Jacobian well conditioned
CONTACT_CONDUCTANCE_S_M2 = 1e7


class HalfCellProblem:
    """Galvanostatic half-cell: NMC particles | CB/electrolyte matrix | separator | Li metal.

    Args:
        domain: regions, measures and interface of the mesh.
        materials: :class:`femsim.parameters.MaterialSets`.
        case: the validated case (materials, protocol and solver sections are used).
    """

    def __init__(self, domain: Domain, materials: Any, case: Any):
        dolfinx = import_dolfinx()
        import dolfinx.fem.petsc  # noqa: F401
        import ufl

        self.domain, self.materials, self.case = domain, materials, case
        mesh = domain.mesh
        cathode, electrolyte, lithium = materials.cathode, materials.electrolyte, materials.counter_electrode
        mat, prot = case.materials, case.protocol
        T = prot.temperature_K
        self.c_max = cathode.max_concentration
        self.temperature = T

        def p1(region):
            return dolfinx.fem.functionspace(region.mesh, ("Lagrange", 1))

        V_cs, V_phis, V_e = p1(domain.particles), p1(domain.conductor), p1(domain.electrolyte)
        self.particle_concentration = dolfinx.fem.Function(V_cs, name="particle_concentration")
        self.solid_potential = dolfinx.fem.Function(V_phis, name="solid_potential")
        self.electrolyte_concentration = dolfinx.fem.Function(V_e, name="electrolyte_concentration")
        self.electrolyte_potential = dolfinx.fem.Function(V_e, name="electrolyte_potential")
        self.unknowns = [self.particle_concentration, self.solid_potential, self.electrolyte_concentration,
                         self.electrolyte_potential]
        self.previous = [dolfinx.fem.Function(u.function_space, name=f"{u.name}_old") for u in self.unknowns]
        c_s, phi_s, c_e, phi_e = self.unknowns
        c_s_old, _, c_e_old, _ = self.previous
        v_s, w, v_e, q = (ufl.TestFunction(u.function_space) for u in self.unknowns)

        self.dt = dolfinx.fem.Constant(mesh, 1.0)
        self.applied_current_density = dolfinx.fem.Constant(mesh, 0.0)  # A/m², > 0 on charge
        #: control of the collector (see :meth:`set_control_mode`): 1 prescribes the current, 0 the voltage
        self._current_controlled = dolfinx.fem.Constant(mesh, 1.0)
        self.held_voltage = dolfinx.fem.Constant(mesh, 0.0)  # V, potentiostatic steps
        self.control_mode = "current"
        dx, ds, dS = domain.dx, domain.ds, domain.dS

        # --- interface kinetics (particle side '+', electrolyte side '-') ---------------------
        cs_p, ce_m = c_s("+"), c_e("-")
        x_surf = cs_p / self.c_max
        eta = ec.overpotential(phi_s("+"), phi_e("-"), cathode.open_circuit_potential(x_surf))
        i0 = cathode.exchange_current_density(ce_m, cs_p)
        i_n = ec.butler_volmer(i0, eta, T, cathode.anodic_transfer_coefficient,
                               cathode.cathodic_transfer_coefficient)
        f_w = mat.wetted_fraction
        self.reaction_current = i_n
        self.interface_overpotential = eta
        li_flux = ec.interface_li_flux(i_n, f_w)

        # --- Li metal ---------------------------------------------------------------------------
        i_li = ec.lithium_metal_current(lithium.exchange_current_density(c_e), phi_e, T,
                                        lithium.transfer_coefficient)
        self.lithium_current = i_li

        # --- effective properties ---------------------------------------------------------------
        eff_m = ec.bruggeman(mat.matrix_porosity, mat.matrix_bruggeman)
        eff_s = ec.bruggeman(mat.separator_porosity, mat.separator_bruggeman)
        sigma_matrix = ec.bruggeman(1.0 - mat.matrix_porosity, mat.matrix_bruggeman) * mat.carbon_binder_conductivity_S_m
        kappa = electrolyte.conductivity(c_e, T)
        d_e = electrolyte.diffusivity(c_e, T)
        t_plus = electrolyte.transference(c_e, T)
        tdf = electrolyte.thermodynamic(c_e, T)

        # --- residuals ----------------------------------------------------------------------------
        L3, L2 = LENGTH_SCALE**3, LENGTH_SCALE**2
        i_ref = max(prot.current_density_A_m2 / prot.c_rate, 1.0)
        w_cs = 1.0 / (self.c_max * L3)
        w_ce = 1.0 / (prot.initial_electrolyte_concentration_mol_m3 * L3)
        w_phi = 1.0 / (i_ref * L2)

        D_s = cathode.solid_diffusivity(c_s / self.c_max)
        F_cs = w_cs * (ec.solid_diffusion_residual(c_s, c_s_old, v_s, self.dt, D_s, dx(PARTICLES))
                       + li_flux * v_s("+") * dS(tags.INTERFACE))
        #: hydrostatic stress σ_h (Pa, P1 on the particles) for stress-enhanced diffusion; updated by
        #: the run loop after each mechanics solve (lagged by one step), zero otherwise
        self.hydrostatic_stress = dolfinx.fem.Function(V_cs, name="hydrostatic_stress")
        if case.mechanics.enabled and case.mechanics.stress_enhanced_diffusion:
            from femsim.physics import mechanics as pm

            F_cs = F_cs + w_cs * pm.stress_enhanced_residual(c_s, self.hydrostatic_stress, v_s, D_s,
                                                             cathode.partial_molar_volume, T, dx(PARTICLES))
        F_phis = w_phi * (ec.electronic_conduction_residual(phi_s, w, cathode.electronic_conductivity, dx(PARTICLES))
                          + ec.electronic_conduction_residual(phi_s, w, sigma_matrix, dx(MATRIX))
                          + f_w * i_n * w("+") * dS(tags.INTERFACE)
                          - self._collector_current(phi_s) * w * ds(tags.CURRENT_COLLECTOR))
        F_ce = w_ce * (
            ec.electrolyte_salt_residual(c_e, c_e_old, v_e, self.dt, mat.matrix_porosity, eff_m * d_e, t_plus,
                                         ec.electrolyte_current(c_e, phi_e, eff_m * kappa, t_plus, tdf, T), dx(MATRIX))
            + ec.electrolyte_salt_residual(c_e, c_e_old, v_e, self.dt, mat.separator_porosity, eff_s * d_e, t_plus,
                                           ec.electrolyte_current(c_e, phi_e, eff_s * kappa, t_plus, tdf, T),
                                           dx(SEPARATOR))
            - li_flux * v_e("-") * dS(tags.INTERFACE)
            + i_li / ec.FARADAY * v_e * ds(tags.LI_METAL))
        F_phie = w_phi * (
            ec.electrolyte_charge_residual(ec.electrolyte_current(c_e, phi_e, eff_m * kappa, t_plus, tdf, T), q,
                                           dx(MATRIX))
            + ec.electrolyte_charge_residual(ec.electrolyte_current(c_e, phi_e, eff_s * kappa, t_plus, tdf, T), q,
                                             dx(SEPARATOR))
            - f_w * i_n * q("-") * dS(tags.INTERFACE)
            + i_li * q * ds(tags.LI_METAL))
        self.residuals = [F_cs, F_phis, F_ce, F_phie]

        self.n_dofs = sum(u.function_space.dofmap.index_map.size_global for u in self.unknowns)
        self.problem, self.preset = make_nonlinear_problem(self.residuals, self.unknowns, domain.entity_maps,
                                                           case.solver, "femsim_halfcell_")
        LOG.info("coupled problem: %d unknowns, solver preset %s", self.n_dofs, self.preset)
        self.potential_problem, _ = make_nonlinear_problem([F_phis, F_phie], [phi_s, phi_e], domain.entity_maps,
                                                           case.solver, "femsim_potentials_", initialisation=True)
        prot_ce0 = prot.initial_electrolyte_concentration_mol_m3
        self.lagged = self.preset in presets.LAGGED_PRESETS
        #: dt (s) of the Jacobian held by a lagged preset (None: refresh at the next solve)
        self._jacobian_dt: float | None = None
        #: the stepper grows dt after a step that needed at most this many iterations
        self.easy_newton_iterations = case.solver.easy_newton_iterations * (
            presets.CHORD_ITERATION_FACTOR if self.preset == "chord" else 1)
        self._install_convergence_test(self.problem, [self.c_max, 1.0, prot_ce0, 1.0], case.solver, self.preset)
        self._install_convergence_test(self.potential_problem, [1.0, 1.0], case.solver)
        self._compile_diagnostics(ufl)

    def _collector_current(self, phi_s: Any) -> Any:
        """Current density entering at the collector (A/m², > 0 on charge), either prescribed
        (galvanostatic) or through the contact conductance from the held voltage (potentiostatic):

        i = s i_app + (1 − s) G (V_hold − φ_s),   s = 1 (current control) or 0 (voltage control).

        The Robin form keeps the unknowns, sparsity and block structure of the galvanostatic
        problem (every preset, lagged factors included, works unchanged) and a switch changes two
        constants only. The collector then sits within i/G of V_hold (15 µV at 150 A/m²).
        """
        s = self._current_controlled
        return s * self.applied_current_density + (1.0 - s) * CONTACT_CONDUCTANCE_S_M2 * (self.held_voltage - phi_s)

    def set_control_mode(self, mode: str) -> None:
        """``current`` (galvanostatic, rest) or ``voltage`` (potentiostatic hold): the meaning of the
        ``control`` argument of :meth:`step` and :meth:`solve_potentials`. Lagged presets refresh
        their Jacobian at a switch (the collector term changes)."""
        if mode not in ("current", "voltage"):
            raise ValueError(f"control mode must be 'current' or 'voltage', got {mode!r}")
        if mode != self.control_mode:
            self.control_mode = mode
            self._current_controlled.value = 1.0 if mode == "current" else 0.0
            if self.lagged:
                self._refresh_jacobian()

    def _set_control(self, control: float) -> None:
        if self.control_mode == "current":
            self.applied_current_density.value = control
        else:
            self.held_voltage.value = control
            self.applied_current_density.value = 0.0

    def applied_current(self) -> float:
        """Current density at the collector of the present solution (A/m², > 0 on charge)."""
        if self.control_mode == "current":
            return float(self.applied_current_density.value)
        return CONTACT_CONDUCTANCE_S_M2 * (float(self.held_voltage.value) - self.voltage())

    def _install_convergence_test(self, problem: Any, scales: list[float], solver: Any, preset: str = "") -> None:
        """Newton stops on the weighted residual (atol/rtol) or on a negligible update.

        The update test (max |δu_b| / scale_b ≤ ``newton_update_tol`` over the blocks, with
        concentrations scaled by c_max or c_e0 and potentials in V) recognises convergence when the
        residual has reached its round-off floor, which depends on the conductivities.
        With ``chord`` the test also asks for a fresh Jacobian at the next iteration when the
        residual contracted by less than ``CHORD_REFRESH_CONTRACTION`` (and the update test
        still holds: with ρ ≤ 0.2 the remaining error is ≤ ρ/(1−ρ) ≤ ¼ of the last update).
        With ``newton-krylov`` a fresh Jacobian is asked for when the last linear solve took more
        than ``KRYLOV_REFRESH_ITERATIONS`` GMRES iterations or failed, or the residual contracted
        by less than ``KRYLOV_REFRESH_CONTRACTION``.
        """
        from petsc4py import PETSc

        spaces = [u.function_space for u in problem._u] if hasattr(problem, "_u") else []
        weights = np.concatenate([np.full(V.dofmap.index_map.size_local * V.dofmap.index_map_bs, 1.0 / sc)
                                  for V, sc in zip(spaces, scales)])
        snes = problem.solver
        rtol, atol = solver.newton_rtol, solver.newton_atol
        max_it = snes.getTolerances()[3]  # the preset's budget (chord: ×3; initialisation: 50)
        lagged = preset in presets.LAGGED_PRESETS
        krylov = preset == "newton-krylov"
        theta = presets.LAGGED_PRESETS[preset][0] if lagged else 0.0
        update_tol = solver.newton_update_tol
        comm = self.domain.comm
        state = {"f0": None, "previous": None}

        def converged(snes_: Any, it: int, norms: tuple[float, float, float]) -> int:
            _, _, fnorm = norms
            previous, state["previous"] = state["previous"], fnorm
            if it == 0:
                state["f0"] = fnorm
                return 2 if fnorm <= atol else 0
            if not np.isfinite(fnorm):
                return -4  # DIVERGED_FNORM_NAN
            if fnorm <= atol:
                return 2  # CONVERGED_FNORM_ABS
            if fnorm <= rtol * state["f0"]:
                return 3  # CONVERGED_FNORM_RELATIVE
            dx = snes_.getSolutionUpdate().getArray(readonly=True)
            local = float(np.max(np.abs(dx) * weights)) if dx.size else 0.0
            if comm.allreduce(local, op=_mpi_max()) <= update_tol:
                return 4  # CONVERGED_SNORM_RELATIVE (negligible update)
            if it >= max_it:
                return -5  # DIVERGED_MAX_IT
            if lagged:
                slow = bool(previous) and fnorm > theta * previous
                if krylov:
                    ksp = snes_.getKSP()
                    slow |= ksp.getConvergedReason() < 0 or ksp.getIterationNumber() > presets.KRYLOV_REFRESH_ITERATIONS
                if slow:
                    self._refresh_jacobian()
            return 0

        snes.setConvergenceTest(converged)
        lazy = getattr(problem, "_femsim_jacobian", None)
        if lazy is not None and lazy.action is not None:
            lazy.action.weights = weights
        del PETSc

    # ------------------------------------------------------------------------------------------
    def _compile_diagnostics(self, ufl: Any) -> None:
        dolfinx = import_dolfinx()
        d = self.domain
        form = lambda e: dolfinx.fem.form(e, entity_maps=d.entity_maps)  # noqa: E731
        self._cc_area = d.facet_area(tags.CURRENT_COLLECTOR)
        self._voltage_form = form(self.solid_potential * d.ds(tags.CURRENT_COLLECTOR))
        self._interface_current_form = form(self.case.materials.wetted_fraction * self.reaction_current
                                            * d.dS(tags.INTERFACE))
        self._lithium_current_form = form(self.lithium_current * d.ds(tags.LI_METAL))
        self._li_inventory_form = form(self.particle_concentration * d.dx(PARTICLES))
        one = dolfinx.fem.Constant(d.mesh, 1.0)
        self._phi_e_collector = (form(self.electrolyte_potential * d.ds_collector_electrolyte(tags.CURRENT_COLLECTOR)),
                                 self._scalar(form(one * d.ds_collector_electrolyte(tags.CURRENT_COLLECTOR))))
        self._phi_e_separator = (form(self.electrolyte_potential("+") * d.dS_cathode_separator(tags.CATHODE_SEPARATOR)),
                                 self._scalar(form(one * d.dS_cathode_separator(tags.CATHODE_SEPARATOR))))
        mat = self.case.materials
        self._salt_form = form(mat.matrix_porosity * self.electrolyte_concentration * d.dx(MATRIX)
                               + mat.separator_porosity * self.electrolyte_concentration * d.dx(SEPARATOR))

    def _scalar(self, compiled: Any) -> float:
        dolfinx = import_dolfinx()
        from mpi4py import MPI

        return self.domain.comm.allreduce(dolfinx.fem.assemble_scalar(compiled), op=MPI.SUM)

    def voltage(self) -> float:
        """φ_ext: mean solid potential on the current collector (V)."""
        return self._scalar(self._voltage_form) / self._cc_area

    def electrolyte_potential_drop(self) -> float:
        """Δφ_l = ⟨φ_e⟩ on the collector plane − ⟨φ_e⟩ on the cathode/separator plane (V)."""
        (f_cc, a_cc), (f_sep, a_sep) = self._phi_e_collector, self._phi_e_separator
        if a_cc <= 0 or a_sep <= 0:
            return float("nan")
        return self._scalar(f_cc) / a_cc - self._scalar(f_sep) / a_sep

    def interface_current(self) -> float:
        """∫ f_w i_n dS over all particle surfaces (A)."""
        return self._scalar(self._interface_current_form)

    def lithium_current_total(self) -> float:
        """∫ i_Li ds over the Li-metal face (A)."""
        return self._scalar(self._lithium_current_form)

    def particle_lithium(self) -> float:
        """Li in the particles (mol)."""
        return self._scalar(self._li_inventory_form)

    def electrolyte_salt(self) -> float:
        """Salt in the electrolyte, ∫ ε c_e (mol)."""
        return self._scalar(self._salt_form)

    # ------------------------------------------------------------------------------------------
    def set_initial_state(self) -> None:
        """Uniform c_s = x0 c_max and c_e = c_e0; φ_e = 0 and φ_s = U(x0) (rest against Li)."""
        prot = self.case.protocol
        x0 = prot.initial_stoichiometry
        self.particle_concentration.x.array[:] = x0 * self.c_max
        self.electrolyte_concentration.x.array[:] = prot.initial_electrolyte_concentration_mol_m3
        self.solid_potential.x.array[:] = float(self.materials.cathode.open_circuit_potential(x0))
        self.electrolyte_potential.x.array[:] = 0.0
        self.commit()

    def commit(self) -> None:
        """Accept the current solution as the previous time level."""
        for u, u_old in zip(self.unknowns, self.previous):
            u_old.x.array[:] = u.x.array

    def restore(self) -> None:
        """Reset the unknowns to the previous time level (after a rejected step)."""
        for u, u_old in zip(self.unknowns, self.previous):
            u.x.array[:] = u_old.x.array

    def state_arrays(self) -> list[np.ndarray]:
        return [u.x.array.copy() for u in self.unknowns]

    def set_state_arrays(self, arrays: list[np.ndarray]) -> None:
        for u, a in zip(self.unknowns, arrays):
            u.x.array[:] = a

    def restart_state(self) -> dict[str, Any] | None:
        """What the problem keeps between steps beyond its unknowns (the Newton predictor's
        history: scalars, None and lists of arrays), for a restart snapshot; None before the first step."""
        return getattr(self, "_history", None)

    def set_restart_state(self, state: dict[str, Any] | None) -> None:
        """Restore what :meth:`restart_state` returned (None: no history, as on a fresh run)."""
        self._history = state

    def _run_snes(self, problem: Any) -> tuple[bool, int, str]:
        from petsc4py import PETSc

        try:
            problem.solve()
        except PETSc.Error as exc:  # pragma: no cover - linear solver breakdown
            return False, problem.solver.getIterationNumber(), f"PETSc error {exc}"
        reason = problem.solver.getConvergedReason()
        its = problem.solver.getIterationNumber()
        ok = reason > 0 and all(np.isfinite(u.x.array).all() for u in self.unknowns)
        ok = bool(self.domain.comm.allreduce(ok, op=_mpi_land()))
        return ok, its, f"SNES reason {reason}"

    def solve_potentials(self, control: float) -> tuple[bool, int, str]:
        """Consistent initialisation: solve φ_s, φ_e with the concentrations frozen.

        ``control`` is the applied current density (A/m²) or, in voltage mode, the held voltage (V).
        The initial guess shifts φ_s by the kinetic overpotential of a uniform reaction,
        (2RT/F) asinh(i/(2 i0)), which puts Newton close to the solution (in voltage mode: by the
        difference to the held voltage).
        """
        from femsim.parameters import FARADAY, GAS_CONSTANT

        self._set_control(control)
        if self.control_mode == "voltage":
            self.solid_potential.x.array[:] += control - self.voltage()
            applied_current_density = 0.0
        else:
            applied_current_density = control
        d = self.domain
        mean_current = applied_current_density * self._cc_area / d.interface_area()
        x = self.particle_concentration.x.array.mean() / self.c_max if self.particle_concentration.x.array.size else 0.5
        c_e = self.electrolyte_concentration.x.array.mean() if self.electrolyte_concentration.x.array.size else 1000.0
        i0 = float(self.materials.cathode.exchange_current_density(c_e, x * self.c_max))
        eta = 2 * GAS_CONSTANT * self.temperature / FARADAY * np.arcsinh(mean_current / (2 * i0))
        self.solid_potential.x.array[:] += eta
        guess = [self.solid_potential.x.array.copy(), self.electrolyte_potential.x.array.copy()]
        line_search = self.potential_problem.solver.getLineSearch()
        result = (False, 0, "")
        for kind in ("basic", "bt"):  # plain Newton from the kinetic guess; backtracking if that fails
            line_search.setType(kind)
            self.solid_potential.x.array[:], self.electrolyte_potential.x.array[:] = guess
            result = self._run_snes(self.potential_problem)
            if result[0]:
                break
        return result

    def step(self, dt: float, control: float) -> tuple[bool, int, str]:
        """One backward-Euler step of length dt (s) from the previous level. Returns (ok, its, why).

        ``control``: the applied current density (A/m²), or the held voltage (V) in voltage mode.

        Newton starts from a linear extrapolation of the last two accepted levels (when the
        current is unchanged and ``solver.predictor`` is on); a failed predicted solve is retried
        from the previous level before the step is reported as failed.
        """
        self.dt.value = dt
        self._set_control(control)
        predicted = self._predict(dt, f"{self.control_mode}:{float(control)!r}")
        if self.lagged:
            r = presets.LAGGED_PRESETS[self.preset][1]
            if self._jacobian_dt is None or not 1.0 / r <= dt / self._jacobian_dt <= r:
                self._refresh_jacobian()
        ok, its, why = self._run_snes(self.problem)
        if not ok and self.lagged:
            self._refresh_jacobian()
        if not ok:
            # a lagged preconditioner may be stale: rebuild it at the next linear solve
            pc = self.problem.solver.getKSP().getPC()
            if pc.getType() != "fieldsplit":  # (resetting a field split would drop its index sets)
                pc.reset()
            if predicted:
                self.restore()
                ok, its2, why = self._run_snes(self.problem)
                its += its2
        return ok, its, why

    @property
    def jacobian_assemblies(self) -> int | None:
        """Jacobians assembled (and factored) so far by a lagged preset; None for other presets."""
        lazy = getattr(self.problem, "_femsim_jacobian", None)
        return lazy.assemblies if lazy is not None else None

    def _refresh_jacobian(self) -> None:
        """Lagged presets: assemble and factor the Jacobian at the next Newton iteration (once)."""
        self.problem._femsim_jacobian.pending = True
        self._jacobian_dt = float(self.dt.value)

    def _predict(self, dt: float, applied_current_density: str) -> bool:
        """Set the Newton guess u_n + (dt/dt_prev)(u_n − u_{n−1}); True if it did.

        ``applied_current_density`` is the control key (mode and value, a string that survives a
        snapshot): no extrapolation across a change of control.

        The history is kept here: when the previous level changed since the last call, that
        call's step (of length dt_last, from the level saved then) was accepted.
        """
        history = getattr(self, "_history", None)
        level = [u.x.array for u in self.previous]
        if history is None or any(a.shape != b.shape for a, b in zip(level, history["level"])):
            self._history = {"level": [a.copy() for a in level], "older": None, "dt_prev": 0.0,
                             "dt_last": dt, "current_last": applied_current_density, "current_prev": None}
            return False
        changed = any(not np.array_equal(a, b) for a, b in zip(level, history["level"]))
        changed = bool(self.domain.comm.allreduce(changed, op=_mpi_lor()))
        if changed:
            history["older"], history["level"] = history["level"], [a.copy() for a in level]
            history["dt_prev"], history["current_prev"] = history["dt_last"], history["current_last"]
        history["dt_last"], history["current_last"] = dt, applied_current_density
        if (not getattr(self.case.solver, "predictor", True) or history["older"] is None
                or history["current_prev"] != applied_current_density or history["dt_prev"] <= 0):
            return False
        ratio = min(dt / history["dt_prev"], 4.0)
        for u, new, old in zip(self.unknowns, history["level"], history["older"]):
            u.x.array[:] = new + ratio * (new - old)
        cs = self.particle_concentration.x.array
        np.clip(cs, 1e-6 * self.c_max, (1 - 1e-6) * self.c_max, out=cs)
        ce = self.electrolyte_concentration.x.array
        np.maximum(ce, 0.05 * history["level"][2], out=ce)
        return True


def _mpi_lor() -> Any:
    from mpi4py import MPI

    return MPI.LOR


def _mpi_max() -> Any:
    from mpi4py import MPI

    return MPI.MAX


def _mpi_land() -> Any:
    from mpi4py import MPI

    return MPI.LAND
