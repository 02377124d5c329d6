"""Newton's initial guess for a time step: linear extrapolation of the last two accepted levels.

The predictor's history is the solver memory a restart snapshot saves beside the unknowns
(:meth:`LevelPredictor.restart_state`): plain scalars, None and lists of arrays in field-table
order, so that the snapshot codec stores it without pickle.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: the largest dt / dt_previous the extrapolation is scaled by
MAX_EXTRAPOLATION_RATIO = 4.0
#: after a predicted solve failed (and its retry from the previous level converged) or was hard,
#: the next this many steps start from the previous level: near x -> 1 at 5C the extrapolated
#: guess has a residual ~1e9 times that of the previous level and Newton spends its budget on it
SKIP_AFTER_FAILURE = 20
#: a predicted guess whose residual exceeds this many times that of the last predicted guess makes
#: the predictor rest too: entering saturation at 5C (x -> 1) the guess's residual doubled from step
#: to step (2.2, 4.6, 11, 23, 40, 65, 101) while the solves grew from 5 to 19 iterations and 11
#: factorisations, and the same steps from the previous level took 4-5 (reference RVE, 5C to 2.5 V;
#: elsewhere it grows by at most 1.3 per step)
RESIDUAL_GROWTH = 2.0


class LevelPredictor:
    """u_n + (dt/dt_prev)(u_n − u_{n−1}) into the unknowns, when the control is unchanged.

    The history is kept here: when the previous level changed since the last call, that call's
    step (of length dt_last, from the level saved then) was accepted.

    Args:
        unknowns: the Functions Newton solves for (field-table order).
        previous: their previous time level (same order).
        comm: the MPI communicator (every rank decides alike).
        enabled: the case's ``solver.predictor``.
    """

    def __init__(self, unknowns: list[Any], previous: list[Any], comm: Any, enabled: bool = True):
        self.unknowns, self.previous, self.comm, self.enabled = unknowns, previous, comm, enabled
        #: level, older (lists of arrays), dt_prev, dt_last (s), current_last, current_prev (control keys)
        self.history: dict[str, Any] | None = None

    def restart_state(self) -> dict[str, Any] | None:
        """The history (None before the first step)."""
        return self.history

    def set_restart_state(self, state: dict[str, Any] | None) -> None:
        """Restore what :meth:`restart_state` returned (None: no history, as on a fresh run)."""
        self.history = state

    def predict(self, dt: float, control_key: str) -> bool:
        """Set the Newton guess; True if it did (False: the unknowns are left as they are).

        ``control_key`` names the control (mode and value, a string that survives a snapshot):
        no extrapolation across a change of control.
        """
        history = self.history
        level = [u.x.array for u in self.previous]
        if history is None or any(a.shape != b.shape for a, b in zip(level, history["level"])):
            self.history = {"level": [a.copy() for a in level], "older": None, "dt_prev": 0.0,
                            "dt_last": dt, "current_last": control_key, "current_prev": None}
            return False
        changed = any(not np.array_equal(a, b) for a, b in zip(level, history["level"]))
        changed = bool(self.comm.allreduce(changed, op=_mpi_lor()))
        if changed:
            history["older"], history["level"] = history["level"], [a.copy() for a in level]
            history["dt_prev"], history["current_prev"] = history["dt_last"], history["current_last"]
        history["dt_last"], history["current_last"] = dt, control_key
        skip = int(history.get("skip", 0))
        if skip > 0:
            history["skip"] = skip - 1 if changed else skip
            return False
        if (not self.enabled or history["older"] is None
                or history["current_prev"] != control_key or history["dt_prev"] <= 0):
            return False
        ratio = min(dt / history["dt_prev"], MAX_EXTRAPOLATION_RATIO)
        for u, new, old in zip(self.unknowns, history["level"], history["older"]):
            u.x.array[:] = new + ratio * (new - old)
        return True

    def guess_residual(self, norm: float) -> bool:
        """After an accepted predicted solve whose guess had the residual ``norm``: False when it
        exceeds :data:`RESIDUAL_GROWTH` × that of the last predicted guess (the extrapolation no longer
        fits: near x -> 1 at 5C the predicted residual doubles from step to step while the solves
        grow from 5 to 19 iterations). The norm is kept in the history (restart snapshots)."""
        if self.history is None:
            return True
        last = self.history.get("guess_norm")
        self.history["guess_norm"] = float(norm)
        return not (last and norm > RESIDUAL_GROWTH * last)

    def failed(self) -> None:
        """The last predicted solve failed or was hard: start the next :data:`SKIP_AFTER_FAILURE` accepted
        steps' solves from the previous level."""
        if self.history is not None:
            self.history["skip"] = SKIP_AFTER_FAILURE
            self.history["guess_norm"] = None

    def level(self, index: int) -> np.ndarray:
        """The last accepted level of the unknown at block position ``index``."""
        assert self.history is not None
        return self.history["level"][index]


def _mpi_lor() -> Any:
    from mpi4py import MPI

    return MPI.LOR
