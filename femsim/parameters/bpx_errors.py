"""pydantic validation errors of a BPX document → one line naming the BPX field.

Locations are written with BPX field names, ``Section/Subsection/Field [unit]``; the union members
pydantic tries for a function field (number, expression, table) give one error each, of which the
one matching what the file holds is kept; an unknown field is matched against the missing ones
("did you mean ...?": a wrong unit string is a wrong field name in BPX).
"""

from __future__ import annotations

import difflib
from typing import Any


class Refusal(Exception):
    """A BPX problem at ``field`` (written ``Section/Sub/Field [unit]``)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


def validation_refusal(exc: Any, raw: dict, known_fields: list[str]) -> Refusal:
    """The most telling pydantic error, its location written with BPX field names (``known_fields``:
    the BPX fields femsim reads, suggested for a misspelt one)."""
    errors = exc.errors()
    extra = [e for e in errors if e["type"] == "extra_forbidden"]
    missing = [e for e in errors if e["type"] == "missing"]
    if extra:
        e = extra[0]
        path, _node = _path(e["loc"], raw)
        name = str(e["loc"][-1])
        choices = [str(m["loc"][-1]) for m in missing]
        close = difflib.get_close_matches(name, choices or known_fields, n=1, cutoff=0.5)
        hint = f" (did you mean '{close[0]}'? units are part of BPX field names)" if close else ""
        return Refusal(path, f"unknown BPX field{hint}")
    if missing:
        return Refusal(_path(missing[0]["loc"], raw)[0], "required BPX field is missing")
    # union members ('float', 'int', 'function-after[...]', 'InterpolatedTable') give one error each: keep the
    # one that matches what the file holds
    by_path: dict[str, list[dict]] = {}
    for e in errors:
        tags = [i for i, item in enumerate(e["loc"]) if isinstance(item, str) and item.startswith(_UNION_TAGS)]
        by_path.setdefault(_path(e["loc"][:tags[0]] if tags else e["loc"], raw)[0], []).append(e)
    path, errs = next(iter(by_path.items()))
    value = _lookup(path, raw)
    if len(errs) > 1:
        tag = "function-after" if isinstance(value, str) else ("InterpolatedTable" if isinstance(value, dict) else "")
        chosen = [e for e in errs if tag and any(str(p).startswith(tag) for p in e["loc"])]
        if chosen:
            errs = chosen
        elif not tag:
            return Refusal(path, f"must be a number, an expression string or a table, got {value!r}")
    msg = errs[0]["msg"].removeprefix("Value error, ")
    return Refusal(path, msg)


_UNION_TAGS = ("float", "int", "function-after", "InterpolatedTable", "Electrode", "str", "dict")


def _path(loc: tuple, raw: dict) -> tuple[str, Any]:
    """loc → 'Section/Field' with union tags dropped (loc may be relative to Parameterisation)."""
    node: Any = raw
    parts: list[str] = []
    if loc and loc[0] not in raw and isinstance(raw.get("Parameterisation"), dict):
        node, parts = raw["Parameterisation"], ["Parameterisation"]
    for item in loc:
        if isinstance(node, dict) and item in node:
            parts.append(str(item))
            node = node[item]
        elif isinstance(node, list) and isinstance(item, int) and item < len(node):
            parts.append(str(item))
            node = node[item]
        elif isinstance(node, dict) and isinstance(item, str) and not item.startswith(_UNION_TAGS):
            parts.append(item)  # a missing field: named by the schema
            node = None
    return "/".join(parts) or "(top level)", node


def _lookup(path: str, raw: dict) -> Any:
    node: Any = raw
    for part in path.split("/"):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit():
            node = node[int(part)]
        else:
            return None
    return node
