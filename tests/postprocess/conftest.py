"""Fixtures: a small synthetic-but-consistent results folder (docs/results_format.md) and the
report built from it once per session."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from postprocess.demo import make_demo_measured, make_demo_results


def read_columns(path: Path) -> dict[str, list[str]]:
    """CSV columns as lists of strings, read independently of postprocess.reader."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return {k: [r[k] for r in rows] for k in rows[0]}


def floats(values: list[str]) -> np.ndarray:
    return np.array([float(v) for v in values])


@pytest.fixture(scope="session")
def columns():
    """``columns(path) -> {name: float array or list of str}`` read with the csv module only."""

    def read(path: Path) -> dict:
        out = {}
        for k, v in read_columns(path).items():
            try:
                out[k] = floats(v)
            except ValueError:
                out[k] = v
        return out

    return read


@pytest.fixture(scope="session")
def results_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_demo_results(tmp_path_factory.mktemp("results") / "5C")


@pytest.fixture(scope="session")
def measured(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_demo_measured(tmp_path_factory.mktemp("measured"))


@pytest.fixture(scope="session")
def report(results_dir: Path, measured: tuple[Path, Path]):
    from postprocess.report import make_report

    profile, particles = measured
    return make_report(results_dir, time_s=150.0, measured_profile=profile, measured_particles=particles,
                       compare_with=[results_dir])
