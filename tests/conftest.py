"""Suite-wide pytest hooks.

Under ``mpiexec -n 2 pytest -m parallel`` every rank finishes its tests, prints its summary and then
leaves together: the exit status is reduced over ranks (any failure fails the run), all ranks meet at
a barrier and exit without the interpreter's finalisation of PETSc objects, which can hang one rank
after a fully passed session (seen in CI: "19 passed" on both ranks, then a timeout).
"""

from __future__ import annotations

import os
import sys

import pytest

from femsim.mpi import in_mpi_run

_EXIT_STATUS: dict[str, int] = {"code": 0}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _EXIT_STATUS["code"] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    if not in_mpi_run():
        return
    from mpi4py import MPI

    from femsim.mpi import comm_world

    sys.stdout.flush()
    sys.stderr.flush()
    comm = comm_world()
    code = comm.allreduce(_EXIT_STATUS["code"], op=MPI.MAX)
    comm.Barrier()
    os._exit(code)
