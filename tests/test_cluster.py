"""Cluster recipes (vectile.cluster): what can be checked without a cluster.

The SLURM recipes really run here, with stand-ins for the SLURM commands: ``sbatch`` runs the
rendered job script with bash in the background, ``scancel`` kills it, ``srun`` runs its
command once. Kubernetes manifests and the Dockerfile are parsed and cross-checked; they are
not applied or built (no cluster, no container engine here).
"""

from __future__ import annotations

import fnmatch
import io
import json
import os
import shlex
import signal
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from PIL import Image

from vectile.cli import build_parser
from vectile.cluster import RECIPES, recipe
from vectile.cluster.jobqueue import main as jobqueue_main
from vectile.cluster.jobqueue import worker_environment
from vectile.flows import read_manifest

ROOT = Path(__file__).resolve().parent.parent


def _png(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    image = np.repeat(np.repeat(rng.integers(0, 255, (4, 4, 3), dtype=np.uint8), 8, 0), 8, 1)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def images(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(4):
        (folder / f"i{i}.png").write_bytes(_png(i))
    return folder


def _shim(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)


@pytest.fixture
def slurm_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """sbatch / scancel / srun stand-ins on PATH; every job still running is killed after."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    jobs = tmp_path / "jobs.txt"
    # Like sbatch, keep a copy of the script: dask-jobqueue deletes its file once submitted.
    _shim(
        bin_dir,
        "sbatch",
        f'script={tmp_path}/job-$$.sh; cp "$1" "$script"\n'
        f'setsid bash "$script" > "$script.log" 2>&1 < /dev/null &\n'
        f'echo $! >> {jobs}\necho "Submitted batch job $!"\n',
    )
    _shim(bin_dir, "scancel", 'kill -TERM -- "-$1" 2>/dev/null || true\n')
    _shim(bin_dir, "srun", 'while [ "${1#-}" != "$1" ]; do shift; done\nexec "$@"\n')
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    yield bin_dir
    if jobs.exists():
        for pid in jobs.read_text().split():
            try:
                os.killpg(int(pid), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def test_recipes_are_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["vectile.cluster"]
    for name in RECIPES:
        assert recipe(name).is_file(), name
        assert any(fnmatch.fnmatch(name, p) for p in patterns), f"{name} is not installed"
    with pytest.raises(ValueError, match="no recipe"):
        recipe("helm.yaml")


def _job_script(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert jobqueue_main([*args, "--interface", "lo", "--print-job-script"]) == 0
    return capsys.readouterr().out


def test_slurm_and_pbs_job_scripts_render_the_worker_command(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pytest.importorskip("dask_jobqueue")
    script = _job_script(
        capsys,
        "slurm",
        "--cores",
        "8",
        "--processes",
        "4",
        "--memory",
        "16GB",
        "--walltime",
        "02:00:00",
        "--queue",
        "batch",
        "--account",
        "imaging",
        "--job-extra=--exclusive",
    )
    for line in (
        "#SBATCH --cpus-per-task=8",
        "#SBATCH -p batch",
        "#SBATCH -A imaging",
        "#SBATCH -t 02:00:00",
        "#SBATCH --exclusive",
        "export RAYON_NUM_THREADS=2",
    ):
        assert line in script.splitlines(), line
    [command] = [line for line in script.splitlines() if "distributed.cli.dask_worker" in line]
    words = shlex.split(command)
    assert words[:3] == [sys.executable, "-m", "distributed.cli.dask_worker"]
    assert words[words.index("--nthreads") + 1] == "2" and words[words.index("--nworkers") + 1] == "4"
    assert words[3].startswith("tcp://127.0.0.1:")  # --interface lo
    # The exported environment is what worker_environment says, and bash reads it back.
    path = tmp_path / "job.sh"
    path.write_text(script.replace(command, "env"))
    env = dict(
        line.split("=", 1)
        for line in subprocess.run(
            ["bash", str(path)], capture_output=True, text=True, check=True, env={"PATH": os.environ["PATH"]}
        ).stdout.splitlines()
        if "=" in line
    )
    for name, value in worker_environment(2).items():
        assert env[name] == value, name
    assert json.loads(env["DASK_DISTRIBUTED__NANNY__PRE_SPAWN_ENVIRON"])["MALLOC_TRIM_THRESHOLD_"] == "268435456"

    script = _job_script(capsys, "pbs", "--cores", "4", "--processes", "1", "--memory", "8GB", "--queue", "workq")
    assert "#PBS -q workq" in script and "#PBS -l select=1:ncpus=4:mem=" in script
    assert "export RAYON_NUM_THREADS=4" in script and "--nthreads 4 " in script


def test_jobqueue_yaml_uses_dask_jobqueue_keys() -> None:
    dask_jobqueue = pytest.importorskip("dask_jobqueue")
    ours = yaml.safe_load(recipe("jobqueue.yaml").read_text())["jobqueue"]
    defaults = yaml.safe_load((Path(dask_jobqueue.__file__).parent / "jobqueue.yaml").read_text())["jobqueue"]
    for kind, settings in ours.items():
        unknown = set(settings) - set(defaults[kind])
        assert not unknown, f"{kind}: {unknown} are not dask-jobqueue settings"


def test_slurm_recipe_runs_a_batch(
    images: Path, tmp_path: Path, slurm_commands: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`python -m vectile.cluster.jobqueue slurm ...`: submits a worker job (sbatch stand-in),
    runs the batch on it, cancels the job."""
    pytest.importorskip("dask_jobqueue")
    out = tmp_path / "out"
    code = jobqueue_main(
        [
            "slurm",
            str(images),
            "-o",
            str(out),
            "--cores",
            "2",
            "--processes",
            "2",
            "--memory",
            "2GB",
            "--interface",
            "lo",
            "--colors",
            "8",
        ]
    )
    assert code == 0, capsys.readouterr().err
    records = list(read_manifest(out / "manifest.jsonl"))
    assert sorted(r["output"] for r in records) == [f"i{i}.svg" for i in range(4)]
    assert {r["status"] for r in records} == {"ok"} and {r["options"]["colors"] for r in records} == {8}
    assert all(r["worker"].startswith("tcp://127.0.0.1:") for r in records)  # the job's workers


def test_worker_environment_survives_the_nanny(tmp_path: Path) -> None:
    """A `dask worker` started with worker_environment() (as every recipe starts them) runs
    with it, although its nanny applies its own pre-spawn environment first."""
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(n_workers=0, host="127.0.0.1", dashboard_address=None) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "distributed.cli.dask_worker",
                cluster.scheduler_address,
                "--nthreads",
                "1",
                "--host",
                "127.0.0.1",
                "--nanny",
                "--no-dashboard",
            ],
            env={**os.environ, **worker_environment(1), "PYTHONWARNINGS": "ignore"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            client.wait_for_workers(1, timeout=60)
            [seen] = client.run(lambda: {k: os.environ.get(k) for k in worker_environment(1)}).values()
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    assert seen == worker_environment(1)


@pytest.mark.slow
def test_sbatch_recipe_runs_a_batch(images: Path, tmp_path: Path, slurm_commands: Path) -> None:
    """cluster/slurm-scheduler-file.sbatch, run by bash as sbatch would (srun stand-in)."""
    out = tmp_path / "out"
    env = {
        **os.environ,
        "SLURM_JOB_ID": "42",
        "SLURM_JOB_NUM_NODES": "1",
        "SLURM_CPUS_PER_TASK": "2",
        "VECTILE_PYTHON": sys.executable,
        "VECTILE_DASK_INTERFACE": "lo",
        "PYTHONWARNINGS": "ignore",
        "TMPDIR": str(tmp_path),
    }
    log = tmp_path / "job.log"
    with open(log, "wb") as f:  # a file, not a pipe: the script ends before its workers do
        process = subprocess.Popen(
            ["bash", str(recipe("slurm-scheduler-file.sbatch")), str(images), str(out)],
            env=env,
            stdout=f,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            process.wait(timeout=120)
        finally:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    assert process.returncode == 0, log.read_text()[-3000:]
    records = list(read_manifest(out / "manifest.jsonl"))
    assert sorted(r["output"] for r in records) == [f"i{i}.svg" for i in range(4)]
    assert {r["status"] for r in records} == {"ok"}
    assert not (out / ".dask-scheduler-42.json").exists()


def _documents(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(recipe(name).read_text()) if d]


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("env", [])}


def test_kubernetes_daskjob_is_consistent() -> None:
    [job] = _documents("kubernetes.yaml")
    assert (job["apiVersion"], job["kind"]) == ("kubernetes.dask.org/v1", "DaskJob")
    runner = job["spec"]["job"]["spec"]["containers"][0]
    cluster = job["spec"]["cluster"]["spec"]
    worker = cluster["worker"]["spec"]["containers"][0]
    scheduler = cluster["scheduler"]["spec"]["containers"][0]
    assert runner["image"] == worker["image"] == scheduler["image"]
    # The runner's command is a valid `vectile batch` command line (the operator injects
    # DASK_SCHEDULER_ADDRESS, so it names no scheduler).
    assert runner["args"][:2] == ["vectile", "batch"]
    args = build_parser().parse_args(runner["args"][1:])
    assert args.resume and args.scheduler is None and args.workers is None
    # Workers: RAYON_NUM_THREADS = threads per worker process, the recipe environment.
    words = worker["args"]
    threads = int(words[words.index("--nthreads") + 1])
    processes = int(words[words.index("--nworkers") + 1])
    assert _env(worker) == worker_environment(threads)
    assert int(worker["resources"]["limits"]["cpu"]) == threads * processes
    # Everyone mounts the shared data volume where the runner reads and writes.
    for pod in (job["spec"]["job"]["spec"], cluster["worker"]["spec"]):
        mounts = {m["name"]: m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
        assert mounts == {"data": "/data"}
        assert [v["name"] for v in pod["volumes"]] == ["data"]
    assert args.outdir.startswith("/data/") and all(i.startswith("/data/") for i in args.inputs)
    service = cluster["scheduler"]["service"]
    assert service["selector"]["dask.org/cluster-name"] == job["metadata"]["name"]
    assert {p["port"] for p in service["ports"]} == {8786, 8787}


def test_dockerfile_installs_the_wheel_with_the_worker_environment() -> None:
    text = recipe("Dockerfile").read_text()
    instructions = []
    for line in text.replace("\\\n", " ").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            instructions.append(line.split(None, 1))
    known = {"FROM", "COPY", "RUN", "ENV", "USER", "WORKDIR", "CMD", "ARG"}
    assert {word for word, _ in instructions} <= known
    assert instructions[0][0] == "FROM" and instructions[0][1].startswith("python:3.1")
    [env_line] = [rest for word, rest in instructions if word == "ENV"]
    env = dict(item.split("=", 1) for item in shlex.split(env_line))
    assert {k: env[k] for k in worker_environment(1)} == worker_environment(1)
    run = " ".join(rest for word, rest in instructions if word == "RUN")
    assert "abi3-manylinux" in run and '"${wheel}[batch]"' in run
