"""Cycling protocols as modellers write them: PyBaMM-style step strings → typed :class:`Step` s.

Grammar (case-insensitive; the same words and units as ``pybamm.Experiment``)::

    Charge|Discharge at <current> [for <time>] [or] [until <condition> [or <condition>]] [(<time> period)]
    Hold at <voltage> [for <time>] [or] [until <condition>]                               [(<time> period)]
    Rest for <time>                                                                        [(<time> period)]

    <current>   5C | 0.5 C | C/3 | 20 A/m2 | 2 mA/cm2        (a C-rate or a current density of the
                                                             cell's cross-section)
    <voltage>   4.2 V | 4200 mV
    <time>      30 seconds | 10 s | 10 minutes | 10 min | 2 hours | 1 h
    <condition> a voltage (CC steps), a current (hold steps: C/20, 1 A/m2), or a capacity passed in
                the step (0.5 mAh/cm2, 5 Ah/m2)

The structured TOML form ``[[protocol.step]]`` (keys ``kind``, ``value``, ``until``, ``for``,
``period``) is spelled back into that text and parsed the same way. Every problem is a one-line
:class:`ProtocolError` naming the step and its text, e.g.
``protocol.steps[2]: "Hold at 4.5 until C/20": missing unit after 4.5``. Units are SI in the
typed steps (A/m², V, s); capacities are mAh/cm² as in the case file.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from femsim.units import AH_M2_PER_MAH_CM2

KINDS = ("charge", "discharge", "hold", "rest")
#: a step's kind → what it controls
CONTROL = {"charge": "current", "discharge": "current", "hold": "voltage", "rest": "current"}
_TIME_UNITS = {"s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0, "min": 60.0, "mins": 60.0,
               "minute": 60.0, "minutes": 60.0, "h": 3600.0, "hr": 3600.0, "hrs": 3600.0, "hour": 3600.0,
               "hours": 3600.0}
#: current-density units → factor to A/m²
_CURRENT_UNITS = {"a/m2": 1.0, "a/m^2": 1.0, "a/m²": 1.0, "ma/cm2": 10.0, "ma/cm^2": 10.0, "ma/cm²": 10.0,
                  "a/cm2": 1e4, "a/cm^2": 1e4}
_VOLTAGE_UNITS = {"v": 1.0, "mv": 1e-3}
#: capacity units → factor to mAh/cm²
CAPACITY_UNITS_TO_MAH_CM2 = {"mah/cm2": 1.0, "mah/cm^2": 1.0, "mah/cm²": 1.0, "ah/m2": 0.1, "ah/m^2": 0.1, "ah/m²": 0.1}
#: a decimal number in a protocol text (regular expression)
NUMBER_PATTERN = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
#: default length of a step given no ``for``: CC steps 1.25 × (1 h / C-rate), holds 1 h
DEFAULT_HOLD_S = 3600.0


class ProtocolError(ValueError):
    """One malformed step: ``str()`` is the one-line message."""


@dataclasses.dataclass(frozen=True)
class Step:
    """One protocol step (SI units; currents are magnitudes, the kind gives the sign).

    Attributes:
        kind: ``charge``, ``discharge``, ``hold`` or ``rest``.
        text: the step as written (or spelled from the structured form).
        current_density_A_m2: applied current magnitude of a charge/discharge step (0 for rest).
        voltage_V: the held cell voltage of a ``hold`` step.
        duration_s: the step ends at this time after its start (always set: a default is used).
        until_voltage_V: CC step ends when the voltage reaches this (upwards on charge).
        until_current_A_m2: hold step ends when |i| falls to this.
        until_capacity_mAh_cm2: the step ends when |∫ i dt| over the step reaches this.
        period_s: output period during the step (None: the case's output times only).
    """

    kind: str
    text: str
    current_density_A_m2: float = 0.0
    voltage_V: float | None = None
    duration_s: float = 0.0
    until_voltage_V: float | None = None
    until_current_A_m2: float | None = None
    until_capacity_mAh_cm2: float | None = None
    period_s: float | None = None

    @property
    def sign(self) -> float:
        """+1 on charge (current into the cathode at the collector), −1 on discharge, 0 otherwise."""
        return {"charge": 1.0, "discharge": -1.0}.get(self.kind, 0.0)

    @property
    def applied_current_A_m2(self) -> float:
        """Signed applied current density of a galvanostatic step (A/m², > 0 on charge)."""
        return self.sign * self.current_density_A_m2

    @property
    def potentiostatic(self) -> bool:
        return self.kind == "hold"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _number(token: str, what: str) -> float:
    if not re.fullmatch(NUMBER_PATTERN, token):
        raise ProtocolError(f"{what}: not a number: {token!r}")
    return float(token)


def _split_value(text: str) -> tuple[str, str]:
    """'4.5 V' / '4.5V' / 'C/20' / '5C' → (number text, unit text)."""
    text = text.strip()
    m = re.fullmatch(rf"({NUMBER_PATTERN})\s*(.*)", text)
    if m:
        return m.group(1), m.group(2).strip().lower()
    return "", text.lower()


def _quantity(text: str, units: dict[str, float], what: str, example: str, names: str) -> float:
    """'<number> <unit>' → number × units[unit]; one-line errors for a missing or unknown unit."""
    num, unit = _split_value(text)
    if not num:
        raise ProtocolError(f"expected a {what} like {example!r}, got {text.strip()!r}")
    if not unit:
        raise ProtocolError(f"missing unit after {num}" + (f" ({names})" if what == "time" else ""))
    if unit not in units:
        raise ProtocolError(f"unknown {what} unit {unit!r} in {text.strip()!r} ({names})")
    return float(num) * units[unit]


def parse_time(text: str) -> float:
    """'30 minutes' → 1800.0 (s)."""
    value = _quantity(text, _TIME_UNITS, "time", "10 minutes", "seconds, minutes or hours")
    if value <= 0:
        raise ProtocolError(f"a duration must be > 0, got {text.strip()!r}")
    return value


def parse_current(text: str, one_c_A_m2: float) -> float:
    """'5C', 'C/3', '0.5 C', '20 A/m2', '2 mA/cm2' → current density magnitude (A/m²)."""
    t = text.strip().lower().replace(" ", "")
    m = re.fullmatch(rf"c/({NUMBER_PATTERN})", t)
    if m:
        den = float(m.group(1))
        if den <= 0:
            raise ProtocolError(f"C-rate divisor must be > 0, got {text.strip()!r}")
        return one_c_A_m2 / den
    num, unit = _split_value(text)
    if not num:
        raise ProtocolError(f"expected a current like '5C', 'C/3', '20 A/m2' or '2 mA/cm2', got {text.strip()!r}")
    value = float(num)
    unit = unit.replace(" ", "")
    if not unit:
        raise ProtocolError(f"missing unit after {num} (C, A/m2 or mA/cm2)")
    if value < 0:
        raise ProtocolError(f"give a positive magnitude (the kind sets the sign), got {text.strip()!r}")
    if unit == "c":
        return value * one_c_A_m2
    if unit in _CURRENT_UNITS:
        return value * _CURRENT_UNITS[unit]
    if unit in ("a", "ma"):
        raise ProtocolError(f"{text.strip()!r}: give a current density of the cross-section (A/m2, mA/cm2) "
                            f"or a C-rate, not a total current")
    if unit in ("w", "mw", "w/m2"):
        raise ProtocolError(f"{text.strip()!r}: power control is not supported")
    raise ProtocolError(f"unknown current unit {unit!r} in {text.strip()!r} (C, A/m2 or mA/cm2)")


def parse_voltage(text: str) -> float:
    """'4.2 V' / '4200 mV' → 4.2 (V)."""
    value = _quantity(text, _VOLTAGE_UNITS, "voltage", "4.2 V", "V or mV")
    if not 0.0 < value < 6.0:
        raise ProtocolError(f"voltage {value:g} V is outside (0, 6) V")
    return value


def _condition(text: str, kind: str, one_c: float) -> dict[str, float]:
    """One ``until`` condition → {field name: value}."""
    num, unit = _split_value(text)
    compact = text.strip().lower().replace(" ", "")
    if not num and not compact.startswith("c/"):
        raise ProtocolError(f"expected a condition like '4.2 V', 'C/20' or '1 mAh/cm2' after 'until', "
                            f"got {text.strip()!r}")
    if num and not unit:
        raise ProtocolError(f"missing unit after {num}")
    unit = unit.replace(" ", "")
    if unit in _VOLTAGE_UNITS:
        if kind == "hold":
            raise ProtocolError("a hold prescribes the voltage: end it on a current, capacity or time")
        if kind == "rest":
            raise ProtocolError("a rest ends on time only ('Rest for 10 minutes')")
        return {"until_voltage_V": parse_voltage(text)}
    if unit in CAPACITY_UNITS_TO_MAH_CM2:
        value = float(num) * CAPACITY_UNITS_TO_MAH_CM2[unit]
        if value <= 0:
            raise ProtocolError(f"a capacity must be > 0, got {text.strip()!r}")
        if kind == "rest":
            raise ProtocolError("a rest ends on time only ('Rest for 10 minutes')")
        return {"until_capacity_mAh_cm2": value}
    current = parse_current(text, one_c)
    if kind != "hold":
        raise ProtocolError(f"'until {text.strip()}': a current condition ends a hold, not a {kind} step")
    if current <= 0:
        raise ProtocolError(f"a current threshold must be > 0, got {text.strip()!r}")
    return {"until_current_A_m2": current}


def parse_step(text: str, one_c_A_m2: float) -> Step:
    """Parse one step string (raises :class:`ProtocolError` with a message without the step name)."""
    if not isinstance(text, str) or not text.strip():
        raise ProtocolError("empty step")
    body = " ".join(text.strip().split())
    period = None
    m = re.search(r"\(([^()]*)\bperiod\)\s*$", body, flags=re.IGNORECASE)
    if m:
        period = parse_time(m.group(1))
        body = body[: m.start()].strip()
    elif "(" in body or ")" in body:
        raise ProtocolError("only an output period may be given in brackets, e.g. '(10 second period)'")
    low = body.lower()
    until_text = None
    if " until " in f" {low} ":
        k = f" {low} ".index(" until ")
        head, until_text = body[:k].rstrip(), body[k + 5:]
        if head.lower().endswith(" or"):
            head = head[:-3].rstrip()
        body, low = head, head.lower()
    for_text = None
    if " for " in f" {low} ":
        k = f" {low} ".index(" for ")
        for_text = body[k + 4:].strip() if k > 0 else body[4:].strip()
        body = body[:k].rstrip() if k > 0 else ""
        low = body.lower()
    words = low.split()
    if not words:
        raise ProtocolError("missing instruction: start with Charge, Discharge, Hold or Rest")
    kind = words[0]
    if kind not in KINDS:
        raise ProtocolError(f"unknown instruction {words[0]!r}: start with Charge, Discharge, Hold or Rest")
    rest_of = body.split(None, 1)[1] if len(words) > 1 else ""
    fields: dict[str, Any] = {"kind": kind, "text": text.strip(), "period_s": period}
    if kind == "rest":
        if rest_of:
            raise ProtocolError(f"unexpected {rest_of!r} after 'Rest' (write 'Rest for 10 minutes')")
    else:
        if not rest_of.lower().startswith("at ") or not rest_of[3:].strip():
            raise ProtocolError(f"expected '{kind.capitalize()} at <{'voltage' if kind == 'hold' else 'current'}>'")
        value = rest_of[3:].strip()
        if kind == "hold":
            fields["voltage_V"] = parse_voltage(value)
        else:
            current = parse_current(value, one_c_A_m2)
            if current <= 0:
                raise ProtocolError(f"a {kind} current must be > 0, got {value!r}")
            fields["current_density_A_m2"] = current
    if until_text is not None:
        if not until_text.strip():
            raise ProtocolError("nothing after 'until'")
        for part in re.split(r"\s+or\s+", until_text.strip(), flags=re.IGNORECASE):
            cond = _condition(part, kind, one_c_A_m2)
            if set(cond) & {k for k, v in fields.items() if k.startswith("until_") and v is not None}:
                raise ProtocolError(f"two conditions of the same kind in 'until {until_text.strip()}'")
            fields.update(cond)
    if for_text is not None:
        fields["duration_s"] = parse_time(for_text)
    elif kind == "rest":
        raise ProtocolError("a rest needs a duration ('Rest for 10 minutes')")
    elif until_text is None:
        raise ProtocolError("needs 'for <time>' or 'until <condition>'")
    else:
        c_rate = fields.get("current_density_A_m2", 0.0) / one_c_A_m2
        fields["duration_s"] = 1.25 * 3600.0 / c_rate if kind != "hold" else DEFAULT_HOLD_S
    return Step(**fields)


def step_text_from_table(table: dict[str, Any]) -> str:
    """The structured ``[[protocol.step]]`` form spelled as a step string."""
    allowed = {"kind", "value", "until", "for", "period"}
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ProtocolError(f"unknown key {unknown[0]!r} (kind, value, until, for, period)")
    kind = table.get("kind")
    if not isinstance(kind, str) or kind.strip().lower() not in KINDS:
        raise ProtocolError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    parts = [kind.strip().capitalize()]
    for key in ("value", "for", "until", "period"):
        value = table.get(key)
        if value is not None and not isinstance(value, str | int | float) or isinstance(value, bool):
            raise ProtocolError(f"{key} must be a string like '4.2 V' or '10 minutes', got {value!r}")
    if table.get("value") is not None:
        parts.append(f"at {table['value']}")
    if table.get("for") is not None:
        parts.append(f"for {table['for']}")
    until = table.get("until")
    if until is not None:
        parts.append(("or until " if table.get("for") is not None else "until ") + str(until))
    if table.get("period") is not None:
        parts.append(f"({table['period']} period)")
    return " ".join(parts)


#: ``[protocol]`` keys that only the one-CC-step shorthand uses: an error next to ``steps``
SHORTHAND_ONLY_KEYS = ("mode", "voltage_cutoff_V", "rest_s")


def build_steps(protocol: Any, given: set[str] | None = None) -> tuple[list[Step], list[str]]:
    """The step list of a ``[protocol]`` section (one cycle) and the problems found.

    ``given`` are the keys present in the section's TOML table (shorthand keys next to ``steps``
    are reported). Without ``steps`` or ``step`` the shorthand
    ``mode``/``c_rate``/``voltage_cutoff_V``/``end_time_s``/``rest_s`` is one CC step (for the end time or
    until the cut-off) and an optional rest.
    """
    one_c = protocol.capacity_mAh_cm2 * AH_M2_PER_MAH_CM2  # A/m² of 1C
    problems: list[str] = []
    strings, tables = protocol.steps, protocol.step
    given = given or set()
    if strings is not None and tables is not None:
        return [], ["protocol.steps: give either 'steps' (strings) or [[protocol.step]] tables, not both"]
    if strings is None and tables is None:
        mode = protocol.mode.capitalize()
        text = (f"{mode} at {protocol.c_rate!r}C for {protocol.t_end_s!r} seconds "
                f"or until {protocol.voltage_cutoff_V!r} V")
        shorthand = [parse_step(text, one_c)]
        if protocol.rest_s > 0:
            shorthand.append(parse_step(f"Rest for {protocol.rest_s!r} seconds", one_c))
        return shorthand, problems
    for key in SHORTHAND_ONLY_KEYS:
        if key in given:
            problems.append(f"protocol.{key}: not used with protocol.steps (write it as a step)")
    entries: list[tuple[str, Any]] = []
    if strings is not None:
        if not isinstance(strings, list) or not strings:
            return [], problems + ["protocol.steps: must be a non-empty list of step strings"]
        entries = [(f"protocol.steps[{i}]", s) for i, s in enumerate(strings)]
    else:
        if not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
            return [], problems + ["protocol.step: must be [[protocol.step]] tables"]
        for i, table in enumerate(tables):
            try:
                entries.append((f"protocol.step[{i}]", step_text_from_table(table)))
            except ProtocolError as exc:
                entries.append((f"protocol.step[{i}]", exc))
    steps: list[Step] = []
    for key, text in entries:
        if isinstance(text, ProtocolError):
            problems.append(f"{key}: {text}")
            continue
        if not isinstance(text, str):
            problems.append(f"{key}: must be a string, got {type(text).__name__} {text!r}")
            continue
        try:
            steps.append(parse_step(text, one_c))
        except ProtocolError as exc:
            problems.append(f'{key}: "{" ".join(text.split())}": {exc}')
    return steps, problems
