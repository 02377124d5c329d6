"""Helpers of the material tests: a case on the tiny geometry."""

from __future__ import annotations

import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def write_case(folder: Path, materials: dict[str, object], protocol: dict[str, object] | None = None) -> Path:
    """A case on the tiny geometry with ``[materials]`` (and ``[protocol]``) keys."""
    def value(v: object) -> str:
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"
        return json.dumps(str(v)) if isinstance(v, str | Path) else repr(v)

    lines = ["[geometry]", f"particle_table = {json.dumps(str(REPO / 'meshes' / 'tiny_6.csv'))}",
             "box_um = [10.0, 10.0, 20.0]", "separator_thickness_um = 5.0", "[materials]"]
    lines += [f"{k} = {value(v)}" for k, v in materials.items()]
    if protocol:
        lines += ["[protocol]"] + [f"{k} = {value(v)}" for k, v in protocol.items()]
    path = folder / "case.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
