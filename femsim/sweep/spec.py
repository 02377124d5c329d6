"""Sweep files: schema, dotted case keys, axes and their expansion into points.

A sweep file (TOML, data only)::

    [sweep]
    name = "C-rate"                 # default: the file stem
    base = "../5C.toml"             # the base case (relative to this file)
    combine = "product"             # or "zip" (all axes the same length)
    folder = "../../results/sweeps/c_rate"   # default: results/sweeps/<stem> (working directory)

    [set]                           # fixed changes to the base case, by dotted key
    "protocol.end_time_s" = 600.0
    "output.fields" = false

    [[axis]]
    key = "protocol.c_rate"
    values = [1.0, 2.0, 5.0]        # or linspace = {start, stop, num}, logspace = {start, stop, num}
    label = "C"                     # short name in point labels (default: last key part)

    [[axis]]
    key = "geometry.box_um[2]"      # an item of a list-valued key: electrode thickness
    linspace = { start = 30.0, stop = 50.0, num = 3 }

    [local]                         # defaults of ``femsim sweep run --executor local``
    jobs = 2
    ranks_per_case = 1

    [slurm]                         # defaults of ``--executor slurm``
    partition = "compute"
    time = "02:00:00"
    tasks_per_case = 4

``logspace`` spaces ``num`` values geometrically between the *values* ``start`` and ``stop`` (not
exponents). Keys with ``[set]`` and axes are checked against the case schema (unknown keys with a
did-you-mean); each point's case is then validated in full, and every problem is reported at once.
A sweep of more than ``sweep.max_points`` points (default 10 000) is refused from the axis lengths
alone, before any value, point or file is made.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import itertools
import json
import math
import re
import typing
from pathlib import Path
from typing import Any

from femsim.errors import InputError
from femsim.schema import load_section, resolve_paths, spec

_SAFE_TOKEN = re.compile(r"^[A-Za-z0-9_.:,+=@%/-]*$")
_TIME = re.compile(r"^(\d+-)?\d{1,3}(:\d{2}){0,2}$|^\d+$")
_INDEX = re.compile(r"^(.*)\[(\d+)\]$")


def _check_token(value: str) -> str | None:
    if value and not _SAFE_TOKEN.match(value):
        return f"must be a plain name (letters, digits and _.:,+=@%/-), got {value!r}"
    return None


def _check_time(value: str) -> str | None:
    if value and not _TIME.match(value):
        return f"must be a SLURM time limit (minutes, HH:MM:SS or D-HH:MM:SS), got {value!r}"
    return None


def _check_directives(values: list[str]) -> str | None:
    for v in values:
        if not v.startswith("-") or any(c in v for c in "\n\r\"'` \t\\$;"):
            return (f"each entry must be one sbatch option such as '--mem=4G' (no spaces, quotes or shell "
                    f"characters), got {v!r}")
    return None


@dataclasses.dataclass
class SweepInfo:
    base: Path = spec(path=True, doc="base case TOML (relative to the sweep file)")
    name: str = spec("", doc="sweep name (default: sweep file stem)")
    combine: str = spec("product", choices=("product", "zip"), doc="axes combined as a product or zipped")
    folder: Path | None = spec(None, path=True,
                               doc="sweep folder (relative to the sweep file; default results/sweeps/<stem>)")
    share_meshes: bool = spec(True, doc="mesh once per distinct geometry + mesh settings at plan time")
    max_points: int = spec(10_000, ge=1, le=10_000_000,
                           doc="refuse a sweep with more points than this (counted before any is built)")
    description: str = spec("", doc="free text")


@dataclasses.dataclass
class Range:
    start: float = spec(doc="first value")
    stop: float = spec(doc="last value (included)")
    num: int = spec(ge=2, doc="number of values")


@dataclasses.dataclass
class Axis:
    key: str = spec(doc="dotted case key, e.g. protocol.c_rate or geometry.box_um[2]")
    values: list[Any] | None = spec(None, doc="explicit values")
    linspace: Range | None = spec(None, doc="evenly spaced values")
    logspace: Range | None = spec(None, doc="geometrically spaced values between start and stop (> 0)")
    label: str = spec("", check=_check_token, doc="short name in point labels (default: last key part)")


@dataclasses.dataclass
class LocalOptions:
    jobs: int = spec(1, ge=1, doc="points run at the same time")
    ranks_per_case: int = spec(1, ge=1, doc="MPI ranks per point (mpiexec -n R when R > 1)")
    timeout_min: float = spec(0.0, ge=0, unit="min", doc="kill a point after this long (0: no limit)")


@dataclasses.dataclass
class SlurmOptions:
    partition: str = spec("", check=_check_token, doc="--partition (default: the cluster's default)")
    account: str = spec("", check=_check_token, doc="--account")
    time: str = spec("", check=_check_time, doc="--time per point, e.g. 02:00:00")
    nodes: int = spec(1, ge=1, doc="--nodes per point")
    tasks_per_case: int = spec(1, ge=1, doc="--ntasks per point (MPI ranks)")
    cpus_per_task: int = spec(1, ge=1, doc="--cpus-per-task")
    max_parallel: int = spec(0, ge=0, doc="array throttle: at most this many points at once (0: no limit)")
    extra: list[str] = spec(default_factory=list, check=_check_directives,
                            doc="extra #SBATCH options, e.g. ['--mem=8G', '--qos=short']")
    setup: list[str] = spec(default_factory=list,
                            doc="shell lines run before each point (module load ...), written verbatim")
    mpiexec: str = spec("", doc="MPI launcher (default: the mpiexec beside this Python, else 'mpiexec')")


@dataclasses.dataclass
class SweepFile:
    sweep: SweepInfo = spec(doc="[sweep] section")
    set: dict[str, Any] = spec(default_factory=dict, doc="fixed changes to the base case (dotted keys)")
    axis: list[Axis] = spec(default_factory=list, doc="[[axis]] tables")
    local: LocalOptions = spec(default_factory=LocalOptions)
    slurm: SlurmOptions = spec(default_factory=SlurmOptions)


@dataclasses.dataclass
class Point:
    """One point of a sweep: its parameters (dotted key → value, in axis order) and names."""

    index: int
    params: dict[str, Any]
    label: str
    hash: str

    @property
    def dirname(self) -> str:
        return f"{self.label}-{self.hash}" if self.label else self.hash


@dataclasses.dataclass
class Sweep:
    """A validated sweep file."""

    file: SweepFile
    source: Path
    name: str
    base: Path
    folder: Path
    points: list[Point]


def flatten(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}, "c.d": 2}`` → ``{"a.b": 1, "c.d": 2}`` (dotted keys of nested tables)."""
    out: dict[str, Any] = {}
    for k, v in table.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, dict) and v:
            out.update(flatten(v, key))
        else:
            out[key] = v
    return out


def case_key_info(key: str) -> tuple[str | None, bool]:
    """Check a dotted case key against the schema: (problem or None, whether it is a path key)."""
    from femsim.case import Case

    match = _INDEX.match(key)
    base = match.group(1) if match else key
    parts = base.split(".")
    cls: Any = Case
    for depth, part in enumerate(parts):
        if not dataclasses.is_dataclass(cls):
            return f"'{'.'.join(parts[:depth])}' is not a table", False
        fields = {f.name: f for f in dataclasses.fields(cls)}
        fields.pop("source", None)
        if part not in fields:
            close = difflib.get_close_matches(part, list(fields), n=1, cutoff=0.6)
            hint = f" (did you mean '{'.'.join(parts[:depth] + [close[0]])}'?)" if close else ""
            return f"unknown case key '{key}'{hint}", False
        tp = typing.get_type_hints(cls)[part]
        origin = typing.get_origin(tp)
        if origin is dict:
            if depth == len(parts) - 2 and not match:
                return None, False  # a named entry of an overrides table
            if depth == len(parts) - 1 and not match:
                return None, False
            return f"'{key}': '{'.'.join(parts[:depth + 1])}' takes one more key part (a name)", False
        if depth == len(parts) - 1:
            if dataclasses.is_dataclass(tp):
                return f"'{key}' is a whole section; give one of its keys", False
            is_list = origin is list or list in typing.get_args(tp) or any(
                typing.get_origin(a) is list for a in typing.get_args(tp))
            if match and not is_list:
                return f"'{key}': '{base}' is not a list", False
            length = fields[part].metadata.get("length")
            if match and length is not None and int(match.group(2)) >= length:
                return f"'{key}': index out of range ('{base}' has {length} values)", False
            return None, bool(fields[part].metadata.get("path"))
        cls = tp
    return None, False


def set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    """Set ``a.b.c`` (or ``a.b[i]``) in a nested dict, creating tables as needed."""
    match = _INDEX.match(key)
    base = match.group(1) if match else key
    parts = base.split(".")
    node = data
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    if match:
        seq = node.get(parts[-1])
        if not isinstance(seq, list):
            raise InputError(f"'{key}': '{base}' has no list value in the base case")
        seq = list(seq)
        seq[int(match.group(2))] = value
        node[parts[-1]] = seq
    else:
        node[parts[-1]] = value


def axis_values(axis: Axis, where: str, problems: list[str]) -> list[Any]:
    """The values of one axis; problems (none, several or a bad range) appended to ``problems``."""
    given = [n for n in ("values", "linspace", "logspace") if getattr(axis, n) is not None]
    if len(given) != 1:
        problems.append(f"{where}: give exactly one of values, linspace, logspace"
                        + (f" (got {', '.join(given)})" if given else ""))
        return []
    if axis.values is not None:
        if not axis.values:
            problems.append(f"{where}.values: must not be empty")
        return list(axis.values)
    rng = axis.linspace or axis.logspace
    assert rng is not None
    n = rng.num
    if axis.linspace is not None:
        return [rng.start + (rng.stop - rng.start) * i / (n - 1) for i in range(n)]
    if rng.start <= 0 or rng.stop <= 0:
        problems.append(f"{where}.logspace: start and stop must be > 0, got {rng.start:g} and {rng.stop:g}")
        return []
    return [rng.start * (rng.stop / rng.start) ** (i / (n - 1)) for i in range(n)]


def _axis_length(axis: Axis) -> int:
    """Number of values of an axis, without building them (0 when malformed)."""
    if axis.values is not None:
        return len(axis.values)
    rng = axis.linspace or axis.logspace
    return int(rng.num) if rng is not None else 0


def _check_point_count(sf: Any, problems: list[str]) -> bool:
    """Refuse more than ``sweep.max_points`` points before any value or point is allocated
    (returns whether it did)."""
    lengths = [_axis_length(a) for a in sf.axis]
    if not lengths:
        return False
    count = math.prod(lengths) if sf.sweep.combine == "product" else max(lengths)
    limit = sf.sweep.max_points
    if count > limit:
        how = " x ".join(map(str, lengths)) if sf.sweep.combine == "product" else f"longest axis {count}"
        problems.append(f"axis: the sweep has {count:,} points ({how}), more than sweep.max_points = {limit:,}; "
                        f"use fewer values or raise sweep.max_points")
        return True
    return False


def _label_value(value: Any) -> str:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float):
        text = f"{value:.6g}"
    elif isinstance(value, list | tuple):
        text = "x".join(_label_value(v) for v in value)
    else:
        text = str(value)
    return re.sub(r"[^A-Za-z0-9.+-]+", "_", text).strip("_")[:24]


def point_hash(params: dict[str, Any]) -> str:
    """Stable 8-hex-digit hash of a point's parameters (independent of axis order)."""
    text = json.dumps(sorted(params.items()), separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def expand(axes: list[Axis], values: list[list[Any]], combine: str) -> list[Point]:
    """Points of the sweep, in order (the last axis varies fastest for a product)."""
    if not axes:
        return [Point(0, {}, "base", point_hash({}))]
    combos = itertools.product(*values) if combine == "product" else zip(*values)
    points = []
    for i, combo in enumerate(combos):
        params = {a.key: v for a, v in zip(axes, combo)}
        label = "_".join(f"{a.label or a.key.split('.')[-1].split('[')[0]}{_label_value(v)}"
                         for a, v in zip(axes, combo))
        points.append(Point(i, params, re.sub(r"[^A-Za-z0-9._+-]", "_", label)[:80], point_hash(params)))
    return points


def _load_file(data: dict[str, Any], problems: list[str]) -> SweepFile | None:
    """Each section on its own, so that one bad section does not hide the problems of the others."""
    names = [f.name for f in dataclasses.fields(SweepFile)]
    for key in data:
        if key not in names:
            close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
            problems.append(f"{key}: unknown section" + (f" (did you mean '{close[0]}'?)" if close else ""))
    sections: dict[str, Any] = {}
    for name, cls in (("sweep", SweepInfo), ("local", LocalOptions), ("slurm", SlurmOptions)):
        table = data.get(name, {})
        if not isinstance(table, dict):
            problems.append(f"{name}: must be a table, got {type(table).__name__}")
            table = {}
        sections[name] = load_section(cls, table, name, problems)
    if not isinstance(data.get("set", {}), dict):
        problems.append("set: must be a table of dotted case keys")
    raw_axes = data.get("axis", [])
    if not isinstance(raw_axes, list) or not all(isinstance(t, dict) for t in raw_axes):
        problems.append("axis: must be [[axis]] tables")
        raw_axes = []
    axes = [load_section(Axis, t, f"axis[{i}]", problems) for i, t in enumerate(raw_axes)]
    if any(v is None for v in sections.values()) or any(a is None for a in axes):
        return None
    st = data.get("set", {})
    return SweepFile(sweep=sections["sweep"], set=st if isinstance(st, dict) else {}, axis=axes,
                     local=sections["local"], slurm=sections["slurm"])


def load_sweep(path: str | Path, folder: str | Path | None = None) -> Sweep:
    """Read and validate a sweep file (schema, keys, axes); raises InputError with all problems.

    Args:
        path: the sweep TOML file.
        folder: sweep folder override (default: ``sweep.folder`` or ``results/sweeps/<stem>``).
    """
    from femsim.case import read_toml

    source = Path(path).resolve()
    data = read_toml(path)
    problems: list[str] = []
    sf = _load_file(data, problems)
    if sf is None:
        raise InputError(problems[0] if problems else "invalid sweep file", file=str(path), problems=problems[1:])
    resolve_paths(sf, source.parent)
    for key in flatten(sf.set):
        problem, _ = case_key_info(key)
        if problem:
            problems.append(f"set.{key}: {problem}")
    if _check_point_count(sf, problems):  # stop here: building the values would exhaust memory
        raise InputError(problems[0], file=str(path), problems=problems[1:])
    values: list[list[Any]] = []
    seen: set[str] = set()
    for i, axis in enumerate(sf.axis):
        where = f"axis[{i}]"
        problem, _ = case_key_info(axis.key)
        if problem:
            problems.append(f"{where}.key: {problem}")
        if axis.key in seen:
            problems.append(f"{where}.key: '{axis.key}' is already an axis")
        seen.add(axis.key)
        bad = any(p.startswith(f"{where}.") for p in problems)
        values.append([] if bad else axis_values(axis, where, problems))
    if sf.sweep.combine == "zip" and values and len({len(v) for v in values}) > 1:
        problems.append("sweep.combine: 'zip' needs axes of equal length, got "
                        + ", ".join(f"{a.key}: {len(v)}" for a, v in zip(sf.axis, values)))
    if not Path(sf.sweep.base).is_file():
        problems.append(f"sweep.base: file not found: {sf.sweep.base}")
    if problems:
        raise InputError(problems[0], file=str(path), problems=problems[1:])
    points = expand(sf.axis, values, sf.sweep.combine)
    names = [p.dirname for p in points]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(f"axis: repeated points {', '.join(dupes)} (the same parameters twice)", file=str(path))
    if folder is not None:
        out = Path(folder).resolve()
    elif sf.sweep.folder is not None:
        out = Path(sf.sweep.folder)
    else:
        out = (Path("results") / "sweeps" / source.stem).resolve()
    return Sweep(sf, source, sf.sweep.name or source.stem, Path(sf.sweep.base), out, points)
