"""``vectile serve``: the API server and web page (FastAPI + uvicorn).

Needs the ``server`` extra (imported only when the server runs).
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
from pathlib import Path
from typing import Any

from vectile.cli._common import EXIT_OK, EXIT_USAGE, fail, integer, pixel_count

__all__ = ["add_parser"]

_EPILOG = """\
examples:
  vectile serve                                  http://127.0.0.1:8000/ (page), /v1/vectorize (API)
  vectile serve --host 0.0.0.0 --port 9000 --data-dir /srv/vectile
  vectile serve --scheduler tcp://scheduler:8786   jobs run on an existing Dask cluster
  curl -F image=@logo.png -F quality=high http://127.0.0.1:8000/v1/vectorize -o logo.svg
"""

_MIB = 1 << 20


def add_parser(commands: Any) -> None:
    """Add ``serve`` to the ``vectile`` sub-commands."""
    from vectile.server.settings import ServerSettings

    defaults = ServerSettings()
    serve = commands.add_parser(
        "serve",
        help="run the API server and web page",
        description="Serve the REST API (POST /v1/vectorize, /v1/jobs), its OpenAPI schema "
        "(/openapi.json) and the web page (/).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=integer(0, 65535), default=8000, help="port (default 8000)")
    limits = serve.add_argument_group("limits")
    limits.add_argument(
        "--max-upload-mb",
        type=integer(1),
        default=defaults.max_upload_bytes // _MIB,
        metavar="MB",
        help=f"largest upload of /v1/vectorize, MiB (default {defaults.max_upload_bytes // _MIB})",
    )
    limits.add_argument(
        "--max-pixels",
        type=pixel_count,
        default=defaults.max_pixels,
        metavar="N",
        help=f"largest image /v1/vectorize traces (default {defaults.max_pixels:,}; suffixes k, M, G allowed)",
    )
    limits.add_argument(
        "--timeout",
        type=integer(1),
        default=int(defaults.request_timeout),
        metavar="S",
        help=f"seconds one /v1/vectorize request may take (default {defaults.request_timeout:g})",
    )
    limits.add_argument(
        "--workers",
        type=integer(1, 256),
        metavar="N",
        help="threads tracing /v1/vectorize requests at once (default: cores, at most 4)",
    )
    limits.add_argument(
        "--job-max-upload-mb",
        type=integer(1),
        default=defaults.job_max_upload_bytes // _MIB,
        metavar="MB",
        help=f"largest upload of /v1/jobs, MiB (default {defaults.job_max_upload_bytes // _MIB})",
    )
    limits.add_argument(
        "--job-max-pixels",
        type=pixel_count,
        default=defaults.job_max_pixels,
        metavar="N",
        help=f"largest image in a job (default {defaults.job_max_pixels:,})",
    )
    jobs = serve.add_argument_group("jobs")
    jobs.add_argument(
        "--data-dir",
        metavar="DIR",
        help="folder for job uploads and results (default: a temporary folder, deleted on exit)",
    )
    jobs.add_argument(
        "--scheduler",
        metavar="ADDR",
        help="Dask scheduler for jobs (default: DASK_SCHEDULER_ADDRESS, else an embedded "
        "LocalCluster started on the first job)",
    )
    jobs.add_argument(
        "--dask-workers",
        type=integer(1, 1024),
        metavar="N",
        help="worker processes of the embedded cluster (default: one per two cores)",
    )
    serve.add_argument(
        "--log-level",
        choices=("critical", "error", "warning", "info", "debug"),
        default="info",
        help="uvicorn log level (default info)",
    )
    serve.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; return the exit status."""
    try:
        from vectile.server import ServerSettings, create_app
        from vectile.server.running import serve
    except ImportError as exc:
        return fail(
            EXIT_USAGE,
            f"'vectile serve' needs the server extra ({exc.name} is missing); "
            "install it with: pip install 'vectile[server]'",
        )
    data_dir = Path(args.data_dir) if args.data_dir else None
    if data_dir is not None and data_dir.exists() and not data_dir.is_dir():
        return fail(EXIT_USAGE, f"--data-dir '{data_dir}' is not a folder")
    settings = ServerSettings(
        max_upload_bytes=args.max_upload_mb * _MIB,
        max_pixels=args.max_pixels,
        request_timeout=float(args.timeout),
        workers=args.workers or 0,
        job_max_upload_bytes=args.job_max_upload_mb * _MIB,
        job_max_pixels=args.job_max_pixels,
        data_dir=data_dir,
        dask_address=args.scheduler,
        dask_workers=args.dask_workers or 0,
    )
    if not _is_loopback(args.host):
        print(
            f"vectile: serving on {args.host}: reachable from other machines; there is no "
            "authentication, put it behind a proxy that adds some",
            file=sys.stderr,
        )
    print(
        f"vectile: page at http://{_url_host(args.host)}:{args.port}/, API at /v1/vectorize, schema at /openapi.json",
        file=sys.stderr,
    )
    serve(create_app(settings), args.host, args.port, args.log_level)
    return EXIT_OK


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
