"""Async jobs: large images and batches traced on a ``distributed.Client``.

A job is one or more uploaded images and one set of options. ``JobRunner.create`` stores the
uploads under the server's data folder (``<data_dir>/jobs/<job id>/in-000.png`` ...: every
name generated here, nothing taken from the client) and ``JobRunner.start`` submits one task
per file to Dask. Tasks read their input from that path and write the output next to it
(DESIGN: pass paths, not arrays; write results on workers), returning only small dicts of stats.
The output is the sanitised SVG, or that SVG written as another format
(:mod:`vectile.formats`: ``format``, ``dpi``, ``group_by`` of the job, as ``POST /v1/vectorize``
takes them).

Where jobs run (DESIGN section 4): ``ServerSettings.dask_address``, else
``DASK_SCHEDULER_ADDRESS`` / dask config ``scheduler-address``, else an embedded
``LocalCluster`` started on the first job. Workers of a remote scheduler must see the data
folder at the same path (a shared file system).

States: ``queued`` (stored, not yet on Dask), ``running``, ``done`` (every file finished; some
may have failed, see ``files``), ``failed`` (every file failed, the job timed out or Dask was
unreachable). One bad file never stops the others.

This module does not import FastAPI: workers import it to run :func:`trace_file`.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import threading
import time
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NamedTuple

from vectile import formats
from vectile._io import write_atomic
from vectile._text import jsonable
from vectile.errors import VectileError
from vectile.server.safety import ACCEPTED_PHRASE, display_name, sanitize_svg, sniff_image_type
from vectile.server.settings import ServerSettings
from vectile.server.tracing import TraceRequest, trace_bytes

if TYPE_CHECKING:
    from distributed import Client, Future

__all__ = ["FileTask", "Job", "JobFile", "JobRunner", "NotAnImage", "TooManyJobs", "submit_per_file", "trace_file"]


# --- the task that runs on a Dask worker ------------------------------------------------------


class FileTask(NamedTuple):
    """One file of a job, as sent to a worker (small and picklable: paths, not pixels)."""

    upload: str  # generated path of the stored upload
    output: str  # generated path where the output goes
    name: str  # the client's file name, for messages only
    request: dict[str, Any]  # TraceRequest.as_dict()
    max_pixels: int
    written: dict[str, Any] | None = None  # {"format", "dpi", "group_by"}; None: the SVG


def trace_file(task: FileTask) -> dict[str, Any]:
    """Trace one stored upload and write its sanitised SVG (or that SVG in the job's format)
    atomically; never raises for bad input: returns ``{"ok": True, "stats": {...}}`` or
    ``{"ok": False, "error": "..."}``."""
    try:
        data = Path(task.upload).read_bytes()
        svg = trace_bytes(data, task.name, TraceRequest.of(task.request), task.max_pixels)
        text = sanitize_svg(str(svg))
        written = task.written or {}
        if written.get("format", "svg") == "svg" and written.get("group_by", "none") == "none":
            write_atomic(task.output, text)
        else:
            write_atomic(
                task.output,
                formats.to_bytes(
                    text, written["format"], dpi=written.get("dpi"), group_by=written.get("group_by", "none")
                ),
            )
    except VectileError as exc:
        return {"ok": False, "error": str(exc)}
    return {"ok": True, "stats": jsonable(svg.stats)}


# --- how a job's files reach the cluster ------------------------------------------------------
# ``submit(client, job_id, tasks) -> futures``: one future per task, in order, each resolving to
# trace_file's dict, with the SVG written at ``task.output``. The default below sends one task
# per file; another way (small files in groups, as vectile.flows.batch sends them) can be passed
# as ``JobRunner(..., submit=...)``: the runner needs nothing else from it.
Submitter = Callable[["Client", str, Sequence[FileTask]], list["Future"]]


def submit_per_file(client: Client, job_id: str, tasks: Sequence[FileTask]) -> list[Future]:
    """One ``trace_file`` task per file, retried once if its worker dies."""
    return [
        client.submit(trace_file, task, key=f"vectile-serve-{job_id}-{i}", pure=False, retries=1)
        for i, task in enumerate(tasks)
    ]


# --- jobs -------------------------------------------------------------------------------------


@dataclass
class JobFile:
    index: int
    name: str  # display name (sanitised client file name), never a path
    upload: Path | None  # None: refused before storing (not an image)
    output: Path
    state: str = "queued"  # queued, done, failed
    error: str | None = None
    stats: dict[str, Any] | None = None

    def status(self) -> dict[str, Any]:
        return {"index": self.index, "name": self.name, "state": self.state, "error": self.error, "stats": self.stats}


@dataclass
class Job:
    id: str
    directory: Path
    files: list[JobFile]
    request: TraceRequest
    written: dict[str, Any] = field(default_factory=lambda: {"format": "svg", "dpi": None, "group_by": "none"})
    created: float = field(default_factory=time.time)
    state: str = "queued"
    started: float | None = None
    finished: float | None = None
    error: str | None = None
    futures: list[Any] = field(default_factory=list)
    result_path: Path | None = None

    @property
    def progress(self) -> float:
        finished = sum(f.state != "queued" for f in self.files)
        return round(finished / len(self.files), 4)

    def status(self) -> dict[str, Any]:
        counts = {s: sum(f.state == s for f in self.files) for s in ("queued", "done", "failed")}
        return {
            "id": self.id,
            "state": self.state,
            "progress": self.progress,
            "files": {"total": len(self.files), **counts},
            "created": self.created,
            "started": self.started,
            "finished": self.finished,
            "error": self.error,
            "options": self.request.as_dict(),
            "output": dict(self.written),
            "result": f"/v1/jobs/{self.id}/result" if self.state == "done" else None,
            "items": [f.status() for f in self.files],
        }


class TooManyJobs(RuntimeError):
    """Every job slot holds an unfinished job."""


class NotAnImage(ValueError):
    """No file of a new job is an image the server reads (the message says why)."""


class JobRunner:
    """Stores jobs, runs them on Dask, keeps their results for ``settings.job_ttl`` seconds.

    Thread-safe; every method blocks (call them from a thread, not the event loop).
    """

    def __init__(self, settings: ServerSettings, data_dir: Path, submit: Submitter = submit_per_file) -> None:
        self._settings = settings
        self._root = data_dir / "jobs"
        self._root.mkdir(parents=True, exist_ok=True)
        self._submit = submit
        self._jobs: dict[str, Job] = {}
        self._lock = threading.RLock()
        self._client_lock = threading.Lock()
        self._client: Client | None = None
        self._connection = contextlib.ExitStack()  # closes the client and any cluster started
        self._where = "not started"
        self._closed = False

    # -- submitting --

    def create(
        self,
        uploads: Iterable[tuple[str | None, IO[bytes]]],
        request: TraceRequest,
        written: dict[str, Any] | None = None,
    ) -> Job:
        """Store uploads (``(client file name, binary file)`` pairs) as a new queued job.
        ``written``: ``{"format", "dpi", "group_by"}`` of the outputs (default: the SVG).

        Files that are not images are recorded as failed and not stored. Raises
        :class:`NotAnImage` when no file is an image, :class:`TooManyJobs` when there is no room.
        """
        self.sweep()
        output_kind = {"format": "svg", "dpi": None, "group_by": "none", **(written or {})}
        suffix = formats.SUFFIXES[output_kind["format"]]
        job_id = secrets.token_hex(16)
        directory = self._root / job_id
        directory.mkdir()
        files: list[JobFile] = []
        try:
            for index, (filename, stream) in enumerate(uploads):
                name = display_name(filename, f"image-{index:03d}")
                output = directory / f"out-{index:03d}{suffix}"
                kind = sniff_image_type(stream.read(16))
                stream.seek(0)
                if kind is None:
                    files.append(JobFile(index, name, None, output, "failed", _not_an_image(name)))
                    continue
                upload = directory / f"in-{index:03d}{kind[1]}"
                with open(upload, "wb") as out:
                    shutil.copyfileobj(stream, out, 1 << 20)
                files.append(JobFile(index, name, upload, output))
            if all(f.upload is None for f in files):
                raise NotAnImage(files[0].error if files else "no files in the request")
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise
        job = Job(job_id, directory, files, request, output_kind)
        with self._lock:
            if len(self._jobs) >= self._settings.max_jobs:
                shutil.rmtree(directory, ignore_errors=True)
                raise TooManyJobs(f"{len(self._jobs)} jobs are in progress; try again later")
            self._jobs[job_id] = job
        return job

    def start(self, job: Job) -> None:
        """Submit a queued job's files to Dask (starts the embedded cluster the first time)."""
        try:
            client = self.client()
            tasks = [f for f in job.files if f.upload is not None]
            file_tasks = [
                FileTask(
                    str(f.upload),
                    str(f.output),
                    f.name,
                    job.request.as_dict(),
                    self._settings.job_max_pixels,
                    dict(job.written),
                )
                for f in tasks
            ]
            with self._lock:
                if job.state != "queued":
                    return
                job.state, job.started = "running", time.time()
            futures = self._submit(client, job.id, file_tasks)
        except Exception as exc:
            self._finish(job, f"cannot run the job on Dask: {type(exc).__name__}: {exc}")
            return
        with self._lock:
            if job.state != "running":  # timed out or closed while submitting
                for future in futures:
                    future.cancel()
                return
            job.futures = list(futures)
        for file, future in zip(tasks, futures, strict=True):
            future.add_done_callback(lambda fut, file=file: self._file_done(job, file, fut))

    def client(self) -> Client:
        """The Dask client, connected (or the embedded cluster started) on first use."""
        with self._client_lock:
            if self._closed:
                raise RuntimeError("the job runner is closed")
            if self._client is None:
                stack = contextlib.ExitStack()
                try:
                    self._client, self._where = _connect(self._settings, stack)
                except BaseException:
                    stack.close()
                    raise
                self._connection = stack
            return self._client

    # -- looking at jobs --

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is not None:
            self._check_timeout(job)
        return job

    def result(self, job: Job) -> tuple[Path, str]:
        """``(path, media type)`` of a done job's result: the output (SVG, or the job's
        format) for a one-file job, else a zip of every output and a ``manifest.json`` with
        each file's state, error and stats."""
        if len(job.files) == 1:
            return job.files[0].output, formats.MEDIA_TYPES[job.written["format"]]
        with self._lock:
            if job.result_path is None:
                path = job.directory / "result.zip"
                temporary = job.directory / f".result.{secrets.token_hex(4)}.zip"
                with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive:
                    for f in job.files:
                        if f.state == "done":
                            archive.write(f.output, _archive_name(f))
                    manifest = [
                        # "svg": the file's name in the archive, whatever the format (the key
                        # predates other formats; clients read it).
                        {**f.status(), "svg": _archive_name(f) if f.state == "done" else None}
                        for f in job.files
                    ]
                    archive.writestr("manifest.json", json.dumps(manifest, indent=1))
                os.replace(temporary, path)
                job.result_path = path
            return job.result_path, "application/zip"

    def describe(self) -> dict[str, Any]:
        """For /healthz: job counts and whether Dask is connected."""
        with self._lock:
            states = [j.state for j in self._jobs.values()]
        return {"jobs": len(states), "active": sum(s in ("queued", "running") for s in states), "dask": self._where}

    def close(self) -> None:
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            if job.state in ("queued", "running"):
                self._finish(job, "the server stopped before the job finished")
        with self._client_lock:
            self._closed = True
            connection, self._client = self._connection, None
        connection.close()

    # -- internals --

    def _file_done(self, job: Job, file: JobFile, future: Future) -> None:
        if future.status == "cancelled":
            outcome: dict[str, Any] = {"ok": False, "error": "cancelled"}
        else:
            try:
                outcome = future.result()
            except Exception as exc:  # the task itself crashed (a bug) or its worker died twice
                outcome = {"ok": False, "error": f"tracing failed unexpectedly: {type(exc).__name__}: {exc}"}
        with self._lock:
            if job.state != "running":
                return  # timed out or closed meanwhile
            file.state = "done" if outcome["ok"] else "failed"
            file.error = outcome.get("error")
            file.stats = outcome.get("stats")
            if all(f.state != "queued" for f in job.files):
                failed = all(f.state == "failed" for f in job.files)
                self._finish(job, "every file failed" if failed else None)

    def _finish(self, job: Job, error: str | None) -> None:
        with self._lock:
            if job.state in ("done", "failed"):
                return
            job.state = "failed" if error else "done"
            job.error = error
            job.finished = time.time()
            futures, job.futures = job.futures, []
            for f in job.files:
                if f.state == "queued":
                    f.state, f.error = "failed", error
        for future in futures:
            if not future.done():
                future.cancel()

    def _check_timeout(self, job: Job) -> None:
        started = job.started
        if job.state == "running" and started is not None and time.time() - started > self._settings.job_timeout:
            self._finish(job, f"timed out after {self._settings.job_timeout:g} s")

    def sweep(self) -> None:
        """Cancel overdue jobs; delete finished ones past their time to live (or beyond
        ``max_jobs``). Runs before every new job and periodically (see ``create_app``)."""
        now = time.time()
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            self._check_timeout(job)
        with self._lock:
            expired = [
                j for j in self._jobs.values() if j.finished is not None and now - j.finished > self._settings.job_ttl
            ]
            finished = sorted((j for j in self._jobs.values() if j.finished is not None), key=lambda j: j.finished or 0)
            overflow = len(self._jobs) - self._settings.max_jobs + 1
            expired += [j for j in finished[: max(0, overflow)] if j not in expired]
            for job in expired:
                del self._jobs[job.id]
        for job in expired:
            shutil.rmtree(job.directory, ignore_errors=True)


def _not_an_image(name: str) -> str:
    return f"'{name}' is not an image this server reads; send a {ACCEPTED_PHRASE} image"


def _archive_name(file: JobFile) -> str:
    stem = file.name.rsplit(".", 1)[0] if "." in file.name else file.name
    return f"{file.index:03d}-{stem}{file.output.suffix}"


def _connect(settings: ServerSettings, stack: contextlib.ExitStack) -> tuple[Client, str]:
    """Connect through :func:`vectile.flows._cluster.connect`, the batch's and the tiled
    tracer's way (one worker environment: thread limits, malloc settings, rayon plugin);
    ``stack`` closes the client and any cluster started here. Returns the client and where
    it runs, for /healthz."""
    from vectile.flows._cluster import address_from_environment, connect

    cores = os.cpu_count() or 1
    # Half the cores by default: the other half serves the synchronous /v1/vectorize traces.
    workers = settings.dask_workers or max(1, cores // 2)
    if settings.dask_processes:
        # One task per worker process; its Rust kernels get an equal share of the cores.
        sizes: dict[str, Any] = {"workers": workers, "threads_per_worker": 1, "rayon_threads": max(1, cores // workers)}
    else:
        sizes = {"workers": 1, "threads_per_worker": workers}
    address = settings.dask_address or address_from_environment()
    client, info = stack.enter_context(
        connect(
            scheduler=address,
            dashboard=False,
            processes=settings.dask_processes,
            **({} if address else sizes),
        )
    )
    where = "embedded LocalCluster" if info.kind == "local" else f"scheduler {info.address}"
    return client, where
