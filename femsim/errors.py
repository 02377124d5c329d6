"""User-facing errors.

Every bad input raises :class:`InputError` with a one-line message that names the file and the
key, row or value at fault. The CLI prints it without a traceback and exits with code 2.

Problems of the environment rather than of the input (read-only file system, disk full, no
permission, quota) are :class:`OSError` s; the CLI prints them as one line naming the file and
exits with code 3 (:func:`describe_os_error`).
"""

from __future__ import annotations

import errno
import os

EXIT_INPUT_ERROR = 2
EXIT_RUN_FAILED = 1
EXIT_ENVIRONMENT = 3

#: OSErrors that mean the user pointed at the wrong thing (exit 2), not a broken environment (exit 3)
_INPUT_ERRNOS = {errno.ENOTDIR, errno.EEXIST, errno.EISDIR, errno.ENAMETOOLONG, errno.ENOENT}


def describe_os_error(exc: OSError) -> tuple[int, str]:
    """(exit code, one line) for an OSError met while reading or writing files."""
    name = errno.errorcode.get(exc.errno or 0, "")
    what = exc.strerror or str(exc) or type(exc).__name__
    where = f"{exc.filename}: " if exc.filename else ""
    if exc.filename2:
        where = f"{exc.filename} -> {exc.filename2}: "
    hint = {errno.ENOSPC: " (disk full: free space or choose another --out)",
            errno.EDQUOT: " (disk quota exceeded)",
            errno.EROFS: " (read-only file system: choose another --out)",
            errno.EACCES: " (no permission: choose another --out or fix the folder's permissions)",
            errno.EPERM: " (not permitted)",
            errno.ENOTDIR: " (a file stands where a folder is needed)",
            errno.EEXIST: " (a file stands where a folder is needed)"}.get(exc.errno or 0, "")
    code = EXIT_INPUT_ERROR if exc.errno in _INPUT_ERRNOS else EXIT_ENVIRONMENT
    return code, f"{where}{what}{f' [{name}]' if name else ''}{hint}"


def os_error(code: int, path: str | os.PathLike) -> OSError:
    """An OSError for ``code`` (an errno) naming ``path``."""
    return OSError(code, os.strerror(code), str(path))


class InputError(Exception):
    """A problem with user input (case file, particle table, image, sweep file, CLI argument).

    Args:
        message: what is wrong, naming the offending key/row/value.
        file: the file concerned (printed first), if any: a str or a path (stored as str).
        problems: further one-line problems when several were found at once.
    """

    def __init__(self, message: str, file: str | os.PathLike[str] | None = None, problems: list[str] | None = None):
        self.file = str(file) if file is not None else None
        self.message = message
        self.problems = list(problems or [])
        super().__init__(self.format())

    def __reduce__(self):  # keep file and problems when sent between MPI ranks
        return (self.__class__, (self.message, self.file, self.problems))

    def format(self) -> str:
        prefix = f"{self.file}: " if self.file else ""
        lines = [f"{prefix}{self.message}"]
        lines += [f"{prefix}{p}" for p in self.problems]
        return "\n".join(lines)


class SolverError(RuntimeError):
    """The numerical solution failed in a way the time stepper could not recover from."""


class RunInterrupted(Exception):
    """A run stopped by SIGTERM/SIGINT (the signal's name is the message); ``femsim run`` records
    ``status = "interrupted"`` and exits with code 130."""
