"""Batches on SLURM or PBS through dask-jobqueue: ``python -m vectile.cluster.jobqueue``.

Run it on a login node (or in a small job of its own): it starts a Dask scheduler there,
submits worker jobs with ``sbatch`` / ``qsub``, runs the batch on them and cancels the jobs
when the batch ends. Inputs and OUTDIR must be on a filesystem the compute nodes share.

    pip install 'vectile[batch]' dask-jobqueue         # on the login node, same Python as workers
    python -m vectile.cluster.jobqueue slurm /data/scans -o /data/svg \\
        --jobs 8 --cores 32 --processes 8 --memory 64GB --walltime 04:00:00 --queue normal
    python -m vectile.cluster.jobqueue slurm ... --print-job-script    # show, submit nothing

Each job runs ``--processes`` worker processes with ``cores / processes`` threads each; every
worker gets ``RAYON_NUM_THREADS`` = its threads and the glibc malloc settings of the local
cluster (``worker_environment``), exported in the job script before the workers start.
Site defaults (queue, account, interface, extra directives) can live in
``~/.config/dask/jobqueue.yaml``; ``jobqueue.yaml`` next to this file is an example.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from collections.abc import Sequence
from typing import Any

from vectile.flows._cluster import MALLOC_ENVIRON, _dashboard_address, pre_spawn_environ

__all__ = ["KINDS", "main", "make_cluster", "worker_environment"]

KINDS = ("slurm", "pbs")


def worker_environment(threads: int) -> dict[str, str]:
    """Environment for worker jobs of ``threads`` threads per worker process.

    ``RAYON_NUM_THREADS`` sizes the Rust kernels' pool; the malloc variables spare page
    faults. Dask's nanny would overwrite the malloc settings from its
    ``distributed.nanny.pre-spawn-environ`` config before starting the worker, so that config
    is set too, through its environment variable (a dict literal, which dask parses as a
    whole: the variable names inside keep their case).

    >>> worker_environment(4)["RAYON_NUM_THREADS"]
    '4'
    """
    environ = {"RAYON_NUM_THREADS": str(threads), **MALLOC_ENVIRON}
    environ["DASK_DISTRIBUTED__NANNY__PRE_SPAWN_ENVIRON"] = json.dumps(pre_spawn_environ())
    return environ


def _prologue(threads: int) -> list[str]:
    return [f"export {name}={shlex.quote(value)}" for name, value in worker_environment(threads).items()]


def make_cluster(
    kind: str,
    *,
    cores: int,
    processes: int,
    memory: str,
    walltime: str,
    queue: str | None = None,
    account: str | None = None,
    interface: str | None = None,
    local_directory: str | None = None,
    job_extra_directives: Sequence[str] = (),
    python: str | None = None,
    scheduler_options: dict[str, Any] | None = None,
) -> Any:
    """A dask-jobqueue cluster (not yet scaled) whose worker jobs suit vectile.

    ``cores`` and ``memory`` are per job; ``processes`` worker processes share them. Options
    left as None come from the dask-jobqueue config (``jobqueue.<kind>.*``).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if cores < 1 or processes < 1 or cores % processes:
        raise ValueError(f"cores ({cores}) must be a positive multiple of processes ({processes})")
    try:
        import dask_jobqueue
    except ImportError as exc:
        raise SystemExit("vectile.cluster.jobqueue needs dask-jobqueue: pip install dask-jobqueue") from exc
    cls = dask_jobqueue.SLURMCluster if kind == "slurm" else dask_jobqueue.PBSCluster
    kwargs: dict[str, Any] = dict(
        cores=cores,
        processes=processes,
        memory=memory,
        walltime=walltime,
        job_script_prologue=_prologue(cores // processes),
        job_extra_directives=list(job_extra_directives),
        scheduler_options=scheduler_options or {},
    )
    for name, value in (
        ("queue", queue),
        ("account", account),
        ("interface", interface),
        ("local_directory", local_directory),
        ("python", python),
    ):
        if value is not None:
            kwargs[name] = value
    return cls(**kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m vectile.cluster.jobqueue",
        description="Run a vectile batch on SLURM or PBS worker jobs (dask-jobqueue).",
        epilog=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("kind", choices=KINDS, help="the job scheduler")
    parser.add_argument(
        "inputs", nargs="*", metavar="INPUT", help="as for 'vectile batch' (files, folders, globs, archives, @LIST)"
    )
    parser.add_argument("-o", "--output-dir", dest="outdir", metavar="OUTDIR")
    parser.add_argument("--resume", action="store_true", help="as for 'vectile batch'")
    parser.add_argument("--jobs", type=int, default=1, help="worker jobs (default 1)")
    parser.add_argument("--cores", type=int, required=True, help="cores per job")
    parser.add_argument("--processes", type=int, default=None, help="worker processes per job (default: one per core)")
    parser.add_argument("--memory", required=True, help="memory per job, e.g. 64GB")
    parser.add_argument("--walltime", default="01:00:00", help="per job (default 01:00:00)")
    parser.add_argument("--queue", help="partition (SLURM) or queue (PBS)")
    parser.add_argument("--account", help="account to charge")
    parser.add_argument("--interface", help="network interface of the workers, e.g. ib0")
    parser.add_argument("--local-directory", help="node-local scratch for the workers")
    parser.add_argument(
        "--job-extra",
        action="append",
        default=[],
        metavar="DIRECTIVE",
        help="extra #SBATCH/#PBS directive, e.g. --job-extra=--constraint=cpu (repeatable)",
    )
    parser.add_argument(
        "--print-job-script", action="store_true", help="print the worker job script and exit; submits nothing"
    )
    parser.add_argument("--colors", type=int, help="as for 'vectile batch'")
    parser.add_argument("--preset", choices=("icon", "photo", "lineart", "pixel"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Command line; returns the batch's exit status."""
    args = build_parser().parse_args(argv)
    processes = args.processes or args.cores
    dashboard = _dashboard_address()  # 127.0.0.1:8787 if free: reach it with ssh -L
    cluster = make_cluster(
        args.kind,
        cores=args.cores,
        processes=processes,
        memory=args.memory,
        walltime=args.walltime,
        queue=args.queue,
        account=args.account,
        interface=args.interface,
        local_directory=args.local_directory,
        job_extra_directives=args.job_extra,
        # The scheduler always serves HTTP (health checks); without bokeh, or just printing,
        # on any free port rather than 8787.
        scheduler_options={"dashboard_address": "127.0.0.1:0"}
        if args.print_job_script or dashboard is None
        else {"dashboard_address": dashboard},
    )
    with cluster:
        if args.print_job_script:
            print(cluster.job_script())
            return 0
        if not args.inputs or not args.outdir:
            print("vectile: error: give INPUT... and -o OUTDIR (or --print-job-script)", file=sys.stderr)
            return 2
        from distributed import Client

        from vectile.flows import batch

        options = {k: v for k, v in (("colors", args.colors), ("preset", args.preset)) if v is not None}
        cluster.scale(jobs=args.jobs)
        print(f"vectile: submitted {args.jobs} {args.kind} job(s); dashboard {cluster.dashboard_link}", file=sys.stderr)
        with Client(cluster) as client:
            report = batch(args.inputs, args.outdir, client=client, resume=args.resume, **options)
        report.print()
        return report.exit_code


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
