"""Verification of the coupled half-cell on a single sphere (docs/physics.md §6.1, §6.4).

A sphere in a box with near-uniform electrolyte and solid potential (very conductive matrix and
electrolyte) sees a uniform Butler–Volmer current, so its Li concentration must follow Crank's
constant-flux series. The same runs check charge, Li and salt conservation at every step.
"""

from __future__ import annotations

import numpy as np
import pytest

from femsim.geometry import tags
from femsim.parameters import FARADAY
from femsim.verification import crank_sphere_concentration

from _halfcell_helpers import build, make_case, point_value, shared_dir

RADIUS_UM = 3.0
D_S = 1e-13  # m²/s: a²/D = 90 s
I_N = 5.0  # A/m², target mean reaction current density


@pytest.fixture(scope="module")
def sphere():
    folder = shared_dir("sphere")
    case = make_case(
        folder, [(0, 5.0, 5.0, 5.0, RADIUS_UM)],
        mesh={"size_surface_um": 0.3, "size_surface_per_radius": 0.1, "size_particle_core_um": 0.5,
              "size_max_um": 2.0, "grading_distance_um": 1.0},
        extra={"materials": {"cathode_overrides": {"diffusivity": D_S, "electronic_conductivity": 1e3},
                             "electrolyte_overrides": {"conductivity_scale": 1e3, "diffusivity_scale": 1e3},
                             "carbon_binder_conductivity_S_m": 1e5}})
    domain, problem = build(case)
    return case, domain, problem


def test_constant_current_sphere_matches_crank(sphere):
    case, domain, problem = sphere
    a = RADIUS_UM * 1e-6
    area_cc = domain.facet_area(tags.CURRENT_COLLECTOR)
    area_sphere = domain.interface_area()
    i_app = I_N * area_sphere / area_cc  # A/m² at the collector
    flux = -I_N / FARADAY  # F0 (mol m⁻² s⁻¹), negative: delithiation
    scale = flux * a / D_S  # F0 a / D (mol/m³)

    problem.set_initial_state()
    assert problem.solve_potentials(i_app)[0]
    problem.commit()
    c0 = case.protocol.initial_stoichiometry * problem.c_max
    li0 = problem.particle_lithium()
    salt0 = problem.electrolyte_salt()
    total = i_app * area_cc
    from femsim.mpi import import_dolfinx

    dolfinx = import_dolfinx()
    surface_mean = dolfinx.fem.form(problem.particle_concentration("+") * domain.dS_exact(tags.INTERFACE),
                                    entity_maps=domain.entity_maps)

    t, results = 0.0, {}
    checkpoints = [0.05 * a * a / D_S, 0.2 * a * a / D_S]
    worst_current = worst_li = worst_salt = 0.0
    dt = 0.02  # s, growing geometrically: backward Euler's error is largest right after the current starts
    for t_end in checkpoints:
        while t < t_end - 1e-12:
            step = min(dt, t_end - t)
            dt = min(dt * 1.15, 0.6)
            ok, _, why = problem.step(step, i_app)
            assert ok, why
            problem.commit()
            t += step
            worst_current = max(worst_current, abs(problem.interface_current() - total) / total)
            worst_li = max(
                worst_li, abs((li0 - problem.particle_lithium()) - total * t / FARADAY) / (total * t / FARADAY)
            )
            worst_salt = max(worst_salt, abs(problem.electrolyte_salt() - salt0) / salt0)
        centre = point_value(problem.particle_concentration, np.array([5e-6, 5e-6, 5e-6]))
        surface = domain.comm.allreduce(dolfinx.fem.assemble_scalar(surface_mean)) / area_sphere
        results[t_end] = (centre, surface)

    for t_end, (centre, surface) in results.items():
        tau = D_S * t_end / a**2
        u_c, u_s = crank_sphere_concentration([0.0, 1.0], tau)
        err_c = abs((centre - c0) - scale * u_c) / abs(scale)
        err_s = abs((surface - c0) - scale * u_s) / abs(scale)
        print(f"tau={tau:.2f}: centre error {err_c:.4f}, surface error {err_s:.4f} (of F0 a/D)")
        assert err_c <= 0.01, f"centre at tau={tau}: error {err_c:.4f} of F0 a/D"
        assert err_s <= 0.01, f"surface at tau={tau}: error {err_s:.4f} of F0 a/D"
    print(f"worst |∫i_n − I|/I = {worst_current:.2e}, Li balance {worst_li:.2e}, salt {worst_salt:.2e}")
    assert worst_current <= 1e-6
    assert worst_li <= 1e-6
    assert worst_salt <= 1e-8


def test_zero_current_keeps_open_circuit_voltage(sphere):
    case, domain, problem = sphere
    problem.set_initial_state()
    assert problem.solve_potentials(0.0)[0]
    problem.commit()
    u0 = float(problem.materials.cathode.open_circuit_potential(case.protocol.initial_stoichiometry))
    for dt in (0.1, 1.0, 10.0):
        ok, _, why = problem.step(dt, 0.0)
        assert ok, why
        problem.commit()
        assert abs(problem.voltage() - u0) <= 1e-9
    assert np.max(np.abs(problem.electrolyte_potential.x.array)) <= 1e-9
