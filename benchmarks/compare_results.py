"""Compare two results folders table by table: the largest relative difference per file.

    python benchmarks/compare_results.py REFERENCE OTHER [--files timeseries.csv particles.csv probes.csv]
        [--rtol 1e-10]

For every file: the same header, the same number of rows, text columns equal, and for the numeric
columns the largest |b − a| / max(|a|, |b|) over all cells (0 where both are 0; NaN equals NaN).
Prints one line per file and exits 1 if a file differs beyond ``--rtol`` (or in shape/header/text).
Used for refactors that must not change a run (issue #16: 1e-10 relative against the parent commit).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from postprocess.reader import read_csv_table

FILES = ("timeseries.csv", "particles.csv", "probes.csv")


def max_relative_difference(reference: Path, other: Path) -> tuple[float, str]:
    """(largest relative difference of the numeric cells, the column where it is) of two CSV tables;
    raises ValueError when headers, row counts or text cells differ."""
    a, b = read_csv_table(reference), read_csv_table(other)
    if list(a) != list(b):
        raise ValueError(f"headers differ: {list(a)} vs {list(b)}")
    worst, where = 0.0, ""
    for name in a:
        x, y = a[name], b[name]
        if x.shape != y.shape:
            raise ValueError(f"{name}: {x.shape[0]} vs {y.shape[0]} rows")
        if x.dtype == object or y.dtype == object:
            if not np.array_equal(x.astype(str), y.astype(str)):
                raise ValueError(f"text column {name} differs")
            continue
        both_nan = np.isnan(x) & np.isnan(y)
        if np.any(np.isnan(x) != np.isnan(y)):
            raise ValueError(f"{name}: NaN in one table only")
        scale = np.maximum(np.abs(x), np.abs(y))
        rel = np.where(both_nan | (scale == 0), 0.0, np.abs(y - x) / np.where(scale == 0, 1.0, scale))
        if rel.size and float(rel.max()) > worst:
            worst, where = float(rel.max()), name
    return worst, where


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reference", type=Path)
    parser.add_argument("other", type=Path)
    parser.add_argument("--files", nargs="+", default=list(FILES))
    parser.add_argument("--rtol", type=float, default=1e-10)
    args = parser.parse_args(argv)
    ok = True
    for name in args.files:
        try:
            diff, column = max_relative_difference(args.reference / name, args.other / name)
        except (ValueError, OSError) as exc:
            print(f"{name}: DIFFERENT ({exc})")
            ok = False
            continue
        verdict = "ok" if diff <= args.rtol else "DIFFERENT"
        print(f"{name}: max relative difference {diff:.3g}{f' ({column})' if column else ''} {verdict}")
        ok &= diff <= args.rtol
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
