"""``python -m bench cluster``: ``vectile.flows.batch`` throughput on the three kinds of cluster
it runs on, side by side with plain loops.

The input is ``--files`` (default 2,000) copies of the corpus icons (``bench.batch.make_files``),
in a temporary folder. Each run is a fresh cluster of ``cores`` single-threaded workers and a
fresh client process, tracing into a fresh folder:

* **local**: the LocalCluster ``vectile batch`` starts by itself;
* **standalone**: ``dask scheduler`` and ``cores`` ``dask worker --nthreads 1`` processes
  started from the command line (with ``worker_environment(1)``, as the recipes start them),
  the batch connecting with ``--scheduler``;
* **slurm**: ``vectile batch --cluster slurm --jobs CORES --cores 1``: worker jobs through the
  real ``sbatch`` of the SLURM in ``SLURM_CONF`` (``cluster/local-slurm.sh up`` starts one);
* **loop**: one process, ``for path: vectile.vectorize(path).save(svg)``, ``RAYON_NUM_THREADS=1``;
  *cores x loop* is its rate times the cores, and *parallel loops* measures ``cores`` such loops
  at once (``bench.batch``'s children).

Throughput is timed from the batch call to its return, once every worker is up; worker
start-up (cluster start, jobs queued and started, workers joined) is reported apart. The three
clusters run back to back in each round, their order rotating round to round, so a change of
load on a shared machine hits them alike; the load average is recorded with every run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.batch import _child_env, _cores, _parallel_loops, _run_child, make_files, save_run, speed
from bench.cli import DEFAULT_OUT

KINDS = ("local", "standalone", "slurm")


def _child_batch(kind: str, list_file: str, outdir: str, workers: int, address: str | None) -> dict[str, Any]:
    import vectile.flows
    from vectile.flows._cluster import JobQueue, connect

    t0 = time.perf_counter()
    if kind == "local":
        where: dict[str, Any] = {"workers": workers, "threads_per_worker": 1}
    elif kind == "standalone":
        where = {"scheduler": address}
    else:
        where = {"jobqueue": JobQueue("slurm", jobs=workers, cores=1, memory="1GB", interface="lo")}
    with connect(dashboard=False, **where) as (client, _info):
        client.wait_for_workers(workers, timeout=600)
        client.run(lambda: __import__("vectile.flows._task"))  # what the first task would do
        startup = time.perf_counter() - t0
        load = os.getloadavg()[0]
        t1 = time.perf_counter()
        report = vectile.flows.batch([f"@{list_file}"], outdir, client=client, quiet=True)
        seconds = time.perf_counter() - t1
        nthreads = sum(client.nthreads().values())
    return {
        "kind": kind,
        "files": report.ok,
        "failed": report.failed,
        "seconds": seconds,
        "startup": startup,
        "threads": nthreads,
        "load_before": load,
        "load_after": os.getloadavg()[0],
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _standalone(workers: int, logs: Path) -> Iterator[tuple[str, float]]:
    """A ``dask scheduler`` and ``workers`` ``dask worker`` processes; yields the address and
    the seconds until every worker had joined."""
    from distributed import Client

    from vectile.flows._cluster import worker_environment

    address = f"tcp://127.0.0.1:{_free_port()}"
    env = {**_child_env(), **worker_environment(1)}
    t0 = time.perf_counter()
    procs = []
    try:
        with open(logs / "scheduler.log", "wb") as log:
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "distributed.cli.dask_scheduler",
                        "--host",
                        "127.0.0.1",
                        "--port",
                        address.rsplit(":", 1)[1],
                        "--no-dashboard",  # its HTTP still serves (health): on any free port
                        "--dashboard-address",
                        "127.0.0.1:0",
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        for i in range(workers):
            with open(logs / f"worker-{i}.log", "wb") as log:
                procs.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1"]
                        + ["--no-dashboard"],
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        with Client(address, timeout=120, set_as_default=False) as client:
            client.wait_for_workers(workers, timeout=600)
        yield address, time.perf_counter() - t0
    finally:
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, 15)
        for proc in procs:
            proc.wait(timeout=60)


def _check_slurm() -> None:
    found = subprocess.run(["sinfo", "--noheader", "--format=%T"], capture_output=True, text=True, check=False)
    if found.returncode != 0 or "idle" not in found.stdout and "mix" not in found.stdout:
        raise SystemExit(
            "bench cluster: no SLURM node is idle (sinfo: "
            f"{(found.stdout + found.stderr).strip() or 'nothing'}); start one with "
            "'sudo cluster/local-slurm.sh up' and 'eval \"$(cluster/local-slurm.sh env)\"', "
            "or pass --kinds local,standalone"
        )


def _run_batch(kind: str, list_file: Path, outdir: Path, workers: int, logs: Path) -> dict[str, Any]:
    with contextlib.ExitStack() as stack:
        address, cluster_startup = None, 0.0
        if kind == "standalone":
            address, cluster_startup = stack.enter_context(_standalone(workers, logs))
        payload = {"kind": kind, "list": str(list_file), "outdir": str(outdir), "workers": workers, "address": address}
        # cwd: dask-jobqueue's job logs (slurm-*.out) land there.
        result = _run_child("_batch", payload, module="bench.cluster", cwd=logs)
    if kind == "standalone":  # the workers were up before the client started
        result["startup"] = cluster_startup
    return result


def run(files_count: int, repeat: int, kinds: list[str], out: Path) -> dict[str, Any]:
    if "slurm" in kinds:
        _check_slurm()
    cores = _cores()
    runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
    runs["loop_1"], runs["parallel_loops"] = [], []
    with tempfile.TemporaryDirectory(prefix="vectile-bench-cluster-") as tmp:
        work = Path(tmp)
        files = make_files(work / "in", files_count)
        list_file = work / "list.txt"
        list_file.write_text("".join(f"{p}\n" for p in files))
        for r in range(repeat):
            order = kinds[r % len(kinds) :] + kinds[: r % len(kinds)]
            for kind in order:
                print(f"bench cluster: round {r + 1}/{repeat}: {kind}", file=sys.stderr)
                logs = work / f"logs-{kind}-{r}"
                logs.mkdir()
                runs[kind].append(_run_batch(kind, list_file, work / "out", cores, logs))
                shutil.rmtree(work / "out", ignore_errors=True)
            print(f"bench cluster: round {r + 1}/{repeat}: loops", file=sys.stderr)
            payload = {"files": [str(p) for p in files], "outdir": str(work / "loop-out")}
            loop = _run_child("_loop", payload, {"RAYON_NUM_THREADS": "1"})
            runs["loop_1"].append({**loop, "load_after": os.getloadavg()[0]})
            shutil.rmtree(work / "loop-out", ignore_errors=True)
            runs["parallel_loops"].append({**_parallel_loops(files, work, cores), "load_after": os.getloadavg()[0]})
            for i in range(cores):
                shutil.rmtree(work / f"parallel-out-{i}", ignore_errors=True)
    return save_run(out, "cluster", cores, {"files": files_count, "repeat": repeat, "runs": runs})


def table(result: dict[str, Any]) -> str:
    """The markdown table of a ``run`` result: best of the rounds, every round listed after."""
    cores, n, runs = result["machine"]["cores"], result["files"], result["runs"]
    kinds = [k for k in KINDS if k in runs]
    best = {k: max(v, key=speed) for k, v in runs.items() if v}
    local = speed(best["local"]) if "local" in best else None
    target = cores * speed(best["loop_1"])
    names = {
        "local": "LocalCluster (vectile batch's own)",
        "standalone": "standalone: dask scheduler + dask worker processes",
        "slurm": f"SLURM: {cores} jobs x 1 core (dask-jobqueue, real sbatch)",
    }
    lines = [
        f"{n:,} icons (copies of the corpus icons), {cores} cores, {cores} single-threaded workers, "
        f"best of {result['repeat']}:",
        "",
        "| run | seconds | files/s | vs LocalCluster | vs cores x loop | worker start-up |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for kind in kinds:
        b = best[kind]
        vs_local = f"{speed(b) / local:.0%}" if local else "-"
        lines.append(
            f"| {names[kind]} | {b['seconds']:.1f} | {speed(b):.1f} | {vs_local} | {speed(b) / target:.0%} | "
            f"{b['startup']:.1f} s |"
        )
    loop = best["loop_1"]
    lines.append(f"| loop, 1 process, RAYON_NUM_THREADS=1 | {loop['seconds']:.1f} | {speed(loop):.1f} | - | - | - |")
    lines.append(f"| cores x loop (computed) | {n / target:.1f} | {target:.1f} | - | 100% | - |")
    par = best["parallel_loops"]
    lines.append(
        f"| parallel loops (measured, {cores} processes) | {par['seconds']:.1f} | {speed(par):.1f} | - | "
        f"{speed(par) / target:.0%} | - |"
    )
    lines.append("")
    for kind in [*kinds, "loop_1", "parallel_loops"]:
        rates = ", ".join(f"{speed(r):.1f} (load {r.get('load_after', 0):.1f})" for r in runs[kind])
        lines.append(f"- {kind}: files/s per round {rates}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench cluster", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=2000, help="icons in the batch (default 2000)")
    parser.add_argument("--repeat", type=int, default=1, help="rounds, best shown (default 1)")
    parser.add_argument(
        "--kinds", default=",".join(KINDS), help=f"clusters to measure, comma-separated (default {','.join(KINDS)})"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    """``python -m bench cluster [--files N] [--repeat R] [--kinds local,standalone,slurm] [--out DIR]``."""
    args = build_parser().parse_args(argv)
    kinds = [k for k in str(args.kinds).split(",") if k]
    unknown = set(kinds) - set(KINDS)
    if unknown or not kinds:
        raise SystemExit(f"bench cluster: --kinds takes {', '.join(KINDS)}; got {args.kinds!r}")
    result = run(args.files, max(1, args.repeat), kinds, args.out)
    print(table(result))
    print(f"\nbench: wrote {result['json']}")
    return 0


def _child_main(argv: list[str]) -> int:
    _mode, payload_path = argv
    p = json.loads(Path(payload_path).read_text())
    print(json.dumps(_child_batch(p["kind"], p["list"], p["outdir"], p["workers"], p["address"])))
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["_batch"]:  # a measuring child process
        sys.exit(_child_main(sys.argv[1:]))
    sys.exit(main())
