"""Suite-wide pytest hooks for runs under ``mpiexec -n 2 pytest -m parallel``.

Destroying a PETSc object that holds MUMPS factors (a SNES, KSP, factored matrix) is collective.
DOLFINx problems destroy their SNES in ``__del__``, and femsim's problems sit in reference cycles
(convergence-test closures), so they die whenever Python's cyclic garbage collector happens to run —
at a different moment on each rank, which deadlocks two ranks destroying different objects (seen
in CI: "19 passed" on both ranks, then both spinning in ``MatDestroy_MUMPS``; pytest's own cleanup
calls ``gc.collect()``). Under MPI the automatic collector is therefore switched off and garbage is
collected on every rank together after each test (:class:`femsim.mpi.CollectiveGarbage`). At the
end every rank leaves together with the largest exit status (:func:`femsim.mpi.leave_together`),
before pytest's cleanup.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from femsim.mpi import CollectiveGarbage, in_mpi_run

_STATE: dict = {"code": 0, "garbage": None}


def pytest_configure(config: pytest.Config) -> None:
    if in_mpi_run():
        from femsim.mpi import comm_world

        _STATE["garbage"] = CollectiveGarbage(comm_world(), every=1).__enter__()


@pytest.fixture(autouse=True)
def _collective_garbage_collection() -> Iterator[None]:
    yield
    if _STATE["garbage"] is not None:
        _STATE["garbage"].collect()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _STATE["code"] = int(exitstatus)


@pytest.hookimpl(tryfirst=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    if in_mpi_run():
        from femsim.mpi import leave_together

        leave_together(_STATE["code"])
