"""Fixtures of the reliability tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from _reliability_helpers import run_femsim, write_restart_case


@pytest.fixture(scope="session")
def meshed(tmp_path_factory) -> Path:
    """Mesh the restart geometry once (``femsim mesh``); runs share it through ``mesh.file``."""
    folder = tmp_path_factory.mktemp("restart_mesh")
    case = write_restart_case(folder)
    proc = run_femsim(["mesh", str(case), "--out", str(folder / "mesh")])
    assert proc.returncode == 0, proc.stderr
    return folder / "mesh" / "rve.msh"
