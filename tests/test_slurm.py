"""vectile on a real SLURM, no stand-ins: ``cluster/local-slurm.sh`` brings up munged, slurmctld
and slurmd for this machine (its own state folder and ports) for this module, and always
brings them down after. Jobs go through the real ``sbatch``, ``squeue`` and ``scancel``.

Needs root (the daemons run as root): as everywhere in CI here. Where SLURM cannot start the
tests fail with the reason; they never skip.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from clusterkit import VECTILE, huge_png, icons, manifest_lines, process, records, same_run_view, tail, wait_until

from vectile.cluster import recipe
from vectile.flows._cluster import JobQueue, connect
from vectile.tiling import trace_image

pytestmark = pytest.mark.slow

SCRIPT = recipe("local-slurm.sh")
JOBQUEUE = [sys.executable, "-m", "vectile.cluster.jobqueue", "slurm"]
# Two single-core jobs of single-threaded workers; Dask's traffic on loopback (one node).
TWO_JOBS = ["--jobs", "2", "--cores", "1", "--memory", "1GB", "--interface", "lo"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _daemons(state: Path) -> list[str]:
    """Processes whose command line names this SLURM's state folder (munged, slurmctld, slurmd)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if str(state) in cmdline and "pytest" not in cmdline:
                found.append(f"{entry.name}: {cmdline}")
    return found


@pytest.fixture(scope="module")
def slurm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A running one-node SLURM; yields its slurm.conf (also in SLURM_CONF meanwhile)."""
    if os.geteuid() != 0:
        pytest.fail("the SLURM tests start munged, slurmctld and slurmd, which needs root: run them as root")
    state = tmp_path_factory.mktemp("slurm")
    env = {
        **os.environ,
        "VECTILE_SLURM_DIR": str(state),
        "VECTILE_SLURM_CTLD_PORT": str(_free_port()),
        "VECTILE_SLURM_D_PORT": str(_free_port()),
    }
    up = subprocess.run(["bash", str(SCRIPT), "up"], env=env, capture_output=True, text=True, timeout=600)
    try:
        if up.returncode != 0:
            pytest.fail(f"local SLURM did not start (cluster/local-slurm.sh up): {up.stderr[-3000:]}")
        conf = state / "slurm.conf"
        previous = os.environ.get("SLURM_CONF")
        os.environ["SLURM_CONF"] = str(conf)
        try:
            yield conf
        finally:
            if previous is None:
                os.environ.pop("SLURM_CONF", None)
            else:
                os.environ["SLURM_CONF"] = previous
    finally:
        down = subprocess.run(["bash", str(SCRIPT), "down"], env=env, capture_output=True, text=True, timeout=120)
        assert down.returncode == 0, down.stderr
        assert _daemons(state) == [], "local-slurm.sh down left daemons running"


def _jobs(name: str | None = None) -> list[str]:
    """Ids of this SLURM's jobs (pending or running), optionally of one job name."""
    args = ["squeue", "--noheader", "--format=%i"] + ([f"--name={name}"] if name else [])
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout.split()


def test_status_shows_the_idle_node(slurm: Path) -> None:
    env = {**os.environ, "VECTILE_SLURM_DIR": str(slurm.parent)}
    status = subprocess.run(["bash", str(SCRIPT), "status"], env=env, capture_output=True, text=True, check=True)
    for daemon in ("munged", "slurmctld", "slurmd"):
        assert f"{daemon}: running" in status.stdout
    assert "idle" in status.stdout
    cpus = subprocess.run(["sinfo", "--noheader", "--format=%c"], capture_output=True, text=True, check=True)
    assert int(cpus.stdout.split()[0]) == os.cpu_count()  # the machine's own size


def test_jobqueue_batch_equals_local_cluster_batch(slurm: Path, tmp_path: Path) -> None:
    """`python -m vectile.cluster.jobqueue slurm ...` submits two real jobs, their workers
    trace the batch, the jobs end; manifest and SVGs are those of a LocalCluster batch."""
    inputs = icons(tmp_path / "in", 16)
    log = tmp_path / "jobqueue.log"
    with process([*JOBQUEUE, str(inputs), "-o", str(tmp_path / "slurm"), *TWO_JOBS], log) as batch:
        batch.wait(timeout=180)
    assert batch.returncode == 0, tail(log)
    assert "2 workers, 2 threads" in log.read_text()
    local = subprocess.run(
        [*VECTILE, "batch", str(inputs), "-o", str(tmp_path / "local"), "--workers", "2", "-q"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert local.returncode == 0, local.stderr
    on_slurm, on_local = same_run_view(tmp_path / "slurm"), same_run_view(tmp_path / "local")
    assert len(on_slurm) == 16 and {r["status"] for r in on_slurm.values()} == {"ok"}
    assert on_slurm == on_local
    # The jobs were cancelled when the batch ended.
    wait_until(lambda: _jobs() == [], 60, "the worker jobs to end")


def test_scancel_of_a_worker_job_loses_and_duplicates_nothing(slurm: Path, tmp_path: Path) -> None:
    inputs = icons(tmp_path / "in", 240, size=160)
    out = tmp_path / "out"
    log = tmp_path / "batch.log"
    args = [*VECTILE, "batch", str(inputs), "-o", str(out), "--cluster", "slurm", *TWO_JOBS, "--files-per-task", "1"]
    with process(args, log) as batch:
        wait_until(lambda: manifest_lines(out) >= 20 or batch.poll() is not None, 180, "the batch to start")
        running = _jobs()
        assert len(running) == 2, (running, tail(log))
        subprocess.run(["scancel", running[0]], check=True)
        at_cancel = manifest_lines(out)
        wait_until(lambda: running[0] not in _jobs(), 60, "the cancelled job to end")
        batch.wait(timeout=300)
    assert batch.returncode == 0, tail(log)
    assert at_cancel < 240, "the batch had finished before the job was cancelled"
    done = records(out)
    outputs = [r["output"] for r in done]
    assert len(outputs) == 240 and len(set(outputs)) == 240
    assert {r["status"] for r in done} == {"ok"}
    wait_until(lambda: _jobs() == [], 60, "the other worker job to end")


def test_sbatch_recipe_resumes_after_a_cancelled_allocation(slurm: Path, tmp_path: Path) -> None:
    """cluster/slurm-scheduler-file.sbatch in one real allocation; the allocation is
    cancelled mid-batch; resubmitted, it traces exactly the files that were missing."""
    inputs = icons(tmp_path / "in", 240, size=160)
    out = tmp_path / "out"
    env = {
        **os.environ,
        "VECTILE_PYTHON": sys.executable,
        "VECTILE_DASK_INTERFACE": "lo",
        "TMPDIR": str(tmp_path),
        "PYTHONWARNINGS": "ignore",
    }
    # This node's size, not the recipe's 4 x 32 cores.
    sbatch = ["sbatch", "--nodes=1", f"--cpus-per-task={os.cpu_count()}", "--job-name=vectile-resume"]
    script = [str(recipe("slurm-scheduler-file.sbatch")), str(inputs), str(out)]

    first = subprocess.run(
        [*sbatch, "--parsable", f"--output={tmp_path / 'first.log'}", *script],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    job = first.stdout.strip().split(";")[0]
    wait_until(lambda: manifest_lines(out) >= 20 or job not in _jobs(), 180, "the allocation's batch to start")
    subprocess.run(["scancel", job], check=True)
    wait_until(lambda: job not in _jobs(), 60, "the cancelled allocation to end")
    before = records(out)
    assert 0 < len(before) < 240, tail(tmp_path / "first.log")
    assert {r["status"] for r in before} == {"ok"}

    second = subprocess.run(
        [*sbatch, "--wait", f"--output={tmp_path / 'second.log'}", *script],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert second.returncode == 0, tail(tmp_path / "second.log")
    after = records(out)
    first_run = {r["output"] for r in before}
    redone = [r["output"] for r in after[len(before) :]]
    assert len(redone) == len(set(redone)) and set(redone).isdisjoint(first_run)
    assert first_run | set(redone) == {f"icon-{i:04d}.svg" for i in range(240)}
    assert {r["status"] for r in after} == {"ok"}
    assert not list(out.glob(".dask-scheduler-*.json"))


def test_huge_image_in_tiles_on_slurm_workers_equals_untiled(
    slurm: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the worker jobs' logs (slurm-<id>.out) go where they are submitted
    image = huge_png(tmp_path / "huge.png")
    whole = tmp_path / "whole.svg"
    untiled = subprocess.run(
        [*VECTILE, "convert", str(image), "-o", str(whole), "--tile-above", "1G", "-q"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert untiled.returncode == 0, untiled.stderr
    tiled = tmp_path / "tiled.svg"
    seen: list[str] = []
    jobqueue = JobQueue("slurm", jobs=2, cores=1, memory="2GB", interface="lo")
    with connect(jobqueue=jobqueue, dashboard=False) as (client, info):
        assert info.workers == 2
        client.wait_for_workers(2, timeout=120)
        # Every tile task ran on a worker of a SLURM job: the workers say where they run.
        seen = sorted(client.run(lambda: os.environ.get("SLURM_JOB_ID", "")).values())
        _text, stats = trace_image(image, {}, tile_size=500, client=client, output=tiled, max_pixels=10**9)
    assert all(seen) and len(set(seen)) == 2, seen
    assert stats["tiled"] is True
    assert tiled.read_bytes() == whole.read_bytes()
    wait_until(lambda: _jobs() == [], 60, "the worker jobs to end")


def test_refused_submission_is_a_clear_error(slurm: Path, tmp_path: Path) -> None:
    inputs = icons(tmp_path / "in", 2)
    result = subprocess.run(
        [
            *VECTILE,
            "batch",
            str(inputs),
            "-o",
            str(tmp_path / "out"),
            "--cluster",
            "slurm",
            *TWO_JOBS,
            "--queue",
            "none",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 1, result.stderr
    assert "cannot submit the slurm worker jobs: sbatch refused them" in result.stderr
    assert "Invalid partition" in result.stderr
    assert manifest_lines(tmp_path / "out") == 0
    assert _jobs() == []
