"""End of life, ``protocol.termination`` (femsim.protocol_termination): PyBaMM's
'80% capacity' / '0.5 mAh/cm2 capacity' forms, the cycle's discharge capacity from the step log,
one-line errors (exit 2) for malformed texts and for a cycle without a discharge step."""

from __future__ import annotations

import pytest

from femsim.protocol import ProtocolError
from femsim.protocol_termination import cycle_discharge_capacity, parse_termination, termination_reached
from femsim.units import C_M2_PER_MAH_CM2

from _reliability_helpers import TABLE_TEXT, small_case

CASE = small_case("""\
[protocol]
areal_capacity_mAh_cm2 = 0.30
steps = {steps}
cycles = 3
termination = {termination}
[mechanics]
enabled = false
""")


@pytest.mark.parametrize("text, fraction, capacity", [
    ("80% capacity", 0.8, None), ("  12.5 % Capacity ", 0.125, None),
    ("0.5 mAh/cm2 capacity", None, 0.5), ("4 Ah/m2 capacity", None, 0.4), ("1e-2 mAh/cm^2 capacity", None, 0.01),
])
def test_forms(text, fraction, capacity):
    t = parse_termination(text)
    assert t.fraction == (pytest.approx(fraction) if fraction is not None else None)
    assert t.capacity_mAh_cm2 == (pytest.approx(capacity) if capacity is not None else None)


MALFORMED = [
    ("80%", "expected '<p>% capacity' or '<x> mAh/cm2 capacity'"),
    ("80 capacity", "expected '<p>% capacity'"),
    ("capacity", "expected '<p>% capacity'"),
    ("120% capacity", "the percentage must be in (0, 100)"),
    ("0% capacity", "the percentage must be in (0, 100)"),
    ("3 Ah capacity", "unknown capacity unit 'ah'"),
    ("0 mAh/cm2 capacity", "the capacity must be > 0"),
    ("2.5 V", "expected '<p>% capacity'"),
]


@pytest.mark.parametrize("text, message", MALFORMED)
def test_malformed(text, message):
    with pytest.raises(ProtocolError) as err:
        parse_termination(text)
    assert message in str(err.value)


def _log(*capacities_mAh_cm2: float) -> list[dict]:
    """A step log of charge + discharge cycles with the given discharge capacities."""
    log = []
    for c, cap in enumerate(capacities_mAh_cm2, start=1):
        log.append({"cycle": c, "step": 1, "charge_C_m2": 1.1 * cap * C_M2_PER_MAH_CM2})
        log.append({"cycle": c, "step": 2, "charge_C_m2": -cap * C_M2_PER_MAH_CM2})
    return log


def test_reached_after_the_first_cycle_below():
    log = _log(1.30, 1.10, 1.03, 0.90)
    assert cycle_discharge_capacity(log, 3) == pytest.approx(1.03)
    t = parse_termination("80% capacity")  # threshold 1.04 mAh/cm²
    assert termination_reached(t, log, 2) is None
    message = termination_reached(t, log, 3)
    assert message is not None and "cycle 3: discharge capacity 1.03 mAh/cm² (79.2 % of cycle 1's 1.3)" in message
    assert termination_reached(parse_termination("1.2 mAh/cm2 capacity"), log, 2) is not None


@pytest.mark.parametrize("termination, steps, message", [
    ('"80 capacity"', '["Charge at 1C until 4.2 V", "Discharge at 1C until 3.0 V"]',
     "protocol.termination: '80 capacity': expected"),
    ('"80% capacity"', '["Charge at 1C until 4.2 V", "Rest for 10 s"]',
     "protocol.termination: '80% capacity' needs a discharge step in the cycle"),
    ("80", '["Discharge at 1C until 3.0 V"]', "protocol.termination: "),
])
def test_case_errors_one_line_exit_2(tmp_path, capsys, termination, steps, message):
    from femsim.cli import main

    (tmp_path / "table.csv").write_text(TABLE_TEXT)
    (tmp_path / "case.toml").write_text(CASE.format(steps=steps, termination=termination))
    assert main(["-q", "validate", str(tmp_path / "case.toml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith(f"error: {tmp_path / 'case.toml'}: {message}"), err[0]
