"""Protocol events on the coarse CI geometry: the cut-off crossing is located to within the
tolerance, the current is switched off for the rest, output times are hit exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from femsim.case import parse_case, read_toml

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parallel
def test_cutoff_located_and_rest(tmp_path_factory):
    from femsim.mpi import comm_world
    from femsim.simulation import run_case

    comm = comm_world()
    folder = Path(comm.bcast(str(tmp_path_factory.mktemp("events")) if comm.rank == 0 else None, root=0))
    data = read_toml(REPO / "cases" / "ci" / "tiny.toml")
    data["protocol"].update(voltage_cutoff_V=3.655, rest_s=4.0, end_time_s=60.0)
    data["mechanics"] = {"enabled": False}
    data["output"] = {"folder": str(folder), "fields": False, "times_s": [2.0], "progress": False}
    data["mesh"] = dict(data.get("mesh", {}))
    case = parse_case(data, REPO / "cases" / "ci" / "tiny.toml")
    result = run_case(case, comm=comm)
    assert result.status == "finished"
    assert result.summary["termination"] == "cutoff"
    rows = np.loadtxt(folder / "timeseries.csv", delimiter=",", skiprows=1, ndmin=2, usecols=range(11))
    t, current, volt = rows[:, 0], rows[:, 1], rows[:, 2]
    load = current != 0
    assert abs(volt[load][-1] - 3.655) <= case.solver.cutoff_tolerance_V  # located within 1 mV
    assert np.all(volt[load][:-1] < 3.655)
    assert 2.0 in t  # output time hit exactly
    rest = ~load
    assert rest.sum() >= 2 and t[-1] == pytest.approx(t[load][-1] + 4.0)
    assert np.all(np.diff(volt[rest]) < 0), "the voltage relaxes during the rest after a charge"
    assert result.summary["time_to_cutoff_s"] == pytest.approx(t[load][-1])
