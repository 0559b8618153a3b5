"""Run one tracer on one input, ``repeat`` times, and measure wall time, CPU time and peak RSS.

Isolation (the default): every (tracer, input) pair gets **fresh processes**, so no tracer
inherits another's heap and the peak RSS read from the kernel belongs to that tracer alone.

* Python tracers run in a worker, ``python -m bench.worker JOB.json``: it imports the tracer,
  warms it up with one untimed call on a tiny image (imports, thread pools), then makes the
  ``repeat`` timed calls ``trace(path) -> svg text`` back to back, timing each with
  ``time.perf_counter`` (wall) and ``time.process_time`` (CPU of all the process's threads).
  The parent reaps the worker with ``os.wait4`` and reports that process's ``ru_maxrss``: the
  interpreter and the tracer's imports (also reported alone, as the base after warm-up) plus
  the tracing. The same semantics as an in-process call: time from file path to SVG text.
* Command tracers (templates such as Potrace) are one process per timed run: wall time from
  spawn to exit plus reading the SVG back (process start included), CPU from the child's
  rusage, peak RSS the largest ``ru_maxrss`` over the runs (at least the launcher's ~8 MB,
  see ``bench/spawn.py``).

Every process is started through ``bench/spawn.py``, a small launcher that reaps it with
``os.wait4``, so a child's peak RSS is its own and not this (large) process's high-water mark.

In process (``isolate=False``, for tests and debugging): Python tracers are called in this
process; peak RSS is not measured (``None``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.tracers import Tracer, command_args

REPO_ROOT = Path(__file__).resolve().parent.parent


class TraceError(RuntimeError):
    """A tracer failed (non-zero exit, no output, exception in the worker, timeout)."""


@dataclass
class Measured:
    times: list[float]
    cpu_times: list[float]
    svg: str
    peak_rss_kb: int | None = None  # KiB, as ru_maxrss on Linux
    base_rss_kb: int | None = None  # worker RSS after imports and warm-up, before timing
    extra: dict[str, Any] = field(default_factory=dict)


def worker_env() -> dict[str, str]:
    """Environment for worker processes: the repo root importable (``bench``), unbuffered."""
    env = dict(os.environ)
    paths = [str(REPO_ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    env["PYTHONUNBUFFERED"] = "1"
    return env


SPAWN_PY = Path(__file__).resolve().parent / "spawn.py"


def spawn_and_reap(
    args: list[str],
    *,
    timeout: float | None = None,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
) -> tuple[int, float, float, int, str]:
    """Run ``args``; returns ``(exit code, wall s, cpu s, ru_maxrss KiB, stderr tail)``.

    The child is started by the small launcher ``bench/spawn.py`` (see there why: a child
    forked from this process would inherit its RSS high-water mark), which reaps it with
    ``os.wait4``: that child's own CPU time and peak RSS, and the wall time from spawn to reap.
    """
    with tempfile.TemporaryDirectory(prefix="bench-spawn-") as tmp, tempfile.TemporaryFile() as err:
        result = os.path.join(tmp, "spawn.json")
        launcher = [sys.executable, "-S", "-I", str(SPAWN_PY), result, str(timeout or 0), "--"]
        proc = subprocess.Popen(
            launcher + list(args),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            cwd=cwd,
            env=dict(env) if env is not None else None,
        )
        try:
            code = proc.wait()
        except BaseException:  # interrupted: SIGTERM makes the launcher kill its child too
            proc.terminate()
            proc.wait()
            raise
        err.seek(0)
        tail = err.read()[-4000:].decode("utf-8", "replace")
        if code != 0 or not os.path.exists(result):
            raise TraceError(f"launcher failed (exit {code}): {tail.strip()[-500:]}")
        with open(result, encoding="utf-8") as fh:
            res = json.load(fh)
    if "error" in res:
        tail = res["error"] + "\n" + tail
    if timeout and res["code"] == -9:
        tail += f"\n(killed after the {timeout:.0f} s timeout)"
    return int(res["code"]), float(res["wall"]), float(res["cpu"]), int(res["maxrss_kb"]), tail


def _measure_command(tracer: Tracer, inputs: Mapping[str, str | None], repeat: int, timeout: float | None) -> Measured:
    assert tracer.command is not None
    times: list[float] = []
    cpu_times: list[float] = []
    peak = 0
    svg = ""
    with tempfile.TemporaryDirectory(prefix="bench-cmd-") as tmp:
        out = os.path.join(tmp, "out.svg")
        args = command_args(tracer.command, inputs, out)
        for _ in range(repeat):
            if os.path.exists(out):
                os.unlink(out)
            code, wall, cpu, rss, tail = spawn_and_reap(args, timeout=timeout)
            if code != 0:
                raise TraceError(
                    f"{tracer.name} {describe_exit(code).replace('exit', 'exited with')}: {tail.strip()[-500:]}"
                )
            if not os.path.exists(out):
                raise TraceError(f"{tracer.name} wrote no output file ({' '.join(args)})")
            t0 = time.perf_counter()
            with open(out, encoding="utf-8", errors="replace") as fh:
                svg = fh.read()  # reading the SVG back is part of the timed work
            times.append(wall + time.perf_counter() - t0)
            cpu_times.append(cpu)
            peak = max(peak, rss)
    return Measured(times, cpu_times, svg, peak_rss_kb=peak)


def _measure_in_process(tracer: Tracer, path: str, repeat: int, options: dict[str, Any]) -> Measured:
    assert tracer.make is not None
    trace = tracer.make(options)
    times: list[float] = []
    cpu_times: list[float] = []
    svg = ""
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        svg = trace(path)
        times.append(time.perf_counter() - t0)
        cpu_times.append(time.process_time() - c0)
    return Measured(times, cpu_times, svg)


def _measure_worker(
    tracer: Tracer, path: str, repeat: int, options: dict[str, Any], warmup: str | None, timeout: float | None
) -> Measured:
    with tempfile.TemporaryDirectory(prefix="bench-worker-") as tmp:
        job = {
            "kind": "trace",
            "tracer": tracer.name,
            "options": options,
            "path": path,
            "repeat": repeat,
            "warmup": warmup,
            "svg_out": os.path.join(tmp, "out.svg"),
            "result": os.path.join(tmp, "result.json"),
        }
        job_path = os.path.join(tmp, "job.json")
        with open(job_path, "w", encoding="utf-8") as fh:
            json.dump(job, fh)
        code, _wall, _cpu, rss, tail = spawn_and_reap(
            [sys.executable, "-m", "bench.worker", job_path], timeout=timeout, cwd=REPO_ROOT, env=worker_env()
        )
        result = None
        if os.path.exists(job["result"]):
            with open(job["result"], encoding="utf-8") as fh:
                result = json.load(fh)
        if result is None or "error" in result or code != 0:
            why = (result or {}).get("error") or tail.strip()[-800:] or "no result"
            raise TraceError(f"{tracer.name} worker failed ({describe_exit(code)}): {why}")
        with open(job["svg_out"], encoding="utf-8") as fh:
            svg = fh.read()
    return Measured(result["times"], result["cpu_times"], svg, peak_rss_kb=rss, base_rss_kb=result.get("base_rss_kb"))


def describe_exit(code: int) -> str:
    """``exit 1``, or ``killed by SIGBUS`` for a negative (signal) code."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit {code}"


def probe_isolated(tracer: Tracer) -> tuple[str | None, str]:
    """``(reason or None, version)`` of a Python tracer, asked in a fresh worker process, so
    the bench process never imports (and maps) the tracers' native modules."""
    return probe_in_worker("bench.worker", tracer.name)


def probe_in_worker(module: str, name: str) -> tuple[str | None, str]:
    """``(reason or None, version)`` of ``name`` as ``python -m MODULE --probe NAME`` answers
    it (the last line of its output, JSON), in a fresh process."""
    proc = subprocess.run(
        [sys.executable, "-m", module, "--probe", name],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=worker_env(),
        check=False,
    )
    try:
        res = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return (f"probe failed ({describe_exit(proc.returncode)}): {proc.stderr.strip()[-300:]}", "?")
    return res["reason"], res["version"]


def measure(
    tracer: Tracer,
    inputs: Mapping[str, str | None],
    repeat: int,
    options: dict[str, Any] | None = None,
    *,
    isolate: bool = True,
    warmup: str | None = None,
    timeout: float | None = None,
) -> Measured:
    """Trace ``inputs["in"]`` ``repeat`` times with ``tracer`` (see the module doc).

    ``inputs``: ``{"in": path, "in_pbm": path or None}``; ``options``: keyword options for
    Python tracers; ``warmup``: a tiny image for the worker's untimed first call.
    """
    if repeat < 1:
        raise ValueError("repeat must be >= 1")
    if tracer.is_command:
        return _measure_command(tracer, inputs, repeat, timeout)
    path = inputs["in"]
    assert path is not None
    if isolate:
        return _measure_worker(tracer, path, repeat, dict(options or {}), warmup, timeout)
    return _measure_in_process(tracer, path, repeat, dict(options or {}))
