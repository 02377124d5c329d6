"""Particle table reader and box checks: each bad table gives one line naming file and row."""

from __future__ import annotations

import numpy as np
import pytest

from femsim.errors import InputError
from femsim.geometry.particles import read_particle_table, validate_in_box

from _geometry_helpers import write_table

GOOD = ["0,5,5,5,2", "1,12,5,5,2.5"]


def test_reads_columns_and_passes_extra_through(tmp_path):
    path = write_table(tmp_path / "t.csv", ["0,5,5,5,2,0.1,A", "4,12,5,5,2.5,0.0,B"],
                       header="id,x,y,z,radius,crack_fraction,damage_class")
    table = read_particle_table(path)
    assert table.ids.tolist() == [0, 4]
    np.testing.assert_allclose(table.centres[1], [12, 5, 5])
    np.testing.assert_allclose(table.radii, [2, 2.5])
    assert table.extra == {"crack_fraction": ["0.1", "0.0"], "damage_class": ["A", "B"]}
    assert read_particle_table(path).to_csv_text() == table.to_csv_text()


@pytest.mark.parametrize("rows, header, expected", [
    (["0,5,5,nan,2"], None, "row 1 (line 2) (id 0): z must be finite, got 'nan'"),
    (["0,5,5,5,2", "1,inf,5,5,2"], None, "row 2 (line 3) (id 1): x must be finite, got 'inf'"),
    (["0,5,5,5,0"], None, "row 1 (line 2) (id 0): radius must be > 0, got 0"),
    (["0,5,5,5,-1"], None, "row 1 (line 2) (id 0): radius must be > 0, got -1"),
    (["0,5,5,5,2", "0,9,9,9,2"], None, "row 2 (line 3): duplicate id 0 (also row 1)"),
    (["0,5,5,5,2"], "id,x,y,radius", "header: missing column(s) z (need id, x, y, z, radius), got id, x, y, radius"),
    ([], None, "particle table is empty (header only)"),
    (["0,5,5,five,2"], None, "row 1 (line 2) (id 0): z must be a number, got 'five'"),
    (["a,5,5,5,2"], None, "row 1 (line 2): id must be an integer, got 'a'"),
    (["0,5,5,5"], None, "row 1 (line 2): 4 values, header has 5"),
])
def test_bad_tables_one_line_error(tmp_path, rows, header, expected):
    path = write_table(tmp_path / "bad.csv", rows, header=header or "id,x,y,z,radius")
    with pytest.raises(InputError) as info:
        read_particle_table(path)
    text = info.value.format()
    assert text == f"{path}: {expected}"
    assert "\n" not in text


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="empty"):
        read_particle_table(path)


def test_wholly_outside_box(tmp_path):
    path = write_table(tmp_path / "out.csv", ["0,5,5,5,2", "1,5,5,-2.5,2"])
    table = read_particle_table(path)
    with pytest.raises(InputError) as info:
        validate_in_box(table, (20, 20, 40))
    assert info.value.format().startswith(f"{path}: row 2 (id 1): particle wholly outside the cathode box")
    validate_in_box(read_particle_table(write_table(tmp_path / "in.csv", ["0,5,5,-1.5,2"])), (20, 20, 40))


def test_overlap_beyond_tolerance_names_both_rows(tmp_path):
    path = write_table(tmp_path / "ov.csv", ["0,5,5,5,2", "1,15,15,15,2", "2,8.5,5,5,2"])
    with pytest.raises(InputError) as info:
        validate_in_box(read_particle_table(path), (20, 20, 40))
    assert info.value.format().startswith(f"{path}: rows 1 and 3 (ids 0, 2): particles overlap by 0.5 µm")
    # a shallow overlap (5 % of the radius) passes the check (the near-contact rules shrink it)
    validate_in_box(read_particle_table(write_table(tmp_path / "ok.csv", ["0,5,5,5,2", "1,8.9,5,5,2"])), (20, 20, 40))


def test_cli_bad_table_exits_2(tmp_path, capsys):
    from femsim.cli import main

    from _geometry_helpers import write_case

    table = write_table(tmp_path / "bad.csv", ["0,5,5,5,2", "1,5,5,5,-3"])
    case = write_case(tmp_path, table)
    assert main(["mesh", str(case)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {table}: row 2 (line 3) (id 1): radius must be > 0, got -3"]


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_spreadsheet_exports(tmp_path, delimiter):
    """Semicolon (decimal-comma locales, decimal commas allowed) and tab separated tables read like
    the comma-separated one; a decimal comma in a comma-separated file gets a hint."""
    rows = [("id", "x", "y", "z", "radius", "crack_fraction"), ("1", "2.5", "3.0", "4.0", "1.5", "0.05"),
            ("2", "7.5", "7.0", "4.0", "1.25", "0.12")]
    plain = tmp_path / "plain.csv"
    plain.write_text("\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
    other = tmp_path / "other.csv"
    if delimiter == ";":
        rows = [tuple(v.replace(".", ",") for v in r) for r in rows]
    other.write_text("\n".join(delimiter.join(r) for r in rows) + "\n", encoding="utf-8")
    a, b = read_particle_table(plain), read_particle_table(other)
    np.testing.assert_array_equal(a.ids, b.ids)
    np.testing.assert_array_equal(a.centres, b.centres)
    np.testing.assert_array_equal(a.radii, b.radii)
    assert b.extra["crack_fraction"] == ["0.05", "0.12"]
    bad = tmp_path / "bad.csv"
    bad.write_text('id,x,y,z,radius\n1,"2,5",3.0,4.0,1.5\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"x must be a number, got '2,5' \(a decimal comma\?"):
        read_particle_table(bad)
