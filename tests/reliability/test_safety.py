"""Safety: case and sweep files are data (no eval, exec, pickle or shell in the package), numpy
inputs are read without pickle, and generated job scripts quote every path and name."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "femsim"
FORBIDDEN = {
    "eval()": re.compile(r"(?<![\w.])eval\("),
    "exec()": re.compile(r"(?<![\w.])exec\("),
    "pickle module": re.compile(r"^\s*(import|from)\s+(c?pickle|dill|marshal|shelve)\b", re.M),
    "shell=True": re.compile(r"shell\s*=\s*True"),
    "os.system/os.popen": re.compile(r"\bos\.(system|popen)\("),
    "allow_pickle=True": re.compile(r"allow_pickle\s*=\s*True"),
    "yaml.load": re.compile(r"\byaml\.(unsafe_)?load\("),
}


def test_package_never_evaluates_or_unpickles_input():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for what, pattern in FORBIDDEN.items():
            for m in pattern.finditer(text):
                found.append(f"{path.relative_to(PACKAGE.parent)}:{text.count(chr(10), 0, m.start()) + 1}: {what}")
    assert not found, "\n".join(found)


HOSTILE = ["/tmp/sweep dir/p 0", "/tmp/it's/$(touch pwned)", '/tmp/"q"/`id`;rm -rf x', "/tmp/a\\b/${HOME}*"]


def test_generated_job_script_quotes_every_path(tmp_path):
    slurm = pytest.importorskip("femsim.sweep.slurm")
    from femsim.sweep.spec import SlurmOptions

    entries = [{"index": i, "folder": f} for i, f in enumerate(HOSTILE)]
    script = slurm.render_script("name with spaces; $(rm -rf /)", entries, SlurmOptions())
    assert not [line for line in script.splitlines() if "rm -rf /" in line and not line.startswith("#")]
    points = [line for line in script.splitlines() if line.startswith("POINTS[")]
    probe = "\n".join(["declare -a POINTS", *points,
                       *[f'printf "%s\\0" "${{POINTS[{i}]}}"' for i in range(len(HOSTILE))]])
    out = subprocess.run(["bash", "-c", probe], capture_output=True, cwd=tmp_path, timeout=10, check=True).stdout
    assert out.decode().split("\0")[:-1] == HOSTILE
    assert not any(tmp_path.iterdir()), "a path in the script was executed"
    assert subprocess.run(["bash", "-n"], input=script.encode(), timeout=10).returncode == 0
