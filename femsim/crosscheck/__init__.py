"""Cross-checks of the 3D resolved model against established reduced models.

* :mod:`femsim.crosscheck.tortuosity` – effective ionic transport of a meshed electrode (steady
  conduction through the electrolyte-filled matrix with the particles as insulating obstacles),
  tortuosity factor, equivalent Bruggeman exponent, Maxwell–Garnett estimate;
* :mod:`femsim.crosscheck.arrays` – the homogenised-limit case family: regular arrays of equal
  spheres written as particle tables and case files;
* :mod:`femsim.crosscheck.pybamm_model` – the equivalent PyBaMM Li-metal half-cell DFN built from
  a case and its measured effective properties (``pybamm`` is imported inside functions: femsim
  itself never needs it);
* :mod:`femsim.crosscheck.compare` – runs both models and reports RMS/max voltage difference, time
  to cut-off, Δφ_l and the separator/collector-side state of charge, with an overlay figure.
"""
