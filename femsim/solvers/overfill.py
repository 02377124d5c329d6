"""Return the lithium that the regularised kinetics let past c_max back into each particle.

The exchange current's concentration factors are smooth floors (:func:`femsim.parameters.base.
saturating_power`), so a fast discharge fills the surface nodes of the particles past c_max (the
coarse reference RVE after 5C: peak x 1.047 at a 3.0 V cut, 0.37 % of the lithium past c_max;
1.039 and 1.63 % at 2.5 V). The exponential tail of the floor then leaves those surfaces an
exchange current e^{−a·overfill/w} times the one at c_max, and the charge that follows starts
against a potential barrier that exists only in the regularisation: after a 5C discharge to
2.5 V Newton failed at every dt from 0.5 s down to 1.5e-5 s at the first charge step.

At the start of every protocol step (before the potentials are re-solved) :class:`OverfillReturn`
clips the nodal c_s to c_max and puts the excess back into the same particle's nodes below c_max,
in proportion to their room (c_max − c_s) and nodal volume. Each particle's lithium
(∫ c_s dx = Σ m_i c_i with the P1 nodal volumes m_i = ∫ φ_i dx) is kept to round-off, so charge
balances, stranded lithium of isolated particles and capacities are unchanged; the state is that of
an instant of diffusion of the excess into the particle, which the unregularised kinetics would
not have let in. A particle whose excess does not fit below c_max (full to the core: after a 5C
discharge to 2.5 V, collector-side particles of the reference RVE stayed at x ≈ 1.02 for 150 s of
the next charge and then took current abruptly, which stalled Newton) is filled to c_max and the
rest goes to the connected particles with room, in proportion to it: the current a saturated
particle could not have taken would have gone to the others. Isolated particles (detachment) give
and take nothing between particles. The total lithium is kept to round-off; per particle it is
kept except for that remainder. Only when the connected particles together have less room than
that remainder (a dying electrode: the reference RVE with detachment, 6 of 8 connected particles
full to the core after cycle 9) are they all filled to c_max and the rest is dropped, with a
warning giving how much (the lithium balance is off by it). Nothing changes on a state with no
node past c_max.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np

from femsim.mpi import import_dolfinx

LOG = logging.getLogger(__name__)


class OverfillReturn:
    """The per-particle, lithium-conserving projection of c_s onto c_s ≤ c_max.

    Args:
        domain: the :class:`femsim.model.domain.Domain` (particle ids per submesh cell).
        concentration: c_s, P1 on the particle submesh (mol/m³).
        c_max: the cathode's maximum concentration (mol/m³).
        connected: per-particle flags (slot order, every rank alike) of the particles that are in
            electronic contact (detachment: contact conductance > 0); None: all are. Only connected
            particles give or take lithium between particles; an isolated one keeps its own.
    """

    def __init__(self, domain: Any, concentration: Any, c_max: float,
                 connected: Callable[[], np.ndarray] | None = None):
        dolfinx = import_dolfinx()
        import ufl
        from mpi4py import MPI

        self.c, self.c_max, self.comm, self._sum = concentration, float(c_max), domain.comm, MPI.SUM
        space = concentration.function_space
        nodal = dolfinx.fem.assemble_vector(dolfinx.fem.form(ufl.TestFunction(space) * ufl.dx))
        nodal.scatter_reverse(dolfinx.la.InsertMode.add)
        self.n_owned = space.dofmap.index_map.size_local
        #: P1 nodal volumes ∫ φ_i dx of the owned dofs (m³)
        self.nodal_volume = nodal.array[: self.n_owned].copy()
        cells = space.dofmap.list
        slot = np.zeros(space.dofmap.index_map.size_local + space.dofmap.index_map.num_ghosts, dtype=np.int64)
        slot[cells.ravel()] = np.repeat(domain.particle_cell_slot[: cells.shape[0]], cells.shape[1])
        #: particle slot of each owned dof (a dof two touching particles share goes to one of them)
        self.slot = slot[: self.n_owned]
        self.n_particles = len(domain.particle_ids)
        self.connected = connected
        #: lithium moved, and dropped because the connected particles were full, by the last :meth:`apply` (mol)
        self.moved_mol = self.dropped_mol = 0.0

    def _per_particle(self, values: np.ndarray) -> np.ndarray:
        local = np.bincount(self.slot, weights=self.nodal_volume * values, minlength=self.n_particles)
        return self.comm.allreduce(local, op=self._sum)

    def apply(self) -> None:
        """Project c_s in place; ``moved_mol`` is then the lithium moved (0.0: no node past c_max)."""
        owned = self.c.x.array[: self.n_owned]
        excess = self._per_particle(np.maximum(owned - self.c_max, 0.0))
        self.moved_mol = self.dropped_mol = 0.0
        if not excess.any():
            return
        peak = self.comm.allreduce(float(owned.max()) if owned.size else 0.0, op=_mpi_max())
        lithium = float(self._per_particle(owned).sum())
        clipped = np.minimum(owned, self.c_max)
        room = self.c_max - clipped
        room_total = self._per_particle(room)
        # stage 1, within each particle: its excess into its own room (all of it where it fits)
        kept = np.minimum(excess, room_total)
        share = np.divide(kept, room_total, out=np.zeros_like(kept), where=room_total > 0.0)
        new = clipped + share[self.slot] * room
        # stage 2, between connected particles: what a particle full to the core cannot hold goes to
        # the connected particles with room left, in proportion to it (the current the saturated
        # particle could not have taken would have gone to them)
        connected = np.ones(self.n_particles, dtype=bool) if self.connected is None else self.connected()
        remainder = np.where(connected, excess - kept, 0.0)
        stranded = (excess - kept > 0.0) & ~connected
        left = self.c_max - new
        left_total = self._per_particle(np.where(connected[self.slot], left, 0.0))
        spread, room_left = float(remainder.sum()), float(left_total.sum())
        # the connected particles cannot hold it all: they are filled to c_max and the rest, lithium
        # the regularised kinetics pushed past what the connected electrode holds, is dropped (logged);
        # left there, it made the next charge start against the regularisation's barrier (a dying
        # electrode's last connected particles: dt ~0.01 s for minutes)
        dropped = max(spread - room_left, 0.0)
        spread -= dropped
        if spread > 0.0:
            new += np.where(connected[self.slot], spread / room_left * left, 0.0)
        owned[:] = np.where(stranded[self.slot], owned, new)  # a stranded particle is left as it is
        self.c.x.scatter_forward()
        self.moved_mol = float(kept[~stranded].sum()) + spread
        self.dropped_mol = dropped
        if dropped > 0.0:
            LOG.warning("the connected particles are full: %.3g %% of the particles' lithium past c_max dropped "
                        "(the lithium balance is off by that much)", 100 * dropped / lithium)
        LOG.info("returned %.3g %% of the particles' lithium from nodes past c_max (peak x = %.4f): %.3g %% "
                 "within %d particles, %.3g %% from %d particles full to the core to the others",
                 100 * self.moved_mol / lithium, peak / self.c_max, 100 * float(kept[~stranded].sum()) / lithium,
                 int(((kept > 0.0) & ~stranded).sum()), 100 * spread / lithium, int((remainder > 0.0).sum()))


def _mpi_max() -> Any:
    from mpi4py import MPI

    return MPI.MAX
