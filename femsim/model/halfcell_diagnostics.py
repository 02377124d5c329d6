"""Scalar diagnostics of a half-cell solution: terminal voltage, currents, lithium and salt totals.

The forms are compiled once; each call assembles one scalar over all ranks.
"""

from __future__ import annotations

from typing import Any

from femsim.geometry import tags
from femsim.mpi import import_dolfinx


class HalfCellDiagnostics:
    """Integrals of the half-cell unknowns and of the interface kinetics.

    Args:
        domain: :class:`femsim.model.domain.Domain`.
        u: the unknowns by field name (:class:`femsim.model.fields.FieldSet`).
        kinetics: :class:`femsim.model.halfcell_residual.Kinetics` of the same unknowns.
        materials_section: the case's ``[materials]`` (wetted fraction, porosities).
        active_fraction: the particles' active fraction (DG0, loss of active material): the
            lithium inventory counts ∫ a c_s; None: ∫ c_s.

    With detachment (a ``particle_potential`` in ``u``) the voltage averages the matrix potential
    over the matrix's collector facets and the particles' over theirs.
    """

    def __init__(self, domain: Any, u: Any, kinetics: Any, materials_section: Any, active_fraction: Any = None):
        dolfinx = import_dolfinx()
        d = self.domain = domain
        mat = materials_section

        def form(e: Any) -> Any:
            return dolfinx.fem.form(e, entity_maps=d.entity_maps)

        #: area of the current collector face (m²)
        self.collector_area = d.facet_area(tags.CURRENT_COLLECTOR)
        phi_e, c_e = u["electrolyte_potential"], u["electrolyte_concentration"]
        if "particle_potential" in u:

            self._voltage_form = form(u["solid_potential"] * d.ds_collector(tags.COLLECTOR_MATRIX)
                                      + u["particle_potential"] * d.ds_collector(tags.COLLECTOR_PARTICLES))
        else:
            self._voltage_form = form(u["solid_potential"] * d.ds(tags.CURRENT_COLLECTOR))
        self._interface_current_form = form(mat.wetted_fraction * kinetics.reaction_current * d.dS(tags.INTERFACE))
        self._lithium_current_form = form(kinetics.lithium_current * d.ds(tags.LI_METAL))
        inventory = u["particle_concentration"]
        if active_fraction is not None:
            inventory = active_fraction * inventory
        self._li_inventory_form = form(inventory * d.dx(tags.PARTICLES))
        one = dolfinx.fem.Constant(d.mesh, 1.0)
        self._phi_e_collector = (form(phi_e * d.ds_collector_electrolyte(tags.CURRENT_COLLECTOR)),
                                 self._scalar(form(one * d.ds_collector_electrolyte(tags.CURRENT_COLLECTOR))))
        self._phi_e_separator = (form(phi_e("+") * d.dS_cathode_separator(tags.CATHODE_SEPARATOR)),
                                 self._scalar(form(one * d.dS_cathode_separator(tags.CATHODE_SEPARATOR))))
        self._salt_form = form(mat.matrix_porosity * c_e * d.dx(tags.MATRIX)
                               + mat.separator_porosity * c_e * d.dx(tags.SEPARATOR))

    def _scalar(self, compiled: Any) -> float:
        dolfinx = import_dolfinx()
        from mpi4py import MPI

        return self.domain.comm.allreduce(dolfinx.fem.assemble_scalar(compiled), op=MPI.SUM)

    def voltage(self) -> float:
        """φ_ext: mean solid potential on the current collector (V)."""
        return self._scalar(self._voltage_form) / self.collector_area

    def electrolyte_potential_drop(self) -> float:
        """Δφ_l = ⟨φ_e⟩ on the collector plane − ⟨φ_e⟩ on the cathode/separator plane (V)."""
        (f_cc, a_cc), (f_sep, a_sep) = self._phi_e_collector, self._phi_e_separator
        if a_cc <= 0 or a_sep <= 0:
            return float("nan")
        return self._scalar(f_cc) / a_cc - self._scalar(f_sep) / a_sep

    def interface_current(self) -> float:
        """∫ f_w i_n dS over all particle surfaces (A)."""
        return self._scalar(self._interface_current_form)

    def lithium_current_total(self) -> float:
        """∫ i_Li ds over the Li-metal face (A)."""
        return self._scalar(self._lithium_current_form)

    def particle_lithium(self) -> float:
        """Li in the particles (mol)."""
        return self._scalar(self._li_inventory_form)

    def electrolyte_salt(self) -> float:
        """Salt in the electrolyte, ∫ ε c_e (mol)."""
        return self._scalar(self._salt_form)
