"""``femsim sweep plan``: one validated case file per point, shared meshes, the manifest.

Layout of a sweep folder::

    <sweep dir>/sweep.json                       manifest (points, parameters, files)
    <sweep dir>/points/<label>-<hash>/case.toml  the point's case (absolute paths; output.folder = here)
    <sweep dir>/points/<label>-<hash>/run.json   written by ``femsim run`` (plus its other results)
    <sweep dir>/points/<label>-<hash>/run.log    the run's output; task.json: exit status of the last try
    <sweep dir>/meshes/<hash>/rve.msh            one mesh per distinct geometry + mesh settings

Planning is idempotent: a case file is rewritten only when its content changes, and a mesh is
rebuilt only when its input hash changes, so re-planning never makes finished points look new.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from femsim.errors import InputError
from femsim.io.atomic import write_json, write_text
from femsim.sweep import tomlw
from femsim.sweep.spec import Point, Sweep, case_key_info, flatten, set_dotted

if TYPE_CHECKING:
    from femsim.case import Case

LOG = logging.getLogger(__name__)
MANIFEST = "sweep.json"


@dataclasses.dataclass
class PlannedPoint:
    point: Point
    folder: Path
    case_dict: dict[str, Any]
    case: Case

    @property
    def case_file(self) -> Path:
        return self.folder / "case.toml"


def case_digest(case_dict: dict[str, Any]) -> str:
    """Digest of a resolved case (``Case.to_dict()`` or run.json's ``case``) to spot stale results."""
    text = json.dumps(case_dict, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _resolve_value(key: str, value: Any, base: Path) -> Any:
    _, is_path = case_key_info(key)
    if is_path and isinstance(value, str) and value and not Path(value).is_absolute():
        return str((base / value).resolve())
    return value


def _drop_none(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _drop_none(v) for k, v in data.items() if v is not None}
    return data


def build_points(sweep: Sweep) -> list[PlannedPoint]:
    """Each point's case dict, validated; raises InputError naming every bad point at once."""
    from femsim.case import load_case, parse_case
    from femsim.protocol import SHORTHAND_ONLY_KEYS

    base_case = load_case(sweep.base)
    base = _drop_none(base_case.to_dict())
    here = sweep.source.parent
    # the resolved base holds the shorthand's keys (defaults, or the base's own one CC step): where
    # the point's protocol is a step list they are not the user's and would read as a conflict;
    # the same keys set by the sweep itself stay, and are reported
    own_keys = set(flatten(sweep.file.set)) | {a.key for a in sweep.file.axis}
    for key, value in flatten(sweep.file.set).items():
        set_dotted(base, key, _resolve_value(key, value, here))
    planned: list[PlannedPoint] = []
    problems: dict[str, None] = {}
    axis_of = {a.key.split("[")[0]: i for i, a in enumerate(sweep.file.axis)}
    for point in sweep.points:
        data = copy.deepcopy(base)
        for key, value in point.params.items():
            set_dotted(data, key, _resolve_value(key, value, here))
        protocol = data.get("protocol", {})
        if "steps" in protocol or "step" in protocol:
            for key in SHORTHAND_ONLY_KEYS:
                if f"protocol.{key}" not in own_keys:
                    protocol.pop(key, None)
        folder = sweep.folder / "points" / point.dirname
        data.setdefault("case", {})["name"] = f"{sweep.name} {point.label}".strip()
        data.setdefault("output", {})["folder"] = str(folder)
        try:
            case = parse_case(copy.deepcopy(data), folder / "case.toml")
        except InputError as exc:
            for problem in [exc.message] + exc.problems:
                key = problem.split(":")[0]
                if key in axis_of:
                    i = axis_of[key]
                    value = point.params[sweep.file.axis[i].key]
                    problems[f"axis[{i}] ({sweep.file.axis[i].key} = {value!r}): {problem}"] = None
                else:
                    problems[f"base case + set: {problem}"] = None
            continue
        planned.append(PlannedPoint(point, folder, data, case))
    if problems:
        msgs = list(problems)
        raise InputError(msgs[0], file=str(sweep.source), problems=msgs[1:])
    return planned


def _write_if_changed(path: Path, text: str) -> bool:
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    write_text(path, text)
    return True


def _share_meshes(sweep: Sweep, planned: list[PlannedPoint]) -> dict[str, Path]:
    """Mesh once per distinct geometry + mesh hash; set ``mesh.file`` of the points that use it."""
    from femsim.geometry.pipeline import input_hash, mesh_case

    meshes: dict[str, Path] = {}
    for pp in planned:
        if pp.case.mesh.file is not None:
            continue
        digest = input_hash(pp.case)[:16]
        if digest not in meshes:
            LOG.info("sweep: mesh %s for %s and the points sharing its geometry", digest, pp.point.dirname)
            meshes[digest] = mesh_case(pp.case, out_dir=sweep.folder / "meshes" / digest)
        pp.case_dict.setdefault("mesh", {})["file"] = str(meshes[digest])
    return meshes


def plan(sweep: Sweep, share_meshes: bool | None = None) -> dict[str, Any]:
    """Write the point cases and the manifest; return the manifest.

    Args:
        sweep: the validated sweep.
        share_meshes: mesh once per geometry now (default: ``sweep.share_meshes``); otherwise each
            point meshes itself when it runs.
    """
    from femsim import __version__
    from femsim.case import load_case

    planned = build_points(sweep)
    share = sweep.file.sweep.share_meshes if share_meshes is None else share_meshes
    meshes = _share_meshes(sweep, planned) if share else {}
    entries = []
    written = 0
    for pp in planned:
        header = (f"generated by `femsim sweep plan` from {sweep.source}\n"
                  f"sweep {sweep.name!r}, point {pp.point.index}: "
                  + ", ".join(f"{k} = {v!r}" for k, v in pp.point.params.items()))
        header = header.replace("\r", " ")
        written += _write_if_changed(pp.case_file, tomlw.dumps(pp.case_dict, header=header))
        resolved = load_case(pp.case_file)  # what `femsim run` will see
        entries.append({
            "index": pp.point.index, "label": pp.point.label, "hash": pp.point.hash, "dir": pp.point.dirname,
            "folder": str(pp.folder), "case_file": str(pp.case_file), "params": pp.point.params,
            "mesh_file": pp.case_dict.get("mesh", {}).get("file"),
            "case_digest": case_digest(json.loads(json.dumps(resolved.to_dict(), default=str))),
        })
    manifest = {
        "name": sweep.name, "sweep_file": str(sweep.source), "base_case": str(sweep.base),
        "folder": str(sweep.folder), "combine": sweep.file.sweep.combine,
        "axes": [{"key": a.key, "label": a.label} for a in sweep.file.axis],
        "param_keys": [a.key for a in sweep.file.axis],
        "meshes": {k: str(v) for k, v in meshes.items()}, "femsim_version": __version__, "points": entries,
    }
    path = sweep.folder / MANIFEST
    old = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    if old != json.loads(json.dumps(manifest, default=str)):
        write_json(path, manifest)
    LOG.info("sweep %s: %d points (%d case files written), %d shared meshes in %s", sweep.name, len(entries),
             written, len(meshes), sweep.folder)
    return manifest


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of a planned sweep folder (InputError when the sweep was never planned)."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise InputError(f"no {MANIFEST}: run `femsim sweep plan` first", file=str(folder))
    return json.loads(path.read_text(encoding="utf-8"))
