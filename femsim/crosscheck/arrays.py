"""Regular arrays of equal spheres: the homogenised-limit case family.

A simple-cubic array of ``nx × ny × nz`` unit cells of edge ``a`` (µm), one sphere of radius
``r = a (3φ/4π)^(1/3)`` at the centre of each cell, fills the cathode box ``(nx a, ny a, nz a)``
with particle volume fraction φ. The box faces are mirror planes of the infinite array, so an
insulated (no-flux) lateral boundary and Dirichlet potentials on z = 0 and z = L_c reproduce the
periodic medium exactly: even a single column (``nx = ny = 1``) is a valid RVE of the
homogenised electrode. Spheres never touch the box faces (φ < π/6 keeps a gap a/2 − r > 0).

Lengths are in µm (particle tables and case files), as everywhere in the geometry inputs.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from pathlib import Path
from typing import Any, cast

import numpy as np

from femsim.units import C_M2_PER_MAH_CM2, UM

_LOG = logging.getLogger(__name__)

#: largest packing fraction of a simple-cubic array of non-touching spheres
SC_MAX_FRACTION = math.pi / 6.0


@dataclasses.dataclass(frozen=True)
class SphereArray:
    """A simple-cubic array of equal spheres (lengths in µm).

    Attributes:
        cells: number of unit cells along x, y, z.
        cell_um: unit-cell edge a (µm).
        fraction: particle volume fraction φ of the cathode box (-).
    """

    cells: tuple[int, int, int]
    cell_um: float
    fraction: float

    def __post_init__(self) -> None:
        if not 0.0 < self.fraction < SC_MAX_FRACTION:
            raise ValueError(f"fraction must be in (0, π/6 = {SC_MAX_FRACTION:.4f}), got {self.fraction}")
        if self.cell_um <= 0 or min(self.cells) < 1:
            raise ValueError("cell_um must be > 0 and every cell count >= 1")

    @classmethod
    def from_radius(cls, cells: tuple[int, int, int], radius_um: float, fraction: float) -> SphereArray:
        """The array with spheres of ``radius_um`` at volume fraction ``fraction``."""
        cell_um = radius_um / (3.0 * fraction / (4.0 * math.pi)) ** (1.0 / 3.0)
        return cls(cast("tuple[int, int, int]", tuple(cells)), cell_um, fraction)

    @property
    def radius_um(self) -> float:
        """Sphere radius r (µm)."""
        return self.cell_um * (3.0 * self.fraction / (4.0 * math.pi)) ** (1.0 / 3.0)

    @property
    def box_um(self) -> list[float]:
        """Cathode box (µm)."""
        return [n * self.cell_um for n in self.cells]

    @property
    def wall_gap_um(self) -> float:
        """Distance from a sphere surface to the nearest cell face (µm); half the sphere–sphere gap."""
        return 0.5 * self.cell_um - self.radius_um

    @property
    def n_particles(self) -> int:
        return int(np.prod(self.cells))

    def centres_um(self) -> np.ndarray:
        """(n, 3) sphere centres (µm), x fastest."""
        idx = np.stack(np.meshgrid(*[np.arange(n) for n in self.cells], indexing="ij"), axis=-1).reshape(-1, 3)
        order = np.lexsort((idx[:, 0], idx[:, 1], idx[:, 2]))
        return (idx[order] + 0.5) * self.cell_um

    def table(self) -> Any:
        """The :class:`~femsim.geometry.particles.ParticleTable` of the array."""
        from femsim.geometry.particles import ParticleTable

        centres = self.centres_um()
        n = centres.shape[0]
        return ParticleTable(np.arange(n, dtype=np.int64), centres, np.full(n, self.radius_um))


def write_array_case(array: SphereArray, folder: str | Path, name: str, *, c_rate: float = 1.0,
                     separator_thickness_um: float = 25.0, mesh: dict[str, float] | None = None,
                     extra: dict[str, dict[str, Any]] | None = None, description: str = "") -> Path:
    """Write ``<name>_particles.csv`` and ``<name>.toml`` into ``folder``; return the case path.

    The case uses the PyBaMM-comparable materials (Nyman2008 with t₊ = 0.2594 and TDF = 1; the
    carbon-binder matrix at 100 S/m, whose ohmic drop is < 0.1 mV), mechanics off, and a nominal areal
    capacity equal to the array's own capacity between x0 = 0.917 and x = 0.258 (the OCP table's range), so that 1C is
    one hour for this geometry. ``mesh`` overrides ``[mesh]`` keys; ``extra`` adds/overrides keys
    per section.
    """
    from femsim.geometry.particles import write_particle_table
    from femsim.parameters import FARADAY, NMC622

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    table_path = folder / f"{name}_particles.csv"
    write_particle_table(array.table(), table_path)
    lc_m = array.box_um[2] * UM
    x0, x_end = 0.917, 0.258
    capacity_mAh_cm2 = (
        NMC622().max_concentration * array.fraction * lc_m * (x0 - x_end) * FARADAY / C_M2_PER_MAH_CM2
    )  # C/m² → mAh/cm²
    gap = max(0.0, min(0.5 * array.wall_gap_um, 0.3))
    sections: dict[str, dict[str, Any]] = {
        "case": {"name": name, "description": description or
                 f"homogenised limit: {array.cells[0]}x{array.cells[1]}x{array.cells[2]} simple-cubic array, "
                 f"R = {array.radius_um:.4g} um, NMC fraction {array.fraction:g}"},
        "geometry": {"particle_table": table_path.name, "box_um": array.box_um,
                     "separator_thickness_um": separator_thickness_um, "min_gap_um": gap,
                     "wall_clearance_um": gap},
        "mesh": {"size_surface_um": 1.0, "size_surface_per_radius": 0.25, "size_max_um": 2.0,
                 "size_separator_um": 4.0, "size_particle_core_um": 1.5, "grading_distance_um": 1.0,
                 **(mesh or {})},
        "materials": {"cathode": "NMC622", "electrolyte": "Nyman2008", "counter_electrode": "LiMetal_Xu2019",
                      "matrix_porosity": 0.5, "matrix_bruggeman": 1.5, "separator_porosity": 0.39,
                      "separator_bruggeman": 1.5, "carbon_binder_conductivity_S_m": 100.0,
                      "wetted_fraction": 1.0},
        "protocol": {"mode": "charge", "c_rate": c_rate, "areal_capacity_mAh_cm2": round(capacity_mAh_cm2, 6),
                     "initial_stoichiometry": x0, "voltage_cutoff_V": 4.3, "temperature_K": 298.15,
                     "initial_electrolyte_concentration_mol_m3": 1000.0},
        "mechanics": {"enabled": False},
        "output": {"times_s": [150.0], "fields": False, "final_output": False, "progress": False},
    }
    m = sections["mesh"]
    m["size_surface_um"] = min(m["size_surface_um"], m["size_max_um"])
    for section, values in (extra or {}).items():
        sections.setdefault(section, {}).update(values)
    path = folder / f"{name}.toml"
    header = (f"# Homogenised-limit case (femsim.crosscheck.arrays): regular array of equal spheres.\n"
              f"# cells {array.cells}, cell edge {array.cell_um:.6g} um, radius {array.radius_um:.6g} um, "
              f"fraction {array.fraction:g}.\n# Regenerate with benchmarks/pybamm_cases.py.\n")
    path.write_text(header + _toml(sections), encoding="utf-8")
    _LOG.info("wrote %s (%d particles)", path, array.n_particles)
    return path


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _toml(sections: dict[str, dict[str, Any]]) -> str:
    """A minimal TOML writer for flat sections (inline tables for dict values)."""
    out = []
    for name, values in sections.items():
        out.append(f"\n[{name}]")
        out += [f"{key} = {_toml_value(value)}" for key, value in values.items()]
    return "\n".join(out).lstrip("\n") + "\n"
