"""The files of a restart snapshot: case hash, sealing (checksums), verification, the newest
valid snapshot, the solver memory as npz entries and the fault-injection test hook.

The layout and the guarantees are described in :mod:`femsim.io.snapshots` (which re-exports these).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

LOG = logging.getLogger("femsim.io.snapshots")

FORMAT_VERSION = 2
MANIFEST = "snapshot.json"
KEEP = 2
FAULT_ENV = "FEMSIM_FAULT_INJECT"
#: output keys that may change between a run and its resumption
_OUTPUT_ONLY_KEYS = ("folder", "progress", "snapshot_every_steps", "snapshot_every_minutes")


def case_hash(case: Any) -> str:
    """sha256 of the resolved case without the output-only keys; input files (particle table,
    mesh) count by their content, not their path, so a moved case folder can still resume."""
    data = case.to_dict()
    out = dict(data.get("output", {}))
    for key in _OUTPUT_ONLY_KEYS:
        out.pop(key, None)
    data["output"] = out
    text = json.dumps(_by_content(data), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _by_content(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _by_content(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_by_content(v) for v in value]
    if isinstance(value, str | Path) and Path(value).is_absolute() and Path(value).is_file():
        return "sha256:" + file_sha256(value)
    return value


def file_sha256(path: str | Path) -> str:
    """sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _step_of(path: Path) -> int:
    try:
        return int(path.name.split("_", 1)[1])
    except (IndexError, ValueError):
        return -1


def complete_snapshots(folder: Path) -> list[Path]:
    """``step_*`` snapshot folders, newest first (completeness is checked by :func:`verify`)."""
    if not folder.is_dir():
        return []
    found = [p for p in folder.glob("step_*") if p.is_dir() and _step_of(p) >= 0]
    return sorted(found, key=_step_of, reverse=True)


def _manifest_digest(manifest: dict[str, Any]) -> str:
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    text = json.dumps(body, sort_keys=True, allow_nan=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def seal(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest as plain JSON data with its own checksum ``manifest_sha256`` added."""
    from femsim.io.atomic import _json_default

    plain = json.loads(json.dumps(manifest, default=_json_default, allow_nan=True))
    plain["manifest_sha256"] = _manifest_digest(plain)
    return plain


def binding(case_hash_: str, step: int, time_s: float, rank: int) -> str:
    """What ties a rank file to its snapshot (stored in the file as ``binding``)."""
    return f"{case_hash_}:{int(step)}:{float(time_s)!r}:{int(rank)}"


def verify(path: Path) -> dict[str, Any]:
    """Read a snapshot's manifest, check its own checksum, every rank file's checksum and that the
    rank files belong to this snapshot; raises ValueError."""
    try:
        manifest = json.loads((path / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"unreadable manifest ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_VERSION:
        fmt = manifest.get("format") if isinstance(manifest, dict) else None
        raise ValueError(f"format {fmt!r}, this femsim reads {FORMAT_VERSION}")
    if manifest.get("manifest_sha256") != _manifest_digest(manifest):
        raise ValueError(f"checksum mismatch in {MANIFEST} (edited or damaged)")
    for name, expected in manifest.get("files", {}).items():
        file = path / name
        if not file.is_file():
            raise ValueError(f"missing {name}")
        if file_sha256(file) != expected:
            raise ValueError(f"checksum mismatch in {name}")
    if len(manifest.get("files", {})) != manifest.get("n_ranks"):
        raise ValueError("rank files missing from the manifest")
    if "stepper_state" in manifest:  # restart snapshots: every rank file is bound to this manifest
        for r in range(int(manifest["n_ranks"])):
            try:
                with np.load(path / f"rank_{r}.npz") as data:
                    bound = str(data["binding"]) if "binding" in data.files else None
            except (OSError, ValueError) as exc:
                raise ValueError(f"unreadable rank_{r}.npz ({exc})") from None
            if bound != binding(manifest.get("case_hash", ""), manifest.get("step", -1),
                                manifest.get("time_s", float("nan")), r):
                raise ValueError(f"rank_{r}.npz belongs to another snapshot ({bound})")
    return manifest


def newest_valid(folder: Path, skipped: list[str] | None = None) -> tuple[Path, dict[str, Any]] | None:
    """The newest snapshot that passes :func:`verify` (broken ones are logged as warnings and
    listed in ``skipped``)."""
    for path in complete_snapshots(folder):
        try:
            return path, verify(path)
        except ValueError as exc:
            LOG.warning("skipping snapshot %s: %s; falling back to an older one", path, exc)
            if skipped is not None:
                skipped.append(f"{path.name}: {exc}")
    return None


def fault_injection(rank: int, step: int) -> None:
    """Test hook: raise on the rank and step named by ``FEMSIM_FAULT_INJECT="rank=R,step=N"``."""
    spec = os.environ.get(FAULT_ENV)
    if not spec:
        return
    try:
        items = dict(part.split("=", 1) for part in spec.split(","))
        want_rank, want_step = int(items.get("rank", "0")), int(items.get("step", "1"))
    except ValueError:
        LOG.warning("ignoring malformed %s=%r", FAULT_ENV, spec)
        return
    if rank == want_rank and step == want_step:
        raise RuntimeError(f"injected fault on rank {rank} at step {step} ({FAULT_ENV})")


def pack_memory(memory: dict[str, Any] | None) -> dict[str, np.ndarray]:
    """A dict of scalars/None and lists of arrays → npz entries (no pickle)."""
    if memory is None:
        return {"memory_meta": np.array("null")}
    meta: dict[str, Any] = {}
    out: dict[str, np.ndarray] = {}
    for key, value in memory.items():
        if isinstance(value, list | tuple) and all(isinstance(a, np.ndarray) for a in value):
            meta[key] = {"arrays": len(value)}
            out.update({f"memory_{key}_{i}": a for i, a in enumerate(value)})
        else:
            meta[key] = {"value": value.item() if hasattr(value, "item") else value}
    out["memory_meta"] = np.array(json.dumps(meta))
    return out


def unpack_memory(data: dict[str, np.ndarray]) -> dict[str, Any] | None:
    if "memory_meta" not in data:
        return None
    meta = json.loads(str(data["memory_meta"]))
    if meta is None:
        return None
    return {key: [data[f"memory_{key}_{i}"] for i in range(m["arrays"])] if "arrays" in m else m["value"]
            for key, m in meta.items()}


def fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
