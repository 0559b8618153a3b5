"""Routes about the service itself: the web page, ``GET /healthz`` and ``GET /v1/capabilities``."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

import vectile
from vectile.server import examples
from vectile.server.safety import ACCEPTED_FORMATS, PAGE_CSP
from vectile.server.settings import ServerSettings
from vectile.server.tracing import QUALITIES, learned_edges_available

__all__ = ["STATIC", "router"]

#: The page's files (``/`` and ``/static/...``).
STATIC = Path(__file__).with_name("static")

router = APIRouter()


@router.get("/", include_in_schema=False)
async def page() -> FileResponse:
    return FileResponse(
        STATIC / "index.html",
        media_type="text/html",
        headers={"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-cache"},
    )


@router.get(
    "/healthz", tags=["service"], responses={200: {"content": {"application/json": {"example": examples.HEALTH}}}}
)
async def healthz(request: Request) -> dict[str, Any]:
    """Liveness: ``ok`` while the server answers, with job counts and the Dask state."""
    return {"status": "ok", "version": vectile.__version__, **request.app.state.runner.describe()}


@router.get("/v1/capabilities", tags=["service"])
async def capabilities(request: Request) -> dict[str, Any]:
    """Quality levels (``available`` false when a level needs something not installed),
    accepted formats and this server's limits."""
    settings: ServerSettings = request.app.state.settings
    ai = await asyncio.to_thread(learned_edges_available)
    return {
        "qualities": [
            {
                "name": k,
                "description": v,
                "available": k != "ai" or ai,
                "reason": None if k != "ai" or ai else "needs the learned edge model",
            }
            for k, v in QUALITIES.items()
        ],
        "formats": list(ACCEPTED_FORMATS),
        "limits": {
            "max_upload_bytes": settings.max_upload_bytes,
            "max_pixels": settings.max_pixels,
            "request_timeout": settings.request_timeout,
            "job_max_upload_bytes": settings.job_max_upload_bytes,
            "job_max_pixels": settings.job_max_pixels,
            "max_batch_files": settings.max_batch_files,
        },
    }
