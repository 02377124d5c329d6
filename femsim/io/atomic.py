"""Atomic file output: write to a temporary name in the same folder, then rename.

An interrupted run therefore never leaves a truncated file behind: a reader sees either the old
file or the complete new one. CSV series that grow during a run are appended in whole rows and
flushed after each row (:class:`CsvSeries`); a row that cannot be written completely (disk full)
is cut off again. Files are created with the permissions the umask allows (like ``open``), not
the 0600 of :func:`tempfile.mkstemp`.

Test hook: ``FEMSIM_IO_FAULT="ENOSPC:timeseries.csv:3"`` makes the 3rd and every later write of a
file named ``timeseries.csv`` (a glob: ``*_p1_*.vtu``) fail with that errno (never set it in
production runs).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

IO_FAULT_ENV = "FEMSIM_IO_FAULT"
_fault_counts: dict[str, int] = {}


def _io_fault(path: Path) -> None:
    """Test hook (see module docstring)."""
    spec = os.environ.get(IO_FAULT_ENV)
    if not spec:
        return
    import errno

    try:
        name, file, after = spec.split(":")
        code, after_n = getattr(errno, name), int(after)
    except (ValueError, AttributeError):
        return
    import fnmatch

    if not fnmatch.fnmatch(path.name, file):
        return
    _fault_counts[file] = _fault_counts.get(file, 0) + 1
    if _fault_counts[file] >= after_n:
        raise OSError(code, f"{os.strerror(code)} (injected by {IO_FAULT_ENV})", str(path))


def file_mode() -> int:
    """Permissions of a new file under the current umask (0666 & ~umask)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs: Any) -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success fsync and rename it onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _io_fault(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, file_mode())
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text(path: str | os.PathLike, text: str) -> None:
    """Atomically write a text file."""
    with atomic_open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def write_json(path: str | os.PathLike, data: Mapping[str, Any]) -> None:
    """Atomically write a JSON document (numpy scalars/arrays and paths converted)."""
    write_text(path, json.dumps(data, indent=2, default=_json_default, allow_nan=True) + "\n")


def write_csv(path: str | os.PathLike, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Atomically write a whole CSV table."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_fmt(v) for v in row])
    write_text(path, buf.getvalue())


def _fmt(value: Any) -> Any:
    """Plain text for a CSV cell: floats round-trip exactly, numpy scalars become Python values."""
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        try:
            value = value.item()
        except (TypeError, ValueError):
            pass
    if isinstance(value, float):
        return repr(float(value))
    return value


class CsvSeries:
    """A CSV time series appended in whole rows.

    The header is written atomically when the series is created; each :meth:`append` writes one
    complete line and flushes it, so a killed run leaves only whole rows. ``truncate_after``
    (used on restart) atomically drops rows with a first column beyond a given value.
    """

    def __init__(self, path: str | os.PathLike, header: Sequence[str], resume: bool = False):
        self.path = Path(path)
        self.header = list(header)
        if not (resume and self.path.exists()):
            write_csv(self.path, self.header, [])

    def append(self, row: Sequence[Any]) -> None:
        if len(row) != len(self.header):
            raise ValueError(f"{self.path.name}: row has {len(row)} values, header has {len(self.header)}")
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow([_fmt(v) for v in row])
        data = buf.getvalue().encode("utf-8")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        try:
            size = os.fstat(fd).st_size
            try:
                _io_fault(self.path)
                while data:  # a short write (disk filling up) goes on; an error cuts the row off again
                    data = data[os.write(fd, data):]
                os.fsync(fd)
            except OSError:
                with contextlib.suppress(OSError):  # truncating needs no space
                    os.ftruncate(fd, size)
                raise
        finally:
            os.close(fd)

    def truncate_after(self, time_limit: float, rel_tol: float = 1e-12) -> None:
        """Keep only rows whose first column is <= ``time_limit`` (atomically)."""
        with open(self.path, encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        kept = [r for r in rows[1:] if r and float(r[0]) <= time_limit * (1 + rel_tol) + 1e-300]
        write_csv(self.path, rows[0] if rows else self.header, kept)
