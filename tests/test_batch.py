"""Batches on a real multi-process Dask cluster: outputs, manifest, exit codes, faults.

One LocalCluster (3 single-threaded worker processes) serves the module; the command-line
tests start their own, as users do. Fault tests: a worker killed mid-batch loses and
duplicates nothing; a batch interrupted with SIGINT resumes and redoes nothing done.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import vectile
from vectile.cli import main
from vectile.flows import batch, read_manifest

distributed = pytest.importorskip("distributed")


def _photo(size: int, seed: int) -> np.ndarray:
    """A gradient with noise: the photo preset, many regions, tens of milliseconds to trace."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size]
    image = np.stack([x * 255 // size, y * 255 // size, (x + y) * 127 // size], -1).astype(np.int16)
    image += rng.integers(-40, 40, image.shape, dtype=np.int16)
    return np.clip(image, 0, 255).astype(np.uint8)


def _flat(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.repeat(np.repeat(rng.integers(0, 255, (4, 4, 3), dtype=np.uint8), 8, 0), 8, 1)


def _png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def _records(outdir: Path) -> list[dict[str, Any]]:
    return list(read_manifest(outdir / "manifest.jsonl"))


def _reference(data: bytes, **options: Any) -> bytes:
    """The SVG a plain single-process vectorize makes of these bytes."""
    return str(vectile.vectorize(io.BytesIO(data), **options)).encode()


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    # No RAYON_NUM_THREADS in the workers' environment: batch() must set it (RayonThreads).
    with (
        distributed.LocalCluster(
            n_workers=3, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as dask_client,
    ):
        yield dask_client


@pytest.fixture
def photos(tmp_path: Path) -> dict[str, bytes]:
    """36 photo-like PNGs in tmp_path/photos (a third in a subfolder)."""
    files = {}
    for i in range(36):
        name = f"photos/{'sub/' if i % 3 == 0 else ''}p{i:02d}.png"
        files[name] = _png(_photo(160, i))
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(files[name])
    return files


def test_mixed_folder_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "mixed"
    good = {"a.png": _png(_flat(1)), "deep/b.png": _png(_flat(2)), "deep/c.png": _png(_flat(3))}
    for name, data in good.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    (root / "corrupt.png").write_bytes(good["a.png"][:60])  # truncated mid-IDAT
    (root / "fake.png").write_bytes(b"this is text, not a PNG\n")
    (root / "readme.txt").write_text("not an image\n")
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("d.png", _png(_flat(4)))
    with zipfile.ZipFile(root / "deep" / "box.zip", "w") as zf:
        zf.writestr("e.png", _png(_flat(5)))
        zf.writestr("inner.zip", inner.getvalue())
    good["deep/box.zip/e.png"] = _png(_flat(5))
    good["deep/box.zip/inner.zip/d.png"] = _png(_flat(4))
    out = tmp_path / "out"

    code = main(
        [
            "batch",
            str(root),
            "-o",
            str(out),
            "--workers",
            "2",
            "--threads-per-worker",
            "1",
            "--colors",
            "8",
            "--no-progress",
        ]
    )

    assert code == 1  # some files failed
    err = capsys.readouterr().err
    assert "2 of 8 files failed" in err and "corrupt.png" in err and "fake.png" in err
    records = _records(out)
    by_file = {(r["input"], r["member"]): r for r in records}
    assert len(by_file) == len(records) == 8  # every file exactly once
    statuses = Counter(r["status"] for r in records)
    assert statuses == {"ok": 5, "failed": 2, "skipped": 1}
    for name, data in good.items():
        svg = (out / name).with_suffix(".svg")
        assert svg.read_bytes() == _reference(data, colors=8), name
        [record] = [r for r in records if r["output"] == Path(name).with_suffix(".svg").as_posix()]
        assert record["status"] == "ok" and record["error"] is None
        assert record["input_sha256"] == hashlib.sha256(data).hexdigest()
        assert record["svg_bytes"] == svg.stat().st_size
        assert record["pixels"] == 32 * 32 and record["seconds"] > 0
        assert record["options"] == {"colors": 8}
    for bad in ("corrupt.png", "fake.png"):
        record = by_file[(str(root / bad), None)]
        assert record["status"] == "failed" and bad in record["error"]
        assert not (out / bad).with_suffix(".svg").exists()
    assert "truncated or corrupt" in by_file[(str(root / "corrupt.png"), None)]["error"]
    assert by_file[(str(root / "readme.txt"), None)]["status"] == "skipped"
    assert not list(out.rglob("*.tmp")) and not (out / ".vectile-staging").exists()


def test_all_good_exits_zero_and_sets_rayon_threads(client: Any, tmp_path: Path, photos: dict[str, bytes]) -> None:
    report = batch([tmp_path / "photos" / "sub"], tmp_path / "out", client=client, quiet=True)
    assert (report.ok, report.failed, report.exit_code) == (12, 0, 0)
    assert set(client.run(lambda: os.environ.get("RAYON_NUM_THREADS")).values()) == {"1"}


def test_learned_edges_load_the_model_once_per_worker(client: Any, tmp_path: Path, photos: dict[str, bytes]) -> None:
    report = batch([tmp_path / "photos" / "sub"], tmp_path / "out", client=client, quiet=True, edges="learned")
    assert (report.ok, report.failed) == (12, 0)
    for name, data in photos.items():
        if "/sub/" in name:
            svg = (tmp_path / "out" / Path(name).with_suffix(".svg").name).read_bytes()
            assert svg == _reference(data, edges="learned")

    def session_threads() -> Any:
        from vectile.models.edge import runtime as models

        return models._session is not None, models.session_info()["threads"]

    assert set(client.run(session_threads).values()) == {(True, 1)}


@pytest.mark.slow
def test_a_worker_killed_mid_batch_loses_and_duplicates_nothing(
    client: Any, tmp_path: Path, photos: dict[str, bytes]
) -> None:
    pids = client.run(os.getpid)
    killed: dict[str, Any] = {}

    def kill_a_busy_worker(record: dict[str, Any]) -> None:
        if killed or len(_records(tmp_path / "out")) < 4:
            return
        busy = [address for address, keys in client.processing().items() if keys]
        address = busy[0]
        killed["address"], killed["keys"] = address, list(client.processing()[address])
        os.kill(pids[address], signal.SIGKILL)

    report = batch([tmp_path / "photos"], tmp_path / "out", client=client, quiet=True, on_record=kill_a_busy_worker)

    assert killed["keys"], "the killed worker had no task: the test tested nothing"
    records = _records(tmp_path / "out")
    assert Counter(r["output"] for r in records) == Counter(
        Path(name).relative_to("photos").with_suffix(".svg").as_posix() for name in photos
    )
    assert {r["status"] for r in records} == {"ok"} and report.exit_code == 0
    for name, data in photos.items():
        svg = tmp_path / "out" / Path(name).relative_to("photos").with_suffix(".svg")
        assert svg.read_bytes() == _reference(data), name
    assert not list((tmp_path / "out").rglob("*.tmp"))
    client.wait_for_workers(3, timeout=30)  # the nanny restarted it


def _release(fifo: Path) -> None:
    """Let a reader still blocked on ``fifo`` go on (it reads an empty file); no-op without one."""
    try:
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    except OSError:  # ENXIO: nobody has it open for reading
        pass


@pytest.mark.slow
def test_interrupted_batch_resumes_and_redoes_nothing_done(
    client: Any, tmp_path: Path, photos: dict[str, bytes]
) -> None:
    out = tmp_path / "out"
    manifest = out / "manifest.jsonl"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    # One input is a FIFO: the task reading it blocks until the test opens it for writing,
    # which it never does before the interrupt, so the batch cannot finish before SIGINT
    # arrives however fast the other files trace (an event the test holds, not a race).
    held = tmp_path / "photos" / "p35.png"
    held.unlink()
    os.mkfifo(held)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vectile",
            "batch",
            str(tmp_path / "photos"),
            "-o",
            str(out),
            "--workers",
            "2",
            "--no-progress",
            # One file per task: the other worker goes on while one waits on the FIFO.
            "--files-per-task",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            if manifest.exists() and len(manifest.read_text().splitlines()) >= 3:
                break
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
        _release(held)
    held.unlink()
    held.write_bytes(photos["photos/p35.png"])  # the file the resumed batch traces
    assert process.returncode == 130, err
    assert "--resume" in err
    lines = manifest.read_text().splitlines()
    first = [json.loads(line) for line in lines]  # every line whole
    assert 3 <= len(first) < len(photos), "the batch was not interrupted mid-way"
    assert "p35.svg" not in {Path(r["output"]).name for r in first}
    done = {r["output"]: (out / r["output"]).stat().st_mtime_ns for r in first}
    assert {r["status"] for r in first} == {"ok"}

    report = batch([tmp_path / "photos"], out, resume=True, client=client, quiet=True)

    assert report.exit_code == 0 and report.already_done == len(first)
    assert report.ok == len(photos) - len(first)
    records = _records(out)
    second = records[len(first) :]
    assert not {r["output"] for r in second} & set(done)  # nothing done was redone
    assert Counter(r["output"] for r in records if r["status"] == "ok") == Counter(
        Path(name).relative_to("photos").with_suffix(".svg").as_posix() for name in photos
    )
    assert {output: (out / output).stat().st_mtime_ns for output in done} == done
    for name, data in photos.items():
        assert (out / Path(name).relative_to("photos").with_suffix(".svg")).read_bytes() == _reference(data)


def test_existing_scheduler_by_address_file_and_environment(
    client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.png").write_bytes(_png(_flat(1)))
    workers = set(client.scheduler_info()["workers"])
    address = client.scheduler.address
    scheduler_file = tmp_path / "scheduler.json"
    client.write_scheduler_file(str(scheduler_file))
    runs = {
        "address": ["--scheduler", address],
        "file": ["--scheduler-file", str(scheduler_file)],
        "environment": [],
    }
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", address)
    for name, flags in runs.items():
        out = tmp_path / name
        assert main(["batch", str(tmp_path / "in"), "-o", str(out), "-q", *flags]) == 0, name
        [record] = _records(out)
        assert record["worker"] in workers, name
    assert main(["batch", str(tmp_path / "in"), "-o", str(tmp_path / "x"), "--workers", "2"]) == 2
    assert "size the local cluster" in capsys.readouterr().err
    assert (
        main(
            ["batch", str(tmp_path / "in"), "-o", str(tmp_path / "x"), "--scheduler-file", str(tmp_path / "none.json")]
        )
        == 2
    )
    assert "cannot read scheduler file" in capsys.readouterr().err


def test_performance_report_and_a_raising_group_retried_file_by_file(client: Any, tmp_path: Path) -> None:
    pytest.importorskip("bokeh")
    (tmp_path / "in").mkdir()
    for name in ("a", "b", "c"):
        (tmp_path / "in" / f"{name}.png").write_bytes(_png(_flat(ord(name))))
    out = tmp_path / "out"
    (out / "b.svg").mkdir(parents=True)  # b's output path is a folder: writing it raises
    report = batch(
        [tmp_path / "in"],
        out,
        client=client,
        quiet=True,
        retries=1,
        files_per_task=3,
        performance_report=tmp_path / "report.html",
    )
    records = {r["output"]: r for r in _records(out)}
    assert len(records) == 3 and report.exit_code == 1
    assert records["a.svg"]["status"] == records["c.svg"]["status"] == "ok"
    assert records["b.svg"]["status"] == "failed"
    assert "IsADirectoryError" in records["b.svg"]["error"] and "after 1 retries" in records["b.svg"]["error"]
    assert "<html" in (tmp_path / "report.html").read_text()[:2000].lower()


def test_command_line_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["batch", str(tmp_path / "missing"), "-o", str(tmp_path / "out")]) == 2
    assert "vectile: error: cannot read" in capsys.readouterr().err
    (tmp_path / "file").write_text("x")
    (tmp_path / "in").mkdir()
    assert main(["batch", str(tmp_path / "in"), "-o", str(tmp_path / "file")]) == 2
    assert "is a file" in capsys.readouterr().err
    assert main(["batch", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--colors", "0"]) == 2
    assert "vectile: error:" in capsys.readouterr().err
    # Nothing to trace: no cluster is started, exit 0.
    assert main(["batch", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "-q"]) == 0
