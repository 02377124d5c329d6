"""femsim.schema: TOML tables to dataclasses, every problem as one line naming the dotted key."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from femsim.schema import describe, load_section, resolve_paths, spec, to_dict


@dataclasses.dataclass
class Inner:
    file: Path | None = spec(None, path=True, doc="a file next to the case")
    weights: dict[str, float] = spec(default_factory=dict)


@dataclasses.dataclass
class Section:
    rate: float = spec(unit="1/h", gt=0, doc="C-rate")
    steps: int = spec(10, ge=1, le=1000)
    kind: str = spec("cc", choices=("cc", "cv", "rest"))
    box_um: list[float] = spec(default_factory=lambda: [1.0, 2.0, 3.0], length=3, gt=0, unit="µm")
    pair: tuple[int, ...] = spec((1, 2))
    enabled: bool = spec(False)
    label: str | None = spec(None, check=lambda s: None if s.isidentifier() else "must be an identifier")
    inner: Inner = spec(default_factory=Inner)


def _load(table: dict) -> tuple[Section | None, list[str]]:
    problems: list[str] = []
    return load_section(Section, table, "sec", problems), problems


def test_valid_table_is_coerced() -> None:
    sec, problems = _load({"rate": 5, "steps": 3, "kind": "cv", "box_um": [10, 20.5, 30], "pair": [4, 5],
                           "enabled": True, "label": "ok", "inner": {"file": "t.csv", "weights": {"a": 2}}})
    assert problems == []
    assert sec is not None
    assert sec.rate == 5.0 and isinstance(sec.rate, float)
    assert (sec.steps, sec.kind, sec.box_um, sec.pair, sec.enabled) == (3, "cv", [10.0, 20.5, 30.0], (4, 5), True)
    assert sec.inner.file == Path("t.csv") and sec.inner.weights == {"a": 2.0}


def test_defaults_fill_missing_optional_keys() -> None:
    sec, problems = _load({"rate": 0.5})
    assert problems == [] and sec is not None
    assert (sec.steps, sec.kind, sec.box_um, sec.pair, sec.label) == (10, "cc", [1.0, 2.0, 3.0], (1, 2), None)


@pytest.mark.parametrize("table, message", [
    ({}, "sec.rate: required key is missing"),
    ({"rate": -5}, "sec.rate: must be > 0, got -5"),
    ({"rate": 0.0}, "sec.rate: must be > 0, got 0"),
    ({"rate": "fast"}, "sec.rate: must be a number, got str 'fast'"),
    ({"rate": True}, "sec.rate: must be a number, got bool True"),
    ({"rate": float("inf")}, "sec.rate: must be a finite number, got inf"),
    ({"rate": 1, "steps": 0}, "sec.steps: must be >= 1, got 0"),
    ({"rate": 1, "steps": 1001}, "sec.steps: must be <= 1000, got 1001"),
    ({"rate": 1, "steps": 2.5}, "sec.steps: must be an integer, got float 2.5"),
    ({"rate": 1, "steps": 2**63}, "sec.steps: must fit a 64-bit integer (|value| < 2^63), got 9223372036854775808"),
    ({"rate": 1, "kind": "rst"}, "sec.kind: must be one of 'cc', 'cv', 'rest', got 'rst' (did you mean 'rest'?)"),
    ({"rate": 1, "box_um": [1.0, 2.0]}, "sec.box_um: must have 3 values, got 2"),
    ({"rate": 1, "box_um": [1.0, -2.0, 3.0]}, "sec.box_um: must be > 0, got -2"),
    ({"rate": 1, "box_um": 10.0}, "sec.box_um: must be a list, got float 10.0"),
    ({"rate": 1, "box_um": [1.0, "x", 3.0]}, "sec.box_um[1]: must be a number, got str 'x'"),
    ({"rate": 1, "enabled": 3}, "sec.enabled: must be true or false, got 3"),
    ({"rate": 1, "label": "not ok"}, "sec.label: must be an identifier"),
    ({"rate": 1, "label": 7}, "sec.label: must be a string, got int 7"),
    ({"rate": 1, "rat": 2}, "sec.rat: unknown key (did you mean 'rate'?)"),
    ({"rate": 1, "zzz": 2}, "sec.zzz: unknown key"),
    ({"rate": 1, "inner": 3}, "sec.inner: must be a table, got int"),
    ({"rate": 1, "inner": {"file": ""}}, "sec.inner.file: must be a path string, got ''"),
    ({"rate": 1, "inner": {"weights": {"a": "b"}}}, "sec.inner.weights.a: must be a number, got str 'b'"),
])
def test_each_problem_is_one_line_naming_the_key(table: dict, message: str) -> None:
    _, problems = _load(table)
    assert problems == [message]


def test_every_problem_is_collected() -> None:
    sec, problems = _load({"rate": -1, "steps": 0, "kind": "x", "extra": 1})
    assert problems == ["sec.rate: must be > 0, got -1", "sec.steps: must be >= 1, got 0",
                        "sec.kind: must be one of 'cc', 'cv', 'rest', got 'x'", "sec.extra: unknown key"]


def test_resolve_paths_and_to_dict(tmp_path: Path) -> None:
    sec, _ = _load({"rate": 2, "inner": {"file": "t.csv"}})
    assert sec is not None
    resolve_paths(sec, tmp_path)
    assert sec.inner.file == (tmp_path / "t.csv").resolve()
    assert to_dict(sec) == {"rate": 2.0, "steps": 10, "kind": "cc", "box_um": [1.0, 2.0, 3.0], "pair": [1, 2],
                            "enabled": False, "label": None,
                            "inner": {"file": str((tmp_path / "t.csv").resolve()), "weights": {}}}


def test_describe_lists_dotted_keys_units_defaults_docs() -> None:
    rows = {key: (unit, default, doc) for key, unit, default, doc in describe(Section, "sec")}
    assert list(rows) == ["sec.rate", "sec.steps", "sec.kind", "sec.box_um", "sec.pair", "sec.enabled", "sec.label",
                          "sec.inner.file", "sec.inner.weights"]
    assert rows["sec.rate"] == ("1/h", "(required)", "C-rate")
    assert rows["sec.box_um"] == ("µm", [1.0, 2.0, 3.0], "")
    assert rows["sec.inner.file"] == ("", None, "a file next to the case")
