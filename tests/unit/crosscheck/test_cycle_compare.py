"""The cycle cross-check's voltage RMS is a time RMS over the common span, whatever the samples.

A discharge whose reference (PyBaMM) collapses by 300 mV in its last second, compared with a 3D run
that does not and ends later, must give the same RMS whether the 3D run took 1 s or 7 s steps
there: the difference lasts one second of the common span, not the length of the 3D step that ends
inside it, and the span ends where the reference ends, not at the last 3D sample before it.
"""

from __future__ import annotations

import numpy as np

from femsim.crosscheck.cycle import StepSeries, compare_steps, time_grid


def _discharge(times_s: np.ndarray, collapse: bool) -> StepSeries:
    voltage = 3.6 - 1e-4 * times_s
    if collapse:  # the last second: down 300 mV
        voltage = voltage - 0.3 * np.clip(times_s - (times_s[-1] - 1.0), 0.0, 1.0)
    return StepSeries("discharge", times_s, voltage, np.full_like(times_s, -10.0))


def test_time_grid_spans_the_common_window_with_every_sample():
    a, b = np.array([0.0, 3.0, 10.0]), np.array([0.0, 0.5, 8.0, 12.0])
    grid = time_grid(a, b, spacing_s=1.0)
    assert grid[0] == 0.0 and grid[-1] == 10.0
    assert set(a) <= set(grid) and {0.5, 8.0} <= set(grid)
    assert np.max(np.diff(grid)) <= 1.0 + 1e-12


def test_voltage_rms_does_not_depend_on_the_3d_steps():
    reference = _discharge(np.linspace(0.0, 1000.0, 20001), collapse=True)
    rms = []
    for step_s in (1.0, 7.0):
        # the 3D run goes on 60 s past the reference's end (as the softplus 3D discharge does); with
        # 7 s steps its last sample before 1000 s is at 994 s, so a window cut at the last 3D sample
        # would leave the collapse out
        times = np.arange(0.0, 1060.0, step_s)
        rms.append(compare_steps([_discharge(times, collapse=False)], [reference])["rms_voltage_galvanostatic_V"])
    # exact: sqrt(∫_0^1 (0.3 s)^2 ds / 1000 s) = 0.3 / sqrt(3000) = 5.48 mV
    assert np.allclose(rms, 0.3 / np.sqrt(3000.0), rtol=0.05)
    assert abs(rms[0] - rms[1]) < 0.02 * rms[0]


def test_identical_curves_on_different_samples_agree():
    fine = StepSeries("charge", np.linspace(0.0, 600.0, 601), 3.7 + 1e-3 * np.sqrt(np.linspace(0.0, 600.0, 601)),
                      np.full(601, 10.0))
    t = np.array([0.0, 10.0, 40.0, 100.0, 250.0, 600.0])
    coarse = StepSeries("charge", t, 3.7 + 1e-3 * np.sqrt(t), np.full(t.size, 10.0))
    # only the 3D's linear interpolation between its 6 samples of a square-root curve (0.30 mV)
    assert compare_steps([coarse], [fine])["rms_voltage_galvanostatic_V"] < 0.4e-3
    # the same samples on both sides: no difference at all
    assert compare_steps([coarse], [coarse])["rms_voltage_galvanostatic_V"] == 0.0
