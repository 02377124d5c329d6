"""The iterative preset's field-split preconditioner, built from the unknowns' block layout.

:func:`configure_field_split` turns the preset's splits (:func:`femsim.solvers.presets.field_splits`)
into PETSc index sets of the ``kind="mpi"`` blocked matrix and, where the electrolyte pair
(:data:`femsim.solvers.presets.ELIMINATE`) is present, wraps the split in
:class:`MigrationEliminationPC`, which removes the salt balance's migration coupling first.
"""

from __future__ import annotations

from typing import Any

from femsim.solvers import presets


def block_index_sets(problem: Any, unknowns: list[Any]) -> list[Any]:
    """PETSc index sets of each unknown's rows in a ``kind="mpi"`` blocked matrix.

    The blocked layout stacks, on each rank, the owned dofs of block 0, then block 1, …
    starting at the rank's ownership offset.
    """
    from petsc4py import PETSc

    start, _ = problem.A.getOwnershipRange()
    comm = problem.A.comm
    ises = []
    offset = start
    for u in unknowns:
        imap = u.function_space.dofmap.index_map
        n = imap.size_local * u.function_space.dofmap.index_map_bs
        ises.append(PETSc.IS().createStride(n, first=offset, step=1, comm=comm))
        offset += n
    return ises


class MigrationEliminationPC:
    """Python PC: field split of T·J with T = I − diag(α) E, applied as (FS(T·J))⁻¹ T.

    The salt balance carries the migration flux t₊ i_e/F, so its Jacobian row holds a
    Laplacian in φ_e (t₊κ/F ∇φ_e) much larger than its own diffusion: a block Gauss–Seidel
    over (c_e, φ_e) then converges slowly. Subtracting α × (charge row) from the salt row, with
    α_i = J[c_e_i, φe_i] / J[φe_i, φe_i] (= t₊/F × weight ratio), removes that Laplacian (exactly
    for a constant t₊), leaving mass + diffusion + interface terms in the c_e row; the φ_e row
    still sees c_e through the diffusion potential, which Gauss–Seidel handles exactly by
    solving c_e first. E maps each φ_e dof to the c_e dof at the same node (same space).
    """

    def __init__(self, prefix: str, splits: list[tuple[str, Any]], conc_is: Any, pot_is: Any):
        self.prefix, self.splits, self.conc_is, self.pot_is = prefix, splits, conc_is, pot_is
        self.T: Any = None  # T = I − diag(α) E (PETSc Mat), built at set-up
        self.M: Any = None  # T·J
        self.inner: Any = None  # the field-split PC of M
        self.work: Any = None
        self.setups = 0

    def _build_T(self, P: Any) -> Any:
        import numpy as np
        from petsc4py import PETSc

        d_cp = P.createSubMatrix(self.conc_is, self.pot_is).getDiagonal().getArray()
        d_pp = P.createSubMatrix(self.pot_is, self.pot_is).getDiagonal().getArray()
        alpha = np.where(d_pp != 0, d_cp / np.where(d_pp != 0, d_pp, 1.0), 0.0)
        start, end = P.getOwnershipRange()
        n = end - start
        rows_c = self.conc_is.getIndices() - start
        cols_p = self.pot_is.getIndices()
        counts = np.ones(n, dtype=PETSc.IntType)
        counts[rows_c] = 2
        indptr = np.zeros(n + 1, dtype=PETSc.IntType)
        np.cumsum(counts, out=indptr[1:])
        indices = np.empty(indptr[-1], dtype=PETSc.IntType)
        data = np.ones(indptr[-1], dtype=PETSc.ScalarType)
        indices[indptr[:-1]] = np.arange(start, end, dtype=PETSc.IntType)
        # the second entry of each c_e row: −α at the φ_e column of the same node (sorted order
        # is not required by MatCreateMPIAIJWithArrays, but keep the diagonal first anyway)
        indices[indptr[rows_c] + 1] = cols_p
        data[indptr[rows_c] + 1] = -alpha
        # petsc4py's stubs allow neither None (PETSC_DECIDE) global sizes nor ndarray CSR arrays
        T = PETSc.Mat().createAIJWithArrays(((n, None), (n, None)), (indptr, indices, data),  # type: ignore[arg-type]
                                            comm=P.comm)
        T.assemble()
        return T

    def setUp(self, pc: Any) -> None:
        from petsc4py import PETSc

        _, P = pc.getOperators()
        T = self._build_T(P)
        if self.M is None:
            self.M = T.matMult(P)
        else:
            # in place (MAT_REUSE_MATRIX: T and P keep their nonzero patterns): no second copy of
            # T·J while the old one is alive, and the inner field split sees the same matrix with
            # the same pattern, so it refills its sub-matrices instead of extracting new ones
            T.matMult(P, self.M)
        if self.T is not None:
            self.T.destroy()
        self.T = T
        if self.inner is None:
            self.inner = PETSc.PC().create(P.comm)
            self.inner.setOptionsPrefix(self.prefix)
            self.inner.setType("fieldsplit")
            self.inner.setFieldSplitType(PETSc.PC.CompositeType.MULTIPLICATIVE)
            self.inner.setFieldSplitIS(*self.splits)
            self.work = P.createVecLeft()
        self.inner.setOperators(self.M, self.M)
        self.inner.setUp()
        self.setups += 1

    def apply(self, pc: Any, x: Any, y: Any) -> None:
        self.T.mult(x, self.work)
        self.inner.apply(self.work, y)

    def view(self, pc: Any, viewer: Any) -> None:
        viewer.printfASCII(f"MigrationEliminationPC ({self.setups} set-ups), inner:\n")
        if self.inner is not None:
            self.inner.view(viewer)


def configure_field_split(problem: Any, unknowns: list[Any], options: dict[str, Any], prefix: str) -> Any:
    """Index sets of a ``fieldsplit`` preconditioner (iterative preset) from the unknowns' blocks.

    Returns the :class:`MigrationEliminationPC` context when it replaces the plain field split,
    else None (also for presets without a field split).
    """
    from petsc4py import PETSc

    pc = problem.solver.getKSP().getPC()
    if pc.getType() != "fieldsplit":
        return None
    fields = [u.name for u in unknowns]
    # NonlinearProblem removes its options from the database after SNES.setFromOptions, but
    # the split sub-KSPs are configured at PCSetUp: keep the split options under the prefix.
    db = PETSc.Options()
    for key, value in options.items():
        if key.startswith("fieldsplit_"):
            db.setValue(f"{prefix}{key}", value)
    ises = block_index_sets(problem, unknowns)
    splits = []
    for k, group in enumerate(presets.field_splits(fields)):
        iset = ises[group[0]]
        for b in group[1:]:
            iset = iset.expand(ises[b])
        splits.append((str(k), iset))
    if all(f in fields for f in presets.ELIMINATE) and presets.ELIMINATE_MIGRATION:
        kc, kp = (fields.index(f) for f in presets.ELIMINATE)
        if ises[kc].getSize() == ises[kp].getSize():
            ctx = MigrationEliminationPC(prefix, splits, ises[kc], ises[kp])
            pc.setType("python")
            pc.setPythonContext(ctx)
            return ctx
    pc.setFieldSplitIS(*splits)
    return None
