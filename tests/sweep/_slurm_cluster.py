"""A throw-away single-node SLURM cluster on localhost for the sweep tests.

:func:`ensure_installed` installs Debian's ``slurm-wlm`` and ``munge`` when ``sbatch`` is missing
(needs root and network; returns the reason when that is impossible). :class:`LocalSlurm` starts a
private ``munged`` (own key, socket and files in a temporary folder), ``slurmctld`` and ``slurmd``
with a generated ``slurm.conf`` (own ports), and stops them by their process ids. Clients find the
cluster through ``SLURM_CONF`` in :attr:`LocalSlurm.env`.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

APT_TIMEOUT_S = 150


def ensure_installed() -> str | None:
    """Install slurm-wlm + munge if needed; None when ready, else the reason they are not."""
    if all(shutil.which(t) for t in ("sbatch", "slurmctld", "slurmd", "munged")):
        return None
    if os.geteuid() != 0:
        return "slurm-wlm/munge are not installed and installing them needs root"
    if shutil.which("apt-get") is None:
        return "slurm-wlm/munge are not installed and there is no apt-get"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        for cmd in (["apt-get", "update", "-qq"],
                    ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "slurm-wlm", "munge"]):
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=APT_TIMEOUT_S, env=env)
            if proc.returncode != 0:
                tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [""]
                return f"'{' '.join(cmd)}' failed (exit {proc.returncode}): {tail[0]}"
    except subprocess.TimeoutExpired:
        return f"installing slurm-wlm/munge took more than {APT_TIMEOUT_S} s (no network?)"
    if not shutil.which("sbatch"):
        return "slurm-wlm installed but sbatch is still not on PATH"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _which(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin:/usr/bin")
    if path is None:
        raise RuntimeError(f"{name} not found")
    return path


class LocalSlurm:
    """Start/stop the private cluster (see module docstring). Use as a context manager."""

    def __init__(self, folder: Path, cpus: int | None = None):
        self.dir = Path(folder)
        self.host = socket.gethostname().split(".")[0]
        self.cpus = cpus or os.cpu_count() or 1
        self.procs: list[subprocess.Popen] = []
        self.conf = self.dir / "slurm.conf"
        self.env = dict(os.environ, SLURM_CONF=str(self.conf))

    def _write_files(self) -> None:
        d = self.dir
        for sub in ("state", "spool", "munge"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(d / "munge", 0o700)
        key = d / "munge" / "munge.key"
        key.write_bytes(os.urandom(128))
        os.chmod(key, 0o600)
        conf = f"""ClusterName=femsimtest
SlurmctldHost={self.host}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={d / 'munge' / 'munge.socket'}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
ReturnToService=2
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
StateSaveLocation={d / 'state'}
SlurmdSpoolDir={d / 'spool'}
SlurmctldPidFile={d / 'slurmctld.pid'}
SlurmdPidFile={d / 'slurmd.pid'}
SlurmctldLogFile={d / 'slurmctld.log'}
SlurmdLogFile={d / 'slurmd.log'}
SlurmctldDebug=info
SlurmdDebug=info
MinJobAge=300
NodeName={self.host} NodeAddr=127.0.0.1 CPUs={self.cpus} State=UNKNOWN
PartitionName=femsimtest Nodes={self.host} Default=YES MaxTime=INFINITE State=UP
"""
        self.conf.write_text(conf)

    def _start(self, cmd: list[str], log: str) -> subprocess.Popen:
        fh = open(self.dir / log, "wb")
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=self.env)
        fh.close()
        self.procs.append(proc)
        return proc

    def start(self, timeout_s: float = 60.0) -> None:
        """Start munged, slurmctld and slurmd; wait until the node is idle."""
        self._write_files()
        m = self.dir / "munge"
        self._start([_which("munged"), "-F", "-f", f"--socket={m / 'munge.socket'}", f"--key-file={m / 'munge.key'}",
                     f"--log-file={m / 'munged.log'}", f"--pid-file={m / 'munged.pid'}",
                     f"--seed-file={m / 'munged.seed'}"], "munged.out")
        self._wait(lambda: (m / "munge.socket").exists(), 10, "munged socket")
        self._start([_which("slurmctld"), "-D", "-i", "-f", str(self.conf)], "slurmctld.out")
        time.sleep(0.5)
        self._start([_which("slurmd"), "-D", "-f", str(self.conf)], "slurmd.out")
        self._wait(self._node_ready, timeout_s, "node idle in sinfo")

    def _node_ready(self) -> bool:
        for proc in self.procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}; see {self.dir}")
        try:
            out = subprocess.run(["sinfo", "-h", "-N", "-o", "%t"], capture_output=True, text=True, timeout=10,
                                 env=self.env).stdout
        except subprocess.TimeoutExpired:
            return False
        return out.strip().startswith(("idle", "mix", "alloc"))

    @staticmethod
    def _wait(test, timeout_s: float, what: str) -> None:
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout_s:
            if test():
                return
            time.sleep(0.3)
        raise RuntimeError(f"timed out after {timeout_s:g} s waiting for {what}")

    def stop(self) -> None:
        """Cancel this cluster's jobs, then stop the daemons we started by process id (slurmd,
        slurmctld, then munged)."""
        if self.procs and all(p.poll() is None for p in self.procs) and shutil.which("scancel"):
            try:
                subprocess.run(["scancel", f"--user={os.getuid()}"], env=self.env, capture_output=True, timeout=15)
                time.sleep(0.5)
            except subprocess.TimeoutExpired:
                pass
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
        self.procs.clear()

    def logs(self) -> str:
        out = []
        for name in ("slurmctld.log", "slurmd.log", "munge/munged.log"):
            path = self.dir / name
            if path.is_file():
                out.append(f"--- {name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-20:]))
        return "\n".join(out)

    def __enter__(self) -> LocalSlurm:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
