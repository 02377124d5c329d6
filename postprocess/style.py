"""Shared figure style and output: matplotlib (Agg backend) figures saved atomically as PNG."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402

from femsim.io.atomic import atomic_open  # noqa: E402

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

DPI = 200  #: PNG resolution (dots per inch)
SINGLE_COLUMN_IN = 3.5  #: journal single-column width (inch)
DOUBLE_COLUMN_IN = 7.0  #: journal double-column width (inch)
CMAP_CONC = "viridis"  #: colour map for c/c_max
CMAP_STRESS = "inferno"  #: colour map for σ_eq
PROBE_COLOURS = {"Ps": "tab:red", "Pcc": "tab:blue"}
PROBE_LABELS = {"Ps": r"$P_s$ (separator side)", "Pcc": r"$P_{cc}$ (collector side)"}
CLASS_COLOURS = {"least": "#4daf4a", "mild": "#ff7f00", "severe": "#e41a1c"}

RC: dict[RcKeyType, Any] = {
    "font.size": 8,
    "axes.labelsize": 8,
    "axes.titlesize": 8,
    "legend.fontsize": 7,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "lines.linewidth": 1.2,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "savefig.bbox": "tight",
}


@dataclass
class FigureResult:
    """A figure written to disk, with what it plotted (for tests and the report).

    Attributes:
        name: short identifier (file stem).
        path: the PNG file.
        caption: one-sentence description for the report (units included).
        figure: the matplotlib Figure (kept alive so tests can read the artists).
        data: the arrays plotted, keyed by a descriptive name (plot units).
    """

    name: str
    path: Path
    caption: str
    figure: Figure
    data: dict[str, Any] = field(default_factory=dict)


def style() -> Any:
    """Context manager applying the house style; build each whole figure inside it."""
    return matplotlib.rc_context(RC)


def new_figure(width_in: float, height_in: float, **subplots: Any) -> tuple[Figure, Any]:
    """A pyplot-free figure (no global state) with ``subplots`` axes; call inside :func:`style`."""
    fig = Figure(figsize=(width_in, height_in), dpi=DPI, layout="constrained")
    axes = fig.subplots(**subplots)
    return fig, axes


def save_figure(fig: Figure, path: Path) -> Path:
    """Write ``fig`` as PNG atomically and return the path."""
    with matplotlib.rc_context(RC), atomic_open(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=DPI)
    return path
