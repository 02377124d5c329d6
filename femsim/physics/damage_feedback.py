"""Per-particle damage feedback factors as fields of the coupled problem (docs/damage.md).

The laws (what the factors are) live in :mod:`femsim.model.damage_feedback`; the terms that use
them in :mod:`femsim.model.halfcell_residual`. :class:`ParticleFactors` holds one DG0 function
per factor on the particle submesh (the reactive area factor A_p of crack wetting, the active
fraction a_p of loss of active material and the contact conductance G_p of detachment), read on
the particle side ('+') of the interface and refreshed by the run at every cycle end.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from femsim.model.damage_feedback import FACTOR_COLUMNS
from femsim.mpi import import_dolfinx


class ParticleFactors:
    """DG0 functions on the particle submesh, one value per particle (owner of those fields).

    Args:
        domain: the :class:`femsim.model.domain.Domain`.
        contact_conductance_S_m2: the initial value of ``contact_conductance_S_m2`` (G_0).

    The slots are the sorted particle ids of all ranks (the order of :class:`ParticleStatistics`).
    """

    def __init__(self, domain: Any, contact_conductance_S_m2: float):
        dolfinx = import_dolfinx()
        self.ids, self.comm = domain.particle_ids, domain.comm
        space = dolfinx.fem.functionspace(domain.particles.mesh, ("DG", 0))
        self.functions = {name: dolfinx.fem.Function(space, name=name) for name in FACTOR_COLUMNS}
        self._dofs = np.asarray(space.dofmap.list[:, 0], dtype=np.int64)
        self._slot = domain.particle_cell_slot
        self.set({"area_factor": np.ones(len(self.ids)), "active_fraction": np.ones(len(self.ids)),
                  "contact_conductance_S_m2": np.full(len(self.ids), contact_conductance_S_m2)})

    def __getitem__(self, name: str) -> Any:
        return self.functions[name]

    def set(self, values: dict[str, np.ndarray]) -> None:
        """Per-particle values (slot order) by factor name; the names not given are kept."""
        for name, per_particle in values.items():
            f = self.functions[name]
            f.x.array[self._dofs] = np.asarray(per_particle, dtype=float)[self._slot]

    def values(self, name: str) -> np.ndarray:
        """The per-particle values of one factor (this rank's cells; NaN where it has none)."""
        out = np.full(len(self.ids), np.nan)
        out[self._slot] = self.functions[name].x.array[self._dofs]
        return out

    def global_values(self, name: str) -> np.ndarray:
        """The per-particle values of one factor, the same on every rank (collective)."""
        from mpi4py import MPI

        # a buffer reduction: the pickled ``allreduce`` compares whole arrays with Python's max
        # (ValueError on 2 ranks; returned the array unreduced on 1)
        out = np.nan_to_num(self.values(name), nan=-np.inf)
        self.comm.Allreduce(MPI.IN_PLACE, out, op=MPI.MAX)
        return out
