"""An exclusive lock per output folder (results folder of a run, sweep folder).

``<folder>/.femsim.lock`` holds one JSON line naming the holder (host, PID, start time, command)
and is ``flock``-ed for as long as the run lasts, so the kernel releases it when the holder dies,
even by SIGKILL. Rules:

* a second run into the same folder is refused at once with a one-line error naming the holder;
* a lock file left by a process that is no longer running **on this host** (its flock is gone and
  its PID is dead) is stale: it is reported as a warning and taken over;
* a lock file written on **another host** cannot be checked from here and is refused unless
  ``--force`` is given (``--force`` breaks any lock that is not flock-held here);
* the lock is released (file removed) on every exit path of the ``with`` block; a folder the lock
  itself created is removed again when nothing else was written into it.

Only the rank that calls :func:`folder_lock` (rank 0 under MPI) takes the lock.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import fcntl
import json
import logging
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from femsim.errors import InputError

LOG = logging.getLogger(__name__)
LOCK_NAME = ".femsim.lock"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _holder_text(holder: dict[str, Any]) -> str:
    return (f"host {holder.get('host', '?')}, PID {holder.get('pid', '?')}, started {holder.get('started', '?')}"
            + (f" ({holder['command']})" if holder.get("command") else ""))


def _read_holder(fd: int) -> dict[str, Any]:
    os.lseek(fd, 0, os.SEEK_SET)
    raw = os.read(fd, 65536).decode("utf-8", "replace").strip()
    if not raw:
        return {}
    try:
        data = json.loads(raw)
        return data if isinstance(data, dict) else {}
    except ValueError:
        return {"host": "?", "pid": "?", "started": "?", "command": f"unreadable lock file: {raw[:60]!r}"}


class FolderLock:
    """A held lock (see module docstring); use :func:`folder_lock`."""

    def __init__(self, folder: Path, fd: int, created_folder: bool):
        self.folder, self.fd, self.created_folder = folder, fd, created_folder
        self.path = folder / LOCK_NAME

    def release(self) -> None:
        if self.fd < 0:
            return
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        with contextlib.suppress(OSError):
            os.close(self.fd)
        self.fd = -1
        if self.created_folder:
            with contextlib.suppress(OSError):
                self.folder.rmdir()  # only if empty: the run failed before writing anything


def acquire(folder: str | os.PathLike, force: bool = False, what: str = "results folder",
            force_flag: str = "--force") -> FolderLock:
    """Take the lock of ``folder`` (created if missing) or raise InputError naming the holder.

    OSError (read-only file system, no space, permission) propagates: the caller reports it as an
    environment problem.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{what} is a file, not a folder", file=str(folder))
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    me = {"host": socket.gethostname(), "pid": os.getpid(),
          "started": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
          "command": " ".join(Path(sys.argv[0]).name.split() + sys.argv[1:])[:200]}
    from femsim.io.atomic import _io_fault

    _io_fault(path)
    for _ in range(5):  # the file may be replaced between open and flock by a releasing holder
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise
                holder = _read_holder(fd)
                raise InputError(f"{what} is in use by another femsim run ({_holder_text(holder)}); "
                                 f"wait for it to finish or choose another folder", file=str(folder)) from None
            try:
                same_file = os.fstat(fd).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same_file = False
            if not same_file:
                os.close(fd)
                continue
            holder = _read_holder(fd)
            if holder:
                _check_stale(holder, folder, force, what, force_flag)
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, (json.dumps(me) + "\n").encode())
            os.fsync(fd)
            return FolderLock(folder, fd, created)
        except BaseException:
            with contextlib.suppress(OSError):
                os.close(fd)
            if created:
                with contextlib.suppress(OSError):
                    path.unlink()
                    folder.rmdir()
            raise
    raise InputError(f"could not take the lock {path} (it kept changing)", file=str(folder))


def _check_stale(holder: dict[str, Any], folder: Path, force: bool, what: str, force_flag: str) -> None:
    """A lock file nobody flock-holds here: stale on this host, unknown on another."""
    host, pid = holder.get("host"), holder.get("pid")
    if host == socket.gethostname():  # its flock is gone, so the holder is too (PID dead or reused)
        alive = isinstance(pid, int) and _pid_alive(pid)
        LOG.warning("%s: stale lock of a run that is no longer running (%s%s): taken over", folder,
                    _holder_text(holder), "; its PID now belongs to another process" if alive else "")
        return
    if force:
        LOG.warning("%s: lock of %s broken (%s)", folder, _holder_text(holder), force_flag)
        return
    raise InputError(f"{what} is locked by {_holder_text(holder)}, which cannot be checked from this host; "
                     f"if that run is gone, rerun with {force_flag}", file=str(folder))


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike, force: bool = False, what: str = "results folder",
                force_flag: str = "--force") -> Iterator[FolderLock]:
    """``with folder_lock(dir):`` hold the lock for the block, release it on every exit path."""
    lock = acquire(folder, force=force, what=what, force_flag=force_flag)
    try:
        yield lock
    finally:
        lock.release()


def collective_lock(folder: str | os.PathLike, comm: Any, force: bool = False,
                    what: str = "results folder") -> contextlib.AbstractContextManager:
    """:func:`folder_lock` on rank 0 of ``comm`` (None: serial); a refusal raises on every rank."""
    if comm is None or comm.size == 1:
        return folder_lock(folder, force=force, what=what)
    return _collective(folder, comm, force, what)


@contextlib.contextmanager
def _collective(folder: Any, comm: Any, force: bool, what: str) -> Iterator[FolderLock | None]:
    lock, error = None, None
    if comm.rank == 0:
        try:
            lock = acquire(folder, force=force, what=what)
        except (InputError, OSError) as exc:
            error = exc
    error = comm.bcast(error, root=0)
    if error is not None:
        raise error
    try:
        yield lock
    finally:
        if lock is not None:
            lock.release()
