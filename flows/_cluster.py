"""Where a batch runs: an existing Dask cluster, or a LocalCluster sized to this machine.

Choice, first match wins: a ``Client`` passed in; ``scheduler`` (an address such as
``tcp://10.0.0.5:8786``); ``scheduler_file`` (written by ``dask scheduler --scheduler-file``);
``jobqueue`` (a :class:`JobQueue`: worker jobs submitted to SLURM or PBS through
dask-jobqueue, with a scheduler in this process); the ``DASK_SCHEDULER_ADDRESS`` environment
variable (dask config ``scheduler-address``); otherwise an embedded ``LocalCluster`` of worker
processes. The batch, the tiled tracer and the server's jobs all connect here.

Threads: the Rust kernels run on rayon's global pool, sized once per process from
``RAYON_NUM_THREADS`` when first used. Each worker gets ``RAYON_NUM_THREADS`` = its Dask
threads, so ``workers x threads`` (the local default: one single-threaded worker per core)
never asks for more cores than there are. LocalCluster workers get it in their environment
before they start; workers of an existing cluster get it from the :class:`RayonThreads` plugin
before their first task; job-queue workers get it, and the malloc settings, in their job
script (:func:`worker_environment`).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shlex
import signal
import socket
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import dask
from distributed import Client, LocalCluster
from distributed.diagnostics.plugin import WorkerPlugin

from vectile.errors import ClusterError, OptionError

__all__ = [
    "MALLOC_ENVIRON",
    "ClusterInfo",
    "EdgeModel",
    "IgnoreInterrupts",
    "JOBQUEUE_KINDS",
    "JobQueue",
    "RayonThreads",
    "address_from_environment",
    "connect",
    "local_size",
    "pre_spawn_environ",
    "worker_environment",
]

_DASHBOARD_PORT = 8787

#: glibc malloc settings for workers. Dask's nanny sets MALLOC_TRIM_THRESHOLD_=65536 so that
#: freed memory goes back to the OS at once; glibc then also serves every allocation over
#: 128 KiB with a fresh mmap, and a trace, which allocates and frees image-sized buffers,
#: pays for it in page faults: 1,900 per 512 x 512 icon and about 75 % more CPU than with
#: these values, which take it to none (glibc's own defaults: 870 faults, 35 % more CPU;
#: measured on the corpus icons). Buffers under 32 MiB are reused from the heap; free heap
#: beyond 256 MiB still goes back to the OS; bigger buffers are mmapped as before.
MALLOC_ENVIRON = {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "268435456"}


def pre_spawn_environ() -> dict[str, str]:
    """Dask's ``distributed.nanny.pre-spawn-environ`` with :data:`MALLOC_ENVIRON` instead
    of its malloc trim setting (the numeric library thread limits are kept)."""
    environ = {str(k): str(v) for k, v in (dask.config.get("distributed.nanny.pre-spawn-environ", None) or {}).items()}
    return {**environ, **MALLOC_ENVIRON}


def worker_environment(threads: int) -> dict[str, str]:
    """Environment for worker processes of ``threads`` threads each, started by anything else
    than :func:`connect`'s LocalCluster (job scripts, ``dask worker`` command lines).

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


#: Job schedulers :class:`JobQueue` submits to.
JOBQUEUE_KINDS = ("slurm", "pbs")


@dataclass(frozen=True)
class JobQueue:
    """Worker jobs on SLURM or PBS, through dask-jobqueue: ``jobs`` jobs of ``cores`` cores and
    ``memory`` each, every job running ``processes`` worker processes (default: one per core)
    of ``cores / processes`` threads. Options left None come from dask-jobqueue's config
    (``jobqueue.<kind>.*``, e.g. ``~/.config/dask/jobqueue.yaml``), as for any dask-jobqueue
    cluster; ``job_extra`` adds ``#SBATCH`` / ``#PBS`` directives.

    >>> JobQueue("slurm", jobs=2, cores=4, memory="8GB").threads
    1
    """

    kind: str
    jobs: int = 1
    cores: int | None = None
    memory: str | None = None
    processes: int | None = None
    walltime: str | None = None
    queue: str | None = None
    account: str | None = None
    interface: str | None = None
    local_directory: str | None = None
    job_extra: tuple[str, ...] = ()
    python: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in JOBQUEUE_KINDS:
            raise OptionError(
                f"cluster must be one of {', '.join(JOBQUEUE_KINDS)}, got {self.kind!r}", option="cluster"
            )
        if self.jobs < 1:
            raise OptionError(f"jobs must be at least 1, got {self.jobs}", option="jobs")
        cores, processes = self.job_cores, self.job_processes
        if cores % processes:
            raise OptionError(
                f"cores per job ({cores}) must be a multiple of worker processes per job ({processes})",
                option="cores",
            )

    def _config(self, name: str) -> Any:
        return dask.config.get(f"jobqueue.{self.kind}.{name}", None)

    @property
    def job_cores(self) -> int:
        """Cores per job: ``cores``, else dask-jobqueue's config."""
        cores = self.cores or self._config("cores")
        if not cores or int(cores) < 1:
            raise OptionError(f"--cluster {self.kind} needs --cores (cores per job), at least 1", option="cores")
        return int(cores)

    @property
    def job_processes(self) -> int:
        """Worker processes per job: ``processes``, else one per core."""
        processes = int(self.processes or self.job_cores)
        if processes < 1:
            raise OptionError(f"processes per job must be at least 1, got {processes}", option="processes")
        return processes

    @property
    def threads(self) -> int:
        """Threads (and rayon threads) of each worker process."""
        return self.job_cores // self.job_processes

    def make(self, dashboard_address: str | None = None) -> Any:
        """The dask-jobqueue cluster (a scheduler in this process; no job submitted yet)."""
        try:
            import dask_jobqueue
        except ImportError as exc:
            raise OptionError(
                f"--cluster {self.kind} needs dask-jobqueue: pip install dask-jobqueue", option="cluster"
            ) from exc
        if not (self.memory or self._config("memory")):
            raise OptionError(f"--cluster {self.kind} needs --memory (memory per job, e.g. 8GB)", option="memory")
        cls = dask_jobqueue.SLURMCluster if self.kind == "slurm" else dask_jobqueue.PBSCluster
        kwargs: dict[str, Any] = {
            "cores": self.job_cores,
            "processes": self.job_processes,
            "job_script_prologue": [
                f"export {name}={shlex.quote(value)}" for name, value in worker_environment(self.threads).items()
            ],
            # The scheduler always serves HTTP (health checks): without a dashboard wanted, on
            # any free loopback port rather than 8787.
            "scheduler_options": {"dashboard_address": dashboard_address or "127.0.0.1:0"},
        }
        if self.job_extra:
            kwargs["job_extra_directives"] = list(self.job_extra)
        for name in ("memory", "walltime", "queue", "account", "interface", "local_directory", "python"):
            value = getattr(self, name)
            if value is not None:
                kwargs[name] = value
        try:
            return cls(**kwargs)
        except ValueError as exc:  # dask-jobqueue's own checks (memory format ...)
            raise OptionError(f"--cluster {self.kind}: {exc}", option="cluster") from exc


class RayonThreads(WorkerPlugin):
    """Sets ``RAYON_NUM_THREADS`` on each worker to its Dask thread count, unless the worker's
    environment already has it. Effective when it runs before the worker's first trace (rayon
    reads the variable once per process): register it before submitting work."""

    name = "vectile-rayon-threads"
    idempotent = True

    def setup(self, worker: Any) -> None:
        os.environ.setdefault("RAYON_NUM_THREADS", str(max(1, int(worker.state.nthreads))))


class EdgeModel(WorkerPlugin):
    """Loads the learned edge model's ONNX Runtime session once in each worker process, before
    its first task (``vectile.models.edge_session``; its threads follow ``RAYON_NUM_THREADS``,
    so it shares the worker's cores rather than adding to them)."""

    name = "vectile-edge-model"
    idempotent = True

    def setup(self, worker: Any) -> None:
        from vectile import models

        models.edge_session()


class IgnoreInterrupts(WorkerPlugin):
    """Worker processes of the local cluster ignore SIGINT: Ctrl-C in a terminal reaches the
    whole process group, and stopping is the client's job (it cancels the tasks and closes
    the cluster); the workers would only print tracebacks."""

    name = "vectile-ignore-interrupts"
    idempotent = True

    def setup(self, worker: Any) -> None:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)


@dataclass(frozen=True)
class ClusterInfo:
    """What the batch runs on, for the progress line and the summary."""

    kind: str  # "local", "scheduler" or "client"
    address: str
    workers: int
    threads: int
    dashboard: str | None


def _cpu_count() -> int:
    return max(1, int(dask.system.CPU_COUNT))  # respects affinity and cgroup quotas


def local_size(workers: int | None, threads_per_worker: int | None) -> tuple[int, int]:
    """Workers and threads per worker of the embedded LocalCluster.

    Default: one single-threaded worker process per core (tracing small files scales best
    across processes: no shared GIL for decoding, one rayon pool each). Given only one of the
    two, the other fills the cores.

    >>> local_size(3, 1)
    (3, 1)
    """
    cores = _cpu_count()
    if workers is None and threads_per_worker is None:
        return cores, 1
    if workers is None:
        assert threads_per_worker is not None
        return max(1, cores // threads_per_worker), threads_per_worker
    if threads_per_worker is None:
        return workers, max(1, cores // workers)
    return workers, threads_per_worker


def _dashboard_address() -> str | None:
    """``127.0.0.1:8787`` if free, else any free port; None without bokeh (no dashboard)."""
    if importlib.util.find_spec("bokeh") is None:
        return None
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", _DASHBOARD_PORT))
        except OSError:
            return "127.0.0.1:0"
    return f"127.0.0.1:{_DASHBOARD_PORT}"


def _dashboard_link(client: Client) -> str | None:
    try:
        services = client.scheduler_info(n_workers=0).get("services", {})
    except Exception:
        return None
    return str(client.dashboard_link) if "dashboard" in services else None


def _info(kind: str, client: Client) -> ClusterInfo:
    workers = client.scheduler_info(n_workers=-1).get("workers", {})
    threads = sum(int(w.get("nthreads", 0)) for w in workers.values())
    return ClusterInfo(kind, str(client.scheduler.address), len(workers), threads, _dashboard_link(client))


def address_from_environment() -> str | None:
    """``DASK_SCHEDULER_ADDRESS`` as it is now (dask reads its environment variables into the
    config only when imported), else dask config ``scheduler-address``."""
    address = os.environ.get("DASK_SCHEDULER_ADDRESS") or dask.config.get("scheduler-address", None)
    return str(address) if address else None


@contextlib.contextmanager
def connect(
    *,
    client: Client | None = None,
    scheduler: str | None = None,
    scheduler_file: str | os.PathLike[str] | None = None,
    jobqueue: JobQueue | None = None,
    workers: int | None = None,
    threads_per_worker: int | None = None,
    rayon_threads: int | None = None,
    dashboard: bool = True,
    processes: bool = True,
) -> Iterator[tuple[Client, ClusterInfo]]:
    """Yield a connected client (see the module docstring for which one) and what it runs on.

    ``processes=False`` makes the embedded cluster one in-process worker with a thread per
    core (``workers`` and ``threads_per_worker`` then default to 1 and the core count): for
    flows whose tasks spend their time in Rust with the GIL released (the tiled tracer), it
    saves the worker processes' memory and start-up. ``rayon_threads`` (default: the
    threads per worker) sizes each local worker process's rayon pool, for workers whose one
    task at a time may use several cores (the server's jobs). ``dashboard=False`` serves the
    scheduler's HTTP endpoints (health, metrics) on a free loopback port, without a dashboard.

    A job queue's jobs are submitted on entry and cancelled on exit; the batch starts at once
    and its tasks wait for the workers to join (the info counts the workers asked for).
    A client passed in is left open; clients and clusters made here are closed on exit.
    """
    if client is not None:
        client.register_plugin(RayonThreads())
        yield client, _info("client", client)
        return
    if jobqueue is not None:
        if scheduler or scheduler_file or workers is not None or threads_per_worker is not None:
            raise OptionError(
                f"--cluster {jobqueue.kind} starts its own scheduler and workers: "
                "give neither a scheduler nor local worker counts with it",
                option="cluster",
            )
        with jobqueue.make(_dashboard_address() if dashboard else None) as cluster:
            cluster.scale(jobs=jobqueue.jobs)
            # scale() submits in the background and only logs a refused submission (a wrong
            # partition or account): wait for sbatch / qsub here and check every job got an
            # id, so that a refusal fails the batch before any file is traced, instead of
            # leaving it waiting for workers that never come.
            try:
                cluster.sync(cluster._correct_state)
                error = ""
            except Exception as exc:
                error = str(exc)
            refused = [name for name, job in cluster.workers.items() if getattr(job, "job_id", None) is None]
            if error or refused:
                for name in refused:  # never started: closing the cluster must not stop them
                    job = cluster.workers.pop(name)
                    cluster.worker_spec.pop(name, None)
                    cluster._created.discard(job)
                submit = "sbatch" if jobqueue.kind == "slurm" else "qsub"
                raise ClusterError(
                    f"cannot submit the {jobqueue.kind} worker jobs: {submit} refused them"
                    + (f": {error.strip()}" if error else " (its error is above)")
                )
            with Client(cluster, set_as_default=False) as queued:
                queued.register_plugin(RayonThreads())
                yield (
                    queued,
                    ClusterInfo(
                        f"{jobqueue.kind} ({jobqueue.jobs} jobs)",
                        str(queued.scheduler.address),
                        jobqueue.jobs * jobqueue.job_processes,
                        jobqueue.jobs * jobqueue.job_cores,
                        _dashboard_link(queued) if dashboard else None,
                    ),
                )
        return
    address = scheduler or (None if scheduler_file else address_from_environment())
    if address or scheduler_file:
        kwargs: dict[str, Any]
        if address:
            where = f"the scheduler at '{address}'"
            kwargs = {"address": address}
        else:
            path = os.fspath(scheduler_file)  # type: ignore[arg-type]
            where = f"the scheduler in '{path}'"
            kwargs = {"scheduler_file": path}
            if not os.path.isfile(path):  # Client would wait for it to appear
                raise OptionError(f"cannot read scheduler file '{path}': no such file", option="scheduler_file")
        if workers is not None or threads_per_worker is not None:
            source = " (from DASK_SCHEDULER_ADDRESS)" if address and not scheduler else ""
            raise OptionError(
                f"workers and threads per worker size the local cluster; the batch runs on "
                f"{where}{source}, whose workers are started there",
                option="workers",
            )
        try:
            remote = Client(**kwargs, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise OptionError(f"cannot connect to {where}: {exc}", option="scheduler") from exc
        with remote:
            remote.register_plugin(RayonThreads())
            yield remote, _info("scheduler", remote)
        return
    if processes:
        n_workers, threads = local_size(workers, threads_per_worker)
    else:
        n_workers, threads = workers or 1, threads_per_worker or _cpu_count()
    env = {"RAYON_NUM_THREADS": str(rayon_threads or threads)}
    with dask.config.set(
        {
            # Set in each worker process before it starts (glibc reads them only then).
            "distributed.nanny.pre-spawn-environ": pre_spawn_environ(),
            # Profiling samples every worker thread 100 times a second, CPU taken from tracing
            # for a view nobody asked for. The dashboard works without it.
            "distributed.worker.profile.enabled": False,
        }
    ):
        with warnings.catch_warnings():
            # The dashboard port was free a moment ago; if another process took it since,
            # Dask serves on another port and warns: the link printed is right anyway.
            warnings.filterwarnings("ignore", message="Port .* is already in use", category=UserWarning)
            cluster = LocalCluster(
                n_workers=n_workers,
                threads_per_worker=threads,
                processes=processes,
                **({"host": "127.0.0.1"} if processes else {}),
                dashboard_address=_dashboard_address() if dashboard else None,
                # Without a dashboard the scheduler still serves HTTP (health, metrics): on
                # loopback, any free port (8787 may belong to another cluster here).
                scheduler_kwargs=None if dashboard else {"dashboard_address": "127.0.0.1:0"},
                **({"env": env} if processes else {}),
            )
        with cluster, Client(cluster, set_as_default=False, direct_to_workers=True) as local:
            if processes:  # in-process workers share this process's signal handlers
                local.register_plugin(IgnoreInterrupts())
            yield local, _info("local", local)
