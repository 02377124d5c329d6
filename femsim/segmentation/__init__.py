"""Segmentation of tomography images into particle tables (``femsim segment``).

Modules: :mod:`~femsim.segmentation.io` (readers), :mod:`~femsim.segmentation.filters` (grey-level
stages), :mod:`~femsim.segmentation.segment` (envelopes, watershed), :mod:`~femsim.segmentation.measure`
(per-particle measurements), :mod:`~femsim.segmentation.damage` (classes, depth profile),
:mod:`~femsim.segmentation.network` (severe-damage neighbour network),
:mod:`~femsim.segmentation.phantom` (synthetic phantoms with ground truth),
:mod:`~femsim.segmentation.pipeline` (the stages chained), :mod:`~femsim.segmentation.outputs`
(files written by the command) and :mod:`~femsim.segmentation.workflow` (read → segment → write →
``report.json``).

Typical use::

    femsim segment scan.tif --voxel-size 0.398 --out seg/ --window-size 20,20,40

"""
