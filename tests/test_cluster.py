"""Cluster recipes (vectile.cluster): what can be checked without a cluster.

The SLURM recipes run for real, on a real one-node SLURM, in test_slurm.py; here the job
scripts are rendered and checked. Kubernetes manifests and the Dockerfile are parsed and
cross-checked; they are not applied or built (no cluster, no container engine here).
"""

from __future__ import annotations

import fnmatch
import json
import os
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from vectile.cli import build_parser, main
from vectile.cluster import RECIPES, recipe
from vectile.cluster.jobqueue import main as jobqueue_main
from vectile.cluster.jobqueue import worker_environment

ROOT = Path(__file__).resolve().parent.parent


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


def test_batch_job_options_need_a_job_queue(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.png").write_bytes(b"")
    assert main(["batch", str(tmp_path / "a.png"), "-o", str(tmp_path / "out"), "--cores", "4", "--jobs", "2"]) == 2
    assert "--cores, --jobs describe worker jobs: add --cluster slurm|pbs" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    code = main(
        ["batch", str(tmp_path / "a.png"), "-o", str(tmp_path / "out"), "--cluster", "slurm", "--memory", "1GB"]
    )
    assert code == 2 and "--cluster slurm needs --cores" in capsys.readouterr().err
    code = main(
        ["batch", str(tmp_path), "-o", str(tmp_path / "o"), "--cluster", "pbs", "--cores", "6", "--processes", "4"]
    )
    assert (
        code == 2 and "cores per job (6) must be a multiple of worker processes per job (4)" in capsys.readouterr().err
    )
    # The module form is the same command: same options, same checks.
    assert jobqueue_main(["slurm", str(tmp_path), "-o", str(tmp_path / "o"), "--cores", "6", "--processes", "4"]) == 2
    assert "must be a multiple" in capsys.readouterr().err
    assert main(["batch", "--help"]) == 0
    shown = capsys.readouterr().out
    for flag in ("--cluster {slurm,pbs}", "--jobs N", "--cores C", "--memory M", "--walltime", "--queue", "--account"):
        assert flag in shown, flag


def test_jobqueue_yaml_uses_dask_jobqueue_keys() -> None:
    dask_jobqueue = pytest.importorskip("dask_jobqueue")
    ours = yaml.safe_load(recipe("jobqueue.yaml").read_text())["jobqueue"]
    defaults = yaml.safe_load((Path(dask_jobqueue.__file__).parent / "jobqueue.yaml").read_text())["jobqueue"]
    for kind, settings in ours.items():
        unknown = set(settings) - set(defaults[kind])
        assert not unknown, f"{kind}: {unknown} are not dask-jobqueue settings"


def test_worker_environment_survives_the_nanny(tmp_path: Path) -> None:
    """A `dask worker` started with worker_environment() (as every recipe starts them) runs
    with it, although its nanny applies its own pre-spawn environment first."""
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=0,
            host="127.0.0.1",
            dashboard_address=None,
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},  # its HTTP: not 8787, maybe taken
        ) as cluster,
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


def test_server_jobs_connect_with_the_batch_worker_environment(tmp_path: Path) -> None:
    """The server's embedded cluster comes from the batch's connect: its workers get the malloc
    settings and RAYON_NUM_THREADS (a share of the cores each), and no dashboard on 8787."""
    import contextlib

    from vectile.flows._cluster import MALLOC_ENVIRON
    from vectile.server.jobs import _connect
    from vectile.server.settings import ServerSettings

    with contextlib.ExitStack() as stack:
        client, where = _connect(ServerSettings(data_dir=tmp_path, dask_workers=1), stack)
        assert where == "embedded LocalCluster"
        names = ["RAYON_NUM_THREADS", *MALLOC_ENVIRON]
        [seen] = client.run(lambda: {k: os.environ.get(k) for k in names}).values()
        info = client.scheduler_info(n_workers=0)
    assert seen == {"RAYON_NUM_THREADS": str(os.cpu_count() or 1), **MALLOC_ENVIRON}
    assert info.get("services", {}).get("dashboard") != 8787
    assert client.status == "closed"
