"""Batches on SLURM or PBS through dask-jobqueue: ``python -m vectile.cluster.jobqueue``.

The module form of ``vectile batch --cluster slurm|pbs`` (same options, same code):

    python -m vectile.cluster.jobqueue slurm /data/scans -o /data/svg \\
        --jobs 8 --cores 32 --memory 64GB --walltime 04:00:00 --queue normal
    # is  vectile batch /data/scans -o /data/svg --cluster slurm --jobs 8 --cores 32 ...
    python -m vectile.cluster.jobqueue slurm --cores 32 --memory 64GB --print-job-script

Run it on a login node (or in a small job of its own): it starts a Dask scheduler there,
submits worker jobs with ``sbatch`` / ``qsub``, runs the batch on them and cancels the jobs
when the batch ends. Inputs and OUTDIR must be on a filesystem the compute nodes share. Each
job runs ``--processes`` worker processes with ``cores / processes`` threads each; every
worker gets ``RAYON_NUM_THREADS`` = its threads and the glibc malloc settings of the local
cluster (:func:`vectile.flows._cluster.worker_environment`), exported in the job script.
Site defaults (queue, account, interface, extra directives) can live in
``~/.config/dask/jobqueue.yaml``; ``jobqueue.yaml`` next to this file is an example.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from vectile.cli import main as vectile_main
from vectile.cli._common import EXIT_USAGE, Parser
from vectile.cli.batch import add_jobqueue_arguments, jobqueue_from_args
from vectile.errors import VectileError
from vectile.flows._cluster import JOBQUEUE_KINDS, worker_environment

__all__ = ["KINDS", "job_script", "main", "worker_environment"]

KINDS = JOBQUEUE_KINDS


def _print_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="python -m vectile.cluster.jobqueue KIND --print-job-script",
        description="Print the worker job script; submits nothing.",
        allow_abbrev=False,
    )
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("--print-job-script", action="store_true", required=True)
    add_jobqueue_arguments(parser, with_kind=False)
    return parser


def job_script(argv: Sequence[str]) -> str:
    """The worker job script ``KIND [job options] --print-job-script`` describes."""
    args = _print_parser().parse_args(argv)
    with jobqueue_from_args(args, args.kind).make() as cluster:
        return str(cluster.job_script())


def main(argv: Sequence[str] | None = None) -> int:
    """``KIND INPUT... -o OUTDIR [batch and job options]``: ``vectile batch --cluster KIND``;
    with ``--print-job-script``, print the job script instead. Returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in KINDS:
        print(
            f"usage: python -m vectile.cluster.jobqueue {{{','.join(KINDS)}}} INPUT... -o OUTDIR "
            "[options of 'vectile batch' and its job queue group] | --print-job-script",
            file=sys.stderr,
        )
        return 0 if argv[:1] in (["-h"], ["--help"]) else EXIT_USAGE
    if "--print-job-script" in argv:
        try:
            print(job_script(argv))
        except SystemExit as exc:  # argparse: usage printed
            return exc.code if isinstance(exc.code, int) else EXIT_USAGE
        except VectileError as exc:
            print(f"vectile: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        return 0
    return vectile_main(["batch", "--cluster", argv[0], *argv[1:]])


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
