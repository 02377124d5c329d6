"""femsim: microstructure-resolved electro-chemo-mechanical simulation of Li-ion electrodes.

The package is organised along the data flow (see ``docs`` in the README):
segmentation → geometry → model/physics/solvers → io → postprocess; sweeps on top.
Importing :mod:`femsim` is cheap: DOLFINx is imported only by the modules that need it.
"""

__version__ = "0.1.0"
