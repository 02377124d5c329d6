"""Protocol steps as modellers write them: the PyBaMM-style grammar, the structured
``[[protocol.step]]`` form, the shorthand, and malformed steps each rejected with one line naming
``protocol.steps[i]`` and its text (exit code 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from femsim.case import parse_case
from femsim.protocol import ProtocolError, parse_step

from _reliability_helpers import TABLE_TEXT, run_femsim, small_case

ONE_C = 3.0  # A/m²

CASE = small_case("""\
[protocol]
areal_capacity_mAh_cm2 = 0.30
{protocol}
[mechanics]
enabled = false
""")


@pytest.mark.parametrize("text, expect", [
    ("Charge at 5C until 4.5 V", dict(kind="charge", current_density_A_m2=15.0, until_voltage_V=4.5,
                                      duration_s=900.0)),
    ("Discharge at 1C for 30 minutes", dict(kind="discharge", current_density_A_m2=3.0, duration_s=1800.0)),
    ("Discharge at C/3 for 2 hours or until 2.5 V", dict(current_density_A_m2=1.0, duration_s=7200.0,
                                                         until_voltage_V=2.5)),
    ("Charge at 20 A/m2 until 4.2 V", dict(current_density_A_m2=20.0, until_voltage_V=4.2)),
    ("Charge at 2 mA/cm2 until 4.2 V", dict(current_density_A_m2=20.0)),
    ("Hold at 4.5 V until C/20", dict(kind="hold", voltage_V=4.5, until_current_A_m2=0.15, duration_s=3600.0)),
    ("Hold at 4.2 V for 10 minutes", dict(voltage_V=4.2, duration_s=600.0, until_current_A_m2=None)),
    ("Rest for 10 minutes", dict(kind="rest", duration_s=600.0, current_density_A_m2=0.0)),
    ("Rest for 30 seconds", dict(duration_s=30.0)),
    ("CHARGE AT 0.5 C UNTIL 4.1V (10 second period)", dict(current_density_A_m2=1.5, until_voltage_V=4.1,
                                                          period_s=10.0)),
    ("Discharge at 1C until 0.1 mAh/cm2 or 3 V", dict(until_capacity_mAh_cm2=0.1, until_voltage_V=3.0)),
    ("Hold at 4200 mV until 1 A/m2 or 1 Ah/m2", dict(voltage_V=4.2, until_current_A_m2=1.0,
                                                     until_capacity_mAh_cm2=0.1)),
    ("Rest for 1 h", dict(duration_s=3600.0)),
])
def test_grammar(text, expect):
    step = parse_step(text, ONE_C)
    for key, value in expect.items():
        got = getattr(step, key)
        assert got == (pytest.approx(value) if isinstance(value, float) else value), key


MALFORMED = [
    ("Hold at 4.5 until C/20", "missing unit after 4.5"),
    ("Charge at 5C", "needs 'for <time>' or 'until <condition>'"),
    ("Rest until 4 V", "a rest ends on time only"),
    ("Hold at 4.2 V until 4.1 V", "a hold prescribes the voltage"),
    ("Charge at 5 A until 4.2 V", "not a total current"),
    ("Charge at 5 W for 1 h", "power control is not supported"),
    ("Charge at -5C until 4.2 V", "give a positive magnitude"),
    ("Jump at 5C for 1 h", "unknown instruction 'jump'"),
    ("Charge 5C until 4.2 V", "expected 'Charge at <current>'"),
    ("Discharge at 1C for 30 parsecs", "unknown time unit 'parsecs'"),
    ("Rest for 10", "missing unit after 10"),
    ("Charge at 1C until 4.2 V (10 second)", "only an output period may be given in brackets"),
    ("Charge at 1C until", "nothing after 'until'"),
    ("Charge at 1C until C/20", "a current condition ends a hold"),
    ("Hold at 9 V for 1 h", "outside (0, 6) V"),
    ("Rest for 0 s", "a duration must be > 0"),
    ("Charge at C/0 until 4.2 V", "C-rate divisor must be > 0"),
    ("Charge at 1C until 4.2 V or 4.3 V", "two conditions of the same kind"),
]


@pytest.mark.parametrize("text, message", MALFORMED)
def test_malformed_step_one_line(tmp_path, capsys, text, message):
    from femsim.cli import main

    (tmp_path / "table.csv").write_text(TABLE_TEXT)
    steps = json.dumps(["Rest for 1 s", text])
    (tmp_path / "case.toml").write_text(CASE.format(protocol=f"steps = {steps}"))
    assert main(["-q", "validate", str(tmp_path / "case.toml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith(f'error: {tmp_path / "case.toml"}: protocol.steps[1]: "{text}": '), err[0]
    assert message in err[0]


def test_issue_example_message():
    with pytest.raises(ProtocolError, match=r"^missing unit after 4\.5$"):
        parse_step("Hold at 4.5 until C/20", ONE_C)


def _parse(tmp_path: Path, protocol: str):
    (tmp_path / "table.csv").write_text(TABLE_TEXT)
    import tomllib

    data = tomllib.loads(CASE.format(protocol=protocol))
    return parse_case(data, tmp_path / "case.toml")


def test_structured_form_equals_strings(tmp_path):
    strings = _parse(tmp_path, 'cycles = 3\nsteps = ["Charge at 5C until 4.5 V", "Hold at 4.5 V until C/20", '
                               '"Rest for 10 minutes", "Discharge at 5C for 1 hour or until 2.5 V (10 second period)"]')
    tables = _parse(tmp_path, 'cycles = 3\n'
                              '[[protocol.step]]\nkind = "charge"\nvalue = "5C"\nuntil = "4.5 V"\n'
                              '[[protocol.step]]\nkind = "hold"\nvalue = "4.5 V"\nuntil = "C/20"\n'
                              '[[protocol.step]]\nkind = "rest"\nfor = "10 minutes"\n'
                              '[[protocol.step]]\nkind = "discharge"\nvalue = "5C"\nfor = "1 hour"\nuntil = "2.5 V"\n'
                              'period = "10 second"\n')
    a, b = strings.protocol.cycle_steps(), tables.protocol.cycle_steps()
    assert [dict(s.to_dict(), text="") for s in a] == [dict(s.to_dict(), text="") for s in b]
    assert strings.protocol.cycles == tables.protocol.cycles == 3
    assert b[3].period_s == 10.0 and b[3].until_voltage_V == 2.5


def test_structured_form_errors_name_the_table(tmp_path):
    from femsim.errors import InputError

    with pytest.raises(InputError) as info:
        _parse(tmp_path, '[[protocol.step]]\nkind = "hold"\nvalue = "4.5"\nuntil = "C/20"\n'
                         '[[protocol.step]]\nkind = "wait"\n')
    problems = [info.value.message] + info.value.problems
    assert problems[0] == 'protocol.step[0]: "Hold at 4.5 until C/20": missing unit after 4.5'
    assert problems[1].startswith("protocol.step[1]: kind must be one of")


def test_shorthand_is_one_cc_step_and_rest(tmp_path):
    case = _parse(tmp_path, "c_rate = 2.0\nmode = \"discharge\"\ninitial_stoichiometry = 0.5\n"
                            "voltage_cutoff_V = 3.0\nend_time_s = 100.0\nrest_s = 5.0")
    cc, rest = case.protocol.cycle_steps()
    assert (cc.kind, cc.current_density_A_m2, cc.duration_s, cc.until_voltage_V) == ("discharge", 6.0, 100.0, 3.0)
    assert (rest.kind, rest.duration_s) == ("rest", 5.0)


def test_shorthand_keys_next_to_steps_rejected(tmp_path):
    from femsim.errors import InputError

    with pytest.raises(InputError, match="protocol.mode: not used with protocol.steps"):
        _parse(tmp_path, 'mode = "charge"\nsteps = ["Rest for 1 s"]')


def test_validate_exit_code_in_a_process(tmp_path):
    (tmp_path / "table.csv").write_text(TABLE_TEXT)
    (tmp_path / "case.toml").write_text(CASE.format(protocol='steps = ["Charge at 5C until 4.5", "Rest for 1 s"]'))
    proc = run_femsim(["validate", "case.toml"], cwd=tmp_path)
    assert proc.returncode == 2
    assert (
        proc.stderr.strip() == 'error: case.toml: protocol.steps[0]: "Charge at 5C until 4.5": missing unit after 4.5'
    )
