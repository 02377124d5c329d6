"""Suite-wide pytest hooks for runs under ``mpiexec -n 2 pytest -m parallel``.

Destroying a PETSc object that holds MUMPS factors (a SNES, KSP, factored matrix) is collective.
DOLFINx problems destroy their SNES in ``__del__``, and femsim's problems sit in reference cycles
(convergence-test closures), so they die whenever Python's cyclic garbage collector happens to run —
at a different moment on each rank, which deadlocks two ranks destroying different objects (seen
in CI: "19 passed" on both ranks, then both spinning in ``MatDestroy_MUMPS``). Under MPI the
automatic collector is therefore switched off and garbage is collected at the same point on every
rank: after each test, behind a barrier. At the end every rank leaves together: the exit status is
reduced over ranks (any failure fails the run), then all ranks exit without the interpreter's
finalisation.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Iterator

import pytest

from femsim.mpi import in_mpi_run

_EXIT_STATUS: dict[str, int] = {"code": 0}


def _comm():
    from femsim.mpi import comm_world

    return comm_world()


def pytest_configure(config: pytest.Config) -> None:
    if in_mpi_run():
        gc.disable()


@pytest.fixture(autouse=True)
def _collective_garbage_collection() -> Iterator[None]:
    yield
    if in_mpi_run():
        comm = _comm()
        comm.Barrier()
        gc.collect()
        comm.Barrier()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _EXIT_STATUS["code"] = int(exitstatus)


@pytest.hookimpl(tryfirst=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    if not in_mpi_run():
        return
    from mpi4py import MPI

    sys.stdout.flush()
    sys.stderr.flush()
    comm = _comm()
    code = comm.allreduce(_EXIT_STATUS["code"], op=MPI.MAX)
    comm.Barrier()
    os._exit(code)
