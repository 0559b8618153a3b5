"""``vectile batch``: trace whole archives on Dask (see :func:`vectile.flows.batch`).

Dask is imported only when a batch runs, so ``vectile convert`` starts as fast as before.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from vectile._io import DEFAULT_MAX_PIXELS
from vectile.cli._common import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    add_format_arguments,
    add_tracer_arguments,
    fail,
    integer,
    pixel_count,
    tracer_options,
)
from vectile.errors import ClusterError, VectileError

__all__ = ["add_jobqueue_arguments", "add_parser", "jobqueue_from_args"]

_EPILOG = """\
inputs:
  files, folders (searched recursively), glob patterns ('scans/**/*.tif', quoted),
  zip and tar archives (.zip .tar .tar.gz .tgz .tar.bz2 .tar.xz) and @LIST files naming
  more inputs, one per line. In folders and archives, files without an image suffix are
  recorded as skipped; files named explicitly are always traced.

outputs:
  OUTDIR mirrors the inputs' paths below their common folder, with .svg suffixes; members
  of archive.zip go to OUTDIR/archive.zip/... . OUTDIR/manifest.jsonl gets one JSON line
  per file as it finishes: input, output, status, error, seconds, pixels, SVG bytes,
  input SHA-256, options.

examples:
  vectile batch scans/ -o svg/                         one worker process per core
  vectile batch 'icons/**/*.png' logos.zip -o out/ --colors 8 --preset icon
  vectile batch @todo.txt -o out/ --resume             finish an interrupted batch
  vectile batch /data/archive -o /data/svg --scheduler tcp://10.0.0.5:8786
  vectile batch /shared/scans -o /shared/svg --cluster slurm --jobs 8 --cores 32 --memory 120GB
                                                       8 SLURM jobs, 32 workers each
  vectile batch in/ -o out/ --performance-report dask-report.html

Cluster: --scheduler, else --scheduler-file, else --cluster (worker jobs on SLURM or PBS,
through dask-jobqueue; a scheduler runs in this process, the jobs are cancelled when the
batch ends; unset job options come from dask's jobqueue.yaml), else DASK_SCHEDULER_ADDRESS,
else a local cluster of --workers processes. Workers must see the inputs and OUTDIR at the
same paths.
Exit status: 0 every file traced (or skipped), 1 some file failed (see the manifest) or the
cluster failed (rerun with --resume), 2 usage error or an input that names nothing,
130 interrupted (rerun with --resume).
"""


def add_parser(commands: Any) -> None:
    """Add ``batch`` to the ``vectile`` sub-commands."""
    parser = commands.add_parser(
        "batch",
        help="trace many images (folders, globs, archives, lists) on Dask",
        description="Trace many raster images into SVGs on Dask: on this machine (a local\n"
        "cluster sized to its cores) or on an existing cluster. Never loses a file: every\n"
        "one gets a manifest line; bad files are recorded as failed and the batch goes on.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    parser.add_argument(
        "inputs", nargs="+", metavar="INPUT", help="file, folder, glob pattern, zip/tar archive or @LIST file"
    )
    parser.add_argument(
        "-o",
        "--output-dir",
        "--outdir",
        dest="outdir",
        metavar="OUTDIR",
        required=True,
        help="folder for the outputs and manifest.jsonl (created)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="keep the manifest and redo only files whose output is missing, "
        "invalid, or made from another input or with other options",
    )

    tracing = parser.add_argument_group("tracing (as for 'vectile convert')")
    add_tracer_arguments(tracing)
    tracing.add_argument(
        "--max-pixels",
        type=pixel_count,
        default=DEFAULT_MAX_PIXELS,
        metavar="N",
        help=f"record images with more pixels than this as "
        f"failed (default {DEFAULT_MAX_PIXELS}; suffixes k, M, G allowed)",
    )

    cluster = parser.add_argument_group("cluster")
    cluster.add_argument(
        "--workers", type=integer(1, 4096), metavar="N", help="local cluster: worker processes (default: one per core)"
    )
    cluster.add_argument(
        "--threads-per-worker",
        type=integer(1, 1024),
        metavar="N",
        help="local cluster: threads per worker, and rayon threads per worker (default 1, or cores / --workers)",
    )
    cluster.add_argument("--scheduler", metavar="ADDR", help="run on the Dask scheduler at ADDR (tcp://host:8786)")
    cluster.add_argument(
        "--scheduler-file",
        metavar="FILE",
        help="run on the scheduler described in FILE (dask scheduler --scheduler-file)",
    )
    add_jobqueue_arguments(parser.add_argument_group("job queue (--cluster; dask-jobqueue)"))
    cluster.add_argument(
        "--files-per-task",
        type=integer(1, 1024),
        metavar="N",
        help="files under 2 MB travel in groups of up to N per Dask task "
        "(default: up to 16, fewer for short batches; 1: a task per file)",
    )
    cluster.add_argument(
        "--max-in-flight",
        type=integer(1),
        metavar="N",
        help="files submitted and not yet finished (default: 4 tasks per worker thread)",
    )
    cluster.add_argument(
        "--retries",
        type=integer(0, 100),
        default=2,
        metavar="N",
        help="retries of a file whose task raised (I/O errors; bad images fail at once) (default 2)",
    )
    cluster.add_argument(
        "--performance-report", metavar="FILE", help="write Dask's HTML performance report to FILE (needs bokeh)"
    )

    add_format_arguments(parser.add_argument_group("output format (outputs take its suffix)"))
    shown = parser.add_argument_group("output")
    shown.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar (default: when stderr is a terminal)",
    )
    shown.add_argument(
        "-q", "--quiet", action="store_true", help="print nothing but errors; the manifest still records everything"
    )
    parser.set_defaults(run=run)


def add_jobqueue_arguments(group: Any, *, with_kind: bool = True) -> None:
    """The job-queue options of ``vectile batch``, shared with ``python -m
    vectile.cluster.jobqueue`` (read back by :func:`jobqueue_from_args`)."""
    if with_kind:
        group.add_argument(
            "--cluster",
            choices=("slurm", "pbs"),
            help="submit worker jobs to SLURM (sbatch) or PBS (qsub) and run the batch on them",
        )
    group.add_argument("--jobs", type=integer(1, 100000), default=1, metavar="N", help="worker jobs (default 1)")
    group.add_argument("--cores", type=integer(1, 100000), metavar="C", help="cores per job")
    group.add_argument(
        "--processes",
        type=integer(1, 100000),
        metavar="P",
        help="worker processes per job, of C / P threads each (default: one per core)",
    )
    group.add_argument("--memory", metavar="M", help="memory per job, e.g. 64GB")
    group.add_argument("--walltime", metavar="HH:MM:SS", help="time limit per job")
    group.add_argument("--queue", help="partition (SLURM) or queue (PBS)")
    group.add_argument("--account", help="account to charge")
    group.add_argument("--interface", help="network interface of scheduler and workers, e.g. ib0")
    group.add_argument(
        "--job-extra",
        action="append",
        default=[],
        metavar="DIRECTIVE",
        help="extra #SBATCH / #PBS directive, e.g. --job-extra=--constraint=cpu (repeatable)",
    )


def jobqueue_from_args(args: argparse.Namespace, kind: str | None) -> Any:
    """The :class:`~vectile.flows._cluster.JobQueue` the options describe; None without a kind.

    Raises :class:`~vectile.errors.OptionError` when job options come without ``--cluster``."""
    from vectile.errors import OptionError
    from vectile.flows._cluster import JobQueue

    if kind is None:
        given = (
            [
                f"--{name.replace('_', '-')}"
                for name in ("cores", "processes", "memory", "walltime", "queue", "account", "interface")
                if getattr(args, name) is not None
            ]
            + (["--jobs"] if args.jobs != 1 else [])
            + (["--job-extra"] if args.job_extra else [])
        )
        if given:
            raise OptionError(f"{', '.join(given)} describe worker jobs: add --cluster slurm|pbs", option="cluster")
        return None
    return JobQueue(
        kind,
        jobs=args.jobs,
        cores=args.cores,
        processes=args.processes,
        memory=args.memory,
        walltime=args.walltime,
        queue=args.queue,
        account=args.account,
        interface=args.interface,
        job_extra=tuple(args.job_extra),
    )


def run(args: argparse.Namespace) -> int:
    """Run the batch ``args`` describe; return its exit status."""
    from rich.console import Console

    from vectile.flows import batch

    options = tracer_options(args)
    try:
        report = batch(
            args.inputs,
            args.outdir,
            resume=args.resume,
            scheduler=args.scheduler,
            scheduler_file=args.scheduler_file,
            jobqueue=jobqueue_from_args(args, args.cluster),
            workers=args.workers,
            threads_per_worker=args.threads_per_worker,
            max_in_flight=args.max_in_flight,
            files_per_task=args.files_per_task,
            retries=args.retries,
            performance_report=args.performance_report,
            progress=args.progress,
            quiet=args.quiet,
            max_pixels=args.max_pixels,
            format=args.format or "svg",
            dpi=args.dpi,
            group_by=args.group_by,
            **options,
        )
    except ClusterError as exc:  # the cluster failed; the manifest keeps what was done
        return fail(EXIT_FAILURE, str(exc))
    except VectileError as exc:
        return fail(EXIT_USAGE, str(exc))
    except KeyboardInterrupt:  # before the batch started (planning, resume checks)
        return fail(EXIT_INTERRUPTED, "interrupted before any file was traced")
    if not args.quiet:
        report.print(Console(stderr=True))
    if report.interrupted:
        print(
            f"vectile: interrupted; every finished file is in '{report.manifest}'. "
            "Run the same command with --resume to finish.",
            file=sys.stderr,
        )
    elif report.failed:
        print(
            f"vectile: error: {report.failed:,} of {report.total:,} files failed; see '{report.manifest}'",
            file=sys.stderr,
        )
    return report.exit_code
