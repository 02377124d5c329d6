"""Snapshot format pieces without a solver: case hash, manifest/checksum verification, choice of
the newest complete snapshot, snapshot timing and the fault-injection hook."""

from __future__ import annotations

import json
import types
from pathlib import Path

import numpy as np
import pytest

from femsim.case import load_case
from femsim.io import snapshots as S

from _reliability_helpers import write_restart_case


class SerialComm:
    rank, size = 0, 1

    def bcast(self, value, root=0):
        return value

    def barrier(self):
        pass

    def allgather(self, value):
        return [value]


def _fake_snapshot(folder: Path, step: int, n_ranks: int = 1, fmt: int = S.FORMAT_VERSION) -> Path:
    path = folder / f"step_{step:08d}"
    path.mkdir(parents=True)
    files = {}
    for r in range(n_ranks):
        np.savez(path / f"rank_{r}.npz", u0=np.arange(5.0) * step)
        files[f"rank_{r}.npz"] = S.file_sha256(path / f"rank_{r}.npz")
    (path / S.MANIFEST).write_text(
        json.dumps(S.seal({"format": fmt, "n_ranks": n_ranks, "files": files, "step": step}))
    )
    return path


def test_case_hash_ignores_output_only_keys(tmp_path):
    case = load_case(write_restart_case(tmp_path))
    h = S.case_hash(case)
    case.output.snapshot_every_steps = 7
    case.output.folder = tmp_path / "elsewhere"
    case.output.progress = True
    assert S.case_hash(case) == h
    moved = tmp_path / "moved"
    moved.mkdir()
    assert S.case_hash(load_case(write_restart_case(moved))) == h  # same inputs elsewhere
    (moved / "table.csv").write_text((moved / "table.csv").read_text().replace("2.4\n", "2.2\n"))
    assert S.case_hash(load_case(moved / "case.toml")) != h  # particle table content changed
    case.protocol.c_rate = 4.0
    assert S.case_hash(case) != h


def test_newest_complete_snapshot_is_chosen(tmp_path):
    folder = tmp_path / "snapshots"
    _fake_snapshot(folder, 2)
    _fake_snapshot(folder, 10)
    broken = _fake_snapshot(folder, 12)
    (broken / "rank_0.npz").write_bytes(b"truncated")
    _fake_snapshot(folder, 14, fmt=999)
    missing = _fake_snapshot(folder, 16, n_ranks=2)
    (missing / "rank_1.npz").unlink()
    (folder / ".tmp_step_00000020").mkdir()  # an interrupted write
    (folder / "diagnostic_00000030").mkdir()
    path, manifest = S.newest_valid(folder)
    assert path.name == "step_00000010" and manifest["step"] == 10
    with pytest.raises(ValueError, match="checksum"):
        S.verify(broken)
    with pytest.raises(ValueError, match="missing rank_1"):
        S.verify(missing)
    assert S.newest_valid(tmp_path / "none") is None


def _manager(tmp_path, every_steps=0, every_minutes=0.0):
    case = load_case(write_restart_case(tmp_path))
    case.output.snapshot_every_steps, case.output.snapshot_every_minutes = every_steps, every_minutes
    sim = types.SimpleNamespace(comm=SerialComm(), folder=tmp_path / "out", case=case, resume=False)
    return S.SnapshotManager(sim)


def test_snapshots_due_by_steps_and_by_wall_time(tmp_path, monkeypatch):
    m = _manager(tmp_path, every_steps=3)
    due = []
    for n in range(1, 8):
        m._accepted(types.SimpleNamespace(n_steps=n))
        due.append(m.pending)
    assert due == [False, False, True, False, False, True, False]
    m = _manager(tmp_path, every_minutes=0.5)
    clock = [m._last_wall]
    monkeypatch.setattr(S.time, "monotonic", lambda: clock[0])
    m._accepted(types.SimpleNamespace(n_steps=1))
    assert not m.pending
    clock[0] += 31.0
    m._accepted(types.SimpleNamespace(n_steps=2))
    assert m.pending


def test_resume_refusals_name_the_reason(tmp_path):
    m = _manager(tmp_path)
    m.sim.resume = True
    with pytest.raises(S.InputError, match="no complete snapshot"):
        m._locate()
    snap = _fake_snapshot(m.folder, 4, n_ranks=2)
    with pytest.raises(S.InputError, match="2 rank"):
        m._locate()
    snap.rename(m.folder / "step_00000005")
    _fake_snapshot(m.folder, 6)
    manifest = json.loads((m.folder / "step_00000006" / S.MANIFEST).read_text())
    manifest["case_hash"] = "0" * 64
    (m.folder / "step_00000006" / S.MANIFEST).write_text(json.dumps(S.seal(manifest)))
    with pytest.raises(S.InputError, match="case changed"):
        m._locate()


def test_fault_injection_hook(monkeypatch):
    monkeypatch.setenv(S.FAULT_ENV, "rank=1,step=3")
    S._fault_injection(0, 3)
    S._fault_injection(1, 2)
    with pytest.raises(RuntimeError, match="injected fault on rank 1 at step 3"):
        S._fault_injection(1, 3)
    monkeypatch.setenv(S.FAULT_ENV, "garbage")
    S._fault_injection(1, 3)
    monkeypatch.delenv(S.FAULT_ENV)
    S._fault_injection(1, 3)
