"""Particle tables: CSV (µm) with one row per spherical particle.

Required columns: ``id, x, y, z, radius`` (µm; ``id`` a non-negative integer). Any further
columns (crack fraction, damage class, ...) are kept as strings and passed through to results.

:func:`read_particle_table` checks the table on its own (missing columns, empty table, values
that are not numbers, NaN/inf, radius <= 0, negative or duplicate ids); :func:`validate_in_box`
adds the checks that need the box (a particle wholly outside the cathode box, two particles
overlapping by more than a tolerance). Every problem raises :class:`~femsim.errors.InputError`
with one line naming the file and the data row (row 1 is the first line after the header).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import logging
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from femsim.errors import InputError

_LOG = logging.getLogger(__name__)

REQUIRED = ("id", "x", "y", "z", "radius")

#: default overlap tolerance: overlaps deeper than this fraction of the smaller radius are errors
OVERLAP_TOLERANCE = 0.10


@dataclasses.dataclass
class ParticleTable:
    """Spherical particles, lengths in µm.

    Attributes:
        ids: particle ids (int64, unique, >= 0).
        centres: (n, 3) centres (µm).
        radii: (n,) radii (µm).
        extra: pass-through columns, name -> list of strings (one per particle).
        source: the file it was read from, if any.
    """

    ids: np.ndarray
    centres: np.ndarray
    radii: np.ndarray
    extra: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    source: Path | None = None

    def __len__(self) -> int:
        return int(self.ids.size)

    def copy(self) -> ParticleTable:
        return ParticleTable(self.ids.copy(), self.centres.copy(), self.radii.copy(),
                             {k: list(v) for k, v in self.extra.items()}, self.source)

    def row_of(self, index: int) -> int:
        """The 1-based data row number of particle ``index`` (as in error messages)."""
        return index + 1

    def to_csv_text(self) -> str:
        """The table as CSV text (floats written with full precision)."""
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(list(REQUIRED) + list(self.extra))
        for i in range(len(self)):
            row = [str(int(self.ids[i]))] + [repr(float(v)) for v in self.centres[i]] + [repr(float(self.radii[i]))]
            writer.writerow(row + [self.extra[k][i] for k in self.extra])
        return buf.getvalue()


def write_particle_table(table: ParticleTable, path: str | Path, header_comment: Sequence[str] = ()) -> None:
    """Write a table atomically (``#`` comment lines first, if given)."""
    from femsim.io.atomic import write_text

    text = "".join(f"# {line}\n" for line in header_comment) + table.to_csv_text()
    write_text(path, text)


def _data_lines(text: str) -> list[tuple[int, str]]:
    """Non-blank, non-comment lines with their 1-based file line numbers."""
    out = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            out.append((lineno, line))
    return out


def _decimal_point(text: str) -> str:
    """``text`` with a decimal comma made a point where that makes it a number ('0,05' → '0.05')."""
    if "," not in text:
        return text
    try:
        float(text.replace(",", "."))
    except ValueError:
        return text
    return text.replace(",", ".")


def read_particle_table(path: str | Path) -> ParticleTable:
    """Read and check a particle table CSV (µm). Lines starting with ``#`` are comments; the values
    are comma-separated, or semicolon / tab separated where the header has no comma (with semicolons
    the numbers may have decimal commas).

    Raises:
        InputError: naming the file and the row for the first problem found.
    """
    path = Path(path)
    file = str(path)
    if path.is_dir():
        raise InputError("is a folder, not a particle table file", file=file)
    if not path.is_file():
        raise InputError("particle table not found", file=file)
    try:
        text = path.read_text(encoding="utf-8-sig")  # a UTF-8 byte-order mark (Excel) is dropped
    except UnicodeDecodeError:
        raise InputError("particle table is not a UTF-8 text file", file=file) from None
    lines = _data_lines(text)
    if not lines:
        raise InputError("particle table is empty (no header)", file=file)
    first = lines[0][1]
    # comma-separated; a header without commas but with semicolons or tabs sets that separator (a
    # spreadsheet's export in a decimal-comma locale: with ';' the numbers may have decimal commas)
    delimiter = next((d for d in (";", "\t") if "," not in first and d in first), ",")
    rows = list(csv.reader([line for _, line in lines], delimiter=delimiter))
    header = [h.strip() for h in rows[0]]
    lower = [h.lower() for h in header]
    missing = [c for c in REQUIRED if c not in lower]
    if missing:
        raise InputError(f"header: missing column(s) {', '.join(missing)} (need {', '.join(REQUIRED)}), "
                         f"got {', '.join(header)}", file=file)
    dupes = sorted({h for h in lower if lower.count(h) > 1})
    if dupes:
        raise InputError(f"header: duplicate column(s) {', '.join(dupes)}", file=file)
    col = {c: lower.index(c) for c in REQUIRED}
    extra_names = [h for h, lo in zip(header, lower) if lo not in REQUIRED]
    data = rows[1:]
    if not data:
        raise InputError("particle table is empty (header only)", file=file)
    n = len(data)
    ids = np.empty(n, dtype=np.int64)
    values = np.empty((n, 4), dtype=float)
    extra: dict[str, list[str]] = {name: [] for name in extra_names}
    seen: dict[int, int] = {}
    for i, row in enumerate(data):
        where = f"row {i + 1} (line {lines[i + 1][0]})"
        if len(row) != len(header):
            raise InputError(f"{where}: {len(row)} values, header has {len(header)}", file=file)
        raw_id = row[col["id"]].strip()
        try:
            pid = int(raw_id)
        except ValueError:
            try:
                fid = float(raw_id)
            except ValueError:
                fid = math.nan
            if not (math.isfinite(fid) and fid == int(fid)):
                raise InputError(f"{where}: id must be an integer, got {raw_id!r}", file=file) from None
            pid = int(fid)
        if pid < 0:
            raise InputError(f"{where}: id must be >= 0, got {pid}", file=file)
        if pid in seen:
            raise InputError(f"{where}: duplicate id {pid} (also row {seen[pid] + 1})", file=file)
        seen[pid] = i
        ids[i] = pid
        for k, name in enumerate(("x", "y", "z", "radius")):
            raw = row[col[name]].strip()
            try:
                value = float(_decimal_point(raw) if delimiter == ";" else raw)
            except ValueError:
                hint = " (a decimal comma? write 2.5, not 2,5)" if "," in raw else ""
                raise InputError(f"{where} (id {pid}): {name} must be a number, got {raw!r}{hint}",
                                 file=file) from None
            if not math.isfinite(value):
                raise InputError(f"{where} (id {pid}): {name} must be finite, got {raw!r}", file=file)
            values[i, k] = value
        if values[i, 3] <= 0:
            raise InputError(f"{where} (id {pid}): radius must be > 0, got {row[col['radius']].strip()}", file=file)
        for name in extra_names:
            text = row[header.index(name)].strip()
            extra[name].append(_decimal_point(text) if delimiter == ";" else text)
    table = ParticleTable(ids, values[:, :3].copy(), values[:, 3].copy(), extra, path)
    _LOG.debug("read %d particles from %s", n, path)
    return table


def pair_overlaps(centres: np.ndarray, radii: np.ndarray, margin: float = 0.0) -> list[tuple[int, int, float]]:
    """Pairs (i, j, gap) with gap = |c_i - c_j| - r_i - r_j < margin (µm), i < j, sorted by gap."""
    from scipy.spatial import cKDTree

    if len(radii) < 2:
        return []
    tree = cKDTree(centres)
    pairs = tree.query_pairs(2.0 * float(radii.max()) + max(margin, 0.0), output_type="ndarray")
    out = []
    for i, j in pairs:
        gap = float(np.linalg.norm(centres[i] - centres[j]) - radii[i] - radii[j])
        if gap < margin:
            out.append((int(min(i, j)), int(max(i, j)), gap))
    out.sort(key=lambda t: (t[2], t[0], t[1]))
    return out


def validate_in_box(table: ParticleTable, box_um: Sequence[float],
                    overlap_tolerance: float = OVERLAP_TOLERANCE) -> None:
    """Checks that need the cathode box ``[0, Lx] x [0, Ly] x [0, Lz]`` (µm).

    Raises:
        InputError: a particle wider than the box's smallest edge, one wholly outside the box, or
            two particles overlapping by more than
            ``overlap_tolerance`` times the smaller radius (naming both rows).
    """
    file = str(table.source) if table.source else None
    box = np.asarray(box_um, dtype=float)
    # distance from each centre to the box (0 inside)
    outside = np.maximum(0.0, np.maximum(-table.centres, table.centres - box))
    dist = np.linalg.norm(outside, axis=1)
    edge = float(box.min())
    for i in np.flatnonzero(2.0 * table.radii > edge).tolist():  # no matrix left to mesh around it
        raise InputError(f"row {table.row_of(i)} (id {table.ids[i]}): radius {table.radii[i]:g} µm is too large for "
                         f"the cathode box: the diameter must not exceed its smallest edge ({edge:g} µm)", file=file)
    for i in np.flatnonzero(dist >= table.radii).tolist():
        raise InputError(f"row {table.row_of(i)} (id {table.ids[i]}): particle wholly outside the cathode box "
                         f"[0,{box[0]:g}]x[0,{box[1]:g}]x[0,{box[2]:g}] µm (centre "
                         f"{', '.join(f'{v:g}' for v in table.centres[i])}, radius {table.radii[i]:g})", file=file)
    for i, j, gap in pair_overlaps(table.centres, table.radii, 0.0):
        depth = -gap
        rmin = float(min(table.radii[i], table.radii[j]))
        if depth > overlap_tolerance * rmin:
            raise InputError(f"rows {table.row_of(i)} and {table.row_of(j)} (ids {table.ids[i]}, {table.ids[j]}): "
                             f"particles overlap by {depth:.4g} µm, more than {overlap_tolerance:g} x the smaller "
                             f"radius ({overlap_tolerance * rmin:.4g} µm)", file=file)
