"""Case files: TOML → validated, typed :class:`Case`.

A case has the sections ``[geometry] [mesh] [materials] [protocol] [solver] [mechanics] [output]``
(plus an optional ``[case]`` with name/description). :func:`load_case` reports every problem at
once, each naming the file and the dotted key, and raises :class:`~femsim.errors.InputError`.
Relative paths resolve against the case file's folder. Units are in the key names (µm for
geometry, SI otherwise); see ``femsim validate --describe`` for the full list with defaults.
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any

from femsim.errors import InputError
from femsim.schema import load_section, resolve_paths, spec, to_dict
from femsim.units import AH_M2_PER_MAH_CM2


@dataclasses.dataclass
class CaseInfo:
    name: str = spec("", doc="case name (default: case file stem)")
    description: str = spec("", doc="free text")


@dataclasses.dataclass
class Geometry:
    particle_table: Path | None = spec(None, path=True,
                                       doc="particle table CSV (µm): id,x,y,z,radius (+ pass-through columns)")
    box_um: list[float] = spec(default_factory=lambda: [20.0, 20.0, 40.0], length=3, gt=0, unit="µm",
                               doc="cathode box (x, y, z = thickness); current collector at z = 0")
    separator_thickness_um: float = spec(25.0, gt=0, unit="µm", doc="separator layer on top of the cathode")
    min_gap_um: float = spec(0.3, ge=0, unit="µm", doc="spheres closer than this are shrunk to this gap")
    wall_clearance_um: float = spec(
        0.3, ge=0, unit="µm", doc="sphere surfaces within this of a box face are moved to clip or clear it by this"
    )
    overlap_tolerance: float = spec(0.1, ge=0, lt=1,
                                    doc="overlaps deeper than this × the smaller radius are errors (shallower: shrunk)")


@dataclasses.dataclass
class Mesh:
    file: Path | None = spec(None, path=True, doc="use this existing .msh instead of meshing")
    size_surface_um: float = spec(1.0, gt=0, unit="µm",
                                  doc="largest element size at particle surfaces (see size_surface_per_radius)")
    size_surface_per_radius: float = spec(0.2, gt=0, le=1,
                                          doc="element size at a particle surface as a fraction of its radius "
                                              "(the smaller of this and size_surface_um is used)")
    size_max_um: float = spec(2.5, gt=0, unit="µm", doc="largest element size in the matrix")
    size_separator_um: float = spec(5.0, gt=0, unit="µm", doc="element size in the separator away from particles")
    size_particle_core_um: float = spec(2.0, gt=0, unit="µm", doc="element size deep inside particles")
    grading_distance_um: float = spec(2.0, gt=0, unit="µm", doc="distance over which sizes grow away from surfaces")
    optimize: bool = spec(True, doc="run gmsh's tetrahedral optimiser after meshing")
    threads: int = spec(1, ge=1, le=1024, doc="gmsh threads (1 keeps meshing reproducible)")
    seed: int = spec(1, ge=0, le=2**31 - 1, doc="gmsh random seed (a C int)")
    volume_preserving: bool = spec(False, doc="grow each sphere by the mean sag of its surface facets (0.107 h²/R) "
                                              "so the meshed NMC volume matches the exact clipped one")


@dataclasses.dataclass
class Materials:
    cathode: str = spec("NMC622", choices=("NMC622", "NMC811_Chen2020"), doc="cathode active-material set")
    electrolyte: str = spec("Nyman2008", choices=("Nyman2008", "Landesfeind2019"), doc="electrolyte set")
    bpx: Path | None = spec(None, path=True, doc="BPX JSON file: its positive electrode and electrolyte replace "
                                                 "cathode and electrolyte (mechanics from its User-defined section "
                                                 "or cathode_overrides)")
    pybamm: str | None = spec(None, doc="PyBaMM parameter set name (e.g. 'Chen2020'; needs PyBaMM): its positive "
                                        "electrode and electrolyte replace cathode and electrolyte")
    counter_electrode: str = spec("LiMetal_Xu2019", choices=("LiMetal_Xu2019",), doc="Li-metal set")
    cathode_overrides: dict[str, float | str] = spec(default_factory=dict, doc="override cathode parameters by name")
    electrolyte_overrides: dict[str, float | str] = spec(default_factory=dict, doc="override electrolyte parameters")
    counter_electrode_overrides: dict[str, float | str] = spec(default_factory=dict, doc="override Li-metal parameters")
    matrix_porosity: float = spec(0.5, gt=0, lt=1, doc="electrolyte fraction of the carbon-binder matrix")
    matrix_bruggeman: float = spec(1.5, ge=0, doc="Bruggeman exponent of the matrix")
    separator_porosity: float = spec(0.39, gt=0, lt=1, doc="separator porosity")
    separator_bruggeman: float = spec(1.5, ge=0, doc="Bruggeman exponent of the separator")
    carbon_binder_conductivity_S_m: float = spec(100.0, gt=0, unit="S/m", doc="intrinsic CB conductivity")
    wetted_fraction: float = spec(1.0, gt=0, le=1, doc="reactive fraction f_w of the particle surface")


@dataclasses.dataclass
class Protocol:
    mode: str = spec("charge", choices=("charge", "discharge"))
    c_rate: float = spec(5.0, gt=0, unit="1/h", doc="current as a multiple of 1C")
    areal_capacity_mAh_cm2: float | None = spec(None, gt=0, unit="mAh/cm²",
                                                doc="nominal capacity (default: loading × specific capacity)")
    active_loading_mg_cm2: float = spec(8.0, gt=0, unit="mg/cm²")
    specific_capacity_mAh_g: float = spec(180.0, gt=0, unit="mAh/g")
    initial_stoichiometry: float = spec(0.917, gt=0, lt=1, doc="x0 = c_s/c_max at t = 0")
    voltage_cutoff_V: float = spec(4.3, gt=0, unit="V", doc="upper cut-off on charge, lower on discharge")
    end_time_s: float | None = spec(None, gt=0, unit="s", doc="stop here (default 1.25 × 3600 / c_rate)")
    rest_s: float = spec(0.0, ge=0, unit="s", doc="rest at zero current after the cut-off or end time")
    temperature_K: float = spec(298.15, gt=0, unit="K")
    initial_electrolyte_concentration_mol_m3: float = spec(1000.0, gt=0, unit="mol/m³")
    steps: list[str] | None = spec(None, doc="PyBaMM-style step strings, e.g. ['Charge at 5C until 4.5 V', "
                                         "'Hold at 4.5 V until C/20', 'Rest for 10 minutes', "
                                         "'Discharge at 5C until 2.5 V'] (see docs/protocols.md); "
                                         "default: one CC step from mode/c_rate/voltage_cutoff_V/end_time_s, "
                                         "then rest_s")
    step: list[dict[str, Any]] | None = spec(None, doc="the same steps as [[protocol.step]] tables with kind, "
                                                       "value, until, for, period")
    cycles: int = spec(1, ge=1, doc="repeat the step list this many times")
    termination: str | None = spec(None, doc="end of life, PyBaMM's form: '80% capacity' (of cycle 1's discharge "
                                             "capacity) or '0.5 mAh/cm2 capacity': the run stops after the "
                                             "first simulated cycle below it (femsim/protocol_termination.py)")

    def cycle_steps(self) -> list[Any]:
        """The typed steps of one cycle (:class:`femsim.protocol.Step`); the case is validated."""
        from femsim.protocol import build_steps

        return build_steps(self)[0]

    @property
    def capacity_mAh_cm2(self) -> float:
        if self.areal_capacity_mAh_cm2 is not None:
            return self.areal_capacity_mAh_cm2
        return self.active_loading_mg_cm2 * 1e-3 * self.specific_capacity_mAh_g

    @property
    def current_density_A_m2(self) -> float:
        """Magnitude of the applied current density (A/m²): C-rate × areal capacity / 1 h."""
        return self.c_rate * self.capacity_mAh_cm2 * AH_M2_PER_MAH_CM2

    @property
    def t_end_s(self) -> float:
        return self.end_time_s if self.end_time_s is not None else 1.25 * 3600.0 / self.c_rate


@dataclasses.dataclass
class Solver:
    preset: str = spec("auto", choices=("auto", "direct", "chord", "newton-krylov", "iterative"),
                       doc="Newton linear solver: MUMPS every iteration (direct), MUMPS factors kept across "
                           "iterations and steps (chord), matrix-free GMRES preconditioned by lagged MUMPS "
                           "factors (newton-krylov), chord's lagged Jacobian solved by GMRES + fieldsplit/GAMG, "
                           "no LU (iterative), or by size (auto)")
    time_scheme: str = spec("backward_euler", choices=("backward_euler",))
    dt_initial_s: float = spec(0.1, gt=0, unit="s")
    dt_min_s: float = spec(1e-5, gt=0, unit="s")
    dt_max_s: float = spec(10.0, gt=0, unit="s")
    dt_growth: float = spec(1.25, gt=1, doc="step growth factor after an easy step (1.25 keeps the early "
                                            "stress build-up within 1.5 % of a small-step run)")
    dt_cut: float = spec(0.5, gt=0, lt=1, doc="step factor after a failed step")
    easy_newton_iterations: int = spec(4, ge=1, doc="grow the step when Newton needs at most this many")
    predictor: bool = spec(True, doc="start Newton from a linear extrapolation of the last two levels")
    return_overfill: bool = spec(True, doc="at each protocol step's start, put the lithium the regularised "
                                           "kinetics let past c_max back into the same particle (conserving)")
    max_newton_iterations: int = spec(15, ge=1)
    newton_rtol: float = spec(1e-8, gt=0)
    newton_update_tol: float = spec(1e-10, gt=0,
                                    doc="converged when max |δu| per block (c/c_ref, φ in V) is below this")
    newton_atol: float = spec(1e-6, gt=0, doc="absolute tolerance on the weighted residual (per µm² / µm³)")
    max_voltage_change_V: float = spec(0.02, gt=0, unit="V", doc="cut the step if the voltage changes more")
    linear_voltage_change_factor: float = spec(4.0, ge=1, doc="where V is linear in time (the last two "
                                               "steps' dV/dt within 2 %), a CC step may change V by this many "
                                               "max_voltage_change_V if it stays within 0.25 max_voltage_change_V "
                                               "of the linear prediction (1: off)")
    cutoff_tolerance_V: float = spec(1e-3, gt=0, unit="V", doc="locate the cut-off crossing to this")
    max_hold_current_change: float = spec(0.05, gt=0, doc="in a voltage hold, cut the step if the current changes "
                                                           "by more than this fraction of its previous value")
    interface_quadrature_degree: int = spec(4, ge=1, doc="quadrature degree of the Butler–Volmer terms")
    bulk_quadrature_degree: int = spec(2, ge=1, doc="quadrature degree of the volume terms")
    petsc_options: dict[str, str | bool | int | float] = spec(default_factory=dict,
                                                             doc="extra PETSc options (override presets)")


@dataclasses.dataclass
class Mechanics:
    enabled: bool = spec(True, doc="solve diffusion-induced stress")
    setting: str = spec("M1", choices=("M1", "M2"),
                        doc="M1: traction-free particles whose flat box-cut faces are mirror planes (u·n = 0); "
                            "M2: particles bonded to an elastic matrix (rollers on the lateral faces)")
    every_n_steps: int = spec(1, ge=1, doc="solve mechanics every k-th accepted step (and at output times)")
    strain_model: str = spec("linear", choices=("linear", "table"),
                             doc="chemical strain Ω(c−c_ref)/3, or from the NMC622 ΔV/V table")
    matrix_youngs_modulus_Pa: float = spec(1e9, gt=0, unit="Pa")
    matrix_poisson_ratio: float = spec(0.3, gt=-1, lt=0.5)
    stress_enhanced_diffusion: bool = spec(
        False, doc="two-way coupling through ∇σ_h in the Li flux (σ_h lagged one step)"
    )
    probe_separator_um: list[float] | None = spec(
        None, length=3, unit="µm", doc="P_s (default: top point of the whole particle nearest the separator)")
    probe_collector_um: list[float] | None = spec(
        None, length=3, unit="µm", doc="P_cc (default: bottom point of the whole particle nearest the collector)")
    weibull_modulus: float = spec(5.0, gt=0, doc="Weibull modulus m of failure_probability (stated, not measured)")
    weibull_strength_Pa: float = spec(375e6, gt=0, unit="Pa",
                                      doc="Weibull σ_0: NMC critical stress 375 MPa (Ai et al. 2020, JES 167 013512)")
    weibull_volume_um3: float = spec(100.0, gt=0, unit="µm³",
                                     doc="Weibull reference volume V_0 (stated: about one 2.9-µm-radius particle)")


@dataclasses.dataclass
class Output:
    folder: Path | None = spec(None, path=True, doc="results folder (default results/<case stem>)")
    times_s: list[float] = spec(default_factory=lambda: [150.0], ge=0, unit="s",
                                doc="output times, hit exactly (fields, particles.csv)")
    fields: bool = spec(True, doc="write ParaView fields at output times")
    final_output: bool = spec(True, doc="also write fields/particles at the end of the run")
    snapshot_every_steps: int = spec(0, ge=0, doc="restart snapshot every N steps (0: off)")
    snapshot_every_minutes: float = spec(15.0, ge=0, unit="min", doc="restart snapshot every N minutes (0: off)")
    progress: bool = spec(True, doc="progress bar on a terminal")


@dataclasses.dataclass
class Damage:
    enabled: bool = spec(False, doc="damage per particle over the cycles (damage.csv); the feedbacks below change "
                                    "the electrochemistry at every cycle end; needs mechanics.enabled")
    model: str = spec("paris", choices=("paris", "weibull"),
                      doc="paris: crack growth dl/dN = k_cr (b σ_t √(π l))^m with σ_t the cycle peak of "
                          "sigma_1_surface_p95_Pa; weibull: F_N = 1 − Π(1 − P_f,n) of failure_probability")
    cracking_rate: float = spec(3.9e-20, ge=0, unit="m/cycle/(Pa·m^0.5)^m",
                                doc="Paris k_cr (PyBaMM Ai2020 'Positive electrode cracking rate', applied per cycle)")
    paris_m: float = spec(2.2, gt=0, doc="Paris' law constant m (Ai2020)")
    paris_b: float = spec(1.12, gt=0, doc="Paris' law constant b (Ai2020)")
    initial_crack_length_m: float = spec(2e-8, gt=0, unit="m", doc="initial crack length l_0 (Ai2020)")
    crack_width_m: float = spec(1.5e-8, gt=0, unit="m", doc="crack width w_cr (Ai2020)")
    cracks_per_area_per_m2: float = spec(3.18e15, ge=0, unit="m⁻²", doc="number of cracks per unit area ρ_cr (Ai2020)")
    window_um: float = spec(10.0, gt=0, unit="µm", doc="depth window of damage_profile.csv")
    crack_wetting: bool = spec(False, doc="feedback: the crack surface gained since assembly, 2 ρ_cr w_cr (l − l_0) "
                                          "per unit surface, adds reactive area (factor on the Butler–Volmer flux)")
    wetted_crack_fraction: float = spec(1.0, ge=0, le=1,
                                        doc="fraction of the gained crack surface wetted by electrolyte")
    detachment: bool = spec(False, doc="feedback: a contact conductance G = G_0 max(0, 1 − δ/δ_iso) between particle "
                                       "and carbon-binder matrix (δ: crack fraction gained); δ ≥ δ_iso isolates")
    contact_conductance_S_m2: float = spec(1e9, gt=0, unit="S/m²",
                                           doc="G_0 of an undamaged particle (1e9: 1e-9 Ω m², ~ perfect contact)")
    isolation_damage: float = spec(0.10, gt=0, le=1, doc="δ_iso: gained crack fraction that isolates a particle "
                                                         "(0.10: the severe threshold)")
    loss_of_active_material: bool = spec(False, doc="feedback: stress-driven LAM (PyBaMM), per cycle "
                                                    "a ← a − β t_cycle ((2/3)σ_t/σ_crit)^m scales capacity and current")
    lam_rate_per_s: float = spec(2.78e-13, ge=0, unit="1/s", doc="β (Ai2020 'Positive electrode LAM constant "
                                                                 "proportional term')")
    lam_exponent: float = spec(2.0, gt=0, doc="m (Ai2020 'LAM constant exponential term')")
    lam_critical_stress_Pa: float = spec(375e6, gt=0, unit="Pa", doc="σ_crit (Ai2020 'Positive electrode critical "
                                                                     "stress')")
    max_jump_cycles: int = spec(1, ge=1, doc="cycle acceleration: at most this many cycles extrapolated between two "
                                             "simulated ones (1: every cycle simulated)")
    jump_tolerance: float = spec(0.05, gt=0, doc="re-simulate when the per-cycle damage increment changes by more "
                                                 "than this (relative)")


@dataclasses.dataclass
class Case:
    case: CaseInfo = spec(default_factory=CaseInfo)
    geometry: Geometry = spec(default_factory=Geometry)
    mesh: Mesh = spec(default_factory=Mesh)
    materials: Materials = spec(default_factory=Materials)
    protocol: Protocol = spec(default_factory=Protocol)
    solver: Solver = spec(default_factory=Solver)
    mechanics: Mechanics = spec(default_factory=Mechanics)
    output: Output = spec(default_factory=Output)
    damage: Damage = spec(default_factory=Damage)
    #: the file it was read from (not a TOML key)
    source: Path | None = dataclasses.field(default=None, metadata={})

    @property
    def name(self) -> str:
        if self.case.name:
            return self.case.name
        return self.source.stem if self.source else "case"

    def results_dir(self) -> Path:
        """The output folder: ``output.folder`` or ``results/<case file stem>`` (cwd-relative)."""
        if self.output.folder is not None:
            return Path(self.output.folder)
        return Path("results") / (self.source.stem if self.source else self.name)

    def to_dict(self) -> dict[str, Any]:
        data = to_dict(self)
        data.pop("source", None)
        return data


def _cross_checks(case: Case) -> list[str]:
    """Checks that involve several keys or the material sets."""
    from femsim.parameters import build_material_sets

    problems: list[str] = []
    if case.solver.dt_min_s > case.solver.dt_max_s:
        problems.append(f"solver.dt_min_s: must be <= solver.dt_max_s ({case.solver.dt_max_s:g}), "
                        f"got {case.solver.dt_min_s:g}")
    if case.mechanics.stress_enhanced_diffusion and not case.mechanics.enabled:
        problems.append("mechanics.stress_enhanced_diffusion: needs mechanics.enabled = true")
    if case.damage.enabled and not case.mechanics.enabled:
        problems.append("damage.enabled: needs mechanics.enabled = true (the damage is driven by the resolved stress)")
    for key in ("crack_wetting", "detachment", "loss_of_active_material"):
        if getattr(case.damage, key) and not case.damage.enabled:
            problems.append(f"damage.{key}: needs damage.enabled = true")
    if case.damage.crack_wetting and case.damage.model != "paris":
        problems.append(f"damage.crack_wetting: needs damage.model = 'paris' (a crack length), "
                        f"got '{case.damage.model}'")
    if case.mechanics.stress_enhanced_diffusion and case.mechanics.every_n_steps != 1:
        problems.append(f"mechanics.every_n_steps: must be 1 with stress_enhanced_diffusion (σ_h is updated "
                        f"every step), got {case.mechanics.every_n_steps}")
    if case.mesh.size_surface_um > case.mesh.size_max_um:
        problems.append(f"mesh.size_surface_um: must be <= mesh.size_max_um ({case.mesh.size_max_um:g}), "
                        f"got {case.mesh.size_surface_um:g}")
    if case.geometry.particle_table is None and case.mesh.file is None:
        problems.append("geometry.particle_table: required (or give mesh.file)")
    elif (case.mesh.file is None and case.geometry.particle_table is not None
          and not Path(case.geometry.particle_table).is_file()):
        what = "is a folder, not a file" if Path(case.geometry.particle_table).is_dir() else "file not found"
        problems.append(f"geometry.particle_table: {what}: {case.geometry.particle_table}")
    if case.mesh.file is not None and not Path(case.mesh.file).is_file():
        what = "is a folder, not a file" if Path(case.mesh.file).is_dir() else "file not found"
        problems.append(f"mesh.file: {what}: {case.mesh.file}")
    try:
        sets = build_material_sets(case.materials, case.protocol.temperature_K)
    except InputError as exc:
        return problems + [exc.message] + exc.problems
    if case.mechanics.enabled and case.mechanics.strain_model == "table" and \
            getattr(sets.cathode, "volume_change_function", True) is None:
        problems.append(f"mechanics.strain_model: 'table' needs a volume-change function, which {sets.cathode.name} "
                        f"does not have (BPX User-defined 'Positive electrode volume change'); use 'linear'")
    u0 = float(sets.cathode.open_circuit_potential(case.protocol.initial_stoichiometry))
    cut = case.protocol.voltage_cutoff_V
    if case.protocol.steps is not None or case.protocol.step is not None:
        return problems
    if case.protocol.mode == "charge" and cut <= u0:
        problems.append(f"protocol.voltage_cutoff_V: must be above the initial voltage U(x0) = {u0:.4f} V "
                        f"on charge, got {cut:g}")
    if case.protocol.mode == "discharge" and cut >= u0:
        problems.append(f"protocol.voltage_cutoff_V: must be below the initial voltage U(x0) = {u0:.4f} V "
                        f"on discharge, got {cut:g}")
    return problems


def parse_case(data: dict[str, Any], source: Path | None = None) -> Case:
    """Validate a case given as a dict (already parsed TOML). Raises InputError with all problems."""
    problems: list[str] = []
    if "source" in data:
        problems.append("source: unknown key")
        data = {k: v for k, v in data.items() if k != "source"}
    case = load_section(Case, data, "", problems)
    file = str(source) if source else None
    if case is None:
        raise InputError(problems[0] if problems else "invalid case", file=file, problems=problems[1:])
    if not any(p.startswith("protocol.step") for p in problems):
        from femsim.protocol import build_steps

        protocol_table = data.get("protocol")
        raw = protocol_table if isinstance(protocol_table, dict) else {}
        steps, step_problems = build_steps(case.protocol, set(raw))
        problems += step_problems
        from femsim.protocol_termination import termination_problems

        problems += termination_problems(case.protocol, steps)
    case.source = Path(source).resolve() if source else None
    resolve_paths(case, case.source.parent if case.source else Path.cwd())
    problems += [p for p in _cross_checks(case) if p.split(":")[0] not in {q.split(":")[0] for q in problems}]
    if problems:
        raise InputError(problems[0], file=file, problems=problems[1:])
    return case


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file; syntax errors and missing files become one-line InputErrors."""
    path = Path(path)
    if path.is_dir():
        raise InputError("is a folder, not a TOML file", file=str(path))
    if not path.is_file():
        raise InputError("file not found", file=str(path))
    try:
        raw = path.read_bytes()
        return tomllib.loads(raw.removeprefix(b"\xef\xbb\xbf").decode("utf-8"))  # UTF-8 BOM dropped
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"TOML syntax error: {exc}", file=str(path)) from None
    except UnicodeDecodeError:
        raise InputError("not a UTF-8 text file", file=str(path)) from None


def load_case(path: str | Path) -> Case:
    """Read and validate a case file."""
    return parse_case(read_toml(path), Path(path))
