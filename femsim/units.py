"""Physical constants and unit conversions, defined once for the whole package.

The solver works in SI; particle tables, CSV outputs and case files use µm, mAh/cm² and C-rates.
Convert with these factors (``x_um * UM`` is metres; ``q_C_m2 / C_M2_PER_MAH_CM2`` is mAh/cm²).
"""

#: Faraday constant (C/mol), CODATA 2018
FARADAY = 96485.33212
#: molar gas constant (J/(mol K)), CODATA 2018
GAS_CONSTANT = 8.314462618

#: one micrometre in metres
UM = 1e-6
#: 1 mAh/cm² in C/m² (3.6 C/mAh × 10⁴ cm²/m²); also 1 mWh/cm² in J/m²
C_M2_PER_MAH_CM2 = 36.0e3
#: 1 mAh/cm² in A h/m² (the current density of 1C in A/m² per mAh/cm² of capacity)
AH_M2_PER_MAH_CM2 = 10.0
