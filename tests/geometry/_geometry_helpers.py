"""Helpers for the geometry tests (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def write_table(path: Path, rows: list[str], header: str = "id,x,y,z,radius") -> Path:
    path.write_text(header + "\n" + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def write_case(folder: Path, table: Path, box=(10.0, 10.0, 10.0), separator=5.0, extra_mesh: str = "") -> Path:
    case = folder / "small.toml"
    case.write_text(
        f'[geometry]\nparticle_table = "{table.as_posix()}"\nbox_um = [{box[0]}, {box[1]}, {box[2]}]\n'
        f"separator_thickness_um = {separator}\n[mesh]\n{extra_mesh}\n"
        f'[output]\nfolder = "{(folder / "results").as_posix()}"\n', encoding="utf-8")
    return case


#: three particles in a 10 µm cube: one inside, one cut by x = 10, one crossing the top (z = 10: shifted)
SMALL_ROWS = ["3,3.0,3.0,3.5,2.2", "7,9.0,6.5,4.0,2.0", "12,4.0,6.5,9.0,2.1"]


@pytest.fixture
def small_table(tmp_path: Path) -> Path:
    return write_table(tmp_path / "small.csv", SMALL_ROWS)
