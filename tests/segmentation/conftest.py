"""Shared fixtures of the segmentation tests: phantoms with ground truth, the shared real data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from femsim.segmentation import phantom

#: repo root's sibling ``shared/data`` (real tomography data; absent in a user's clone)
SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
VENDORED = Path(__file__).resolve().parent / "data"

PHANTOM_SHAPE = (96, 96, 96)


def _shared_file(*parts: str) -> Path:
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not available: {path} (needs the shared/ folder beside the repository)")
    return path


@pytest.fixture
def shared_file():
    """``shared_file(*parts)``: path of a file in ``../shared/data``; skips the test when absent."""
    return _shared_file


@pytest.fixture(scope="session")
def phantom_shape() -> tuple[int, int, int]:
    return PHANTOM_SHAPE


@pytest.fixture(scope="session")
def packing() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """60 touching spheres (mean radius 10 voxels) with crack fractions spread over the classes."""
    centres, radii = phantom.random_packing(PHANTOM_SHAPE, 60, radius_mean=10.0, radius_sd=1.5, seed=1)
    cf, branches = phantom.sample_crack_fractions(len(radii), seed=1)
    return centres, radii, cf, branches


@pytest.fixture(scope="session")
def small_phantom() -> tuple[np.ndarray, phantom.PhantomTruth]:
    """A small 48×64×64 phantom (noise 0.05) for fast CLI/IO tests."""
    shape = (48, 64, 64)
    centres, radii = phantom.random_packing(shape, 14, radius_mean=8.0, radius_sd=1.0, seed=5)
    cf, branches = phantom.sample_crack_fractions(len(radii), seed=5)
    return phantom.render_phantom(shape, centres, radii, cf, branches, noise=0.05, seed=6)
