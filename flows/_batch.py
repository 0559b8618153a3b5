"""``batch``: trace many files on Dask, a task per file (small files in groups), with a
manifest and resume.

The client plans the files (:mod:`vectile.flows._inputs`), drops those an earlier run already
did (``resume``), then keeps a bounded number of files in flight: ``client.map`` submits
chunks of tasks with explicit keys and retries, ``as_completed`` hands back each task's small
result dicts, the client appends them to the manifest at once and submits more. The workers
read the inputs and write the SVGs themselves (atomically); no pixels or SVG text cross the
network.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime as _dt
import hashlib
import json
import os
import re
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

import vectile
from vectile._io import DEFAULT_MAX_PIXELS
from vectile._text import json_default
from vectile.errors import ClusterError, OptionError
from vectile.flows._inputs import STAGING_DIR, Job, plan
from vectile.flows._manifest import MANIFEST_NAME, Manifest, done_outputs
from vectile.flows._report import BatchReport, ProgressBar
from vectile.flows._task import trace_files
from vectile.formats import output_format, with_suffix
from vectile.options import OPTIONS

__all__ = ["TRACER_OPTIONS", "batch"]

#: ``vectorize`` keywords a batch passes through to every file (every option of
#: :data:`vectile.options.OPTIONS`).
TRACER_OPTIONS = tuple(option.name for option in OPTIONS)

# write_atomic's temporary files: ".<name>.<8 hex>.tmp" next to the output.
_TEMPORARY = re.compile(r"^\..+\.[0-9a-f]{8}\.tmp$")


def check_options(options: dict[str, Any]) -> dict[str, Any]:
    """Validate tracer options once, on the client, before any file is touched; return them
    as the manifest stores them (JSON types, sorted, None dropped)."""
    unknown = sorted(set(options) - set(TRACER_OPTIONS))
    if unknown:
        raise OptionError(
            f"unknown tracer option {', '.join(unknown)}; known are {', '.join(TRACER_OPTIONS)}", option=unknown[0]
        )
    given = {k: options[k] for k in sorted(options) if options[k] is not None}
    vectile.vectorize(np.zeros((2, 2, 3), np.uint8), **given)  # raises OptionError
    loaded: dict[str, Any] = json.loads(json.dumps(given, default=json_default))
    return loaded


def _exception(result: Any) -> BaseException:
    """The exception in an errored future's result: ``as_completed(raise_errors=False)``
    yields ``(type, exception, traceback)`` for tasks that raised, and the exception itself
    for cancelled ones."""
    if isinstance(result, tuple) and len(result) == 3 and isinstance(result[1], BaseException):
        return result[1]
    return result if isinstance(result, BaseException) else RuntimeError(repr(result))


def _failure_message(job: Job, exc: BaseException, retries: int) -> str:
    from distributed import KilledWorker

    if isinstance(exc, KilledWorker):
        return (
            f"'{job.label}': the workers running it died ({exc}); the file may crash the "
            "tracer or need more memory than a worker has"
        )
    if isinstance(exc, (concurrent.futures.CancelledError, asyncio.CancelledError)):
        return f"'{job.label}': cancelled"
    return f"'{job.label}': {type(exc).__name__}: {exc} (after {retries} retries)"


def _remove_temporaries(outdir: Path) -> None:
    """Temporary files of writes cut short by a killed worker (never by a finished one)."""
    for folder, _dirs, files in os.walk(outdir):
        for name in files:
            if _TEMPORARY.match(name):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(folder, name))


def batch(
    inputs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    outdir: str | os.PathLike[str],
    *,
    resume: bool = False,
    client: Any = None,
    scheduler: str | None = None,
    scheduler_file: str | os.PathLike[str] | None = None,
    jobqueue: Any = None,
    workers: int | None = None,
    threads_per_worker: int | None = None,
    max_in_flight: int | None = None,
    files_per_task: int | None = None,
    retries: int = 2,
    performance_report: str | os.PathLike[str] | None = None,
    progress: bool | None = None,
    quiet: bool = False,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    on_record: Callable[[dict[str, Any]], None] | None = None,
    stop: threading.Event | None = None,
    format: str = "svg",
    dpi: float | None = None,
    group_by: str | None = None,
    **options: Any,
) -> BatchReport:
    """Trace every image in ``inputs`` into SVGs under ``outdir``, on Dask; never raises for a
    bad file.

    ``inputs``: files, directories (recursive), glob patterns, zip/tar archives and ``@LIST``
    files (one input per line); outputs mirror the input paths (see
    :mod:`vectile.flows._inputs`). ``options`` are ``vectorize`` keywords (``colors``,
    ``preset``, ...) applied to every file. Runs on ``client``, else on the scheduler at
    ``scheduler`` / ``scheduler_file``, else on the SLURM or PBS worker jobs of ``jobqueue``
    (a :class:`~vectile.flows._cluster.JobQueue`), else on ``DASK_SCHEDULER_ADDRESS``, else on
    a LocalCluster of ``workers`` processes with ``threads_per_worker`` threads (default: one
    per core).

    Every file gets a line in ``outdir/manifest.jsonl`` as soon as it is finished. ``resume``
    keeps the manifest and skips files whose output is there, complete, and made from the
    same input with the same options. Each file is one task, except small ones: files of
    under 2 MB travel in groups of up to ``files_per_task`` (default: up to 16, fewer when
    the batch is short, so every worker thread gets at least 4 tasks), because a Dask task
    costs about as much CPU as tracing an icon; a group that raises or loses its worker is
    retried file by file. ``max_in_flight`` bounds the files submitted and not yet finished
    (default: 4 tasks per worker thread); ``retries`` is how often a task that raised (an
    I/O error, not a bad image) is retried. ``performance_report``: write Dask's HTML
    report there. ``progress``: show a progress bar (default: when stderr is a terminal);
    ``quiet``: print nothing. ``on_record`` is called with each manifest record; setting
    ``stop`` ends the batch like Ctrl-C does: files in flight are cancelled, the manifest
    keeps every finished file, the report says ``interrupted``. ``format`` (``svg``, ``svgz``,
    ``pdf``, ``eps``, ``dxf``), ``dpi`` and ``group_by`` choose what is written (see
    :mod:`vectile.formats`); outputs take the format's suffix, the manifest records all three
    and ``resume`` redoes files written with other ones.

    Raises :class:`~vectile.errors.InputError` when an input names nothing and
    :class:`~vectile.errors.OptionError` for bad options, before any work starts.

    >>> report = vectile.flows.batch(["scans/", "logos.zip"], "out", colors=8)  # doctest: +SKIP
    >>> report.ok, report.failed, report.exit_code                              # doctest: +SKIP
    (1250, 2, 1)
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    options = check_options(options)
    if retries < 0:
        raise OptionError(f"retries must be 0 or more, got {retries}", option="retries")
    if files_per_task is not None and files_per_task < 1:
        raise OptionError(f"files_per_task must be at least 1, got {files_per_task}", option="files_per_task")
    if max_in_flight is not None and max_in_flight < 1:
        raise OptionError(f"max_in_flight must be at least 1, got {max_in_flight}", option="max_in_flight")
    out = Path(outdir)
    if out.exists() and not out.is_dir():
        raise OptionError(f"output folder '{out}' is a file; give a folder with -o", option="outdir")
    written = output_format(format, dpi, group_by)
    jobs = [
        job if job.output is None else replace(job, output=with_suffix(job.output, written[0]))
        for job in plan(inputs, out)
    ]
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / MANIFEST_NAME
    report = BatchReport(out, manifest_path, total=len(jobs))
    done = done_outputs(jobs, manifest_path, out, options, written) if resume else set()
    run = _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds")
    console = Console(stderr=True, quiet=quiet, soft_wrap=True)
    show_bar = (not quiet) and (progress if progress is not None else sys.stderr.isatty())
    started = time.perf_counter()
    todo = [job for job in jobs if job.reader is not None and job.output not in done]
    try:
        with contextlib.ExitStack() as stack:
            dask_client: Any = None
            if todo:  # connect first: a bad scheduler address leaves the manifest untouched
                from vectile.flows._cluster import connect

                dask_client, info = stack.enter_context(
                    connect(
                        client=client,
                        scheduler=scheduler,
                        scheduler_file=scheduler_file,
                        jobqueue=jobqueue,
                        workers=workers,
                        threads_per_worker=threads_per_worker,
                    )
                )
                if options.get("edges") in ("learned", "blend"):
                    from vectile.flows._cluster import EdgeModel

                    dask_client.register_plugin(EdgeModel())  # one model session per worker, loaded once
                report.dashboard = info.dashboard
                report.cluster = f"{info.kind} cluster {info.address}: {info.workers} workers, {info.threads} threads"
                console.print(f"vectile: {len(todo):,} files on the {report.cluster}")
                if info.dashboard:
                    console.print(f"vectile: dashboard {info.dashboard}")
                threads = max(1, info.threads)
            manifest = stack.enter_context(Manifest(manifest_path, append=resume))
            bar = stack.enter_context(ProgressBar(len(jobs) - len(done), enabled=show_bar, console=console))

            def record(job: Job, result: dict[str, Any]) -> None:
                entry = {
                    "input": job.input,
                    "member": job.member,
                    "output": job.output,
                    "status": result["status"],
                    "error": result.get("error"),
                    "seconds": result.get("seconds"),
                    "pixels": result.get("pixels"),
                    "width": result.get("width"),
                    "height": result.get("height"),
                    "svg_bytes": result.get("svg_bytes"),
                    "svg_sha256": result.get("svg_sha256"),
                    "input_sha256": result.get("input_sha256"),
                    "input_bytes": result.get("input_bytes"),
                    "input_stat": list(job.stat) if job.stat else None,
                    "options": options,
                    "format": written[0],
                    "dpi": written[1],
                    "group_by": written[2],
                    "flow": result.get("flow"),
                    "preset": result.get("preset"),
                    "paths": result.get("paths"),
                    "worker": result.get("worker"),
                    "run": run,
                    "time": _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds"),
                    "vectile": vectile.__version__,
                }
                manifest.write(entry)
                report.add(entry)
                bar.advance(entry["status"] == "failed")
                if on_record is not None:
                    on_record(entry)

            for job in jobs:
                if job.output is not None and job.output in done:
                    report.already_done += 1
                elif job.reader is None:
                    record(job, {"status": "skipped" if job.skip else "failed", "error": job.skip or job.error})
            if todo:
                traced = time.perf_counter()
                _run_on_dask(
                    dask_client,
                    todo,
                    out,
                    options,
                    record,
                    report,
                    threads=threads,
                    max_in_flight=max_in_flight,
                    files_per_task=files_per_task,
                    retries=retries,
                    performance_report=performance_report,
                    max_pixels=max_pixels,
                    stop=stop,
                    written=written,
                )
                report.trace_seconds = time.perf_counter() - traced
    except KeyboardInterrupt:
        report.interrupted = True
    finally:
        report.seconds = time.perf_counter() - started
        shutil.rmtree(out / STAGING_DIR, ignore_errors=True)
    if not report.interrupted:
        _remove_temporaries(out)
    return report


class _Stopped(Exception):
    """``stop`` was set."""


class _Lost(Exception):
    """The client lost its scheduler: its futures were cancelled under it, or it closed."""


#: Files per task when grouping is automatic, and the input bytes a group may hold: a task
#: costs the cluster a few milliseconds of CPU (scheduler, worker event loop, result fetch),
#: as much as tracing an icon, so small files travel in groups; a file over the byte bound
#: is a task of its own.
GROUP_FILES = 16
GROUP_BYTES = 2 << 20


def _input_bytes(job: Job) -> int:
    assert job.reader is not None
    if job.reader.kind != "file":
        return job.reader.size
    return job.stat[0] if job.stat else GROUP_BYTES


def _groups(todo: Iterable[Job], files_per_task: int) -> Iterator[list[Job]]:
    """Consecutive files in groups of at most ``files_per_task`` and :data:`GROUP_BYTES`."""
    group: list[Job] = []
    size = 0
    for job in todo:
        nbytes = _input_bytes(job)
        if group and (len(group) >= files_per_task or size + nbytes > GROUP_BYTES):
            yield group
            group, size = [], 0
        group.append(job)
        size += nbytes
    if group:
        yield group


def _run_on_dask(
    dask_client: Any,
    todo: list[Job],
    out: Path,
    options: dict[str, Any],
    record: Callable[[Job, dict[str, Any]], None],
    report: BatchReport,
    *,
    threads: int,
    max_in_flight: int | None,
    files_per_task: int | None,
    retries: int,
    performance_report: str | os.PathLike[str] | None,
    max_pixels: int,
    stop: threading.Event | None,
    written: tuple[str, float | None, str],
) -> None:
    from distributed import as_completed
    from distributed import performance_report as dask_performance_report

    outdir = os.path.abspath(out)
    options_json = json.dumps(options, sort_keys=True)
    if files_per_task is None:  # groups, but at least 4 per worker thread to balance the load
        files_per_task = max(1, min(GROUP_FILES, len(todo) // (4 * threads)))
    checked = time.monotonic()
    limit = max_in_flight or max(8, 4 * threads) * files_per_task  # files
    pending: dict[str, list[Job]] = {}
    in_flight = 0
    groups = _groups(todo, files_per_task)
    redo: list[list[Job]] = []  # files of failed groups, one task each
    ac = as_completed(loop=dask_client.loop, with_results=True, raise_errors=False)

    def key(group: list[Job]) -> str:
        if len(group) == 1:
            return group[0].key(outdir, options_json)
        text = ",".join(job.key(outdir, options_json) for job in group)
        return "vectile-trace-" + hashlib.sha1(text.encode()).hexdigest()[:24]

    def submit() -> None:
        nonlocal in_flight, limit, checked
        if max_in_flight is None and time.monotonic() - checked > 5:
            # Clusters grow and shrink (job queues, adaptive scaling): follow their size.
            checked = time.monotonic()
            with contextlib.suppress(Exception):
                current = sum(dask_client.nthreads().values())
                limit = max(8, 4 * current) * files_per_task
        batch_groups = []
        room = limit - in_flight
        if room < limit // 4 and pending:
            return  # submit in chunks: one scheduler message for several groups
        while redo and room > 0:
            batch_groups.append(redo.pop())
            room -= 1
        for group in groups:
            batch_groups.append(group)
            room -= len(group)
            if room <= 0:
                break
        if not batch_groups:
            return
        keys = [key(group) for group in batch_groups]
        futures = dask_client.map(
            trace_files,
            batch_groups,
            key=keys,
            retries=retries,
            outdir=outdir,
            options=options,
            max_pixels=max_pixels,
            written=written,
        )
        pending.update(zip(keys, batch_groups, strict=True))
        in_flight += sum(len(group) for group in batch_groups)
        ac.update(futures)

    def checked_submit() -> None:
        try:
            submit()
        except Exception as exc:
            if dask_client.status in ("running", "connecting", "newly-created"):
                raise
            raise _Lost(f"the client is {dask_client.status}") from exc

    def finish(group: list[Job], result: Any) -> None:
        nonlocal in_flight
        in_flight -= len(group)
        if isinstance(result, list):
            for job, one in zip(group, result, strict=True):
                record(job, one)
        elif len(group) > 1:
            # The group raised or its workers died: one file may be to blame (a crash, too
            # much memory). Retry each file alone, so only that one is recorded as failed.
            redo.extend([job] for job in group)
        else:
            record(group[0], {"status": "failed", "error": _failure_message(group[0], _exception(result), retries)})

    try:
        with contextlib.ExitStack() as stack:
            if performance_report is not None:
                stack.enter_context(dask_client.as_current())  # the report finds the client
                stack.enter_context(dask_performance_report(filename=os.fspath(performance_report)))
            checked_submit()
            for future, result in ac:
                if future.status == "cancelled":
                    # Nothing here cancels a future while the batch runs: the scheduler went
                    # away (the client cancels every future when it loses the connection)
                    # or another client cancelled our keys. The file is not at fault: leave
                    # it out of the manifest, for --resume.
                    raise _Lost(str(result) or "its tasks were cancelled")
                finish(pending.pop(future.key), result)
                del future, result
                if stop is not None and stop.is_set():
                    raise _Stopped
                checked_submit()
    except (KeyboardInterrupt, _Stopped, _Lost) as exc:
        lost = exc if isinstance(exc, _Lost) else None
        report.interrupted = lost is None
        with contextlib.suppress(Exception):
            dask_client.cancel(list(ac.futures))
        # Files that finished while we stopped are done: record them, lose nothing.
        for future, result in ac.next_batch(block=False):
            group = pending.pop(future.key, None)
            if group is not None and isinstance(result, list):
                finish(group, result)
        ac.clear()
        if lost is not None:
            raise ClusterError(
                f"lost the Dask scheduler at {dask_client.scheduler.address} mid-batch ({lost}); "
                f"the {report.ok + report.failed:,} files finished are in '{report.manifest}': "
                "run the same command with --resume to trace the rest"
            ) from None
