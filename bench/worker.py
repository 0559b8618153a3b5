"""Worker process: ``python -m bench.worker JOB.json`` (started by ``bench.runner``).

Runs one measurement in a fresh interpreter so that the peak RSS the parent reads with
``os.wait4`` belongs to this job alone. Imports stay minimal here (no numpy unless the tracer or
kernel needs it): what the process holds is the interpreter, the tracer's own imports and the
work.

Job kinds (JSON object):

* ``trace``: ``tracer, options, path, repeat, warmup, svg_out, result``. Writes the last run's
  SVG to ``svg_out`` and ``{"times", "cpu_times", "base_rss_kb"}`` to ``result``.
* ``kernel``: ``kernel, impl, data, repeat, result`` (see ``bench.kernels.run_kernel_job``).

Errors are written to ``result`` as ``{"error": "Type: message"}`` and the exit code is 1.

``python -m bench.worker --probe TRACER`` prints ``{"reason", "version"}`` as JSON.
"""

from __future__ import annotations

import json
import resource
import sys
import time
import traceback
from collections.abc import Callable


def base_rss_kb() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def run_trace_job(job: dict) -> dict:
    from bench.tracers import TRACERS

    name = job["tracer"]
    tracer = TRACERS.get(name)
    if tracer is None or tracer.make is None:
        raise LookupError(
            f"tracer {name!r} is not a Python tracer registered in bench.tracers "
            "(tracers registered at run time need --in-process)"
        )
    trace = tracer.make(job["options"])
    if job.get("warmup"):
        trace(job["warmup"])  # untimed: imports inside the call, thread pools, caches
    base = base_rss_kb()
    times: list[float] = []
    cpu_times: list[float] = []
    svg = ""
    for _ in range(int(job["repeat"])):
        c0, t0 = time.process_time(), time.perf_counter()
        svg = trace(job["path"])
        times.append(time.perf_counter() - t0)
        cpu_times.append(time.process_time() - c0)
    with open(job["svg_out"], "w", encoding="utf-8") as fh:
        fh.write(svg)
    return {"times": times, "cpu_times": cpu_times, "base_rss_kb": base}


def probe(name: str) -> dict:
    """``{"reason": None or why not, "version": str}`` for a registered Python tracer, from a
    fresh process (the bench process itself never imports the tracers)."""
    from bench.tracers import TRACERS

    tracer = TRACERS.get(name)
    if tracer is None:
        return {"reason": f"unknown tracer {name!r}", "version": "?"}
    reason = tracer.probe()
    return {"reason": reason, "version": tracer.version() if reason is None else "?"}


def serve(argv: list[str], prog: str, probe: Callable[[str], dict], run: Callable[[dict], dict]) -> int:
    """The command line of a bench worker (``python -m PROG JOB.json | --probe NAME``): print
    ``probe(NAME)`` as JSON, or run the job file's job and write ``run(job)`` (or the error it
    raised, which the parent reports and goes on) to the job's ``result`` path."""
    if len(argv) == 2 and argv[0] == "--probe":
        print(json.dumps(probe(argv[1])))
        return 0
    if len(argv) != 1:
        print(f"usage: python -m {prog} JOB.json | --probe NAME", file=sys.stderr)
        return 2
    with open(argv[0], encoding="utf-8") as fh:
        job = json.load(fh)
    try:
        result, code = run(job), 0
    except Exception as exc:  # reported to the parent, which records it and goes on
        traceback.print_exc()
        result, code = {"error": f"{type(exc).__name__}: {exc}"}, 1
    with open(job["result"], "w", encoding="utf-8") as fh:
        json.dump(result, fh)
    return code


def run_job(job: dict) -> dict:
    """A trace or kernel job of the colour bench."""
    if job["kind"] == "trace":
        return run_trace_job(job)
    if job["kind"] == "kernel":
        from bench.kernels import run_kernel_job

        return run_kernel_job(job)
    raise ValueError(f"unknown job kind {job['kind']!r}")


def main(argv: list[str]) -> int:
    return serve(argv, "bench.worker", probe, run_job)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
