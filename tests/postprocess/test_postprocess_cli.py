"""``femsim report`` on the command line, and reports from incomplete results folders."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from femsim.cli import main
from femsim.errors import InputError
from postprocess.demo import make_demo_results
from postprocess.reader import read_csv_table


def test_cli_report_with_out_and_measured_profile(results_dir: Path, measured, tmp_path: Path) -> None:
    profile, _ = measured
    out = tmp_path / "rep"
    rc = main(["report", str(results_dir), "--time", "300", "--measured-profile", str(profile), "--out", str(out)])
    assert rc == 0
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "fields read at 300 s" in page
    assert (out / "fig_fracture_profile.png").exists() and (out / "fracture_windows.csv").exists()
    assert "../" in page  # data files linked relative to the out folder


def test_cli_input_errors_exit_2(results_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "results folder not found" in capsys.readouterr().err
    assert main(["report", str(results_dir), "--measured-profile", str(results_dir / "timeseries.csv"),
                 "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "timeseries.csv: missing column(s) depth_min_um" in err and len(err.strip().splitlines()) == 1
    bad = tmp_path / "classes.csv"
    bad.write_text("id,damage_class\n1,cracked\n")
    assert main(["report", str(results_dir), "--measured-particles", str(bad), "--out", str(tmp_path / "r")]) == 2
    assert "damage_class 'cracked'" in capsys.readouterr().err


def test_report_without_fields_or_mechanics(tmp_path: Path) -> None:
    from postprocess.report import make_report

    folder = make_demo_results(tmp_path / "nofields", mechanics=False, fields=False)
    (folder / "probes.csv").unlink()
    rep = make_report(folder)
    names = {f.name for f in rep.figures}
    assert names == {"fig5c_potentials", "fig_depth_profiles"}
    text = " ".join(rep.warnings)
    assert (
        "particles.pvd not found" in text and "probes.csv not found" in text and "3D peak-stress view skipped" in text
    )
    assert "comparison with measured fracture skipped" in text
    page = rep.index.read_text(encoding="utf-8")
    assert "Warnings" in page and "n/a" in page


def test_not_a_results_folder(tmp_path: Path) -> None:
    from postprocess import build_report

    with pytest.raises(InputError, match="no timeseries.csv"):
        build_report(tmp_path)


def test_non_numeric_column_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "timeseries.csv"
    path.write_text("time_s,voltage_V\n0.0,np.float64(3.7)\n")
    with pytest.raises(InputError, match=r"column voltage_V is not numeric"):
        read_csv_table(path, required=("time_s", "voltage_V"))


def test_import_needs_no_solver() -> None:
    code = ("import sys, postprocess.report, postprocess.fracture, postprocess.figures_fields; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('dolfinx', 'ufl', 'petsc4py', 'mpi4py', 'gmsh')]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_report_of_a_run_that_just_started(tmp_path: Path) -> None:
    from postprocess.reader import PARTICLES_COLUMNS, PROBES_COLUMNS, TIMESERIES_COLUMNS
    from postprocess.report import make_report

    folder = tmp_path / "running"
    folder.mkdir()
    (folder / "run.json").write_text('{"status": "running", "summary": null}')
    for name, cols in (
        ("timeseries", TIMESERIES_COLUMNS),
        ("particles", PARTICLES_COLUMNS),
        ("probes", PROBES_COLUMNS),
    ):
        (folder / f"{name}.csv").write_text(",".join(cols) + "\n")
    rep = make_report(folder)
    assert rep.index.exists() and "running" in rep.index.read_text(encoding="utf-8")
    assert any("no rows yet" in w for w in rep.warnings)
