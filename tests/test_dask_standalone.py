"""vectile on a standalone Dask cluster started as operators start one: ``dask scheduler`` and
two ``dask worker`` processes from the command line (separate processes, not a LocalCluster),
each worker with the recipes' environment (``worker_environment``).

The batch, the tiled ``convert`` and the server's ``/v1/jobs`` run on it; a worker killed
mid-batch loses nothing; an unreachable or dying scheduler is a clear error, a non-zero exit
and a manifest that ``--resume`` finishes.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from clusterkit import VECTILE, huge_png, icons, manifest_lines, process, records, tail, wait_until

from vectile.flows._cluster import worker_environment

pytestmark = pytest.mark.slow

PYTHON_M = [sys.executable, "-m"]
# The scheduler serves HTTP (health, metrics) even without a dashboard, by default on 8787,
# which another cluster on this machine may hold.
NO_DASHBOARD = ["--no-dashboard", "--dashboard-address", "127.0.0.1:0"]


@dataclass
class Standalone:
    address: str
    scheduler: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]]
    folder: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _workers(address: str) -> set[str]:
    from distributed import Client

    with Client(address, set_as_default=False, timeout=30) as client:
        return set(client.scheduler_info(n_workers=-1)["workers"])


@contextlib.contextmanager
def standalone(folder: Path) -> Iterator[Standalone]:
    """``dask scheduler`` and two single-threaded ``dask worker`` processes, stopped after."""
    folder.mkdir(parents=True, exist_ok=True)
    address = f"tcp://127.0.0.1:{_free_port()}"
    port = address.rsplit(":", 1)[1]
    with contextlib.ExitStack() as stack:
        scheduler = stack.enter_context(
            process(
                [*PYTHON_M, "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", port, *NO_DASHBOARD],
                folder / "scheduler.log",
            )
        )
        workers = [
            stack.enter_context(
                process(
                    [*PYTHON_M, "distributed.cli.dask_worker", address, "--nthreads", "1", "--no-dashboard"],
                    folder / f"worker-{i}.log",
                    env=worker_environment(1),
                )
            )
            for i in range(2)
        ]

        def ready() -> bool:
            try:
                return len(_workers(address)) == 2
            except OSError:
                return False

        wait_until(ready, 120, f"the scheduler and two workers ({tail(folder / 'worker-0.log', 500)})")
        yield Standalone(address, scheduler, workers, folder)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Standalone]:
    with standalone(tmp_path_factory.mktemp("dask")) as running:
        yield running


def test_batch_runs_on_the_standalone_workers(cluster: Standalone, tmp_path: Path) -> None:
    inputs = icons(tmp_path / "in", 24)
    out = tmp_path / "out"
    result = subprocess.run(
        [*VECTILE, "batch", str(inputs), "-o", str(out), "--scheduler", cluster.address, "-q"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    done = records(out)
    assert len(done) == 24 and {r["status"] for r in done} == {"ok"}
    assert {r["worker"] for r in done} <= _workers(cluster.address)


def test_convert_huge_image_in_tiles_on_the_standalone_workers(cluster: Standalone, tmp_path: Path) -> None:
    image = huge_png(tmp_path / "huge.png")
    whole, tiled = tmp_path / "whole.svg", tmp_path / "tiled.svg"
    for args in (["--tile-above", "1G"], ["--tile-size", "500", "--scheduler", cluster.address]):
        result = subprocess.run(
            [*VECTILE, "convert", str(image), "-o", str(whole if "1G" in args else tiled), *args, "--stats"],
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert result.returncode == 0, result.stderr
        [stats] = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
        assert stats.get("tiled", False) is ("--scheduler" in args)
    assert tiled.read_bytes() == whole.read_bytes()


def test_server_jobs_run_on_the_standalone_cluster(cluster: Standalone, tmp_path: Path) -> None:
    pytest.importorskip("fastapi")
    from vectile.server import ServerSettings, create_app
    from vectile.server.running import serve_in_thread

    inputs = icons(tmp_path / "in", 3)
    settings = ServerSettings(data_dir=tmp_path / "data", dask_address=cluster.address)
    with serve_in_thread(create_app(settings)) as url, httpx.Client(base_url=url, timeout=60) as client:
        files = [("images", (p.name, p.read_bytes(), "image/png")) for p in sorted(inputs.iterdir())]
        r = client.post("/v1/jobs", files=files)
        assert r.status_code == 202, r.text
        job = r.json()["id"]
        status: dict[str, object] = {}

        def finished() -> bool:
            status.update(client.get(f"/v1/jobs/{job}").json())
            return status["state"] in ("done", "failed")

        wait_until(finished, 120, "the job")
        assert status["state"] == "done" and status["files"] == {"total": 3, "queued": 0, "done": 3, "failed": 0}
        assert client.get("/healthz").json()["dask"] == f"scheduler {cluster.address}"


def _start_batch(
    inputs: Path, out: Path, address: str, log: Path
) -> contextlib.AbstractContextManager[subprocess.Popen[bytes]]:
    return process(
        [*VECTILE, "batch", str(inputs), "-o", str(out), "--scheduler", address, "--files-per-task", "1"], log
    )


def test_killing_a_worker_mid_batch_loses_nothing(tmp_path: Path) -> None:
    inputs = icons(tmp_path / "in", 240, size=160)
    out, log = tmp_path / "out", tmp_path / "b.log"
    with standalone(tmp_path / "dask") as running, _start_batch(inputs, out, running.address, log) as batch:
        wait_until(lambda: manifest_lines(out) >= 20 or batch.poll() is not None, 120, "the batch to start")
        os.killpg(running.workers[0].pid, signal.SIGKILL)  # the worker and its nanny, at once
        at_kill = manifest_lines(out)
        batch.wait(timeout=300)
    assert batch.returncode == 0, tail(log)
    assert at_kill < 240, "the batch had finished before the worker was killed"
    outputs = [r["output"] for r in records(out)]
    assert len(outputs) == 240 and len(set(outputs)) == 240
    assert {r["status"] for r in records(out)} == {"ok"}


def test_unreachable_scheduler_is_a_clear_error(tmp_path: Path) -> None:
    inputs = icons(tmp_path / "in", 2)
    address = f"tcp://127.0.0.1:{_free_port()}"  # nothing listens there
    started = time.monotonic()
    result = subprocess.run(
        [*VECTILE, "batch", str(inputs), "-o", str(tmp_path / "out"), "--scheduler", address],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "3s"},
    )
    assert result.returncode == 2
    assert f"vectile: error: cannot connect to the scheduler at '{address}'" in result.stderr
    assert manifest_lines(tmp_path / "out") == 0
    assert time.monotonic() - started < 60


def test_dying_scheduler_leaves_a_manifest_that_resume_finishes(tmp_path: Path) -> None:
    inputs = icons(tmp_path / "in", 240, size=160)
    out = tmp_path / "out"
    log = tmp_path / "b.log"
    with standalone(tmp_path / "dask") as running, _start_batch(inputs, out, running.address, log) as batch:
        wait_until(lambda: manifest_lines(out) >= 20 or batch.poll() is not None, 120, "the batch to start")
        running.scheduler.send_signal(signal.SIGKILL)
        batch.wait(timeout=120)
    assert batch.returncode == 1, tail(log)
    message = log.read_text()
    assert f"vectile: error: lost the Dask scheduler at {running.address} mid-batch" in message
    assert "run the same command with --resume" in message
    before = records(out)
    assert 0 < len(before) < 240 and {r["status"] for r in before} == {"ok"}  # no file blamed

    again = subprocess.run(
        [*VECTILE, "batch", str(inputs), "-o", str(out), "--resume", "--workers", "2", "-q"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 0, again.stderr
    after = records(out)
    first = {r["output"] for r in before}
    redone = [r["output"] for r in after[len(before) :]]
    assert len(redone) == len(set(redone)) and first.isdisjoint(redone)
    assert first | set(redone) == {f"icon-{i:04d}.svg" for i in range(240)}
    assert json.loads((out / "manifest.jsonl").read_text().splitlines()[-1])["status"] == "ok"
