"""Helpers for the mechanics tests: a single sphere in a matrix box (gmsh), closed forms (docs/physics.md §6.2).

Imported by name (pytest puts this folder on sys.path). Geometry in µm, meshes in metres.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from femsim.mpi import import_dolfinx
from femsim.units import UM

#: first roots of tan λ = λ (λ_n ≈ (n + 1/2)π − 1/((n + 1/2)π) refined by Newton)


def crank_roots(n: int = 200) -> np.ndarray:
    """The first n positive roots of tan λ = λ."""
    lam = (np.arange(1, n + 1) + 0.5) * np.pi - 1.0 / ((np.arange(1, n + 1) + 0.5) * np.pi)
    for _ in range(50):
        f = np.sin(lam) - lam * np.cos(lam)
        lam -= f / (lam * np.sin(lam))
    return lam


def _f3(z: np.ndarray) -> np.ndarray:
    """(sin z − z cos z)/z³, with its Taylor series for small z (no cancellation)."""
    small = np.abs(z) < 0.1
    zs = np.where(small, 1.0, z)
    exact = (np.sin(zs) - zs * np.cos(zs)) / zs**3
    z2 = z * z
    return np.where(small, 1 / 3 - z2 / 30 + z2**2 / 840 - z2**3 / 45360, exact)


def _series_terms(x: np.ndarray, tau: float, lam: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=float)[..., None]
    ex = np.exp(-lam**2 * tau) / np.sin(lam)
    z = lam * x
    conc = (ex * np.sinc(z / np.pi) / lam).sum(-1)  # Σ e sin(λx)/(λ² x)
    mean = (ex * _f3(z) / lam).sum(-1)  # Σ e (sin λx − λx cos λx)/(λ⁴ x³)
    return conc, mean, x[..., 0]


def crank_u(x: np.ndarray, tau: float, lam: np.ndarray | None = None) -> np.ndarray:
    """u = (c − c₀)/(F₀a/D) of the constant-flux sphere (docs/physics.md §6.1)."""
    lam = crank_roots() if lam is None else lam
    conc, _, xx = _series_terms(x, tau, lam)
    return 3 * tau + xx**2 / 2 - 0.3 - 2 * conc


def crank_stress(x: np.ndarray, tau: float, lam: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(σ_r, σ_θ) in units of ΩE/(1−ν)·F₀a/D (docs/physics.md §6.2, galvanostatic closed form)."""
    lam = crank_roots() if lam is None else lam
    conc, mean, xx = _series_terms(x, tau, lam)
    sr = 2 / 9 * (0.3 - 0.3 * xx**2 + 6 * mean)
    st = 1 / 9 * (0.6 - 1.2 * xx**2 + 6 * (conc - mean))
    return sr, st


@dataclasses.dataclass
class Mech:
    """Stand-in for the case's [mechanics] section."""

    setting: str = "M1"
    every_n_steps: int = 1
    strain_model: str = "linear"
    matrix_youngs_modulus_Pa: float = 1e9
    matrix_poisson_ratio: float = 0.3
    stress_enhanced_diffusion: bool = False
    probe_separator_um: Any = None
    probe_collector_um: Any = None
    weibull_modulus: float = 5.0
    weibull_strength_Pa: float = 375e6
    weibull_volume_um3: float = 100.0


def sphere_model(comm: Any, radius_um: float, box_um: float, h_surface_um: float, h_core_um: float,
                 h_box_um: float, centre_um: Any = None) -> tuple[Any, Any, Any]:
    """A sphere (particle id 0) in a cubic matrix box [0, L]³ (current collector at z = 0), in metres."""
    import_dolfinx()
    import dolfinx.io.gmsh
    import gmsh

    from femsim.geometry import tags

    centre = [box_um / 2] * 3 if centre_um is None else list(centre_um)
    if comm.rank == 0:
        gmsh.initialize(interruptible=False)
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.model.add("sphere")
        occ = gmsh.model.occ
        box = occ.addBox(0, 0, 0, box_um, box_um, box_um)
        ball = occ.addSphere(*centre, radius_um)
        if min(centre) < radius_um or max(centre) > box_um - radius_um:  # cut by the box: keep the inside
            (ball_dim_tag,), _ = occ.intersect([(3, ball)], [(3, occ.addBox(0, 0, 0, box_um, box_um, box_um))])
            ball = ball_dim_tag[1]
        out, _ = occ.fragment([(3, box)], [(3, ball)])
        occ.synchronize()
        vols = [t for d, t in gmsh.model.getEntities(3)]
        masses = {t: occ.getMass(3, t) for t in vols}
        particle = min(vols, key=lambda t: masses[t])
        matrix = [t for t in vols if t != particle]
        gmsh.model.addPhysicalGroup(3, [particle], tags.particle_tag(0))
        gmsh.model.addPhysicalGroup(3, matrix, tags.MATRIX)
        sphere_faces = [t for d, t in gmsh.model.getBoundary([(3, particle)], oriented=False)]
        gmsh.model.addPhysicalGroup(2, sphere_faces, tags.INTERFACE)
        bottom = [t for d, t in gmsh.model.getEntities(2)
                  if abs(occ.getCenterOfMass(2, t)[2]) < 1e-9 * box_um]
        gmsh.model.addPhysicalGroup(2, bottom, tags.CURRENT_COLLECTOR)
        f_dist = gmsh.model.mesh.field.add("Distance")
        gmsh.model.mesh.field.setNumbers(f_dist, "SurfacesList", sphere_faces)
        f_th = gmsh.model.mesh.field.add("Threshold")
        gmsh.model.mesh.field.setNumber(f_th, "InField", f_dist)
        gmsh.model.mesh.field.setNumber(f_th, "SizeMin", h_surface_um)
        gmsh.model.mesh.field.setNumber(f_th, "SizeMax", h_box_um)
        gmsh.model.mesh.field.setNumber(f_th, "DistMin", 0.0)
        gmsh.model.mesh.field.setNumber(f_th, "DistMax", 4 * radius_um)
        f_core = gmsh.model.mesh.field.add("MathEval")
        r = f"Sqrt((x-{centre[0]})^2+(y-{centre[1]})^2+(z-{centre[2]})^2)"
        frac = f"Max(0,Min(1,({radius_um}-{r})/{0.5 * radius_um}))"
        gmsh.model.mesh.field.setString(f_core, "F", f"{h_surface_um}+({h_core_um}-{h_surface_um})*{frac}")
        f_min = gmsh.model.mesh.field.add("Min")
        gmsh.model.mesh.field.setNumbers(f_min, "FieldsList", [f_th] + ([f_core] if h_core_um > h_surface_um else []))
        inside = gmsh.model.mesh.field.add("Restrict")
        gmsh.model.mesh.field.setNumber(inside, "InField", f_core)
        gmsh.model.mesh.field.setNumbers(inside, "VolumesList", [particle])
        outside = gmsh.model.mesh.field.add("Restrict")
        gmsh.model.mesh.field.setNumber(outside, "InField", f_th)
        gmsh.model.mesh.field.setNumbers(outside, "VolumesList", matrix)
        fin = gmsh.model.mesh.field.add("Min")
        gmsh.model.mesh.field.setNumbers(fin, "FieldsList", [inside, outside])
        gmsh.model.mesh.field.setAsBackgroundMesh(fin)
        for key in ("MeshSizeExtendFromBoundary", "MeshSizeFromPoints", "MeshSizeFromCurvature"):
            gmsh.option.setNumber(f"Mesh.{key}", 0)
        gmsh.option.setNumber("Mesh.RandomSeed", 1)
        gmsh.option.setNumber("General.NumThreads", 1)
        gmsh.model.mesh.generate(3)
    partitioner = dolfinx.mesh.create_cell_partitioner(dolfinx.mesh.GhostMode.shared_facet, 2)
    data = dolfinx.io.gmsh.model_to_mesh(gmsh.model if comm.rank == 0 else None, comm, 0, gdim=3,
                                         partitioner=partitioner)
    if comm.rank == 0:
        gmsh.finalize()
    data.mesh.geometry.x[:] *= UM
    return data.mesh, data.cell_tags, data.facet_tags


def sphere_domain(comm: Any, radius_um: float = 3.0, box_um: float = 7.0, h_surface_um: float = 0.25,
                  h_core_um: float = 0.5, h_box_um: float = 2.0, centre_um: Any = None) -> Any:
    """A :class:`Domain` of :func:`sphere_model`; a centre on a box face gives a cut sphere."""
    from femsim.model.domain import Domain

    return Domain(*sphere_model(comm, radius_um, box_um, h_surface_um, h_core_um, h_box_um, centre_um))


def _shell_mean(values: np.ndarray, r: np.ndarray, owned: int, x: float) -> float:
    """Mean over owned nodes of the shell r/a ≈ x (the surface for x = 1, a ball of 0.15 for x = 0)."""
    from mpi4py import MPI

    sel = np.zeros(len(r), dtype=bool)
    sel[:owned] = (r[:owned] > 0.999) if x == 1 else (np.abs(r[:owned] - x) < (0.04 if x > 0 else 0.15))
    tot = MPI.COMM_WORLD.allreduce(np.array([values[sel].sum(), sel.sum()]), op=MPI.SUM)
    return tot[0] / tot[1]


def check_crank_stress(mech: Any, centre_m: np.ndarray, radius_um: float, tau: float) -> None:
    """Impose the Crank constant-flux c_s at τ and assert σ_r, σ_θ, σ_eq (shell means of the nodal
    stress at r/a = 0, 0.5, 1) and the surface hoop stress within 2 % of the peak |σ| (docs/physics.md §6.2)."""
    from femsim.parameters.nmc622 import NMC622
    from femsim.physics.mechanics import spherical_components_np

    dolfinx = import_dolfinx()
    p = NMC622()
    lam = crank_roots()
    scale = 1000.0  # F₀a/D in mol/m³ (lithiation; stresses scale linearly)
    unit = p.partial_molar_volume * p.youngs_modulus / (1 - p.poisson_ratio) * scale
    X = mech.Vs.tabulate_dof_coordinates()
    r = np.minimum(np.linalg.norm(X - centre_m, axis=1) / (radius_um * UM), 1.0)
    c = dolfinx.fem.Function(mech.Vs)
    c.x.array[:] = scale * crank_u(r, tau, lam)
    mech.solve(c)
    sr, st = spherical_components_np(mech.nodal_stress, X, centre_m)
    eq = mech.fields()["sigma_eq_Pa"].x.array
    ex_r, ex_t = crank_stress(r, tau, lam)
    peak = np.abs(np.concatenate(crank_stress(np.linspace(0, 1, 401), tau, lam))).max()
    owned = mech.Vs.dofmap.index_map.size_local
    for x in (0.0, 0.5, 1.0):
        sr_exact = _shell_mean(ex_r, r, owned, x)
        st_exact = _shell_mean(ex_t, r, owned, x)
        eq_exact = _shell_mean(np.abs(ex_r - ex_t), r, owned, x)
        if x > 0:  # σ_r/σ_θ split is undefined at the centre itself: compare the trace there
            assert abs(_shell_mean(sr / unit, r, owned, x) - sr_exact) < 0.02 * peak, (x, "sigma_r")
            assert abs(_shell_mean(st / unit, r, owned, x) - st_exact) < 0.02 * peak, (x, "sigma_theta")
        else:
            tr = np.trace(mech.nodal_stress, axis1=1, axis2=2) / 3 / unit
            assert abs(_shell_mean(tr, r, owned, x) - _shell_mean((ex_r + 2 * ex_t) / 3, r, owned, x)) < 0.02 * peak
        assert abs(_shell_mean(eq / unit, r, owned, x) - eq_exact) < 0.02 * peak, (x, "sigma_eq")
    # the surface hoop stress of docs/physics.md §6.2: σ_θ(1, τ) = −(1/3)[1/5 − 2 Σ e^{−λ²τ}/λ²]
    st_surface = -(0.2 - 2 * np.sum(np.exp(-lam**2 * tau) / lam**2)) / 3
    assert abs(_shell_mean(st / unit, r, owned, 1.0) - st_surface) < 0.02 * peak
