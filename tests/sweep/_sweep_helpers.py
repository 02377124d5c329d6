"""Shared helpers of the sweep tests: a fast sweep over the 4-particle CI case."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "cases" / "ci" / "tiny.toml"

#: makes the tiny case as cheap as it gets: one or two steps, no mechanics, no field files
FAST_SET = """"protocol.end_time_s" = 1.0
"output.fields" = false
"output.times_s" = []
"output.progress" = false
"mechanics.enabled" = false
"""


def write_sweep(folder: Path, body: str, name: str = "test sweep", base: Path = TINY, fast: bool = True,
                sweep_folder: str | None = None, file_name: str = "sweep.toml", extra_set: str = "") -> Path:
    """Write a sweep file over ``base`` (the tiny CI case): [sweep], [set] (fast settings), then ``body``."""
    from femsim.sweep.tomlw import quote_string

    folder.mkdir(parents=True, exist_ok=True)
    text = f"[sweep]\nname = {quote_string(name)}\nbase = {quote_string(str(base))}\n"
    if sweep_folder is not None:
        text += f"folder = {quote_string(sweep_folder)}\n"
    text += "\n[set]\n" + (FAST_SET if fast else "") + extra_set + "\n" + body
    path = folder / file_name
    path.write_text(text, encoding="utf-8")
    return path
