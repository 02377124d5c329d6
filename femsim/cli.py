"""Command-line interface: ``femsim <command> ...``.

Each command lives in its own module under :mod:`femsim.commands` and provides

* ``HELP``: one line for ``femsim --help``;
* ``register(parser)``: add its arguments to an :class:`argparse.ArgumentParser`;
* ``run(args) -> int``: do the work and return the exit code.

Command modules import heavy dependencies (DOLFINx, gmsh, scikit-image) inside ``run`` only, so
``femsim --help`` and ``femsim validate`` stay fast. Input errors (:class:`femsim.errors.InputError`)
print one line per problem and exit with code 2; environment problems (an :class:`OSError`: read-only
file system, disk full, permission) print one line naming the file and exit with code 3 (a file
standing where a folder should be counts as input: 2); ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from femsim import __version__
from femsim.errors import EXIT_INPUT_ERROR, InputError, describe_os_error

#: command name -> module implementing it
COMMANDS: dict[str, str] = {
    "run": "femsim.commands.run",
    "mesh": "femsim.commands.mesh",
    "validate": "femsim.commands.validate",
    "segment": "femsim.commands.segment",
    "sweep": "femsim.commands.sweep",
    "report": "femsim.commands.report",
    "tortuosity": "femsim.commands.tortuosity",
    "info": "femsim.commands.info",
    "params": "femsim.commands.params",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="femsim",
        description="Microstructure-resolved electro-chemo-mechanical simulation of Li-ion electrodes.",
    )
    parser.add_argument("--version", action="version", version=f"femsim {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug log lines")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:  # a command whose module is not installed yet
            if exc.name != module_name:
                raise
            continue
        cmd = sub.add_parser(name, help=module.HELP, description=module.HELP)
        cmd.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        module.register(cmd)
        cmd.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    from femsim.mpi import install_excepthook, setup_logging, world_rank_size

    parser = build_parser()
    args = parser.parse_args(argv)
    debug = getattr(args, "debug", False)
    setup_logging(logging.DEBUG if debug else (logging.WARNING if args.quiet else logging.INFO))
    if args.command is None:
        parser.print_help()
        return EXIT_INPUT_ERROR
    install_excepthook()
    try:
        return int(args._module.run(args) or 0)
    except InputError as exc:
        if debug:
            raise
        rank, _ = world_rank_size()
        if rank == 0:
            print(f"error: {exc.format()}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    except OSError as exc:
        if debug:
            raise
        from femsim.mpi import abort_all, in_mpi_run

        code, line = describe_os_error(exc)
        rank, _ = world_rank_size()
        if in_mpi_run() and not getattr(exc, "collective", False):  # this rank alone: stop them all
            abort_all(code, f"error: [rank {rank}] {line}")
        if rank == 0:
            print(f"error: {line}", file=sys.stderr)
        return code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def entry_point() -> None:
    """Console-script entry: under mpiexec every rank leaves together (see
    :func:`femsim.mpi.leave_together`)."""
    from femsim.mpi import leave_together

    leave_together(main())


if __name__ == "__main__":  # pragma: no cover
    entry_point()
