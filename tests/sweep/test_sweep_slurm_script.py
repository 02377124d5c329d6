"""The SLURM job-array script without a scheduler: quoting, directives, array ranges, dry run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from femsim.cli import main
from femsim.errors import InputError
from femsim.sweep.slurm import array_spec, render_script
from femsim.sweep.spec import SlurmOptions

from _sweep_helpers import write_sweep

NASTY = "we$ird `name` \"double\" 'single' ; rm -rf x"


def test_array_spec():
    assert array_spec([0, 1, 2, 3]) == "0-3"
    assert array_spec([5, 0, 2, 3, 9], max_parallel=2) == "0,2-3,5,9%2"


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_script_quotes_paths_and_runs_each_task_in_its_folder(tmp_path):
    """Run the generated script with bash as array task 1, with a fake mpiexec that records its args."""
    points = []
    for i in range(2):
        folder = tmp_path / f"sweep {NASTY}" / "points" / f"p{i} {NASTY}"
        folder.mkdir(parents=True)
        points.append({"index": i * 3, "folder": str(folder)})
    record = tmp_path / "args.json"
    fake = tmp_path / "fake mpiexec"
    fake.write_text(f"#!/bin/bash\n{shutil.which('python3') or 'python3'} -c 'import json,sys; "
                    f"json.dump(sys.argv[1:], open(sys.argv[1], \"w\"))' {json.dumps(str(record))} \"$@\"\n"
                    "echo 'error: something went wrong' >&2\nexit 3\n")
    fake.chmod(0o755)
    opts = SlurmOptions(partition="debug", account="proj_1", time="0:10:00", tasks_per_case=2, max_parallel=1,
                        extra=["--mem=1G"], mpiexec=str(fake))
    text = render_script(NASTY, points, opts)
    assert "#SBATCH --array=0,3%1" in text and "#SBATCH --ntasks=2" in text and "#SBATCH --mem=1G" in text
    assert "#SBATCH --job-name=we_ird_name_double_single_rm_-rf_x" in text
    assert "#SBATCH --partition=debug" in text and "#SBATCH --account=proj_1" in text
    for line in text.splitlines():
        if line.startswith("#SBATCH"):
            assert not any(c in line for c in "\"'`$; "[:-1]) and line.count(" ") == 1, line
    script = tmp_path / "job.sh"
    script.write_text(text)
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    env = dict(os.environ, SLURM_ARRAY_TASK_ID="3", SLURM_ARRAY_JOB_ID="77", SLURM_JOB_ID="80", SLURM_NTASKS="2")
    proc = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3, proc.stderr
    argv = json.loads(record.read_text())
    folder = Path(points[1]["folder"])
    assert argv[1:3] == ["-n", "2"] and argv[-2:] == ["run", str(folder / "case.toml")]
    task = json.loads((folder / "task.json").read_text())
    assert task["exit_status"] == 3 and task["array_task_id"] == "3" and task["array_job_id"] == "77"
    assert "error: something went wrong" in (folder / "run.log").read_text()
    assert not (Path(points[0]["folder"]) / "task.json").exists()


def test_cli_dry_run_prints_script_and_rejects_unsafe_options(tmp_path, capsys):
    path = write_sweep(tmp_path, '[[axis]]\nkey = "protocol.c_rate"\nvalues = [1.0, 2.0]\n',
                       name=NASTY, sweep_folder=f"out {NASTY}")
    argv = ["sweep", "run", str(path), "--executor", "slurm", "--dry-run", "--no-mesh", "--partition", "gpu",
            "--time", "01:00:00", "--ranks-per-case", "4", "--sbatch-option=--qos=short"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "#SBATCH --array=0-1" in out and "#SBATCH --partition=gpu" in out and "#SBATCH --ntasks=4" in out
    assert "#SBATCH --qos=short" in out and "#SBATCH --time=01:00:00" in out
    assert "# submit with: sbatch --parsable" in out
    assert (tmp_path / f"out {NASTY}" / "slurm" / "sweep.sbatch").is_file()
    assert main(argv[:-1] + ["--sbatch-option=--comment='x y'"]) == 2
    assert "--sbatch-option: each entry must be one sbatch option" in capsys.readouterr().err
    assert main(argv + ["--partition", "a;b"]) == 2
    assert "--partition: must be a plain name" in capsys.readouterr().err


def test_submit_without_sbatch_is_an_input_error(tmp_path, monkeypatch):
    from femsim.sweep import slurm

    monkeypatch.setattr(slurm.shutil, "which", lambda name: None)
    with pytest.raises(InputError, match="'sbatch' not found"):
        slurm.submit("x", tmp_path, [{"index": 0, "folder": str(tmp_path / "p")}], SlurmOptions())


def test_point_command_uses_mpiexec_only_for_several_ranks():
    from femsim.sweep.local import femsim_command, point_command

    assert point_command("/a b/case.toml", 1) == femsim_command() + ["run", "/a b/case.toml"]
    cmd = point_command("/a b/case.toml", 3, mpiexec="/opt/mpi/bin/mpiexec")
    assert cmd[:3] == ["/opt/mpi/bin/mpiexec", "-n", "3"] and cmd[-2:] == ["run", "/a b/case.toml"]
