"""Where one file of a batch is traced: whole, in one task, or by the tiled flow.

This is the single routing point of the batch flow. Files over :data:`HUGE_PIXELS` take
:func:`trace_huge`, the tiled flow of :mod:`vectile.tiling.trace` (DESIGN.md section 2): it
runs inside the file's task on a worker and hands the tiles to the same cluster with
``distributed.worker_client()``. The manifest records such files with ``"flow": "huge"``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any, BinaryIO

import numpy as np

import vectile
from vectile.options import HUGE_PIXELS

__all__ = ["HUGE_PIXELS", "route", "trace_huge", "trace_whole"]


def route(pixels: int) -> str:
    """``"huge"`` for images over :data:`HUGE_PIXELS` pixels (width x height), else ``"whole"``.

    >>> route(512 * 512), route(12_000 * 12_000)
    ('whole', 'huge')
    """
    return "huge" if pixels > HUGE_PIXELS else "whole"


def trace_whole(
    source: str | os.PathLike[str] | BinaryIO | np.ndarray, options: dict[str, Any], max_pixels: int
) -> vectile.Svg:
    """Trace the whole image in this task."""
    return vectile.vectorize(source, max_pixels=max_pixels, **options)


def trace_huge(
    source: str | os.PathLike[str] | BinaryIO | np.ndarray, options: dict[str, Any], max_pixels: int
) -> vectile.Svg:
    """Trace an image over :data:`HUGE_PIXELS` pixels in tiles (:mod:`vectile.tiling.trace`).

    Runs inside the file's task: the tiles go to the same cluster through
    ``distributed.worker_client()`` (outside a worker, they run in this process). A path is
    streamed into a temporary Zarr store, never decoded whole. The SVG is byte-identical to
    :func:`trace_whole`'s. Images the tiled flow cannot take (transparent pixels, ``edges``
    or ``weights`` options) are traced whole.
    """
    from vectile.tiling import trace_image

    with _tile_client() as client:
        text, stats = trace_image(source, options, client=client, max_pixels=max_pixels)
    assert text is not None
    return vectile.Svg(text, stats)


@contextlib.contextmanager
def _tile_client() -> Iterator[Any]:
    """The cluster's client when running in a Dask worker task, else None (this process)."""
    try:
        from distributed import get_worker, worker_client

        get_worker()
    except (ImportError, ValueError):
        yield None
        return
    with worker_client() as client:
        yield client
