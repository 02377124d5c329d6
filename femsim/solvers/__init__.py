"""Nonlinear/linear solver presets, the coupled half-cell problem and adaptive time stepping."""
