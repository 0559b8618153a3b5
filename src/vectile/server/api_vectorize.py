"""``POST /v1/vectorize``: one image, traced in the server's thread pool and answered at once."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

from fastapi import APIRouter, Depends, File, HTTPException, Request, UploadFile
from fastapi.responses import JSONResponse, Response

import vectile
from vectile._text import jsonable
from vectile.errors import InputError, OptionError, PixelLimitError
from vectile.formats import MEDIA_TYPES, SUFFIXES
from vectile.server import examples
from vectile.server.form import OutputRequest, content_disposition, output_form, trace_form
from vectile.server.safety import ACCEPTED_PHRASE, SVG_CSP, UnsafeSvgError, display_name, sanitize_svg, sniff_image_type
from vectile.server.settings import ServerSettings
from vectile.server.tracing import TraceRequest, trace_bytes

__all__ = ["router"]

router = APIRouter()


@router.post(
    "/v1/vectorize",
    tags=["tracing"],
    response_class=Response,
    responses=examples.VECTORIZE_RESPONSES,
    openapi_extra=examples.VECTORIZE_EXTRA,
)
async def vectorize_image(
    request: Request,
    image: Annotated[UploadFile, File(description="the image: PNG, JPEG, GIF, WebP, BMP or TIFF")],
    options: Annotated[TraceRequest, Depends(trace_form)],
    written: Annotated[OutputRequest, Depends(output_form)],
) -> Response:
    """Trace one image and answer with the SVG (``image/svg+xml``; tracing statistics as
    JSON in the ``X-Vectile-Stats`` header). With ``Accept: application/json`` the answer
    is ``{"svg": ..., "stats": {...}}``. ``format`` other than ``svg`` (or ``group_by``
    other than ``none``) answers with that file instead (as an attachment, whatever the
    ``Accept``). Images over the pixel limit, or that would take longer than the request
    timeout, belong in ``POST /v1/jobs``."""
    name = display_name(image.filename)
    data = await image.read()
    check_image_type(data, name)
    svg = await _trace(request, data, name, options)
    try:
        text = sanitize_svg(str(svg))
    except UnsafeSvgError as exc:  # a bug in the writer, never the client's fault
        raise HTTPException(500, f"the traced SVG failed the safety check ({exc})") from exc
    stats = jsonable(svg.stats)
    if not written.plain:
        return await _other_format(request, text, name, stats, written)
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"svg": text, "stats": stats})
    return Response(
        text,
        media_type="image/svg+xml",
        headers={"X-Vectile-Stats": json.dumps(stats, separators=(",", ":")), "Content-Security-Policy": SVG_CSP},
    )


async def _other_format(request: Request, text: str, name: str, stats: dict, written: OutputRequest) -> Response:
    """The sanitized SVG converted (in the thread pool) and sent as a download."""
    loop = asyncio.get_running_loop()
    data = await loop.run_in_executor(request.app.state.executor, written.convert, text)
    stem = name.rsplit(".", 1)[0] or "image"
    headers = {
        "X-Vectile-Stats": json.dumps(stats, separators=(",", ":")),
        "Content-Disposition": content_disposition(stem + SUFFIXES[written.format]),
    }
    if written.format == "svg":
        headers["Content-Security-Policy"] = SVG_CSP
    return Response(data, media_type=MEDIA_TYPES[written.format], headers=headers)


def check_image_type(data: bytes, name: str) -> None:
    """422 for an empty upload, 415 for one that is not an image format the server reads
    (judged by content, never by the client's content type)."""
    if not data:
        raise HTTPException(422, f"'{name}' is empty")
    if sniff_image_type(data) is None:
        raise HTTPException(415, f"'{name}' is not an image this server reads; send a {ACCEPTED_PHRASE} image")


async def _trace(request: Request, data: bytes, name: str, options: TraceRequest) -> vectile.Svg:
    """Trace in the thread pool (the kernels release the GIL) within the request timeout.

    A trace that overruns is abandoned, not stopped: its thread finishes in the background
    (the Rust kernels cannot be interrupted), while queued requests that time out never start.
    """
    settings: ServerSettings = request.app.state.settings
    loop = asyncio.get_running_loop()
    work = loop.run_in_executor(request.app.state.executor, trace_bytes, data, name, options, settings.max_pixels)
    try:
        return await asyncio.wait_for(work, settings.request_timeout)
    except TimeoutError as exc:
        raise HTTPException(
            504,
            f"tracing '{name}' took longer than {settings.request_timeout:g} s; "
            "send it to POST /v1/jobs or choose a faster quality",
        ) from exc
    except OptionError as exc:
        raise HTTPException(422, str(exc)) from exc
    except InputError as exc:  # too many pixels: 413, like a too large upload; a bad image: 422
        raise HTTPException(413 if isinstance(exc, PixelLimitError) else 422, str(exc)) from exc
