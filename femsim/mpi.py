"""MPI helpers: the communicator, rank-0 logging and "abort everybody" error handling.

DOLFINx may come from the PyPI wheel (``dolfinx-solver-real``, which must be imported before
dolfinx/petsc4py to set up its bundled libraries) or from conda-forge/Spack (no such module).
:func:`import_dolfinx` handles both.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import traceback
from typing import Any

_LOG = logging.getLogger("femsim")


def import_dolfinx() -> Any:
    """Import dolfinx, bootstrapping the PyPI wheel when it is the installed flavour."""
    try:
        importlib.import_module("dolfinx_solver")
    except ImportError:  # conda-forge / Spack DOLFINx: nothing to bootstrap
        pass
    return importlib.import_module("dolfinx")


def comm_world() -> Any:
    """The world communicator (mpi4py), importing the DOLFINx stack first."""
    import_dolfinx()
    from mpi4py import MPI

    return MPI.COMM_WORLD


def world_rank_size() -> tuple[int, int]:
    """(rank, size) without importing mpi4py when not running under an MPI launcher."""
    for rank_var, size_var in (("PMI_RANK", "PMI_SIZE"), ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"),
                               ("PMIX_RANK", "PMIX_SIZE")):
        if rank_var in os.environ:
            return int(os.environ[rank_var]), int(os.environ.get(size_var, "1"))
    return 0, 1


def in_mpi_run() -> bool:
    """True when launched by mpiexec with more than one rank."""
    return world_rank_size()[1] > 1


def setup_logging(level: int = logging.INFO) -> None:
    """Log to stderr on rank 0 only; other ranks log warnings and errors with their rank."""
    rank, size = world_rank_size()
    handler = logging.StreamHandler(sys.stderr)
    if rank == 0:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
        handler.setLevel(level)
    else:
        handler.setFormatter(logging.Formatter(f"[rank {rank}] %(levelname)s %(message)s"))
        handler.setLevel(logging.ERROR)
    root = logging.getLogger("femsim")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def abort_all(exit_code: int = 1, message: str | None = None) -> None:
    """Print ``message`` and abort every rank of COMM_WORLD (no hangs in a collective).

    In a serial run this is just ``sys.exit``.
    """
    if message:
        print(message, file=sys.stderr, flush=True)
    sys.stdout.flush()
    sys.stderr.flush()
    if in_mpi_run():
        comm_world().Abort(exit_code)
    raise SystemExit(exit_code)


#: called with a one-line reason by the failing rank just before an abort (e.g. to mark run.json)
_FATAL_CALLBACKS: dict[str, Any] = {}


def on_fatal(name: str, callback: Any) -> None:
    """Register ``callback(reason: str)`` under ``name`` (replacing an earlier one) to run on the
    failing rank before an MPI abort."""
    _FATAL_CALLBACKS[name] = callback


def install_excepthook() -> None:
    """Make an uncaught exception on any rank abort all ranks (used by the CLI under mpiexec)."""
    if not in_mpi_run():
        return

    def hook(exc_type, exc, tb):  # pragma: no cover - exercised by the MPI fault test
        rank, _ = world_rank_size()
        text = "".join(traceback.format_exception(exc_type, exc, tb))
        print(f"[rank {rank}] uncaught exception, aborting all ranks:\n{text}", file=sys.stderr, flush=True)
        reason = f"uncaught {exc_type.__name__} on rank {rank}: {exc}"
        for callback in list(_FATAL_CALLBACKS.values()):
            try:
                callback(reason)
            except Exception:  # noqa: BLE001 - the abort must happen whatever the callback does
                pass
        import time

        time.sleep(0.5)  # let the launcher forward this rank's last output before the abort kills it
        comm_world().Abort(1)

    sys.excepthook = hook


def leave_together(code: int) -> None:
    """Under mpiexec: exit every rank with the largest exit code of all ranks, after a barrier and
    without the interpreter's finalisation (destroying PETSc objects there can hang one rank).
    Serially: ``sys.exit(code)``."""
    if not in_mpi_run():
        raise SystemExit(code)
    from mpi4py import MPI

    sys.stdout.flush()
    sys.stderr.flush()
    comm = comm_world()
    code = comm.allreduce(code, op=MPI.MAX)
    comm.Barrier()
    os._exit(code)


def raise_together(comm: Any, error: BaseException | None) -> None:
    """Collective: when any rank of ``comm`` holds an error, raise it (the lowest rank's) on every
    rank, marked ``collective = True`` so the CLI reports it once and exits on all ranks together.
    ``comm`` None or of size 1: raise ``error`` if given."""
    if comm is None or comm.size == 1:
        if error is not None:
            raise error
        return
    first = next((e for e in comm.allgather(error) if e is not None), None)
    if first is not None:
        first.collective = True
        raise first


class CollectiveGarbage:
    """Cyclic garbage collection at the same points on every rank.

    Destroying PETSc objects that hold MUMPS factors is collective, and DOLFINx destroys them in
    ``__del__``: if Python's collector reclaimed such objects at a different moment on each rank,
    two ranks could block in different collectives. Inside this context (when ``comm`` has more
    than one rank) the automatic collector is off and :meth:`collect` runs it on all ranks together
    (call it at a collective point, e.g. after an accepted step).
    """

    def __init__(self, comm: Any, every: int = 20):
        self.comm, self.every, self.calls = comm, every, 0
        self.active = comm.size > 1
        self._was_enabled = False

    def __enter__(self) -> CollectiveGarbage:
        import gc

        if self.active:
            self._was_enabled = gc.isenabled()
            gc.disable()
        return self

    def collect(self) -> None:
        import gc

        self.calls += 1
        if self.active and self.calls % self.every == 0:
            self.comm.Barrier()
            gc.collect()

    def __exit__(self, *exc: Any) -> None:
        import gc

        if self.active and self._was_enabled:
            gc.enable()
