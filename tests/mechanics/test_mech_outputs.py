"""Outputs of the mechanics solver: fields, per-particle stresses, probes, strain models, MPI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from femsim.mpi import import_dolfinx
from femsim.parameters.nmc622 import NMC622
from femsim.physics import mechanics as pm

from _mech_helpers import Mech, crank_u, sphere_domain

dolfinx = import_dolfinx()
from mpi4py import MPI  # noqa: E402

from femsim.solvers.mechanics import MechanicsSolver  # noqa: E402

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def small():
    return sphere_domain(MPI.COMM_WORLD, 2.0, 5.0, h_surface_um=0.4, h_core_um=0.6, h_box_um=1.5)


def test_stress_measures_numpy():
    s = np.array([[[1.0, 0, 0], [0, 2.0, 0], [0, 0, 3.0]], [[0, 4.0, 0], [4.0, 0, 0], [0, 0, 0]]])
    assert pm.von_mises_np(s) == pytest.approx([np.sqrt(3.0), np.sqrt(3 * 16.0)])
    assert pm.hydrostatic_np(s) == pytest.approx([2.0, 0.0])
    assert pm.max_principal_np(s) == pytest.approx([3.0, 4.0])
    sr, st = pm.spherical_components_np(s[:1], np.array([[0.0, 0.0, 2.0]]), np.zeros(3))
    assert (sr[0], st[0]) == pytest.approx((3.0, 1.5))


def test_table_strain_model():
    p = NMC622()
    c_ref = 0.911 * p.max_concentration
    e = pm.table_chemical_strain(np.array([0.911, 0.494]) * p.max_concentration, c_ref, p.max_concentration,
                                 p.volume_change)
    assert e == pytest.approx([0.0, (-1.163 + 0.025) / 300])


@pytest.mark.parallel
def test_fields_particles_probes(small):
    p = NMC622()
    c0 = 0.9 * p.max_concentration
    mech = MechanicsSolver(small, p, Mech(), c_ref=c0)
    c = dolfinx.fem.Function(mech.Vs)
    X = mech.Vs.tabulate_dof_coordinates()
    r = np.minimum(np.linalg.norm(X - 2.5e-6, axis=1) / 2e-6, 1.0)
    c.x.array[:] = c0 - 3000.0 * crank_u(r, 0.1)  # delithiation: tensile hoop stress at the surface
    mech.solve(c)
    f = mech.fields()
    assert set(f) == {"sigma_eq_Pa", "sigma_hydrostatic_Pa", "sigma_1_Pa", "displacement_m"}
    stats = mech.particle_stress()
    assert list(stats["ids"]) == [0]
    unit = p.partial_molar_volume * p.youngs_modulus / (1 - p.poisson_ratio) * 3000.0
    # Looser than the closed-form suite (2 % of the peak on shell means, h/a ~ 0.1): a per-particle
    # maximum and single probe vertices of the recovered stress on this coarse mesh (h/a = 0.2).
    # Measured (P2): max σ_eq −2.9 %, max σ_1 −2.7 %, P_s −4.1 %, P_cc −7.9 %.
    assert stats["sigma_eq_max_Pa"][0] == pytest.approx(0.062254 * unit, rel=0.04)  # surface σ_eq at τ = 0.1
    assert 0 < stats["sigma_eq_mean_Pa"][0] < stats["sigma_eq_max_Pa"][0]
    assert stats["sigma_1_max_Pa"][0] == pytest.approx(0.062254 * unit, rel=0.04)  # tensile hoop stress
    probes = mech.probes()
    assert [q["probe"] for q in probes] == ["Ps", "Pcc"]
    assert probes[0]["z_um"] == pytest.approx(4.5, abs=1e-6) and probes[1]["z_um"] == pytest.approx(0.5, abs=1e-6)
    for q in probes:
        assert q["particle_id"] == 0
        assert q["sigma_eq_Pa"] == pytest.approx(0.062254 * unit, rel=0.10)
        assert q["c_over_cmax"] == pytest.approx((c0 - 3000.0 * crank_u(np.array([1.0]), 0.1)[0]) / p.max_concentration,
                                                 rel=1e-9)
    # a probe point given in the case (µm) picks the nearest node
    mech2 = MechanicsSolver(small, p, Mech(probe_separator_um=[2.5, 2.5, 2.6], probe_collector_um=[0.0, 2.5, 2.5]),
                            c_ref=c0, degree=1)
    mech2.solve(c)
    q = mech2.probes()
    assert np.linalg.norm([q[0]["x_um"] - 2.5, q[0]["y_um"] - 2.5, q[0]["z_um"] - 2.6]) < 0.7
    assert q[1]["x_um"] == pytest.approx(0.5, abs=0.05)
    assert mech.timings["solve"] > 0 and mech.timings["setup"] > 0


@pytest.mark.parallel
def test_krylov_solve_is_warm_started_and_matches_lu(small):
    """The CG + GAMG path (meshes above DIRECT_LIMIT) starts from the previous displacement: the
    next step's solve needs fewer iterations than from zero and agrees with MUMPS."""
    from femsim.solvers.mechanics import DIRECT_LIMIT, default_options

    p = NMC622()
    c0 = 0.9 * p.max_concentration
    direct = MechanicsSolver(small, p, Mech(), c_ref=c0)
    krylov = MechanicsSolver(small, p, Mech(), c_ref=c0, petsc_options=default_options(2 * DIRECT_LIMIT))
    assert krylov.ksp.getType() == "cg" and krylov.ksp.getInitialGuessNonzero()
    c = dolfinx.fem.Function(direct.Vs)
    X = direct.Vs.tabulate_dof_coordinates()
    r = np.minimum(np.linalg.norm(X - 2.5e-6, axis=1) / 2e-6, 1.0)
    for tau in (0.10, 0.11):
        c.x.array[:] = c0 - 3000.0 * crank_u(r, tau)
        direct.solve(c)
        krylov.solve(c)
        scale = np.abs(direct.u.x.array).max()
        assert np.abs(krylov.u.x.array - direct.u.x.array).max() <= 1e-6 * scale
    warm = krylov.iterations
    krylov.u.x.array[:] = 0.0
    krylov.solve(c)
    assert warm < krylov.iterations, (warm, krylov.iterations)


@pytest.mark.skipif(MPI.COMM_WORLD.size > 1, reason="spawns its own mpiexec")
def test_serial_equals_two_ranks():
    mpiexec = Path(sys.executable).parent / "mpiexec"
    if not mpiexec.exists():
        pytest.skip("no mpiexec beside the interpreter")
    sys.path.insert(0, str(HERE))
    from _mpi_compare import compute

    serial = compute()
    env = dict(os.environ, OMP_NUM_THREADS="1")
    run = subprocess.run([str(mpiexec), "-n", "2", sys.executable, str(HERE / "_mpi_compare.py")],
                         capture_output=True, text=True, timeout=300, env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    line = [ln for ln in run.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    parallel = json.loads(line[len("RESULT "):])
    for setting in ("M1", "M2"):
        for key, values in serial[setting]["stats"].items():
            assert parallel[setting]["stats"][key] == pytest.approx(values, rel=1e-7), (setting, key)
        for a, b in zip(serial[setting]["probes"], parallel[setting]["probes"]):
            assert (a["probe"], a["particle_id"]) == (b["probe"], b["particle_id"])
            for key in ("x_um", "y_um", "z_um", "sigma_eq_Pa", "c_over_cmax"):
                assert b[key] == pytest.approx(a[key], rel=1e-7, abs=1e-9), (setting, key)
