"""Shared fixtures: a BPX document femsim writes itself (export of the tiny CI case)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "cases" / "ci" / "tiny.toml"


@pytest.fixture(scope="module")
def exported_tiny(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The BPX document of the tiny case's NMC622 + Nyman2008 (validated by bpx when written)."""
    from femsim.case import load_case
    from femsim.parameters.bpx_export import export_bpx

    out = tmp_path_factory.mktemp("bpx") / "tiny.json"
    export_bpx(load_case(TINY), out)
    return json.loads(out.read_text(encoding="utf-8"))
