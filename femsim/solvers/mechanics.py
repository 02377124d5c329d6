"""Quasi-static diffusion-induced stress (docs/physics.md §3), solved after the electrochemistry.

Settings (``case.mechanics.setting``):

* **M1** – every particle traction-free on its own (curved) surface. Displacement on the particle
  submesh. **Cut faces are mirror planes**: where a box face (the lateral faces x, y; and the
  collector or separator plane for a table that crosses them) cuts a particle, the flat face
  carries u·n = 0, the symmetry condition of the mirrored particle beyond it (the zero-flux
  conditions of the electrochemistry there are the matching mirror conditions). A sphere cut
  through its centre by one face (a quarter sphere by two) thus carries the stress of the whole
  sphere. The rigid motions left free are removed *exactly* by statically determinate point
  supports (:meth:`MechanicsSolver._m1_supports`: 3-2-1 for a whole particle). The chemical load
  is self-equilibrated, so the supports carry no reaction and the stress is that of the free
  (mirrored) particle (no penalty error; patch test at round-off).
* **M2** – particles bonded to an elastic matrix (E_m, ν_m). Displacement on the conductor submesh
  (particles + matrix); u_z = 0 on the current collector (z = 0), rollers on the lateral faces
  (u_x = 0 at x = x_min, x_max; u_y = 0 at y = y_min, y_max), the separator face is free. The
  chemical strain acts in the particles only (mixed-domain forms through the entity maps).

The operator never changes: it is assembled once and the preconditioner / factorisation is built
once; every :meth:`MechanicsSolver.solve` assembles the right-hand side and solves. Default solver:
MUMPS LU (factor once, one back-substitution per step) for M1 at any size (its operator is block
diagonal, one block per particle: the fill stays inside the blocks) and for M2 below
``DIRECT_LIMIT`` unknowns, CG + GAMG with the rigid-body near-nullspace for M2 above; ``petsc_options``
overrides (prefix ``femsim_mech_``).

Stress recovery: σ is linear in each cell (P1 u, P1 chemical strain), so it is interpolated
exactly into a DG1 tensor field, then averaged (volume-weighted) at the P1 nodes of the particle
mesh; σ_eq, σ_h, σ_1 are computed from the nodal tensors.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from femsim.geometry.tags import MATRIX, PARTICLES
from femsim.model.cut_faces import CutFaces, box_bounds
from femsim.model.probes import NodalParticleMap, Probes
from femsim.model.stress_metrics import ParticleStressMetrics
from femsim.mpi import import_dolfinx
from femsim.physics import mechanics as mech

LOG = logging.getLogger(__name__)
#: vector unknowns up to which the default is a direct solver (MUMPS, factor once)
DIRECT_LIMIT = 600_000


def default_options(n_dofs: int, block_diagonal: bool = False) -> dict[str, Any]:
    """PETSc options for the elasticity solve by size.

    ``block_diagonal``: the operator has one block per particle (M1: every particle its own body).
    A sparse LU then fills only inside the blocks, so it costs (particles × per-particle cost) at
    any size and MUMPS is used whatever ``n_dofs``: 1.38M P2 unknowns (208 particles, one rank)
    factor in 94 s once and solve in 1.46 Poisson-solve equivalents, where CG + GAMG took 61
    (issue 20, ``benchmarks/elasticity_large.py``). M2 (one body) switches at ``DIRECT_LIMIT``.
    """
    if n_dofs <= DIRECT_LIMIT or block_diagonal:
        return {"ksp_type": "preonly", "pc_type": "lu", "pc_factor_mat_solver_type": "mumps",
                "mat_mumps_icntl_14": 50}  # 50 % workspace margin (MUMPS INFOG(1) = -9 otherwise, seen on 2 ranks)
    return {"ksp_type": "cg", "ksp_rtol": 1e-10, "ksp_atol": 1e-30, "pc_type": "gamg",
            "pc_gamg_type": "agg", "pc_gamg_agg_nsmooths": 1, "pc_gamg_threshold": 0.01,
            "mg_levels_ksp_type": "chebyshev", "mg_levels_pc_type": "jacobi"}


def point_supports(nodes: Any, cut: Any) -> list[list[int]]:
    """M1 point supports (:meth:`MechanicsSolver._m1_supports`): per displacement component, the
    P1 nodes of the particle mesh where it is fixed.

    Args:
        nodes: :class:`femsim.model.probes.NodalParticleMap` (slots and node coordinates).
        cut: :class:`femsim.model.cut_faces.CutFaces` (the mirror axes of each particle).
    """
    X = nodes.coords
    fixed: list[list[int]] = [[], [], []]
    for slot in range(nodes.n):
        axes = cut.mirror_axes(slot, tuple(range(6)))
        supports: tuple[tuple[int, tuple[int, ...]], ...]
        a = nodes.select(slot, X[:, 0])
        A = nodes.coords_of(a)
        if not axes:
            b = nodes.select(slot, -np.linalg.norm(X - A, axis=1))
            d = nodes.coords_of(b) - A
            dist = np.linalg.norm(np.cross(X - A, d), axis=1)
            c = nodes.select(slot, -dist)
            e = nodes.coords_of(c) - A
            k_b = int(np.argmax(np.abs(d)))
            k_c = int(np.argmax(np.abs(np.cross(d, e))))
            supports = ((a, (0, 1, 2)), (b, tuple(i for i in range(3) if i != k_b)), (c, (k_c,)))
        elif len(axes) == 1:
            k = next(iter(axes))
            across = np.delete(X - A, k, axis=1)
            b = nodes.select(slot, -np.linalg.norm(across, axis=1))
            turn = np.cross(np.eye(3)[k], nodes.coords_of(b) - A)
            supports = ((a, tuple(i for i in range(3) if i != k)), (b, (int(np.argmax(np.abs(turn))),)))
        elif len(axes) == 2:
            supports = ((a, tuple(set(range(3)) - axes)),)
        else:
            supports = ()
        for dof, comps in supports:
            if dof >= 0:
                for i in comps:
                    fixed[i].append(dof)
    return fixed


class MechanicsSolver:
    """Diffusion-induced stress in the particles for a given c_s.

    Args:
        domain: the :class:`femsim.model.domain.Domain` (SI units).
        cathode_params: material set with ``youngs_modulus`` (Pa), ``poisson_ratio``,
            ``partial_molar_volume`` (m³/mol), ``max_concentration`` (mol/m³), ``volume_change(x)``.
        mechanics_section: the case's ``[mechanics]`` section.
        c_ref: stress-free concentration (mol/m³), normally the initial x₀ c_max.
        petsc_options: extra PETSc options (override the defaults).
        degree: polynomial degree of the displacement (1 or 2; with 2, ε(u) and ε_ch are both
            linear in a cell: far more accurate stresses for ~8x the unknowns).
    """

    def __init__(self, domain: Any, cathode_params: Any, mechanics_section: Any, c_ref: float,
                 petsc_options: dict[str, Any] | None = None, degree: int = 2):
        t0 = time.perf_counter()
        import_dolfinx()
        import dolfinx.fem.petsc
        import ufl
        from petsc4py import PETSc

        self.domain, self.params, self.section = domain, cathode_params, mechanics_section
        self.c_ref = float(c_ref)
        self.setting = mechanics_section.setting
        self.degree = int(degree)
        self.timings = {"setup": 0.0, "assemble": 0.0, "solve": 0.0, "recover": 0.0}
        self.n_solves = 0
        E, nu = float(cathode_params.youngs_modulus), float(cathode_params.poisson_ratio)
        self.E, self.nu = E, nu
        pmesh = domain.particles.mesh

        # chemical strain (P1 on the particle mesh) and c_s copy
        self.Vs = dolfinx.fem.functionspace(pmesh, ("Lagrange", 1))
        self.c = dolfinx.fem.Function(self.Vs, name="c_s")
        self.e_ch = dolfinx.fem.Function(self.Vs, name="chemical_strain")
        self.nodes = NodalParticleMap(domain, self.Vs)
        self.cut_faces = CutFaces(domain, self.nodes)
        self.metrics = ParticleStressMetrics(self.nodes, self.cut_faces, mechanics_section.weibull_modulus,
                                             mechanics_section.weibull_strength_Pa,
                                             mechanics_section.weibull_volume_um3)

        if self.setting == "M1":
            umesh = pmesh
        elif self.setting == "M2":
            umesh = domain.conductor.mesh
        else:
            raise ValueError(f"unknown mechanics setting {self.setting!r} (M1 or M2)")
        self.V = dolfinx.fem.functionspace(umesh, ("Lagrange", degree, (3,)))
        self.u = dolfinx.fem.Function(self.V, name="displacement_m")
        u, v = ufl.TrialFunction(self.V), ufl.TestFunction(self.V)
        if self.setting == "M1":
            dxp = ufl.Measure("dx", domain=pmesh)
            a = mech.elasticity_bilinear(u, v, E, nu, dxp)
            L = mech.chemical_load(v, self.e_ch, E, nu, dxp)
            self.a, self.L = dolfinx.fem.form(a), dolfinx.fem.form(L)
            self.bcs = self._m1_supports()
        else:
            Em, num = float(mechanics_section.matrix_youngs_modulus_Pa), float(mechanics_section.matrix_poisson_ratio)
            dx = domain.dx_exact
            a = mech.elasticity_bilinear(u, v, E, nu, dx(PARTICLES)) + mech.elasticity_bilinear(u, v, Em, num,
                                                                                                dx(MATRIX))
            L = mech.chemical_load(v, self.e_ch, E, nu, dx(PARTICLES))
            self.a = dolfinx.fem.form(a, entity_maps=domain.entity_maps)
            self.L = dolfinx.fem.form(L, entity_maps=domain.entity_maps)
            self.bcs = self._box_supports()
            self.u_particles = dolfinx.fem.Function(dolfinx.fem.functionspace(pmesh, ("Lagrange", degree, (3,))))
            self._transfer = self._conductor_to_particle_dofs()

        self.A = dolfinx.fem.petsc.assemble_matrix(self.a, bcs=self.bcs)
        self.A.assemble()
        self.b = dolfinx.fem.petsc.create_vector(self.V)
        self.n_dofs = self.V.dofmap.index_map.size_global * 3
        options = default_options(self.n_dofs, block_diagonal=self.setting == "M1")
        options.update(petsc_options or {})
        self.ksp = PETSc.KSP().create(domain.comm)
        self.ksp.setOperators(self.A)
        prefix = "femsim_mech_"
        self.ksp.setOptionsPrefix(prefix)
        opts = PETSc.Options()
        for key, value in options.items():
            opts.setValue(prefix + key, value)
        if options.get("pc_type") == "gamg":
            self.A.setNearNullSpace(self._rigid_body_modes())
        self.ksp.setFromOptions()
        if self.ksp.getType() != "preonly":
            # Krylov: start from the previous step's displacement (fine 5C mesh, 811k unknowns:
            # 49 instead of 63 CG iterations after a step-sized change of c_s, same tolerance)
            self.ksp.setInitialGuessNonzero(True)
        self.ksp.setUp()  # factorisation / AMG hierarchy once: the operator never changes
        for key in options:  # do not leak into the next solver with this prefix
            opts.delValue(prefix + key)
        self.options = options

        # stress recovery: DG1 tensor interpolation of the exact cell-wise σ
        self.W = dolfinx.fem.functionspace(pmesh, ("DG", 1, (3, 3)))
        self.sigma_dg = dolfinx.fem.Function(self.W)
        u_stress = self.u if self.setting == "M1" else self.u_particles
        self._sigma_expr = dolfinx.fem.Expression(mech.stress(u_stress, self.e_ch, E, nu),
                                                  self.W.element.interpolation_points)
        self._weights = self._nodal_weights()
        self._fields = {name: dolfinx.fem.Function(self.Vs, name=name)
                        for name in ("sigma_eq_Pa", "sigma_hydrostatic_Pa", "sigma_1_Pa")}
        self._cell_sigma_eq = np.zeros(self.nodes.n_cells_owned)
        self.displacement = dolfinx.fem.Function(dolfinx.fem.functionspace(pmesh, ("Lagrange", 1, (3,))),
                                                 name="displacement_m")
        self.probe_points = Probes(self.nodes, mechanics_section.probe_separator_um,
                                   mechanics_section.probe_collector_um, self.cut_faces.clipped)
        self.timings["setup"] = time.perf_counter() - t0
        if domain.comm.rank == 0:
            LOG.info("mechanics %s: %d unknowns, %s/%s, setup %.2f s", self.setting, self.n_dofs,
                     options.get("ksp_type"), options.get("pc_type"), self.timings["setup"])

    # -- constraints ---------------------------------------------------------------------------
    def _m1_supports(self) -> list[Any]:
        """M1: u·n = 0 on every flat cut face, plus point supports removing the remaining rigid modes.

        A particle without cut faces gets the 3-2-1 support (node A: 3 components, node B: the 2
        components across AB, node C: the one component along the rotation about AB). A particle
        with cut faces normal to one axis k keeps the translations ⟂ e_k and the rotation about
        e_k: node A fixes the two components ⟂ e_k, node B (farthest from A across e_k) the
        component of e_k × (B − A). Normal to two axes only the translation along the third axis
        is left (one component at A); normal to all three, nothing. The supports are statically
        determinate and the load is self-equilibrated (the mirror reactions are normal to the
        faces: no force ⟂ e_k, no moment about e_k), so they carry no reaction.
        """
        dolfinx = import_dolfinx()
        cut = self.cut_faces
        pmesh = self.V.mesh
        fixed = point_supports(self.nodes, cut)
        to_v = self._vertex_dofs_in_V()
        zero = np.float64(0.0)
        bcs = [dolfinx.fem.dirichletbc(zero, 3 * np.array(sorted(set(to_v[f])), dtype=np.int32) + i, self.V.sub(i))
               for i, f in enumerate(fixed)]
        for face, facets in enumerate(cut.face_facets):  # mirror: u·n = 0, n = ±e_axis
            axis = face // 2
            dofs = dolfinx.fem.locate_dofs_topological(self.V.sub(axis), pmesh.topology.dim - 1, facets)
            bcs.append(dolfinx.fem.dirichletbc(zero, dofs, self.V.sub(axis)))
        return bcs

    def _vertex_dofs_in_V(self) -> np.ndarray:
        """Node index in the displacement space of every P1 node of the particle mesh (M1)."""
        if self.degree == 1:
            return np.arange(len(self.nodes.coords))
        ps = np.asarray(self.Vs.dofmap.list)
        pv = np.asarray(self.V.dofmap.list)[:, : ps.shape[1]]  # Lagrange: vertex dofs first
        out = np.full(len(self.nodes.coords), -1, dtype=np.int64)
        out[ps.reshape(-1)] = pv.reshape(-1)
        return out

    def _box_supports(self) -> list[Any]:
        """M2: u_z = 0 at z = z_min (collector), u_x = 0 / u_y = 0 on the lateral faces."""
        dolfinx = import_dolfinx()

        mesh = self.V.mesh
        lo, hi = box_bounds(mesh)
        tol = 1e-6 * float(np.max(hi - lo))
        mesh.topology.create_connectivity(2, 3)
        bcs = []
        for i, planes in ((0, (lo[0], hi[0])), (1, (lo[1], hi[1])), (2, (lo[2],))):
            facets = dolfinx.mesh.locate_entities_boundary(
                mesh, 2, lambda p, i=i, planes=planes: np.any([np.abs(p[i] - v) < tol for v in planes], axis=0))
            dofs = dolfinx.fem.locate_dofs_topological(self.V.sub(i), 2, facets)
            bcs.append(dolfinx.fem.dirichletbc(np.float64(0.0), dofs, self.V.sub(i)))
        return bcs

    def _rigid_body_modes(self) -> Any:
        from petsc4py import PETSc

        n_owned = self.V.dofmap.index_map.size_local
        coords = self.V.tabulate_dof_coordinates()[:n_owned]
        vec = PETSc.Vec().createWithArray(np.ascontiguousarray(coords.reshape(-1)),  # type: ignore[arg-type]
                                          bsize=3, comm=self.domain.comm)  # (stubs: Sequence, not ndarray)
        return PETSc.NullSpace().createRigidBody(vec)

    def _conductor_to_particle_dofs(self) -> tuple[np.ndarray, np.ndarray]:
        """(particle-mesh node, conductor-mesh node) pairs for copying u (same parent vertices)."""
        d = self.domain
        n_parent = d.mesh.topology.index_map(3).size_local + d.mesh.topology.index_map(3).num_ghosts
        to_cond = d.conductor.cell_map.sub_topology_to_topology(np.arange(n_parent, dtype=np.int32), inverse=True)
        cond_cells = np.asarray(to_cond)[d.particles.parent_cells]
        ok = cond_cells >= 0
        Vp = self.u_particles.function_space
        pd = np.asarray(Vp.dofmap.list)[ok]
        cd = np.asarray(self.V.dofmap.list)[cond_cells[ok]]
        xp = Vp.tabulate_dof_coordinates()[pd]
        xc = self.V.tabulate_dof_coordinates()[cd]
        match = np.argmin(np.linalg.norm(xp[:, :, None, :] - xc[:, None, :, :], axis=-1), axis=2)
        cd = np.take_along_axis(cd, match, axis=1)
        return pd.reshape(-1), cd.reshape(-1)

    def _nodal_weights(self) -> np.ndarray:
        """Σ of adjacent owned-cell volumes at each P1 node (reverse-scattered over ranks)."""
        dolfinx = import_dolfinx()

        w = dolfinx.fem.Function(self.Vs)
        nc = self.nodes.n_cells_owned
        np.add.at(w.x.array, self.nodes.cell_dofs[:nc].reshape(-1), np.repeat(self.nodes.cell_volume, 4))
        w.x.scatter_reverse(dolfinx.la.InsertMode.add)
        w.x.scatter_forward()
        return w.x.array.copy()

    # -- solve -----------------------------------------------------------------------------------
    def chemical_strain(self, c: np.ndarray) -> np.ndarray:
        """Nodal e_ch (dimensionless) from nodal c_s (mol/m³) by the case's strain model."""
        if getattr(self.section, "strain_model", "linear") == "table":
            return mech.table_chemical_strain(c, self.c_ref, self.params.max_concentration, self.params.volume_change)
        return mech.linear_chemical_strain(c, self.c_ref, self.params.partial_molar_volume)

    def solve(self, c_s: Any) -> None:
        """One quasi-static solve for the concentration ``c_s`` (P1 Function on the particle mesh)."""
        dolfinx = import_dolfinx()
        from petsc4py import PETSc

        t0 = time.perf_counter()
        self.c.interpolate(c_s)
        self.e_ch.x.array[:] = self.chemical_strain(self.c.x.array)
        with self.b.localForm() as loc:
            loc.set(0.0)
        dolfinx.fem.petsc.assemble_vector(self.b, self.L)
        # petsc4py's stubs type the InsertMode/ScatterMode members as int
        self.b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)  # type: ignore[arg-type]
        dolfinx.fem.petsc.set_bc(self.b, self.bcs)
        t1 = time.perf_counter()
        self.ksp.solve(self.b, self.u.x.petsc_vec)
        reason = self.ksp.getConvergedReason()
        if reason < 0:  # type: ignore[operator]  # petsc4py's stubs: a ConvergedReason, at run time an int
            raise RuntimeError(f"mechanics linear solve failed (KSP reason {reason})")
        self.u.x.scatter_forward()
        t2 = time.perf_counter()
        self._recover()
        t3 = time.perf_counter()
        self.timings["assemble"] += t1 - t0
        self.timings["solve"] += t2 - t1
        self.timings["recover"] += t3 - t2
        self.n_solves += 1
        self.iterations = self.ksp.getIterationNumber()

    def _recover(self) -> None:
        dolfinx = import_dolfinx()

        if self.setting == "M2":
            pd, cd = self._transfer
            up = self.u_particles.x.array.reshape(-1, 3)
            up[pd] = self.u.x.array.reshape(-1, 3)[cd]
        self.displacement.interpolate(self.u if self.setting == "M1" else self.u_particles)
        self.sigma_dg.interpolate(self._sigma_expr)
        nc = self.nodes.n_cells_owned
        wdofs = np.asarray(self.W.dofmap.list)[:nc]
        sig = self.sigma_dg.x.array.reshape(-1, 3, 3)[wdofs]  # (cells, 4 vertices, 3, 3)
        self._cell_sigma_eq = mech.von_mises_np(sig).mean(axis=1)
        self._cell_vertex_sigma = sig
        acc = dolfinx.fem.Function(dolfinx.fem.functionspace(self.Vs.mesh, ("Lagrange", 1, (3, 3))))
        weighted = sig * self.nodes.cell_volume[:, None, None, None]
        arr = acc.x.array.reshape(-1, 9)
        np.add.at(arr, self.nodes.cell_dofs[:nc].reshape(-1), weighted.reshape(-1, 9))
        acc.x.scatter_reverse(dolfinx.la.InsertMode.add)
        acc.x.scatter_forward()
        nodal = acc.x.array.reshape(-1, 3, 3) / np.maximum(self._weights, 1e-300)[:, None, None]
        self.nodal_stress = nodal
        self._fields["sigma_eq_Pa"].x.array[:] = mech.von_mises_np(nodal)
        self._fields["sigma_hydrostatic_Pa"].x.array[:] = mech.hydrostatic_np(nodal)
        self._fields["sigma_1_Pa"].x.array[:] = mech.max_principal_np(nodal)

    # -- outputs -----------------------------------------------------------------------------
    def fields(self) -> dict[str, Any]:
        """P1 fields on the particle mesh: σ_eq, σ_h, σ_1 (Pa) and the displacement (m, vertex values)."""
        out = dict(self._fields)
        out["displacement_m"] = self.displacement
        return out

    def particle_stress(self) -> dict[str, Any]:
        """Per particle (sorted ids), identical on all ranks: the metrics of
        :mod:`femsim.model.stress_metrics` (p95 σ_eq by volume, p95 σ_1 on the curved surface,
        Weibull P_f), the volume-mean σ_eq, the nodal maxima of σ_eq and σ_1 (Pa; mesh-dependent:
        a nodal value at a sharp feature grows with refinement) and ``clipped`` (cut by a box face)."""
        n = self.nodes
        mean = n.sum_cells(self._cell_sigma_eq * n.cell_volume) / np.maximum(n.volume, 1e-300)
        out: dict[str, Any] = {"ids": n.ids.copy(), "sigma_eq_max_Pa": n.max_nodes(self._fields["sigma_eq_Pa"].x.array),
                               "sigma_eq_mean_Pa": mean,
                               "sigma_1_max_Pa": n.max_nodes(self._fields["sigma_1_Pa"].x.array),
                               "clipped": self.cut_faces.clipped.copy()}
        out.update(self.metrics.evaluate(self._cell_vertex_sigma, self._fields["sigma_1_Pa"].x.array))
        return out

    def probes(self) -> list[dict[str, Any]]:
        """P_s and P_cc: position (µm), particle id, σ_eq (Pa, nodal) and c/c_max at the probe node."""
        return self.probe_points.evaluate(self._fields["sigma_eq_Pa"].x.array,
                                          self.c.x.array / self.params.max_concentration)
