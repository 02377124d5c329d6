"""User-facing errors.

Every bad input raises :class:`InputError` with a one-line message that names the file and the
key, row or value at fault. The CLI prints it without a traceback and exits with code 2.
"""

from __future__ import annotations

EXIT_INPUT_ERROR = 2
EXIT_RUN_FAILED = 1


class InputError(Exception):
    """A problem with user input (case file, particle table, image, sweep file, CLI argument).

    Args:
        message: what is wrong, naming the offending key/row/value.
        file: the file concerned (printed first), if any.
        problems: further one-line problems when several were found at once.
    """

    def __init__(self, message: str, file: str | None = None, problems: list[str] | None = None):
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
