"""Loopback load test of ``vectile serve``: ``python -m bench load [--duration 60] [--concurrency 8]``.

Starts the server as a child process on a free port of 127.0.0.1 (never anything else), warms
it up, then keeps ``--concurrency`` uploads in flight for ``--duration`` seconds (both bounded)
and stops by itself. Uploads are icon-sized PNGs: the corpus icons (../shared/bench/icons,
512 x 512) when present, else generated 256 x 256 badges.

Reports requests/s, latency percentiles, errors (anything but 200) and the server's memory:
resident set before the load, after it, and its peak (VmHWM), from /proc. The client runs on
the same machine, so on a small machine it takes CPU from the server: compare runs made on
the same machine only. Results go to stdout (a Markdown table) and bench/out/load.json.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

import httpx
import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_ICONS = HERE.parent.parent / "shared" / "bench" / "icons"
MAX_DURATION = 600.0
MAX_CONCURRENCY = 64


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (at most 600; default 60)")
    parser.add_argument("--concurrency", type=int, default=8, help="uploads in flight (at most 64; default 8)")
    parser.add_argument("--quality", choices=("fast", "balanced", "high"), default="balanced")
    parser.add_argument("--icons", type=Path, default=DEFAULT_ICONS, help="folder of PNG icons to upload")
    parser.add_argument("--workers", type=int, help="server tracing threads (vectile serve --workers)")
    parser.add_argument("--out", type=Path, default=HERE / "out" / "load.json", help="JSON results file")
    return parser


def uploads(folder: Path, limit: int = 48) -> list[tuple[str, bytes]]:
    files = sorted(folder.glob("*.png"))[:limit] if folder.is_dir() else []
    if files:
        return [(f.name, f.read_bytes()) for f in files]
    from PIL import Image, ImageDraw

    images = []
    for i in range(8):
        image = Image.new("RGB", (256, 256), (250, 248, 240))
        draw = ImageDraw.Draw(image)
        colour = (40 + 25 * i, 90, 200 - 20 * i)
        draw.rounded_rectangle((20, 20, 236, 236), radius=40 + 4 * i, fill=colour)
        draw.ellipse((60 + i, 60, 196, 196 - i), fill=(250, 200, 40))
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        images.append((f"badge-{i}.png", buffer.getvalue()))
    return images


def memory(pid: int) -> dict[str, int]:
    """Resident set and its peak, bytes (Linux /proc)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) * 1024
    return fields


def cpu_seconds(pid: int) -> float:
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, workers: int | None, log: IO[bytes]) -> subprocess.Popen[bytes]:
    """``vectile serve`` on 127.0.0.1:port, its messages to ``log``; returns once it answers."""
    command = [
        sys.executable,
        "-m",
        "vectile",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    if workers:
        command += ["--workers", str(workers)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"the server exited: {log.read().decode(errors='replace')}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    stop_server(server)
    raise RuntimeError("the server did not answer /healthz within 30 s")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    server.send_signal(signal.SIGINT)
    try:
        server.wait(30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


async def load(
    url: str, files: list[tuple[str, bytes]], duration: float, concurrency: int, quality: str
) -> tuple[list[float], dict[str, int], float]:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    counter = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        started = time.perf_counter()
        deadline = started + duration

        async def worker() -> None:
            nonlocal counter
            while time.perf_counter() < deadline:
                name, data = files[counter % len(files)]
                counter += 1
                sent = time.perf_counter()
                try:
                    r = await client.post(
                        "/v1/vectorize", files={"image": (name, data, "image/png")}, data={"quality": quality}
                    )
                    if r.status_code != 200 or not r.text.startswith("<svg"):
                        errors[str(r.status_code)] = errors.get(str(r.status_code), 0) + 1
                        continue
                except httpx.HTTPError as exc:
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                    continue
                latencies.append(time.perf_counter() - sent)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return latencies, errors, elapsed


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not 0 < args.duration <= MAX_DURATION or not 1 <= args.concurrency <= MAX_CONCURRENCY:
        print(
            f"bench.load: --duration must be in (0, {MAX_DURATION:g}] and --concurrency in 1..{MAX_CONCURRENCY}",
            file=sys.stderr,
        )
        return 2
    files = uploads(args.icons)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        server = start_server(port, args.workers, log)
        try:
            before = memory(server.pid)
            with httpx.Client(base_url=url, timeout=60) as client:  # warm-up, not measured
                for name, data in files[:4]:
                    client.post("/v1/vectorize", files={"image": (name, data, "image/png")}).raise_for_status()
            warm = memory(server.pid)
            cpu_before = cpu_seconds(server.pid)
            latencies, errors, elapsed = asyncio.run(load(url, files, args.duration, args.concurrency, args.quality))
            cpu = cpu_seconds(server.pid) - cpu_before
            after = memory(server.pid)
        finally:
            stop_server(server)
    ms = np.array(latencies) * 1000 if latencies else np.zeros(1)
    result: dict[str, Any] = {
        "duration_s": round(elapsed, 2),
        "concurrency": args.concurrency,
        "quality": args.quality,
        "uploads": f"{len(files)} PNGs, mean {np.mean([len(d) for _, d in files]) / 1000:.1f} KB",
        "requests": len(latencies),
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "latency_ms": {
            q: round(float(np.percentile(ms, p)), 1) for q, p in (("p50", 50), ("p90", 90), ("p99", 99), ("max", 100))
        },
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "server_rss_mb": {
            "before": round(before["VmRSS"] / 1e6, 1),
            "after_warmup": round(warm["VmRSS"] / 1e6, 1),
            "after": round(after["VmRSS"] / 1e6, 1),
            "peak": round(after["VmHWM"] / 1e6, 1),
        },
        "server_cpu_s": round(cpu, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    lat, rss = result["latency_ms"], result["server_rss_mb"]
    print("| requests | req/s | p50 ms | p90 ms | p99 ms | max ms | errors | RSS before | after | peak |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    print(
        f"| {result['requests']} | {result['requests_per_s']} | {lat['p50']} | {lat['p90']} | {lat['p99']} "
        f"| {lat['max']} | {result['errors']} | {rss['before']} MB | {rss['after']} MB | {rss['peak']} MB |"
    )
    print(
        f"{result['duration_s']} s, concurrency {args.concurrency}, quality {args.quality}, "
        f"{result['uploads']}, {result['machine']}; server CPU {result['server_cpu_s']} s; "
        f"results in {args.out}"
    )
    return 0 if result["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
