"""What the real-cluster tests (test_slurm.py, test_dask_standalone.py) share: images, manifest
views, waiting, and processes that are always stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

#: Manifest fields that differ between two runs of the same batch (time, place, run id).
VARYING = ("seconds", "worker", "run", "time", "input_stat")

VECTILE = [sys.executable, "-m", "vectile"]


def icons(folder: Path, count: int, size: int = 96) -> Path:
    """``count`` different clip-art-like PNGs (flat shapes on a flat ground) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(count)
    for i in range(count):
        image = Image.new("RGB", (size, size), tuple(int(v) for v in rng.integers(180, 256, 3)))
        draw = ImageDraw.Draw(image)
        for _ in range(4):
            x, y = rng.integers(0, size - 16, 2)
            w, h = rng.integers(12, size // 2, 2)
            box = (int(x), int(y), int(x + w), int(y + h))
            colour = tuple(int(v) for v in rng.integers(0, 200, 3))
            (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=colour)
        image.save(folder / f"icon-{i:04d}.png")
    return folder


def huge_png(path: Path, size: int = 3000) -> Path:
    """A ``size`` x ``size`` map-like PNG: 160 flat discs of 12 colours on paper colour."""
    rng = np.random.default_rng(7)
    palette = [tuple(int(v) for v in c) for c in rng.integers(0, 255, (12, 3))]
    image = Image.new("RGB", (size, size), (240, 240, 235))
    draw = ImageDraw.Draw(image)
    for _ in range(160):
        cx, cy = (int(v) for v in rng.integers(0, size, 2))
        r = int(rng.integers(30, 260))
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=palette[int(rng.integers(0, 12))])
    image.save(path)
    return path


def records(outdir: Path) -> list[dict[str, Any]]:
    with open(outdir / "manifest.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def same_run_view(outdir: Path) -> dict[str, dict[str, Any]]:
    """Each output's manifest record without the fields that differ run to run, plus its SVG."""
    view = {}
    for record in records(outdir):
        kept = {k: v for k, v in record.items() if k not in VARYING}
        kept["svg"] = (outdir / record["output"]).read_bytes() if record["status"] == "ok" else None
        view[record["output"]] = kept
    return view


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.2)


def manifest_lines(outdir: Path) -> int:
    try:
        with open(outdir / "manifest.jsonl", "rb") as f:
            return sum(1 for _ in f)
    except FileNotFoundError:
        return 0


@contextmanager
def process(args: list[str], log: Path, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """A process (in its own session, in the log's folder) writing to ``log``; killed with its
    children after. In the log's folder, the job logs SLURM writes (slurm-<id>.out, in the
    submitting process's folder) land beside it rather than in the repository."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            args,
            cwd=log.parent,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})},
            start_new_session=True,
        )
    try:
        yield proc
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)


def tail(log: Path, chars: int = 3000) -> str:
    return log.read_text(errors="replace")[-chars:] if log.exists() else ""
