"""Segmentation of tomography images into particle tables (``femsim segment``).

Modules: :mod:`~femsim.segmentation.io` (readers), :mod:`~femsim.segmentation.filters` (grey-level
stages), :mod:`~femsim.segmentation.segment` (envelopes, watershed), :mod:`~femsim.segmentation.measure`
(per-particle measurements), :mod:`~femsim.segmentation.damage` (classes, depth profile),
:mod:`~femsim.segmentation.network` (severe-damage neighbour network),
:mod:`~femsim.segmentation.phantom` (synthetic phantoms with ground truth),
:mod:`~femsim.segmentation.pipeline` (the stages chained) and :mod:`~femsim.segmentation.outputs`
(files written by the command).
"""
