"""A small TOML writer for generated case files (no third-party dependency).

Supports what a case holds: tables, strings, booleans, integers, finite floats, lists of those
(nested lists included). ``None`` values are left out (TOML has no null; the case schema's
default then applies, and every default of a case key that may be ``None`` is ``None``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def quote_string(text: str) -> str:
    """A TOML basic string with every special character escaped."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def format_key(key: str) -> str:
    """A bare key when possible, else a quoted one."""
    return key if _BARE_KEY.match(key) else quote_string(key)


def format_value(value: Any) -> str:
    """One TOML value (inline)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot write non-finite number {value!r} to TOML")
        text = repr(value)
        return text if any(c in text for c in ".eE") else text + ".0"
    if isinstance(value, str):
        return quote_string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(format_value(v) for v in value if v is not None) + "]"
    if isinstance(value, Mapping):
        items = [f"{format_key(str(k))} = {format_value(v)}" for k, v in value.items() if v is not None]
        return "{ " + ", ".join(items) + " }" if items else "{}"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def dumps(data: Mapping[str, Any], header: str = "") -> str:
    """TOML text of a two-level document: top-level scalars, then one ``[table]`` per section.

    Sub-tables inside a section (e.g. ``materials.cathode_overrides``) are written inline.
    """
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    scalars = {k: v for k, v in data.items() if not isinstance(v, Mapping) and v is not None}
    for key, value in scalars.items():
        lines.append(f"{format_key(key)} = {format_value(value)}")
    for key, value in data.items():
        if not isinstance(value, Mapping):
            continue
        if lines:
            lines.append("")
        lines.append(f"[{format_key(key)}]")
        for sub, v in value.items():
            if v is None:
                continue
            lines.append(f"{format_key(str(sub))} = {format_value(v)}")
    return "\n".join(lines) + "\n"
