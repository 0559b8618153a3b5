"""The FastAPI application: assembled from its routers, with the lifespan, limits and error mapping.

The routes live by responsibility in :mod:`~vectile.server.api_service` (page, health,
capabilities), :mod:`~vectile.server.api_vectorize` (one image answered at once) and
:mod:`~vectile.server.api_jobs` (jobs on Dask); their tracing form fields in
:mod:`~vectile.server.form`; body limits and security headers in :mod:`~vectile.server.guard`.

Status codes: 200 traced; 202 job accepted; 404 unknown job; 409 job not finished; 413 upload
or image too large (bytes or pixels); 415 not an image format the server accepts (judged by
content, never by the client's content type); 422 bad options or a damaged image; 503 no
room for another job; 504 the trace took longer than the request timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException

import vectile
from vectile.server import api_jobs, api_service, api_vectorize, examples
from vectile.server.guard import Guard
from vectile.server.jobs import JobRunner
from vectile.server.settings import ServerSettings

__all__ = ["create_app"]


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    """Build the application; the thread pool, data folder and Dask runner live in its lifespan.

    Routes find ``settings``, the thread pool (``executor``) and the job ``runner`` on
    ``request.app.state``.
    """
    settings = settings or ServerSettings()
    app = FastAPI(
        title="vectile",
        version=vectile.__version__,
        summary="Fast, gap-free raster-to-vector tracing: PNG/JPEG/TIFF/WebP/BMP/GIF in, SVG out.",
        description=examples.DESCRIPTION,
        lifespan=_lifespan(settings),
        docs_url=None,  # Swagger UI and ReDoc load scripts from a CDN; the schema is enough
        redoc_url=None,
        form_limits={"max_files": settings.max_batch_files, "max_fields": 64},
    )
    app.state.settings = settings
    app.add_middleware(Guard, limit=_body_limit(settings))
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.include_router(api_service.router)
    app.mount("/static", StaticFiles(directory=api_service.STATIC), name="static")
    app.include_router(api_vectorize.router)
    app.include_router(api_jobs.router)
    return app


def _lifespan(settings: ServerSettings) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    """The app's lifespan: a thread pool for ``/v1/vectorize``, the job runner and its data
    folder (a temporary one unless ``settings.data_dir``), and a sweeper that cancels overdue
    jobs and deletes expired ones."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = settings.data_dir is None
        data_dir = Path(tempfile.mkdtemp(prefix="vectile-serve-")) if settings.data_dir is None else settings.data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        app.state.executor = ThreadPoolExecutor(settings.tracing_threads(), thread_name_prefix="vectile-trace")
        app.state.runner = runner = JobRunner(settings, data_dir)

        async def sweep() -> None:
            while True:
                await asyncio.sleep(max(1.0, min(30.0, settings.job_timeout / 4)))
                await asyncio.to_thread(runner.sweep)

        sweeper = asyncio.create_task(sweep())
        try:
            yield
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            await asyncio.to_thread(runner.close)
            app.state.executor.shutdown(wait=False, cancel_futures=True)
            if owned:
                shutil.rmtree(data_dir, ignore_errors=True)

    return lifespan


def _body_limit(settings: ServerSettings) -> Callable[[str, str], int]:
    """The largest request body of each route: uploads for the two POST routes, else 64 KiB."""

    def limit(method: str, path: str) -> int:
        if method == "POST" and path == "/v1/vectorize":
            return settings.max_upload_bytes
        if method == "POST" and path == "/v1/jobs":
            return settings.job_max_upload_bytes
        return 64 * 1024

    return limit


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette answers multipart problems with 400 and its parser's message; too many files is
    a limit (413), and the message should say it is about the form.

    Starlette raises one untyped ``MultiPartException`` for every multipart problem, so its
    message is the only thing that tells the file-count limit apart (the one place that reads
    an error's text; there is no type to test)."""
    assert isinstance(exc, StarletteHTTPException)
    context = exc.__context__
    if exc.status_code == 400 and isinstance(context, MultiPartException):
        status = 413 if str(exc.detail).startswith("Too many files") else 400
        exc = HTTPException(status, f"bad multipart form: {exc.detail}")
    return await http_exception_handler(request, exc)
