"""The coupled half-cell problem: unknowns, controls and one implicit time step.

Unknowns (P1 Lagrange, SI units), one submesh per region (:class:`femsim.model.domain.Domain`),
described by the field table :data:`femsim.model.fields.HALFCELL_FIELDS`:

* ``particle_concentration``  c_s (mol/m³) on the particles;
* ``solid_potential``         φ_s (V) on particles + carbon-binder matrix;
* ``electrolyte_concentration`` c_e (mol/m³) and ``electrolyte_potential`` φ_e (V) on matrix +
  separator.

Backward Euler in time; all four fields are solved monolithically by Newton (PETSc SNES) with the
Butler–Volmer coupling on the oriented particle interface. The parts:

* the residual: :func:`femsim.model.halfcell_residual.halfcell_residual` (which terms on which
  region, interface and boundary);
* Newton: :class:`femsim.solvers.newton.NewtonSolver` (preset, convergence test, lagged Jacobian)
  for the coupled step and for the consistent initialisation of the potentials;
* the initial guess: :class:`femsim.solvers.predictor.LevelPredictor`;
* the diagnostics: :class:`femsim.model.halfcell_diagnostics.HalfCellDiagnostics`.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from femsim.model.domain import Domain
from femsim.model.fields import (
    DETACHMENT_FIELDS,
    DETACHMENT_POTENTIAL_FIELDS,
    HALFCELL_FIELDS,
    POTENTIAL_FIELDS,
    SCALE_ELECTROLYTE_CONCENTRATION,
    SCALE_MAX_CONCENTRATION,
    SCALE_VOLT,
    FieldSet,
    field_scales,
)
from femsim.model.halfcell_diagnostics import HalfCellDiagnostics
from femsim.model.halfcell_residual import (
    CONTACT_CONDUCTANCE_S_M2,
    Controls,
    halfcell_residual,
)
from femsim.mpi import import_dolfinx
from femsim.solvers.newton import NewtonSolver
from femsim.solvers.predictor import LevelPredictor

LOG = logging.getLogger(__name__)


class HalfCellProblem:
    """Galvanostatic half-cell: NMC particles | CB/electrolyte matrix | separator | Li metal.

    Args:
        domain: regions, measures and interface of the mesh.
        materials: :class:`femsim.parameters.MaterialSets`.
        case: the validated case (materials, protocol and solver sections are used).
    """

    def __init__(self, domain: Domain, materials: Any, case: Any):
        import_dolfinx()
        import dolfinx.fem.petsc
        import ufl

        self.domain, self.materials, self.case = domain, materials, case
        mesh = domain.mesh
        prot = case.protocol
        self.c_max = materials.cathode.max_concentration
        self.temperature = prot.temperature_K

        dmg = case.damage
        #: ``[damage] detachment``: the particles' own potential, a contact to the matrix (docs/damage.md)
        self.detachment = bool(dmg.enabled and dmg.detachment)
        table = DETACHMENT_FIELDS if self.detachment else HALFCELL_FIELDS
        potential_table = DETACHMENT_POTENTIAL_FIELDS if self.detachment else POTENTIAL_FIELDS
        #: per-particle damage feedback factors (None: no feedback), set by the run at cycle ends
        self.damage_factors = None
        if dmg.enabled and (dmg.crack_wetting or dmg.detachment or dmg.loss_of_active_material):
            from femsim.physics.damage_feedback import ParticleFactors

            self.damage_factors = ParticleFactors(domain, dmg.contact_conductance_S_m2)
        spaces = {region: dolfinx.fem.functionspace(getattr(domain, region).mesh, ("Lagrange", 1))
                  for region in dict.fromkeys(f.region for f in table)}
        #: the unknowns by name and in block order (``self.unknowns``)
        self.fields = FieldSet(table, [dolfinx.fem.Function(spaces[f.region], name=f.name) for f in table])
        self.unknowns = self.fields.functions
        self.previous_fields = FieldSet(table, [dolfinx.fem.Function(u.function_space, name=f"{u.name}_old")
                                                for u in self.unknowns])
        self.previous = self.previous_fields.functions
        tests = FieldSet(table, [ufl.TestFunction(u.function_space) for u in self.unknowns])

        # (typed Any: DOLFINx types Constant.value as an array, femsim assigns floats)
        self.dt: Any = dolfinx.fem.Constant(mesh, 1.0)
        self.applied_current_density: Any = dolfinx.fem.Constant(mesh, 0.0)  # A/m², > 0 on charge
        #: control of the collector (see :meth:`set_control_mode`): 1 prescribes the current, 0 the voltage
        self._current_controlled: Any = dolfinx.fem.Constant(mesh, 1.0)
        self.held_voltage: Any = dolfinx.fem.Constant(mesh, 0.0)  # V, potentiostatic steps
        self.control_mode = "current"
        controls = Controls(self.dt, self.applied_current_density, self._current_controlled, self.held_voltage)
        #: hydrostatic stress σ_h (Pa, P1 on the particles) for stress-enhanced diffusion; updated by
        #: the run loop after each mechanics solve (lagged by one step), zero otherwise
        self.hydrostatic_stress = dolfinx.fem.Function(spaces["particles"], name="hydrostatic_stress")

        factors = self.damage_factors.functions if self.damage_factors is not None else None
        self.residual = halfcell_residual(domain, materials, case, self.fields, self.previous_fields, tests, controls,
                                          self.hydrostatic_stress, factors)
        self.reaction_current = self.residual.kinetics.reaction_current
        self.interface_overpotential = self.residual.kinetics.overpotential
        self.lithium_current = self.residual.kinetics.lithium_current
        self.residuals = [self.residual.blocks[f.name] for f in table]

        references = {SCALE_MAX_CONCENTRATION: self.c_max, SCALE_VOLT: 1.0,
                      SCALE_ELECTROLYTE_CONCENTRATION: prot.initial_electrolyte_concentration_mol_m3}
        self.n_dofs = sum(u.function_space.dofmap.index_map.size_global for u in self.unknowns)
        #: Newton for the coupled time step
        self.newton = NewtonSolver(self.residuals, self.unknowns, field_scales(table, references),
                                   domain.entity_maps, case.solver, "femsim_halfcell_", time_step=self.dt)
        LOG.info("coupled problem: %d unknowns, solver preset %s", self.n_dofs, self.newton.preset)
        potentials = self.fields.subset(potential_table)
        #: Newton for the consistent initialisation (φ_s, φ_e with the concentrations frozen)
        self.potential_newton = NewtonSolver([self.residual.blocks[f.name] for f in potential_table],
                                             potentials.functions, field_scales(potential_table, references),
                                             domain.entity_maps, case.solver, "femsim_potentials_",
                                             initialisation=True)
        self.predictor = LevelPredictor(self.unknowns, self.previous, domain.comm,
                                        enabled=getattr(case.solver, "predictor", True))
        active = factors["active_fraction"] if factors is not None and dmg.loss_of_active_material else None
        self.diagnostics = HalfCellDiagnostics(domain, self.fields, self.residual.kinetics, case.materials, active)

    # -- the unknowns by name ------------------------------------------------------------------
    @property
    def particle_concentration(self) -> Any:
        return self.fields["particle_concentration"]

    @property
    def solid_potential(self) -> Any:
        return self.fields["solid_potential"]

    @property
    def electrolyte_concentration(self) -> Any:
        return self.fields["electrolyte_concentration"]

    @property
    def electrolyte_potential(self) -> Any:
        return self.fields["electrolyte_potential"]

    @property
    def particle_potential(self) -> Any:
        """The particles' own solid potential with detachment; None otherwise."""
        return self.fields["particle_potential"] if self.detachment else None

    def _solid_potentials(self) -> list[Any]:
        return [self.solid_potential] + ([self.particle_potential] if self.detachment else [])

    def set_damage_factors(self, values: dict[str, np.ndarray]) -> None:
        """Per-particle feedback factors by name (:class:`femsim.physics.damage_feedback.ParticleFactors`);
        a lagged preset refreshes its Jacobian (the interface terms changed)."""
        if self.damage_factors is None:
            return
        self.damage_factors.set(values)
        self.newton.refresh_jacobian()

    # -- solver facts -----------------------------------------------------------------------------
    @property
    def preset(self) -> str:
        """The resolved solver preset of the coupled step."""
        return self.newton.preset

    @property
    def lagged(self) -> bool:
        return self.newton.lagged

    @property
    def easy_newton_iterations(self) -> int:
        """The stepper grows dt after a step that needed at most this many iterations."""
        return self.newton.easy_newton_iterations

    @property
    def jacobian_assemblies(self) -> int | None:
        """Jacobians assembled (and factored) so far by a lagged preset; None for other presets."""
        return self.newton.jacobian_assemblies

    # -- control of the collector -----------------------------------------------------------------
    def set_control_mode(self, mode: str) -> None:
        """``current`` (galvanostatic, rest) or ``voltage`` (potentiostatic hold): the meaning of the
        ``control`` argument of :meth:`step` and :meth:`solve_potentials`. Lagged presets refresh
        their Jacobian at a switch (the collector term changes)."""
        if mode not in ("current", "voltage"):
            raise ValueError(f"control mode must be 'current' or 'voltage', got {mode!r}")
        if mode != self.control_mode:
            self.control_mode = mode
            self._current_controlled.value = 1.0 if mode == "current" else 0.0
            self.newton.refresh_jacobian()

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

    # -- diagnostics (see HalfCellDiagnostics) -------------------------------------------------------
    def voltage(self) -> float:
        """φ_ext: mean solid potential on the current collector (V)."""
        return self.diagnostics.voltage()

    def electrolyte_potential_drop(self) -> float:
        """Δφ_l = ⟨φ_e⟩ on the collector plane − ⟨φ_e⟩ on the cathode/separator plane (V)."""
        return self.diagnostics.electrolyte_potential_drop()

    def interface_current(self) -> float:
        """∫ f_w i_n dS over all particle surfaces (A)."""
        return self.diagnostics.interface_current()

    def lithium_current_total(self) -> float:
        """∫ i_Li ds over the Li-metal face (A)."""
        return self.diagnostics.lithium_current_total()

    def particle_lithium(self) -> float:
        """Li in the particles (mol)."""
        return self.diagnostics.particle_lithium()

    def electrolyte_salt(self) -> float:
        """Salt in the electrolyte, ∫ ε c_e (mol)."""
        return self.diagnostics.electrolyte_salt()

    # -- state ------------------------------------------------------------------------------------
    def set_initial_state(self) -> None:
        """Uniform c_s = x0 c_max and c_e = c_e0; φ_e = 0 and φ_s = U(x0) (rest against Li)."""
        prot = self.case.protocol
        x0 = prot.initial_stoichiometry
        self.particle_concentration.x.array[:] = x0 * self.c_max
        self.electrolyte_concentration.x.array[:] = prot.initial_electrolyte_concentration_mol_m3
        for phi in self._solid_potentials():
            phi.x.array[:] = float(self.materials.cathode.open_circuit_potential(x0))
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
        """Copies of the unknowns' arrays in field-table order."""
        return [u.x.array.copy() for u in self.unknowns]

    def set_state_arrays(self, arrays: list[np.ndarray]) -> None:
        for u, a in zip(self.unknowns, arrays):
            u.x.array[:] = a

    def restart_state(self) -> dict[str, Any] | None:
        """What the problem keeps between steps beyond its unknowns (the Newton predictor's
        history: scalars, None and lists of arrays), for a restart snapshot; None before the first step."""
        return self.predictor.restart_state()

    def set_restart_state(self, state: dict[str, Any] | None) -> None:
        """Restore what :meth:`restart_state` returned (None: no history, as on a fresh run)."""
        self.predictor.set_restart_state(state)

    # -- solves ----------------------------------------------------------------------------------
    def solve_potentials(self, control: float) -> tuple[bool, int, str]:
        """Consistent initialisation: solve φ_s, φ_e with the concentrations frozen.

        ``control`` is the applied current density (A/m²) or, in voltage mode, the held voltage (V).
        The initial guess shifts φ_s by the kinetic overpotential of a uniform reaction,
        (2RT/F) asinh(i/(2 i0)), which puts Newton close to the solution (in voltage mode: by the
        difference to the held voltage).
        """
        from femsim.parameters import FARADAY, GAS_CONSTANT

        self._set_control(control)
        solid = self._solid_potentials()
        if self.control_mode == "voltage":
            shift = control - self.voltage()
            for phi in solid:
                phi.x.array[:] += shift
            applied_current_density = 0.0
        else:
            applied_current_density = control
        mean_current = applied_current_density * self.diagnostics.collector_area / self.domain.interface_area()
        cs, ce = self.particle_concentration.x.array, self.electrolyte_concentration.x.array
        x = cs.mean() / self.c_max if cs.size else 0.5
        c_e = ce.mean() if ce.size else 1000.0
        i0 = float(self.materials.cathode.exchange_current_density(c_e, x * self.c_max))
        eta = 2 * GAS_CONSTANT * self.temperature / FARADAY * np.arcsinh(mean_current / (2 * i0))
        for phi in solid:
            phi.x.array[:] += eta
        fields = [*solid, self.electrolyte_potential]
        guess = [u.x.array.copy() for u in fields]
        line_search = self.potential_newton.snes.getLineSearch()
        result = (False, 0, "")
        for kind in ("basic", "bt"):  # plain Newton from the kinetic guess; backtracking if that fails
            line_search.setType(kind)
            for u, g in zip(fields, guess):
                u.x.array[:] = g
            result = self.potential_newton.solve()
            if result[0]:
                break
        return result

    def step(self, dt: float, control: float) -> tuple[bool, int, str]:
        """One backward-Euler step of length dt (s) from the previous level. Returns (ok, its, why).

        ``control``: the applied current density (A/m²), or the held voltage (V) in voltage mode.

        Newton starts from a linear extrapolation of the last two accepted levels (when the
        current is unchanged and ``solver.predictor`` is on); a failed predicted solve, or one that broke the
        linear solver (rebuilt by :meth:`NewtonSolver.recover`), is retried from the previous level. After a
        failed, hard or residual-jump (predictor.RESIDUAL_GROWTH) predicted solve the predictor rests.
        """
        self.dt.value = dt
        self._set_control(control)
        predicted = self._predict(dt, f"{self.control_mode}:{float(control)!r}")
        self.newton.prepare_step(dt)
        ok, its, why = self.newton.solve()
        if predicted and ok and (its > self.easy_newton_iterations  # hard, or its guess's residual jumped:
                                 or not self.predictor.guess_residual(self.newton.convergence_test.initial_norm)):
            self.predictor.failed()  # the next steps start from the previous level
        if not ok:
            broken = self.newton.broken
            self.newton.recover()
            if predicted or broken:
                self.restore()
                ok, its2, why = self.newton.solve()
                its += its2
                if ok:
                    self.predictor.failed()
        return ok, its, why

    def _predict(self, dt: float, control_key: str) -> bool:
        """The predictor's guess, kept inside the concentrations' physical range."""
        if not self.predictor.predict(dt, control_key):
            return False
        cs = self.particle_concentration.x.array
        np.clip(cs, 0.0, self.c_max, out=cs)
        ce = self.electrolyte_concentration.x.array
        np.maximum(ce, 0.05 * self.predictor.level(self.fields.index("electrolyte_concentration")), out=ce)
        return True
