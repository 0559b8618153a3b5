"""The vectile web server: a REST API, async jobs on Dask, and a web page.

``vectile serve`` runs it with uvicorn; in Python, build the ASGI app yourself:

>>> from vectile.server import ServerSettings, create_app     # doctest: +SKIP
>>> app = create_app(ServerSettings(max_pixels=10_000_000))    # doctest: +SKIP

Routes: ``POST /v1/vectorize`` (one image in, SVG out), ``POST /v1/jobs`` and
``GET /v1/jobs/{id}[/result]`` (large images and batches, traced on a ``distributed.Client``),
``GET /v1/capabilities``, ``GET /healthz``, ``GET /openapi.json`` and the page at ``/``.
Needs the ``server`` extra: ``pip install 'vectile[server]'``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vectile.server.settings import ServerSettings

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["ServerSettings", "create_app"]


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    """The FastAPI application (imported lazily so ``ServerSettings`` needs no FastAPI)."""
    from vectile.server.app import create_app as create

    return create(settings)
