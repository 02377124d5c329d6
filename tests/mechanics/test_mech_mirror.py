"""Cut faces are mirror planes (M1): a sphere cut through its centre by one box face (half sphere)
or by two (quarter sphere) carries the stress of the whole sphere — the Crank constant-flux closed
form of docs/physics.md §6.2 within 2 % of the peak, as for the whole sphere; without the mirror
condition the flat face is free and the stress is far off (checked for the half sphere)."""

from __future__ import annotations

import numpy as np
import pytest

from femsim.mpi import import_dolfinx
from femsim.parameters.nmc622 import NMC622

from _mech_helpers import Mech, check_crank_stress, sphere_domain

dolfinx = import_dolfinx()
from mpi4py import MPI  # noqa: E402

from femsim.solvers.mechanics import MechanicsSolver  # noqa: E402

A_UM, BOX_UM = 3.0, 7.0
CUTS = {"half": (0.0, 3.5, 3.5), "quarter": (0.0, 7.0, 3.5)}  # centres on x = 0; on x = 0 and y = 7


@pytest.fixture(scope="module", params=list(CUTS))
def cut_solver(request):
    centre = CUTS[request.param]
    domain = sphere_domain(MPI.COMM_WORLD, A_UM, BOX_UM, h_surface_um=0.25, h_core_um=0.5, h_box_um=2.0,
                           centre_um=centre)
    mech = MechanicsSolver(domain, NMC622(), Mech(), c_ref=0.0, degree=2)
    return request.param, mech, np.asarray(centre) * 1e-6


@pytest.mark.parallel
@pytest.mark.parametrize("tau", [0.05, 0.2])
def test_cut_sphere_carries_whole_sphere_stress(cut_solver, tau):
    name, mech, centre = cut_solver
    faces = np.flatnonzero(mech.cut_faces.face_area[0] > 0).tolist()
    assert faces == ([0] if name == "half" else [0, 3])  # x_min (and y_max)
    assert bool(mech.cut_faces.clipped[0])
    check_crank_stress(mech, centre, A_UM, tau)
