"""SIGTERM / SIGINT during a run.

Before stepping, a signal raises :class:`~femsim.errors.RunInterrupted` at once. While stepping
(:attr:`Interrupts.deferred`) it is only remembered, and :meth:`Interrupts.check` raises it between
solves on every rank together: raised inside a solver callback, the exception would be swallowed by
PETSc as a failed solve, and one rank alone leaving a collective would hang the others.
"""

from __future__ import annotations

import signal
from typing import Any

from femsim.errors import RunInterrupted

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Interrupts:
    """The signal handlers of one run and the name of the signal received ("" if none)."""

    def __init__(self) -> None:
        self.received = ""
        self.deferred = False
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:  # pragma: no cover - signal path
        self.received = signal.Signals(signum).name
        if not self.deferred:
            raise RunInterrupted(self.received)

    def install(self) -> None:
        """Install the handlers (again after set-up: gmsh and PETSc install their own C handlers);
        the handlers found the first time are put back by :meth:`restore`."""
        for sig in SIGNALS:
            try:
                previous = signal.signal(sig, self._handle)
            except ValueError:  # not in the main thread
                continue
            self._previous.setdefault(sig, previous)

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def check(self, comm: Any) -> None:
        """Raise :class:`RunInterrupted` if any rank received a signal (collective)."""
        name = self.received
        if comm.size > 1:
            name = next((n for n in comm.allgather(name) if n), "")
        if name:
            raise RunInterrupted(name)
