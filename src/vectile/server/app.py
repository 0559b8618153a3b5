"""The FastAPI application: routes, limits, error mapping.

Status codes: 200 traced; 202 job accepted; 404 unknown job; 409 job not finished; 413 upload
or image too large (bytes or pixels); 415 not an image format the server accepts (judged by
content, never by the client's content type); 422 bad options or a damaged image; 503 no
room for another job; 504 the trace took longer than the request timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import BackgroundTasks, FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import vectile
from vectile.errors import InputError, OptionError
from vectile.server import examples
from vectile.server.jobs import Job, JobRunner, TooManyJobs
from vectile.server.safety import (
    ACCEPTED_FORMATS, ACCEPTED_PHRASE, PAGE_CSP, SVG_CSP, UnsafeSvgError, display_name, sanitize_svg,
    security_headers, sniff_image_type,
)
from vectile.server.settings import ServerSettings
from vectile.server.tracing import QUALITIES, TraceRequest, is_pixel_limit, learned_edges_available, trace_bytes

__all__ = ["create_app"]

_STATIC = Path(__file__).with_name("static")

Quality = Literal["fast", "balanced", "high", "ai"]
Preset = Literal["icon", "photo", "lineart", "pixel"]
Mode = Literal["color", "binary"]
Layers = Literal["stacked", "cutout"]

# The tracing options, shared by /v1/vectorize and /v1/jobs (multipart form fields).
QualityField = Annotated[Quality, Form(description="; ".join(f"{k}: {v}" for k, v in QUALITIES.items()))]
PresetField = Annotated[Preset | None, Form(description="starting values for a kind of image; "
                                                       "default: chosen from the image")]
ColorsField = Annotated[int | None, Form(ge=1, le=256, description="palette size; default from the preset")]
ModeField = Annotated[Mode, Form(description="color, or binary (black/white at Otsu's threshold)")]
LayersField = Annotated[Layers, Form(description="stacked (no gaps, no seams) or cutout (exact tiling)")]
ToleranceField = Annotated[float | None, Form(gt=0, le=100, description="largest curve error, pixels")]
MinAreaField = Annotated[int | None, Form(ge=1, description="smaller regions merge into a neighbour")]
PrecisionField = Annotated[int | None, Form(ge=0, le=4, description="decimals in path data")]
SeedField = Annotated[int, Form(ge=0, le=2**63 - 1, description="colour clustering seed")]


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    """Build the application; the thread pool, data folder and Dask runner live in its lifespan."""
    settings = settings or ServerSettings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = settings.data_dir is None
        data_dir = Path(tempfile.mkdtemp(prefix="vectile-serve-")) if settings.data_dir is None else settings.data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        app.state.executor = ThreadPoolExecutor(settings.tracing_threads(), thread_name_prefix="vectile-trace")
        app.state.runner = runner = JobRunner(settings, data_dir)

        async def sweep() -> None:  # overdue jobs are cancelled, expired ones deleted
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
            await asyncio.to_thread(app.state.runner.close)
            app.state.executor.shutdown(wait=False, cancel_futures=True)
            if owned:
                shutil.rmtree(data_dir, ignore_errors=True)

    app = FastAPI(
        title="vectile",
        version=vectile.__version__,
        summary="Fast, gap-free raster-to-vector tracing: PNG/JPEG/TIFF/WebP/BMP/GIF in, SVG out.",
        description=examples.DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # Swagger UI and ReDoc load scripts from a CDN; the schema is enough
        redoc_url=None,
        form_limits={"max_files": settings.max_batch_files, "max_fields": 64},
    )

    def body_limit(method: str, path: str) -> int:
        if method == "POST" and path == "/v1/vectorize":
            return settings.max_upload_bytes
        if method == "POST" and path == "/v1/jobs":
            return settings.job_max_upload_bytes
        return 64 * 1024

    app.add_middleware(_Guard, limit=body_limit)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # Starlette answers multipart problems with 400 and its parser's message; too many
        # files is a limit (413), and the message should say it is about the form.
        if exc.status_code == 400 and isinstance(exc.__context__, MultiPartException):
            status = 413 if str(exc.detail).startswith("Too many files") else 400
            exc = HTTPException(status, f"bad multipart form: {exc.detail}")
        return await http_exception_handler(request, exc)

    # -- the page --

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(_STATIC / "index.html", media_type="text/html",
                            headers={"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=_STATIC), name="static")

    # -- health and capabilities --

    @app.get("/healthz", tags=["service"], responses={200: {"content": {"application/json": {"example": examples.HEALTH}}}})
    async def healthz(request: Request) -> dict[str, Any]:
        """Liveness: ``ok`` while the server answers, with job counts and the Dask state."""
        return {"status": "ok", "version": vectile.__version__, **request.app.state.runner.describe()}

    @app.get("/v1/capabilities", tags=["service"])
    async def capabilities() -> dict[str, Any]:
        """Quality levels (``available`` false when a level needs something not installed),
        accepted formats and this server's limits."""
        ai = await asyncio.to_thread(learned_edges_available)
        return {
            "qualities": [{"name": k, "description": v, "available": k != "ai" or ai,
                           "reason": None if k != "ai" or ai else "needs the learned edge model"}
                          for k, v in QUALITIES.items()],
            "formats": list(ACCEPTED_FORMATS),
            "limits": {
                "max_upload_bytes": settings.max_upload_bytes, "max_pixels": settings.max_pixels,
                "request_timeout": settings.request_timeout,
                "job_max_upload_bytes": settings.job_max_upload_bytes,
                "job_max_pixels": settings.job_max_pixels, "max_batch_files": settings.max_batch_files,
            },
        }

    # -- one image, answered at once --

    @app.post(
        "/v1/vectorize",
        tags=["tracing"],
        response_class=Response,
        responses=examples.VECTORIZE_RESPONSES,
        openapi_extra=examples.VECTORIZE_EXTRA,
    )
    async def vectorize_image(
        request: Request,
        image: Annotated[UploadFile, File(description="the image: PNG, JPEG, GIF, WebP, BMP or TIFF")],
        quality: QualityField = "balanced",
        preset: PresetField = None,
        colors: ColorsField = None,
        mode: ModeField = "color",
        layers: LayersField = "stacked",
        tolerance: ToleranceField = None,
        min_area: MinAreaField = None,
        precision: PrecisionField = None,
        seed: SeedField = 0,
    ) -> Response:
        """Trace one image and answer with the SVG (``image/svg+xml``; tracing statistics as
        JSON in the ``X-Vectile-Stats`` header). With ``Accept: application/json`` the answer
        is ``{"svg": ..., "stats": {...}}``. Images over the pixel limit, or that would take
        longer than the request timeout, belong in ``POST /v1/jobs``."""
        name = display_name(image.filename)
        data = await image.read()
        _check_image_type(data, name)
        options = TraceRequest(quality, preset, colors, mode, layers, tolerance, min_area, precision, seed)
        svg = await _trace(request.app, settings, data, name, options)
        try:
            text = sanitize_svg(str(svg))
        except UnsafeSvgError as exc:  # a bug in the writer, never the client's fault
            raise HTTPException(500, f"the traced SVG failed the safety check ({exc})") from exc
        stats = _json_ready(svg.stats)
        if "application/json" in request.headers.get("accept", ""):
            return JSONResponse({"svg": text, "stats": stats})
        return Response(text, media_type="image/svg+xml",
                        headers={"X-Vectile-Stats": json.dumps(stats, separators=(",", ":")),
                                 "Content-Security-Policy": SVG_CSP})

    # -- jobs --

    @app.post(
        "/v1/jobs",
        tags=["jobs"],
        status_code=202,
        responses=examples.JOB_POST_RESPONSES,
        openapi_extra=examples.JOBS_EXTRA,
    )
    async def create_job(
        request: Request,
        background: BackgroundTasks,
        images: Annotated[list[UploadFile], File(description="one or more images (repeat the field)")],
        quality: QualityField = "balanced",
        preset: PresetField = None,
        colors: ColorsField = None,
        mode: ModeField = "color",
        layers: LayersField = "stacked",
        tolerance: ToleranceField = None,
        min_area: MinAreaField = None,
        precision: PrecisionField = None,
        seed: SeedField = 0,
    ) -> JSONResponse:
        """Queue large images or a batch; traced on the Dask cluster. Poll
        ``GET /v1/jobs/{id}`` until ``state`` is ``done`` (or ``failed``), then fetch
        ``GET /v1/jobs/{id}/result``. Files that are not images fail on their own; the others
        still run."""
        if len(images) > settings.max_batch_files:
            raise HTTPException(413, f"{len(images)} files in one job; the limit is {settings.max_batch_files}")
        if quality == "ai" and not await asyncio.to_thread(learned_edges_available):
            raise HTTPException(422, "quality 'ai' needs the learned edge model, which is not installed "
                                     "on this server; choose fast, balanced or high")
        options = TraceRequest(quality, preset, colors, mode, layers, tolerance, min_area, precision, seed)
        runner: JobRunner = request.app.state.runner
        try:
            job = await asyncio.to_thread(runner.create, [(f.filename, f.file) for f in images], options)
        except TooManyJobs as exc:
            raise HTTPException(503, str(exc)) from exc
        except ValueError as exc:
            raise HTTPException(415, str(exc)) from exc
        background.add_task(runner.start, job)
        return JSONResponse(job.status(), status_code=202, headers={"Location": f"/v1/jobs/{job.id}"})

    @app.get("/v1/jobs/{job_id}", tags=["jobs"], responses=examples.JOB_GET_RESPONSES)
    async def job_status(request: Request, job_id: str) -> dict[str, Any]:
        """A job's state (``queued``, ``running``, ``done``, ``failed``), progress from 0 to 1,
        and each file's state, error and statistics."""
        job = await _job(request, job_id)
        return job.status()

    @app.get("/v1/jobs/{job_id}/result", tags=["jobs"], response_class=Response,
             responses=examples.JOB_RESULT_RESPONSES)
    async def job_result(request: Request, job_id: str) -> Response:
        """The SVG of a one-file job, or a zip of every SVG plus ``manifest.json``."""
        runner: JobRunner = request.app.state.runner
        job = await _job(request, job_id)
        if job.state != "done":
            detail = f"job {job.id} is {job.state}" + (f": {job.error}" if job.error else "; try again later")
            raise HTTPException(409, detail)
        try:
            path, media_type = await asyncio.to_thread(runner.result, job)
        except FileNotFoundError as exc:  # deleted (expired) between the lookup and now
            raise HTTPException(404, "no such job (its results have expired)") from exc
        headers = {"Content-Security-Policy": SVG_CSP} if media_type == "image/svg+xml" else {}
        suffix = ".svg" if media_type == "image/svg+xml" else ".zip"
        return FileResponse(path, media_type=media_type, headers=headers,
                            filename=f"vectile-{job.id}{suffix}", content_disposition_type="attachment")

    return app


async def _job(request: Request, job_id: str) -> Job:
    """The job, or 404. The lookup runs in a thread: it may cancel an overdue job on Dask."""
    runner: JobRunner = request.app.state.runner
    job = await asyncio.to_thread(runner.get, job_id)
    if job is None:
        raise HTTPException(404, "no such job (unknown id, or its results have expired)")
    return job


def _check_image_type(data: bytes, name: str) -> None:
    if not data:
        raise HTTPException(422, f"'{name}' is empty")
    if sniff_image_type(data) is None:
        raise HTTPException(415, f"'{name}' is not an image this server reads; send a {ACCEPTED_PHRASE} image")


async def _trace(app: FastAPI, settings: ServerSettings, data: bytes, name: str, options: TraceRequest) -> vectile.Svg:
    """Trace in the thread pool (the kernels release the GIL) within the request timeout.

    A trace that overruns is abandoned, not stopped: its thread finishes in the background
    (the Rust kernels cannot be interrupted), while queued requests that time out never start.
    """
    loop = asyncio.get_running_loop()
    work = loop.run_in_executor(app.state.executor, trace_bytes, data, name, options, settings.max_pixels)
    try:
        return await asyncio.wait_for(work, settings.request_timeout)
    except TimeoutError as exc:
        raise HTTPException(504, f"tracing '{name}' took longer than {settings.request_timeout:g} s; "
                                 "send it to POST /v1/jobs or choose a faster quality") from exc
    except OptionError as exc:
        raise HTTPException(422, str(exc)) from exc
    except InputError as exc:
        raise HTTPException(413 if is_pixel_limit(exc) else 422, str(exc)) from exc


def _json_ready(stats: dict[str, Any]) -> dict[str, Any]:
    return {k: v.tolist() if hasattr(v, "tolist") else v for k, v in stats.items()}


def _size(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB" if n >= 1 << 20 else f"{n:,} bytes"


# A refused body is read and thrown away, up to this many bytes, before the 413 goes out: a
# server that closes a connection with unread data makes the kernel reset it, and clients that
# send the whole body before reading (httpx, browsers) then never see the answer. Bigger bodies
# are cut off; clients that send "Expect: 100-continue" (curl) get the 413 before sending any.
_DRAIN_BYTES = 16 << 20


class _Guard:
    """Outermost middleware: request body limits and security headers.

    A body whose ``Content-Length`` is over the route's limit is refused with 413 without
    being stored; a body without one (chunked) is counted as it streams in and refused as soon
    as it passes the limit. Every response gets :func:`security_headers` unless it sets its
    own value.
    """

    def __init__(self, app: ASGIApp, limit: Callable[[str, str], int]) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit(scope["method"], scope["path"])
        hint = " or send it to POST /v1/jobs" if scope["path"] == "/v1/vectorize" else ""
        message = f"the upload is larger than this server's limit of {_size(limit)}; send a smaller file{hint}"
        headers = Headers(scope=scope)
        expects_continue = headers.get("expect", "").lower() == "100-continue"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k.lower().encode(), v.encode()) for k, v in security_headers().items()
                         if k.lower().encode() not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        async def drain(seen: int) -> None:
            more = True
            while more and not expects_continue and seen <= limit + _DRAIN_BYTES:
                incoming = await receive()
                seen += len(incoming.get("body", b""))
                more = incoming["type"] == "http.request" and incoming.get("more_body", False)

        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            status, detail = (413, message) if length.isdigit() else (400, "bad Content-Length header")
            if status == 413:
                await drain(0)
            response = JSONResponse({"detail": detail}, status_code=status, headers={"Connection": "close"})
            await response(scope, receive, send_with_headers)
            return

        received = 0

        async def counted_receive() -> Message:
            nonlocal received
            incoming = await receive()
            if incoming["type"] == "http.request":
                received += len(incoming.get("body", b""))
                if received > limit:
                    if incoming.get("more_body", False):
                        await drain(received)
                    raise HTTPException(413, message)  # answered by the route's exception handling
            return incoming

        await self.app(scope, counted_receive, send_with_headers)
