"""SNES callbacks of the coupled solve: a residual without lifting, a Jacobian assembled block
by block, a lazily assembled (lagged) Jacobian, and a matrix-free finite-difference Jacobian action.

DOLFINx's blocked assemblers pack the coefficients of *every* block form before assembling the
first one; :class:`BlockCoefficients` packs each block's coefficients only when that block is
assembled, so that at most one block's are held at a time. On the half-cell Jacobian (16 block
forms) that transient was 177 MB on the 105,762-cell 5C mesh (1.7 kB per cell, 21 MB for the
largest block); at that rate ≈ 1.7 GB per rank at 1M cells per rank (docs/solver_internals.md,
"Memory of the coupled solve").

They serve the presets of :mod:`femsim.solvers.presets` (``chord``: :class:`LazyJacobian`;
``newton-krylov``: :class:`LazyJacobian` with a :class:`DifferenceJacobian` operator).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any


class BlockCoefficients(Sequence[Any]):
    """The packed coefficients of a sequence of forms (a row of blocks, or the residual blocks),
    each packed by ``dolfinx.fem.pack_coefficients`` when it is indexed or iterated to, and not
    kept: what DOLFINx's blocked ``assemble_vector`` / ``assemble_matrix`` accept as ``coeffs``.
    A nested sequence (the rows of a blocked Jacobian) gives a :class:`BlockCoefficients` per row.
    None entries (absent blocks) give None."""

    def __init__(self, forms: Sequence[Any]):
        self.forms = forms

    def __len__(self) -> int:
        return len(self.forms)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return BlockCoefficients(self.forms[index])
        form = self.forms[index]
        if form is None:
            return None
        if isinstance(form, Sequence):
            return BlockCoefficients(form)
        from femsim.mpi import import_dolfinx

        import_dolfinx()
        from dolfinx.fem import pack_coefficients

        return pack_coefficients(form)

    def __iter__(self) -> Iterator[Any]:
        for index in range(len(self.forms)):
            yield self[index]


def assemble_jacobian_by_block(snes: Any, x: Any, J: Any, P: Any, u: Any, jacobian: Any, preconditioner: Any,
                               bcs: Any) -> None:
    """SNES Jacobian callback: ``dolfinx.fem.petsc.assemble_jacobian`` with each block's
    coefficients packed only while that block is assembled (:class:`BlockCoefficients`)."""
    from petsc4py import PETSc

    from femsim.mpi import import_dolfinx

    import_dolfinx()
    import dolfinx.fem.petsc as fem_petsc
    import dolfinx.la.petsc as la_petsc

    la_petsc._ghost_update(x, PETSc.InsertMode.INSERT, PETSc.ScatterMode.FORWARD)  # type: ignore[arg-type]
    fem_petsc.assign(x, u)
    for matrix, forms in ((J, jacobian), (P, preconditioner)):
        if forms is None or matrix is None:
            continue
        coeffs = BlockCoefficients(forms) if isinstance(forms, Sequence) else None
        matrix.zeroEntries()
        fem_petsc.assemble_matrix(matrix, forms, bcs, diag=1.0, coeffs=coeffs)  # type: ignore[misc]
        matrix.assemble()


def residual_without_lifting(snes: Any, x: Any, b: Any, u: Any, residual: Any, jacobian: Any, bcs: Any,
                             _blocks: Any = None) -> None:
    """SNES residual callback for problems without Dirichlet conditions (all of femsim's).

    Does what ``dolfinx.fem.petsc.assemble_residual`` does minus the lifting, which with no
    boundary conditions adds nothing but still packs the coefficients of every Jacobian block
    (a third of the residual's cost on the 5C mesh), and with each block's coefficients packed
    only while that block is assembled (:class:`BlockCoefficients`).
    """
    from petsc4py import PETSc

    from femsim.mpi import import_dolfinx

    import_dolfinx()
    import dolfinx.fem.petsc as fem_petsc
    import dolfinx.la.petsc as la_petsc

    if bcs:
        fem_petsc.assemble_residual(snes, x, b, u, residual, jacobian, bcs, _blocks)
        return
    # petsc4py's stubs type the InsertMode/ScatterMode members as int
    la_petsc._ghost_update(x, PETSc.InsertMode.INSERT, PETSc.ScatterMode.FORWARD)  # type: ignore[arg-type]
    fem_petsc.assign(x, u)
    if isinstance(residual, list | tuple) and b.getType() != PETSc.Vec.Type.NEST:
        b.setAttr("_blocks", _blocks)
        x.setAttr("_blocks", _blocks)
    la_petsc._zero_vector(b)
    fem_petsc.assemble_vector(b, residual, coeffs=BlockCoefficients(residual) if isinstance(residual, Sequence)
                              else None)
    la_petsc._ghost_update(b, PETSc.InsertMode.ADD, PETSc.ScatterMode.REVERSE)  # type: ignore[arg-type]
    la_petsc._ghost_update(b, PETSc.InsertMode.INSERT, PETSc.ScatterMode.FORWARD)  # type: ignore[arg-type]


class DifferenceJacobian:
    """Jacobian action J(u)·a ≈ (F(u + h a) − F(u))/h, a PETSc Python matrix (newton-krylov).

    One residual assembly per product. The step h is set per product so that the largest change
    of any unknown, measured in its own scale (``weights`` = 1/scale per owned dof: 1/c_max,
    1/c_e0, 1/V), equals ``step`` (``presets.KRYLOV_DIFFERENCE_STEP``): the unknowns span ~5
    orders of magnitude (c_s ~ 5·10⁴ mol/m³, φ ~ 1 V), so a step from the global norm (PETSc's
    MFFD) is either lost in the round-off of the concentrations or far outside the linear range
    of Butler–Volmer.
    """

    def __init__(self, snes: Any, x: Any, step: float):
        self.snes = snes
        self.step = step
        self.weights: Any = None  # set by the problem that knows its scales; None: all 1
        self.base = x.duplicate()
        self.base_residual = x.duplicate()
        self.work = x.duplicate()  # ghosted like x: the residual callback reads its ghosts
        self.residual = x.duplicate()

    def set_base(self, x: Any, residual: Any) -> None:
        x.copy(self.base)
        residual.copy(self.base_residual)

    def mult(self, mat: Any, a: Any, y: Any) -> None:
        import numpy as np
        from mpi4py import MPI

        arr = a.getArray(readonly=True)
        scaled = np.abs(arr) * self.weights if self.weights is not None else np.abs(arr)
        amax = a.comm.tompi4py().allreduce(float(scaled.max()) if scaled.size else 0.0, op=MPI.MAX)
        if amax == 0.0:
            y.zeroEntries()
            return
        h = self.step / amax
        self.work.waxpy(h, a, self.base)
        # into a ghosted vector (the residual callback writes ghosts; y may be a plain Vec)
        self.snes.computeFunction(self.work, self.residual)
        y.waxpy(-1.0, self.base_residual, self.residual)
        y.scale(1.0 / h)


class LazyJacobian:
    """SNES Jacobian callback that assembles only when :attr:`pending` (chord, newton-krylov).

    When it returns without assembling, the matrix keeps its PETSc state, so the KSP reuses the
    LU factors of the last assembled Jacobian. With a ``difference_step`` the SNES operator is a
    :class:`DifferenceJacobian` re-based at every Newton iterate and the assembled (lagged)
    Jacobian is the preconditioning matrix.
    """

    def __init__(self, snes: Any, x: Any = None, difference_step: float | None = None):
        from petsc4py import PETSc

        J, P, (assemble, args, kwargs) = snes.getJacobian()
        self._assemble, self._args, self._kwargs = assemble, args or (), kwargs or {}
        self.pending = True
        self.assemblies = 0
        self.action: DifferenceJacobian | None = None
        if difference_step is not None:
            self.action = DifferenceJacobian(snes, x, difference_step)
            self.operator = PETSc.Mat().createPython(J.getSizes(), self.action, comm=J.comm)
            self.operator.setUp()
            snes.setJacobian(self, self.operator, J)
        else:
            snes.setJacobian(self, J, P)

    def __call__(self, snes: Any, x: Any, J: Any, P: Any) -> None:
        if self.action is not None:
            self.action.set_base(x, snes.getFunction()[0])
            J.assemble()  # a new operator state for the KSP (the preconditioner is untouched)
        if not self.pending:
            return
        self.pending = False
        self.assemblies += 1
        if self.action is not None:
            self._assemble(snes, x, P, None, *self._args, **self._kwargs)
        else:
            self._assemble(snes, x, J, P, *self._args, **self._kwargs)
