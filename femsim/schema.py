"""A small declarative schema for TOML inputs (cases, sweeps).

A section is a dataclass whose fields carry :func:`spec` metadata (unit, bounds, choices, doc).
:func:`load_section` turns a TOML table into that dataclass, collecting **every** problem as a
one-line message naming the dotted key (``protocol.c_rate: must be > 0, got -5``); unknown keys
are reported with a did-you-mean suggestion. Nothing here evaluates input: TOML is data only.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

Check = Callable[[Any], str | None]


def spec(default: Any = dataclasses.MISSING, *, unit: str = "", doc: str = "", gt: float | None = None,
         ge: float | None = None, lt: float | None = None, le: float | None = None,
         choices: tuple[Any, ...] | None = None, length: int | None = None, path: bool = False,
         check: Check | None = None, default_factory: Any = dataclasses.MISSING) -> Any:
    """Declare a schema field (wraps :func:`dataclasses.field`)."""
    meta = dict(unit=unit, doc=doc, gt=gt, ge=ge, lt=lt, le=le, choices=choices, length=length, path=path,
                check=check)
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _coerce(value: Any, tp: Any, key: str, problems: list[str]) -> Any:
    """Coerce a TOML value to the annotated type; record a problem and return None on failure."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (types.UnionType, typing.Union):
        non_none = [a for a in args if a is not type(None)]
        if value is None and len(non_none) < len(args):
            return None
        sub: list[str] = []
        for alt in non_none:
            sub = []
            out = _coerce(value, alt, key, sub)
            if not sub:
                return out
        problems.extend(sub)
        return None
    if tp is float:
        if _is_number(value):
            out = float(value)
            if not math.isfinite(out):
                problems.append(f"{key}: must be a finite number, got {value!r}")
            return out
        problems.append(f"{key}: must be a number, got {type(value).__name__} {value!r}")
        return None
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            if not -2**63 <= value < 2**63:
                problems.append(f"{key}: must fit a 64-bit integer (|value| < 2^63), got {value}")
            return value
        problems.append(f"{key}: must be an integer, got {type(value).__name__} {value!r}")
        return None
    if tp is bool:
        if isinstance(value, bool):
            return value
        problems.append(f"{key}: must be true or false, got {value!r}")
        return None
    if tp is str:
        if isinstance(value, str):
            return value
        problems.append(f"{key}: must be a string, got {type(value).__name__} {value!r}")
        return None
    if tp is Path:
        if isinstance(value, str) and value:
            return Path(value)
        problems.append(f"{key}: must be a path string, got {value!r}")
        return None
    if origin in (list, tuple):
        if not isinstance(value, list):
            problems.append(f"{key}: must be a list, got {type(value).__name__} {value!r}")
            return None
        item_tp = args[0] if args else Any
        out = [_coerce(v, item_tp, f"{key}[{i}]", problems) for i, v in enumerate(value)]
        return tuple(out) if origin is tuple else out
    if origin is dict:
        if not isinstance(value, dict):
            problems.append(f"{key}: must be a table, got {type(value).__name__} {value!r}")
            return None
        val_tp = args[1] if len(args) == 2 else Any
        return {k: (_coerce(v, val_tp, f"{key}.{k}", problems) if val_tp is not Any else v)
                for k, v in value.items()}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            problems.append(f"{key}: must be a table, got {type(value).__name__}")
            return None
        return load_section(tp, value, key, problems)
    return value


def _num(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


def _check_bounds(value: Any, meta: Mapping[str, Any], key: str, problems: list[str]) -> None:
    values = value if isinstance(value, list | tuple) else [value]
    for v in values:
        if not _is_number(v):
            continue
        for name, op, text in (("gt", lambda a, b: a > b, ">"), ("ge", lambda a, b: a >= b, ">="),
                               ("lt", lambda a, b: a < b, "<"), ("le", lambda a, b: a <= b, "<=")):
            bound = meta.get(name)
            if bound is not None and not op(v, bound):
                problems.append(f"{key}: must be {text} {_num(bound)}, got {_num(v)}")
                return


def load_section(cls: type, table: dict[str, Any], prefix: str, problems: list[str]) -> Any:
    """Build dataclass ``cls`` from ``table``; append one-line problems (dotted keys) to ``problems``."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for name, value in table.items():
        key = f"{prefix}.{name}" if prefix else name
        if name not in fields:
            close = difflib.get_close_matches(name, list(fields), n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append(f"{key}: unknown key{hint}")
            continue
        meta = fields[name].metadata
        n_before = len(problems)
        out = _coerce(value, hints[name], key, problems)
        if len(problems) > n_before:
            continue
        if meta.get("choices") is not None and out not in meta["choices"]:
            choices = ", ".join(repr(c) for c in meta["choices"])
            close = difflib.get_close_matches(str(out), [str(c) for c in meta["choices"]], n=1, cutoff=0.5)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append(f"{key}: must be one of {choices}, got {out!r}{hint}")
            continue
        if meta.get("length") is not None and out is not None and len(out) != meta["length"]:
            problems.append(f"{key}: must have {meta['length']} values, got {len(out)}")
            continue
        if out is not None:
            _check_bounds(out, meta, key, problems)
            if meta.get("check") is not None:
                msg = meta["check"](out)
                if msg:
                    problems.append(f"{key}: {msg}")
        kwargs[name] = out
    for name, f in fields.items():
        if name not in kwargs and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            key = f"{prefix}.{name}" if prefix else name
            if not any(p.startswith(f"{key}:") or p.startswith(f"{key}[") for p in problems):
                problems.append(f"{key}: required key is missing")
    try:
        return cls(**kwargs)
    except TypeError:
        return None


def resolve_paths(obj: Any, base: Path) -> None:
    """Make every ``path=True`` field of a (nested) section absolute against ``base``, in place."""
    if not dataclasses.is_dataclass(obj):
        return
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if f.metadata.get("path") and isinstance(value, Path) and not value.is_absolute():
            object.__setattr__(obj, f.name, (base / value).resolve())
        elif dataclasses.is_dataclass(value):
            resolve_paths(value, base)


def to_dict(obj: Any) -> Any:
    """Plain-data (JSON/TOML friendly) view of a section tree."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, list | tuple):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    if isinstance(obj, Path):
        return str(obj)
    return obj


def describe(cls: type, prefix: str = "") -> list[tuple[str, str, Any, str]]:
    """(dotted key, unit, default, doc) rows of a schema, for documentation."""
    rows = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        key = f"{prefix}.{f.name}" if prefix else f.name
        if dataclasses.is_dataclass(hints[f.name]):
            rows += describe(hints[f.name], key)
            continue
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else "(required)")
        rows.append((key, f.metadata.get("unit", ""), to_dict(default), f.metadata.get("doc", "")))
    return rows
