"""A case's resolved material sets as a BPX file (``femsim params export CASE --bpx out.json``).

femsim's own NMC622 and Nyman2008 are written as BPX expressions: the OCP polynomial (or the
Chen2020 tanh fit), D_s constant, the rate constant in BPX form k = k0 c_max c_e0^½ (c_e0 = 1000
mol/m³), κ(c_e) and D_e(c_e) of Nyman2008 times their scale factors, the stoichiometry window of
the NMC622 OCP table (0.258–0.917); the electrode-level quantities BPX asks for (radius, a,
thickness, porosity, transport efficiency) come from the case's particle table and matrix
(ε = ε_m (1 − φ), ε^b_m, a = 3φ/R with φ the spheres' volume fraction, clipping ignored).
Mechanics go to ``User-defined``. Imported sets are written back as they came. The document is
validated by the ``bpx`` package before it is written (atomically).
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from femsim.errors import InputError
from femsim.parameters.functions import MaterialFunction
from femsim.parameters.imported import ImportedCathode, ImportedElectrolyte
from femsim.units import AH_M2_PER_MAH_CM2, UM

if TYPE_CHECKING:
    from femsim.case import Case

NMC622_OCP_FIT4 = "(((-9.01592 * x + 18.54275) * x - 11.7292) * x + 1.11269) * x + 4.49792"
NMC622_OCP_CHEN2020 = ("-0.8090 * x + 4.4875 - 0.0428 * tanh(18.5138 * (x - 0.5542)) - 17.7326 * tanh(15.7890 * "
                       "(x - 0.3117)) + 17.5842 * tanh(15.9308 * (x - 0.3120))")
NYMAN_CONDUCTIVITY = "0.1297 * (x / 1000) ** 3 - 2.51 * (x / 1000) ** 1.5 + 3.329 * (x / 1000)"
NYMAN_DIFFUSIVITY = "8.794e-11 * (x / 1000) ** 2 - 3.972e-10 * (x / 1000) + 4.862e-10"
REFERENCE_ELECTROLYTE_CONCENTRATION = 1000.0


def _scaled(scale: float, expression: str) -> MaterialFunction:
    return MaterialFunction("expression", expression=expression if scale == 1.0 else f"{scale!r} * ({expression})")


def _geometry(case: Case) -> dict[str, float]:
    """Radius (m), particle fraction φ, thickness (m) of the case's particle table and box."""
    box = np.asarray(case.geometry.box_um, dtype=float)
    if case.geometry.particle_table is None:
        raise InputError("geometry.particle_table: needed to export the electrode-level BPX quantities")
    from femsim.geometry.particles import read_particle_table

    radii = read_particle_table(case.geometry.particle_table).radii
    fraction = float(np.sum(4.0 / 3.0 * np.pi * radii**3) / np.prod(box))
    return {"radius": float(np.mean(radii)) * UM, "fraction": min(fraction, 0.99), "thickness": box[2] * UM}


def as_imported(cathode: Any, electrolyte: Any, case: Case) -> tuple[ImportedCathode, ImportedElectrolyte]:
    """Write femsim's own sets in BPX terms (imported sets pass through)."""
    if not isinstance(cathode, ImportedCathode):
        if cathode.name != "NMC622":
            raise InputError(f"materials.cathode: {cathode.name} cannot be written as BPX")
        if cathode.anodic_transfer_coefficient != 0.5 or cathode.cathodic_transfer_coefficient != 0.5:
            raise InputError("materials.cathode_overrides: BPX's exchange current has transfer coefficients 0.5")
        geo = _geometry(case)
        mat = case.materials
        porosity = mat.matrix_porosity * (1.0 - geo["fraction"])
        cathode = ImportedCathode(
            name=cathode.name, max_concentration=cathode.max_concentration, minimum_stoichiometry=0.258,
            maximum_stoichiometry=0.917,
            ocp=MaterialFunction("expression", expression=NMC622_OCP_FIT4 if cathode.ocp_model == "fit4"
                                 else NMC622_OCP_CHEN2020),
            entropic_change=MaterialFunction("constant"),
            diffusivity_function=MaterialFunction("constant", constant=cathode.diffusivity),
            diffusivity_activation_energy=0.0,
            reaction_rate_constant_mol_m2_s=cathode.reaction_rate_constant * cathode.max_concentration
            * REFERENCE_ELECTROLYTE_CONCENTRATION**0.5,
            reaction_rate_activation_energy=0.0,
                                  reference_electrolyte_concentration=REFERENCE_ELECTROLYTE_CONCENTRATION,
            electronic_conductivity=cathode.electronic_conductivity, particle_radius=geo["radius"],
            surface_area_per_unit_volume=3.0 * geo["fraction"] / geo["radius"], electrode_thickness=geo["thickness"],
            porosity=porosity, transport_efficiency=porosity**mat.matrix_bruggeman,
            reference_temperature=case.protocol.temperature_K, youngs_modulus=cathode.youngs_modulus,
            poisson_ratio=cathode.poisson_ratio, partial_molar_volume=cathode.partial_molar_volume,
            volume_change_function=_nmc622_volume_change(), temperature=case.protocol.temperature_K)
    if not isinstance(electrolyte, ImportedElectrolyte):
        if electrolyte.name != "Nyman2008":
            raise InputError(f"materials.electrolyte: {electrolyte.name} has a concentration-dependent t₊ and "
                             f"thermodynamic factor, which BPX cannot hold")
        electrolyte = ImportedElectrolyte(
            name=electrolyte.name, conductivity_function=_scaled(electrolyte.conductivity_scale, NYMAN_CONDUCTIVITY),
            conductivity_activation_energy=0.0,
            diffusivity_function=_scaled(electrolyte.diffusivity_scale, NYMAN_DIFFUSIVITY),
            diffusivity_activation_energy=0.0, transference_number=electrolyte.transference_number,
            thermodynamic_factor=electrolyte.thermodynamic_factor, reference_temperature=case.protocol.temperature_K)
    return cathode, electrolyte


def _nmc622_volume_change() -> MaterialFunction:
    from femsim.parameters.nmc622 import VOLUME_CHANGE_PERCENT, VOLUME_CHANGE_X

    return MaterialFunction("table", table_x=tuple(float(v) for v in VOLUME_CHANGE_X),
                            table_y=tuple(float(v) / 100.0 for v in VOLUME_CHANGE_PERCENT))


def export_bpx(case: Case, path: str | Path) -> dict[str, Any]:
    """Write the case's cathode and electrolyte as BPX to ``path``; return the document."""
    import bpx

    from femsim import __version__
    from femsim.io.atomic import write_json
    from femsim.parameters import build_material_sets

    sets = build_material_sets(case.materials, case.protocol.temperature_K)
    cathode, electrolyte = as_imported(sets.cathode, sets.electrolyte, case)
    cathode = dataclasses.replace(cathode, temperature=cathode.reference_temperature)
    box = case.geometry.box_um
    area_m2 = box[0] * box[1] * 1e-12
    height_m = (box[2] + case.geometry.separator_thickness_um) * UM
    cell = {"Electrode area [m2]": area_m2, "Number of electrode pairs connected in parallel to make a cell": 1,
            "External surface area [m2]": 2.0 * area_m2, "Volume [m3]": area_m2 * height_m,
            "Lower voltage cut-off [V]": min(case.protocol.voltage_cutoff_V, 3.0),
            "Upper voltage cut-off [V]": max(case.protocol.voltage_cutoff_V, 4.2),
            "Nominal cell capacity [A.h]": case.protocol.capacity_mAh_cm2 * AH_M2_PER_MAH_CM2 * area_m2}
    from femsim.parameters.bpx_format import bpx_document

    doc = bpx_document(cathode, electrolyte, title=cathode.name,
                       description=(f"Written by femsim {__version__} from {case.source} ({electrolyte.name} "
                                    "electrolyte): positive electrode and "
                                    f"electrolyte of a Li-metal half-cell ({sets.counter_electrode.name} counter "
                                    f"electrode, not representable in BPX); cell values are the simulated box"),
                       cell=cell)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bpx.parse_bpx_obj(copy.deepcopy(doc))
    write_json(path, doc)
    return doc
