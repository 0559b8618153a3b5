"""``python -m bench batch``: batch throughput on Dask against plain loops, and its memory.

The input is ``--files`` (default 2,000) icon-sized PNGs: copies of the corpus icons
(``../shared/bench/icons``, 512 x 512) under new names, written to a temporary folder.
Every measurement runs in fresh processes, and writes its SVGs to a fresh folder:

* **loop**: one process, ``for path: vectile.vectorize(path).save(svg)``, with
  ``RAYON_NUM_THREADS=1`` (what each Dask worker gets) and with rayon's default (all cores),
  and once more with the glibc malloc settings the batch gives its workers
  (``vectile.flows._cluster.MALLOC_ENVIRON``: fewer page faults), to show what they are worth;
* **cores x loop**: the 1-thread loop's throughput times the cores, the target's yardstick;
  **parallel loops** measures it: ``cores`` loop processes at once, each on its share;
* **dask**: ``vectile.flows.batch`` on the LocalCluster it would start itself (one
  single-threaded worker process per core), with everything a batch does per file: input
  SHA-256, header probe, atomic write, manifest line, progress bookkeeping. Throughput is
  timed from the call to its return (planning included, cluster start-up not: that is a
  fixed cost, reported apart, as is the end-to-end figure that includes it).

Memory: the batch runs at growing sizes (``--sizes``, default 250,500,1000,2000), each on a
fresh cluster, and reports the peak RSS of the client process (which also hosts the
scheduler of a LocalCluster) and the largest worker peak: flat means no per-file leak.
CPU: seconds of CPU per file in the workers and in the client+scheduler process.

Times on a shared 2-core machine are noisy: ``--repeat`` alternates loop and Dask runs and
the table shows the best of each (and all runs in the JSON written to ``--out``).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.cli import DEFAULT_OUT

REPO_ROOT = Path(__file__).resolve().parent.parent


def _corpus_icons() -> list[Path]:
    env = os.environ.get("VECTILE_BENCH_CORPUS")
    for folder in ([Path(env)] if env else []) + [
        REPO_ROOT / "shared" / "bench",
        REPO_ROOT.parent / "shared" / "bench",
    ]:
        icons = sorted((folder / "icons").glob("*.png"))
        if icons:
            return icons
    raise SystemExit("bench batch: no icons found; set VECTILE_BENCH_CORPUS to ../shared/bench")


def make_files(folder: Path, count: int) -> list[Path]:
    """``count`` copies of the corpus icons under new names, in ``folder``."""
    icons = _corpus_icons()
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(count):
        source = icons[i % len(icons)]
        target = folder / f"file-{i:05d}-{source.name}"
        shutil.copyfile(source, target)
        files.append(target)
    return files


def _cores() -> int:
    import dask.system

    return int(dask.system.CPU_COUNT)


# --- child processes ------------------------------------------------------------------------


def _child_loop(files: list[str], outdir: str) -> dict[str, Any]:
    import vectile

    vectile.vectorize(files[0])  # warm up: imports, rayon pool
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    cpu0, t0 = time.process_time(), time.perf_counter()
    for path in files:
        vectile.vectorize(path).save(out / (Path(path).stem + ".svg"))
    seconds = time.perf_counter() - t0
    return {
        "files": len(files),
        "seconds": seconds,
        "cpu": time.process_time() - cpu0,
        "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


def _cpu_and_rss() -> tuple[float, int]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def _child_dask(list_file: str, outdir: str, workers: int, files_per_task: int | None) -> dict[str, Any]:
    import vectile.flows
    from vectile.flows._cluster import connect

    t0 = time.perf_counter()
    with connect(workers=workers, threads_per_worker=1, dashboard=False) as (client, info):
        started = time.perf_counter()
        client.run(lambda: __import__("vectile.flows._task"))  # what the first task would do
        workers_before = client.run(_cpu_and_rss)
        me_before = _cpu_and_rss()[0]
        t1 = time.perf_counter()
        report = vectile.flows.batch(
            [f"@{list_file}"], outdir, client=client, quiet=True, files_per_task=files_per_task
        )
        seconds = time.perf_counter() - t1
        me_cpu = _cpu_and_rss()[0] - me_before
        workers_after = client.run(_cpu_and_rss)
        rayon = set(client.run(lambda: os.environ.get("RAYON_NUM_THREADS")).values())
    total = time.perf_counter() - t0
    worker_cpu = sum(workers_after[w][0] - workers_before[w][0] for w in workers_after)
    return {
        "files": report.ok,
        "failed": report.failed,
        "seconds": seconds,
        "startup": started - t0,
        "end_to_end": total,
        "workers": info.workers,
        "threads": info.threads,
        "rayon_threads": sorted(rayon),
        "cpu_workers": worker_cpu,
        "cpu_client_scheduler": me_cpu,
        "peak_rss_kb_client_scheduler": _cpu_and_rss()[1],
        "peak_rss_kb_worker": max(rss for _, rss in workers_after.values()),
    }


def _child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This environment, the repo root importable (``bench``), RAYON_NUM_THREADS as given."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(REPO_ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        ),
    }
    env.pop("RAYON_NUM_THREADS", None)
    env.update(extra or {})
    return env


def _run_child(
    mode: str,
    payload: dict[str, Any],
    env_extra: dict[str, str] | None = None,
    *,
    module: str = "bench.batch",
    cwd: Path = REPO_ROOT,
) -> dict[str, Any]:
    """Run ``python -m MODULE MODE payload.json`` in a fresh process (``_child_env``) and return
    the JSON its last stdout line holds; a failed child ends the bench with its stderr."""
    env = _child_env(env_extra)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(payload, f)
    try:
        done = subprocess.run(
            [sys.executable, "-m", module, mode, f.name],
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        os.unlink(f.name)
    if done.returncode != 0:
        raise SystemExit(f"{module}: {mode} child failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _parallel_loops(files: list[Path], work: Path, cores: int) -> dict[str, Any]:
    """``cores`` 1-thread loop processes at once, each on every cores-th file."""
    env = _child_env({"RAYON_NUM_THREADS": "1"})
    procs = []
    payloads = []
    for i in range(cores):
        payload = work / f"parallel-{i}.json"
        payload.write_text(
            json.dumps({"files": [str(p) for p in files[i::cores]], "outdir": str(work / f"parallel-out-{i}")})
        )
        payloads.append(payload)
    for payload in payloads:
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "bench.batch", "_loop", str(payload)],
                env=env,
                cwd=REPO_ROOT,
                stdout=subprocess.PIPE,
                text=True,
            )
        )
    results = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    # Each child times its own loop after warming up; the slowest one bounds the batch.
    seconds = max(r["seconds"] for r in results)
    return {"files": sum(r["files"] for r in results), "seconds": seconds, "cpu": sum(r["cpu"] for r in results)}


# --- the benchmark --------------------------------------------------------------------------


def run(files_count: int, sizes: list[int], repeat: int, out: Path) -> dict[str, Any]:
    from vectile.flows._cluster import MALLOC_ENVIRON

    cores = _cores()
    with tempfile.TemporaryDirectory(prefix="vectile-bench-batch-") as tmp:
        work = Path(tmp)
        files = make_files(work / "in", max([files_count, *sizes]))
        lists = {}
        for n in sorted({files_count, *sizes}):
            lists[n] = work / f"list-{n}.txt"
            lists[n].write_text("".join(f"{p}\n" for p in files[:n]))
        runs: dict[str, list[dict[str, Any]]] = {
            "loop_1": [],
            "loop_default": [],
            "loop_1_malloc": [],
            "parallel_loops": [],
            "dask": [],
            "dask_single": [],
        }
        for r in range(repeat):
            print(f"bench batch: round {r + 1}/{repeat}: loops", file=sys.stderr)
            payload = {"files": [str(p) for p in files[:files_count]], "outdir": str(work / "loop-out")}
            runs["loop_1"].append(_run_child("_loop", payload, {"RAYON_NUM_THREADS": "1"}))
            shutil.rmtree(work / "loop-out", ignore_errors=True)
            runs["loop_default"].append(_run_child("_loop", payload))
            shutil.rmtree(work / "loop-out", ignore_errors=True)
            runs["loop_1_malloc"].append(_run_child("_loop", payload, {"RAYON_NUM_THREADS": "1", **MALLOC_ENVIRON}))
            shutil.rmtree(work / "loop-out", ignore_errors=True)
            runs["parallel_loops"].append(_parallel_loops(files[:files_count], work, cores))
            for i in range(cores):
                shutil.rmtree(work / f"parallel-out-{i}", ignore_errors=True)
            plans = [(n, None) for n in (sizes if r == 0 else [files_count])] + [(files_count, 1)]
            for n, per_task in plans:
                print(
                    f"bench batch: round {r + 1}/{repeat}: dask, {n} files, files per task {per_task or 'auto'}",
                    file=sys.stderr,
                )
                result = _run_child(
                    "_dask",
                    {
                        "list": str(lists[n]),
                        "outdir": str(work / "dask-out"),
                        "workers": cores,
                        "files_per_task": per_task,
                    },
                )
                result["size"] = n
                result["files_per_task"] = per_task
                runs["dask" if per_task is None else "dask_single"].append(result)
                shutil.rmtree(work / "dask-out", ignore_errors=True)
    return save_run(out, "batch", cores, {"files": files_count, "sizes": sizes, "repeat": repeat, "runs": runs})


def save_run(out: Path, name: str, cores: int, fields: dict[str, Any]) -> dict[str, Any]:
    """A throughput run's result: ``fields`` with the date and the machine, also written to
    ``out/NAME-<date>.json`` (its path under ``json``). Shared with ``bench.cluster``."""
    now = _dt.datetime.now()
    machine = {"cores": cores, "python": platform.python_version(), "platform": platform.platform()}
    result = {"date": now.isoformat(timespec="seconds"), "machine": machine, **fields}
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}-{now.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(result, indent=1))
    result["json"] = str(path)
    return result


def speed(r: dict[str, Any]) -> float:
    """Files per second of one run."""
    return float(r["files"]) / float(r["seconds"])


def table(result: dict[str, Any]) -> str:
    """The markdown tables of a ``run`` result."""
    cores = result["machine"]["cores"]
    n = result["files"]
    runs = result["runs"]
    best = {k: max(v, key=speed) for k, v in runs.items() if k != "dask"}
    dask_n = [r for r in runs["dask"] if r["size"] == n]
    best["dask"] = max(dask_n, key=speed)
    target = cores * speed(best["loop_1"])
    lines = [
        f"{n:,} icon-sized files (512 x 512 PNG), {cores} cores, best of {result['repeat']}:",
        "",
        "| run | processes x threads | seconds | files/s | vs 1-thread loop | vs cores x loop | vs parallel loops |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    parallel = speed(best["parallel_loops"])

    def row(name: str, shape: str, seconds: float, rate: float) -> None:
        lines.append(
            f"| {name} | {shape} | {seconds:.1f} | {rate:.1f} | "
            f"{rate / speed(best['loop_1']):.2f} | {rate / target:.0%} | "
            f"{rate / parallel:.0%} |"
        )

    row("loop, RAYON_NUM_THREADS=1", "1 x 1", best["loop_1"]["seconds"], speed(best["loop_1"]))
    row("loop, rayon default", f"1 x {cores}", best["loop_default"]["seconds"], speed(best["loop_default"]))
    row(
        "loop, RAYON_NUM_THREADS=1, the workers' malloc settings",
        "1 x 1",
        best["loop_1_malloc"]["seconds"],
        speed(best["loop_1_malloc"]),
    )
    lines.append(
        f"| cores x loop (computed) | {cores} x 1 | {n / target:.1f} | {target:.1f} | "
        f"{cores:.2f} | 100% | {target / parallel:.0%} |"
    )
    row("parallel loops (measured)", f"{cores} x 1", best["parallel_loops"]["seconds"], speed(best["parallel_loops"]))
    d = best["dask"]
    row("vectile.flows.batch on Dask (default: small files grouped)", f"{d['workers']} x 1", d["seconds"], speed(d))
    row("  same, cluster start-up included", f"{d['workers']} x 1", d["end_to_end"], d["files"] / d["end_to_end"])
    s1 = best["dask_single"]
    row("vectile.flows.batch on Dask, one task per file", f"{s1['workers']} x 1", s1["seconds"], speed(s1))
    all_rates = ", ".join(f"{speed(r):.1f}" for r in dask_n)
    loop_rates = ", ".join(f"{speed(r):.1f}" for r in runs["loop_1"])
    lines += [
        "",
        f"All runs, files/s: Dask {all_rates}; 1-thread loop {loop_rates}. "
        f"Cluster start-up {d['startup']:.1f} s. CPU per file: loop "
        f"{1000 * best['loop_1']['cpu'] / n:.1f} ms; Dask workers "
        f"{1000 * d['cpu_workers'] / n:.1f} ms + client and scheduler "
        f"{1000 * d['cpu_client_scheduler'] / n:.1f} ms (one task per file: "
        f"{1000 * s1['cpu_workers'] / n:.1f} + {1000 * s1['cpu_client_scheduler'] / n:.1f} ms).",
        "",
        "| files in the batch | seconds | files/s | peak RSS client + scheduler | peak RSS per worker |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in sorted((r for r in runs["dask"]), key=lambda r: (r["size"], -speed(r))):
        lines.append(
            f"| {r['size']:,} | {r['seconds']:.1f} | {speed(r):.1f} | "
            f"{r['peak_rss_kb_client_scheduler'] / 1024:.0f} MB | "
            f"{r['peak_rss_kb_worker'] / 1024:.0f} MB |"
        )
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench batch", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=2000, help="files for throughput (default 2000)")
    parser.add_argument(
        "--sizes", default="250,500,1000,2000", help="batch sizes for the memory rows (default 250,500,1000,2000)"
    )
    parser.add_argument("--repeat", type=int, default=1, help="rounds, best shown (default 1)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    """``python -m bench batch [--files N] [--sizes A,B,..] [--repeat R] [--out DIR]``."""
    args = build_parser().parse_args(argv)
    sizes = [int(s) for s in str(args.sizes).split(",") if s]
    result = run(args.files, sizes, max(1, args.repeat), args.out)
    print(table(result))
    print(f"\nbench: wrote {result['json']}")
    return 0


def _child_main(argv: list[str]) -> int:
    mode, payload_path = argv
    payload = json.loads(Path(payload_path).read_text())
    if mode == "_loop":
        result = _child_loop(payload["files"], payload["outdir"])
    else:
        result = _child_dask(payload["list"], payload["outdir"], payload["workers"], payload["files_per_task"])
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] and sys.argv[1].startswith("_"):  # a measuring child process
        sys.exit(_child_main(sys.argv[1:]))
    sys.exit(main())
