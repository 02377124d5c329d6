"""The equivalent PyBaMM Li-metal half-cell DFN of a femsim case (test-only dependency).

``pybamm.lithium_ion.DFN(options={"working electrode": "positive"})`` with every input taken from
the case and its measured effective properties:

* geometry: cathode thickness L_c, separator thickness, active-material volume fraction φ_p and
  specific surface a = 3φ_p/R from the mesh (R = 3 V_p/A_p, so that the meshed particle volume
  *and* surface are matched), electrolyte volume fraction ε = ε_m(1 − φ_p), and the Bruggeman
  exponent b with ε^b = B from :mod:`femsim.crosscheck.tortuosity`;
* materials: femsim's own NMC622 OCP, k0, D_s, c_max; Nyman2008 κ(c), D(c), t₊ and TDF; the Li-metal
  exchange current as a function of c_e only (i0 = F k c_Li^0.7 c_e^0.3 with c_Li = 1/V̄_Li, 70.6 A/m²
  at 1 M: the DFN's own c_Li argument is ignored, see docs/physics.md §4.6). The expressions are
  written in PyBaMM symbols and checked against femsim's functions in the tests;
* solid phase: the carbon-binder matrix conductivity (1 − ε_m)^b_m σ_CB times the packing factor f
  as an effective conductivity (the DFN's electrode Bruggeman exponent set to 0);
* protocol: current density from the case's areal capacity and C-rate (charge = negative current in
  PyBaMM), x0, c_e0, T, the upper cut-off.

``pybamm`` is imported inside the functions only; femsim never needs it.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from femsim.parameters import FARADAY
from femsim.parameters.base import lattice_factor
from femsim.units import C_M2_PER_MAH_CM2, UM

if TYPE_CHECKING:
    from femsim.case import Case

_LOG = logging.getLogger(__name__)

#: physics terms that :func:`run_pybamm` can drop, to show that the comparison detects them
VARIANTS = {
    "full": "the model as in femsim",
    "no_diffusion_potential": "thermodynamic factor 0: no (2RT/F)(1 − t₊) TDF ∇ln c_e term in the ionic current",
    "no_transference": "t₊ = 1: no (1 − t₊) salt source, hence no concentration polarisation",
    "bulk_bruggeman": "the matrix Bruggeman exponent 1.5 instead of the measured transport efficiency",
}


@dataclasses.dataclass
class HalfCellInputs:
    """Inputs of the 1D half-cell (SI units)."""

    cathode_thickness_m: float
    separator_thickness_m: float
    active_fraction: float
    particle_radius_m: float
    porosity: float
    bruggeman_exponent: float
    solid_conductivity_S_m: float
    separator_porosity: float
    separator_bruggeman: float
    current_density_A_m2: float
    capacity_C_m2: float
    initial_stoichiometry: float
    initial_electrolyte_concentration_mol_m3: float
    temperature_K: float
    voltage_cutoff_V: float
    end_time_s: float
    materials: Any  # femsim.parameters.MaterialSets
    #: the case's BPX file: PyBaMM then takes the positive-electrode and electrolyte functions from it
    #: (``ParameterValues.create_from_bpx``) instead of femsim's functions written in PyBaMM symbols
    bpx_file: Any = None

    @property
    def nominal_stoichiometry_swing(self) -> float:
        """Δx_nominal = Q_areal / (F c_max φ_p L_c) (as in femsim's soc)."""
        c_max = self.materials.cathode.max_concentration
        return self.capacity_C_m2 / (FARADAY * c_max * self.active_fraction * self.cathode_thickness_m)


def inputs_from_case(case: Case, tortuosity: Any, mesh_report: dict[str, Any] | None = None) -> HalfCellInputs:
    """The 1D inputs of ``case`` with its measured effective transport.

    Args:
        case: the validated 3D case (charge only).
        tortuosity: :class:`femsim.crosscheck.tortuosity.TortuosityResult` of the case's mesh.
        mesh_report: ``mesh_report.json`` (particle volume and interface area, µm³/µm²); without it
            the radius is the mean table radius.
    """
    from femsim.parameters import build_material_sets

    if case.protocol.mode != "charge":
        raise ValueError("the PyBaMM cross-check covers galvanostatic charge only")
    mat, prot = case.materials, case.protocol
    if mesh_report is not None:
        radius = 3.0 * mesh_report["volumes_um3"]["particles"] / mesh_report["interface_area_um2"] * UM
    else:
        from femsim.geometry.particles import read_particle_table

        assert case.geometry.particle_table is not None, "no particle table: pass the mesh report"
        radius = float(np.mean(read_particle_table(case.geometry.particle_table).radii)) * UM
    sigma_matrix = (1.0 - mat.matrix_porosity) ** mat.matrix_bruggeman * mat.carbon_binder_conductivity_S_m
    return HalfCellInputs(
        cathode_thickness_m=case.geometry.box_um[2] * UM,
        separator_thickness_m=case.geometry.separator_thickness_um * UM,
        active_fraction=tortuosity.particle_fraction, particle_radius_m=radius,
        porosity=tortuosity.porosity, bruggeman_exponent=tortuosity.bruggeman_exponent,
        solid_conductivity_S_m=sigma_matrix * tortuosity.packing_factor,
        separator_porosity=mat.separator_porosity, separator_bruggeman=mat.separator_bruggeman,
        current_density_A_m2=prot.current_density_A_m2, capacity_C_m2=prot.capacity_mAh_cm2 * C_M2_PER_MAH_CM2,
        initial_stoichiometry=prot.initial_stoichiometry,
        initial_electrolyte_concentration_mol_m3=prot.initial_electrolyte_concentration_mol_m3,
        temperature_K=prot.temperature_K, voltage_cutoff_V=prot.voltage_cutoff_V, end_time_s=prot.t_end_s,
        materials=build_material_sets(mat, prot.temperature_K), bpx_file=getattr(mat, "bpx", None))


# -- material functions in PyBaMM symbols (mirrors of femsim.parameters; checked in the tests) ----
def material_functions(materials: Any) -> dict[str, Any]:
    """PyBaMM-symbol versions of femsim's κ, D_e, U, i0 and i0,Li for ``materials``."""
    import pybamm

    cathode, electrolyte, lithium = materials.cathode, materials.electrolyte, materials.counter_electrode
    if not getattr(electrolyte, "constant_transference", False) or not hasattr(electrolyte, "transference_number"):
        raise ValueError(f"the PyBaMM comparison needs a constant-t₊ electrolyte, got {electrolyte.name}")
    if cathode.ocp_model != "fit4":
        raise ValueError("the PyBaMM comparison supports the degree-4 OCP fit only")
    k0 = cathode.reaction_rate_constant
    aa, ac = cathode.anodic_transfer_coefficient, cathode.cathodic_transfer_coefficient
    k_scale, d_scale = electrolyte.conductivity_scale, electrolyte.diffusivity_scale

    def conductivity(c_e: Any, T: Any) -> Any:  # S/m, Nyman2008
        cl = pybamm.maximum(c_e, 1e-3) / 1000.0
        return k_scale * (0.1297 * cl**3 - 2.51 * cl**1.5 + 3.329 * cl)

    def diffusivity(c_e: Any, T: Any) -> Any:  # m²/s, Nyman2008
        cl = c_e / 1000.0
        return d_scale * (8.794e-11 * cl**2 - 3.972e-10 * cl + 4.862e-10)

    def ocp(sto: Any) -> Any:  # V, femsim's own polynomial (pure arithmetic: works on symbols)
        return cathode.open_circuit_potential(sto)

    def exchange_current(c_e: Any, c_s_surf: Any, c_s_max: Any, T: Any) -> Any:  # A/m²
        # femsim's exchange-current form, in PyBaMM symbols
        return FARADAY * k0 * pybamm.maximum(c_e, 1e-3) ** ac * lattice_factor(c_s_surf, c_s_max, aa, ac)

    c_li = 1.0 / lithium.molar_volume

    def lithium_exchange_current(c_e: Any, c_li_ignored: Any, T: Any) -> Any:  # A/m², function of c_e only
        if lithium.exchange_current_override > 0:
            return lithium.exchange_current_override + 0 * c_e
        return FARADAY * lithium.rate_constant * c_li**0.7 * pybamm.maximum(c_e, 1e-3) ** 0.3

    return {"conductivity": conductivity, "diffusivity": diffusivity, "ocp": ocp,
            "exchange_current": exchange_current, "lithium_exchange_current": lithium_exchange_current}


def parameter_values(inp: HalfCellInputs, variant: str = "full") -> Any:
    """``pybamm.ParameterValues`` of the half-cell (Xu2019 as the key template, every value set)."""
    import pybamm

    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose from {', '.join(VARIANTS)}")
    m = inp.materials
    if inp.bpx_file is not None:
        return _parameter_values_from_bpx(inp, variant)
    fn = material_functions(m)
    el = m.electrolyte
    t_plus, tdf, brugg = el.transference_number, el.thermodynamic_factor, inp.bruggeman_exponent
    if variant == "no_diffusion_potential":
        tdf = 0.0
    elif variant == "no_transference":
        t_plus = 1.0
    elif variant == "bulk_bruggeman":
        brugg = 1.5
    T = inp.temperature_K
    pv = pybamm.ParameterValues("Xu2019")
    pv.update({
        "Positive electrode thickness [m]": inp.cathode_thickness_m,
        "Separator thickness [m]": inp.separator_thickness_m,
        "Positive electrode porosity": inp.porosity,
        "Positive electrode active material volume fraction": inp.active_fraction,
        "Positive particle radius [m]": inp.particle_radius_m,
        "Positive electrode Bruggeman coefficient (electrolyte)": brugg,
        "Positive electrode Bruggeman coefficient (electrode)": 0.0,
        "Positive electrode conductivity [S.m-1]": inp.solid_conductivity_S_m,
        "Separator porosity": inp.separator_porosity,
        "Separator Bruggeman coefficient (electrolyte)": inp.separator_bruggeman,
        "Electrolyte conductivity [S.m-1]": fn["conductivity"],
        "Electrolyte diffusivity [m2.s-1]": fn["diffusivity"],
        "Cation transference number": t_plus,
        "Thermodynamic factor": tdf,
        "Positive electrode OCP [V]": fn["ocp"],
        "Positive electrode OCP entropic change [V.K-1]": 0.0,
        "Positive electrode exchange-current density [A.m-2]": fn["exchange_current"],
        "Positive electrode charge transfer coefficient": m.cathode.anodic_transfer_coefficient,
        "Maximum concentration in positive electrode [mol.m-3]": m.cathode.max_concentration,
        "Positive particle diffusivity [m2.s-1]": m.cathode.diffusivity,
        "Initial concentration in positive electrode [mol.m-3]":
            inp.initial_stoichiometry * m.cathode.max_concentration,
        "Initial concentration in electrolyte [mol.m-3]": inp.initial_electrolyte_concentration_mol_m3,
        "Exchange-current density for lithium metal electrode [A.m-2]": fn["lithium_exchange_current"],
        "Negative electrode charge transfer coefficient": m.counter_electrode.transfer_coefficient,
        "Ambient temperature [K]": T, "Initial temperature [K]": T, "Reference temperature [K]": T,
        "Upper voltage cut-off [V]": inp.voltage_cutoff_V, "Lower voltage cut-off [V]": 2.5,
        "Open-circuit voltage at 0% SOC [V]": 2.5, "Open-circuit voltage at 100% SOC [V]": inp.voltage_cutoff_V,
        "Electrode height [m]": 1.0, "Electrode width [m]": 1.0,
        "Number of electrodes connected in parallel to make a cell": 1.0,
        "Nominal cell capacity [A.h]": inp.capacity_C_m2 / 3600.0,
        "Current function [A]": -inp.current_density_A_m2,  # PyBaMM: discharge > 0
    })
    return pv


#: what a half-cell run from a BPX file takes from PyBaMM's own reading of it
BPX_TAKEN = ("Positive electrode OCP [V]", "Positive electrode OCP entropic change [V.K-1]",
             "Positive electrode exchange-current density [A.m-2]", "Positive particle diffusivity [m2.s-1]",
             "Maximum concentration in positive electrode [mol.m-3]", "Electrolyte conductivity [S.m-1]",
             "Electrolyte diffusivity [m2.s-1]", "Cation transference number", "Thermodynamic factor",
             "Reference temperature [K]")


def _parameter_values_from_bpx(inp: HalfCellInputs, variant: str) -> Any:
    """The half-cell with the positive electrode and electrolyte of PyBaMM's ``create_from_bpx`` of the file."""
    import warnings

    import pybamm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from_bpx = pybamm.ParameterValues.create_from_bpx(str(inp.bpx_file))
    femsim_side = dataclasses.replace(inp, bpx_file=None, materials=_nyman_like(inp.materials))
    pv = parameter_values(femsim_side, variant)
    pv.update({name: from_bpx[name] for name in BPX_TAKEN})
    if variant == "no_diffusion_potential":
        pv.update({"Thermodynamic factor": 0.0})
    elif variant == "no_transference":
        pv.update({"Cation transference number": 1.0})
    pv.update({"Initial concentration in positive electrode [mol.m-3]":
               inp.initial_stoichiometry * from_bpx["Maximum concentration in positive electrode [mol.m-3]"]})
    return pv


def _nyman_like(materials: Any) -> Any:
    """femsim's baseline sets in place of the imported ones (only their geometry-free keys are then replaced)."""
    from femsim.parameters import NMC622, Nyman2008

    return dataclasses.replace(materials, cathode=NMC622(), electrolyte=Nyman2008())


@dataclasses.dataclass
class HalfCellSeries:
    """Time series of a half-cell run (s, V) and the 150 s state."""

    time_s: np.ndarray
    voltage_V: np.ndarray
    electrolyte_potential_drop_V: np.ndarray
    soc_separator: np.ndarray
    soc_collector: np.ndarray
    time_to_cutoff_s: float | None
    label: str = ""
    wall_time_s: float = 0.0

    def at(self, name: str, time_s: float) -> float:
        """Linear interpolation of series ``name`` at ``time_s`` (nan outside the run)."""
        if time_s > self.time_s[-1] + 1e-9 or time_s < self.time_s[0] - 1e-9:
            return float("nan")
        return float(np.interp(time_s, self.time_s, getattr(self, name)))


def _window_weights(edges: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Overlap length of each cell [edges[i], edges[i+1]] with [lo, hi], normalised."""
    overlap = np.clip(np.minimum(edges[1:], hi) - np.maximum(edges[:-1], lo), 0.0, None)
    return overlap / overlap.sum()


def run_pybamm(inp: HalfCellInputs, variant: str = "full", points: tuple[int, int, int] = (30, 40, 30),
               t_end_s: float | None = None, dt_out_s: float = 1.0, window_m: float = 10e-6) -> HalfCellSeries:
    """Solve the DFN half-cell to the cut-off or ``t_end_s``.

    Args:
        inp: the inputs (:func:`inputs_from_case`).
        variant: a key of :data:`VARIANTS`.
        points: finite-volume points in the separator, the cathode and the particle radius.
        t_end_s: stop here (default: the case's end time).
        dt_out_s: spacing of the output times (s).
        window_m: width of the separator-side and collector-side state-of-charge windows (m).
    """
    import pybamm

    t0 = time.perf_counter()
    model = pybamm.lithium_ion.DFN(options={"working electrode": "positive"})
    pv = parameter_values(inp, variant)
    n_s, n_p, n_r = points
    var_pts = {"x_n": 4, "x_s": n_s, "x_p": n_p, "r_p": n_r}
    sim = pybamm.Simulation(model, parameter_values=pv, var_pts=var_pts,
                            solver=pybamm.IDAKLUSolver(rtol=1e-8, atol=1e-8))
    t_end = inp.end_time_s if t_end_s is None else t_end_s
    t_out = np.arange(0.0, t_end + 0.5 * dt_out_s, dt_out_s)
    sol = sim.solve([0.0, t_end], t_interp=t_out)
    t = np.asarray(sol.t)
    voltage = np.asarray(sol["Voltage [V]"].entries)
    phi_e = np.asarray(sol["Electrolyte potential [V]"].entries)  # separator + cathode cell centres
    nodes = np.concatenate([sim.mesh["separator"].nodes, sim.mesh["positive electrode"].nodes])
    edges_p = np.asarray(sim.mesh["positive electrode"].edges)
    x_sep, x_cc = edges_p[0], edges_p[-1]

    def value_at(x: float) -> np.ndarray:  # linear inter/extrapolation between the nearest centres
        k = int(np.clip(np.searchsorted(nodes, x), 1, len(nodes) - 1))
        w = (x - nodes[k - 1]) / (nodes[k] - nodes[k - 1])
        return (1 - w) * phi_e[k - 1] + w * phi_e[k]

    drop = value_at(x_cc) - value_at(x_sep)
    c_r = np.asarray(sol["R-averaged positive particle concentration [mol.m-3]"].entries)  # (n_p, n_t)
    c_max = inp.materials.cathode.max_concentration
    soc = (inp.initial_stoichiometry - c_r / c_max) / inp.nominal_stoichiometry_swing
    w_sep = _window_weights(edges_p, x_sep, x_sep + window_m)
    w_cc = _window_weights(edges_p, x_cc - window_m, x_cc)
    termination = str(sol.termination)
    cutoff = float(t[-1]) if "Maximum voltage" in termination else None
    result = HalfCellSeries(t, voltage, drop, w_sep @ soc, w_cc @ soc, cutoff, label=f"PyBaMM DFN ({variant})",
                            wall_time_s=time.perf_counter() - t0)
    _LOG.info("PyBaMM %s: %s at t = %.1f s (%.2f s)", variant, termination, t[-1], result.wall_time_s)
    return result

