"""Where a batch runs: an existing Dask cluster, or a LocalCluster sized to this machine.

Choice, first match wins: a ``Client`` passed in; ``scheduler`` (an address such as
``tcp://10.0.0.5:8786``); ``scheduler_file`` (written by ``dask scheduler --scheduler-file``);
the ``DASK_SCHEDULER_ADDRESS`` environment variable (dask config ``scheduler-address``);
otherwise an embedded ``LocalCluster`` of worker processes.

Threads: the Rust kernels run on rayon's global pool, sized once per process from
``RAYON_NUM_THREADS`` when first used. Each worker gets ``RAYON_NUM_THREADS`` = its Dask
threads, so ``workers x threads`` (the local default: one single-threaded worker per core)
never asks for more cores than there are. LocalCluster workers get it in their environment
before they start; workers of an existing cluster get it from the :class:`RayonThreads` plugin
before their first task (recipes in ``vectile.cluster`` also set it in the job script).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
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

from vectile.errors import OptionError

__all__ = [
    "MALLOC_ENVIRON",
    "ClusterInfo",
    "EdgeModel",
    "IgnoreInterrupts",
    "RayonThreads",
    "connect",
    "local_size",
    "pre_spawn_environ",
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


def _address_from_environment() -> str | None:
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
    workers: int | None = None,
    threads_per_worker: int | None = None,
    dashboard: bool = True,
    processes: bool = True,
) -> Iterator[tuple[Client, ClusterInfo]]:
    """Yield a connected client (see the module docstring for which one) and what it runs on.

    ``processes=False`` makes the embedded cluster one in-process worker with a thread per
    core (``workers`` and ``threads_per_worker`` then default to 1 and the core count): for
    flows whose tasks spend their time in Rust with the GIL released (the tiled tracer), it
    saves the worker processes' memory and start-up.

    A client passed in is left open; clients and clusters made here are closed on exit.
    """
    if client is not None:
        client.register_plugin(RayonThreads())
        yield client, _info("client", client)
        return
    address = scheduler or (None if scheduler_file else _address_from_environment())
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
    env = {"RAYON_NUM_THREADS": str(threads)}
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
                **({"env": env} if processes else {}),
            )
        with cluster, Client(cluster, set_as_default=False, direct_to_workers=True) as local:
            if processes:  # in-process workers share this process's signal handlers
                local.register_plugin(IgnoreInterrupts())
            yield local, _info("local", local)
