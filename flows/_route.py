"""Where one file of a batch is traced: whole, in one task, or by the tiled flow.

This is the single routing point of the batch flow. The tiled flow for huge images
(``vectile.tiling``, DESIGN.md section 2) does not exist yet, so :func:`trace_huge` still
traces the whole image with :func:`vectile.vectorize` inside the file's task; the manifest
records such files with ``"flow": "huge"`` so they are easy to find. The tiling issue replaces
:func:`trace_huge` (and nothing else here): it runs on a worker, inside the file's task, so it
can hand tiles to the cluster with ``distributed.worker_client()`` and write the SVG itself.
"""

from __future__ import annotations

import os
from typing import Any, BinaryIO

import vectile

__all__ = ["HUGE_PIXELS", "route", "trace_huge", "trace_whole"]

#: Images with more pixels than this (width x height) take the huge-file route. 64 MP is
#: about 200 MB of RGB pixels plus label and region arrays: past that one task per file
#: holds too much memory per worker thread.
HUGE_PIXELS = 64_000_000


def route(width: int, height: int) -> str:
    """``"huge"`` for images over :data:`HUGE_PIXELS` pixels, else ``"whole"``.

    >>> route(512, 512), route(12_000, 12_000)
    ('whole', 'huge')
    """
    return "huge" if width * height > HUGE_PIXELS else "whole"


def trace_whole(source: str | os.PathLike[str] | BinaryIO, options: dict[str, Any],
                max_pixels: int) -> vectile.Svg:
    """Trace the whole image in this task."""
    return vectile.vectorize(source, max_pixels=max_pixels, **options)


def trace_huge(source: str | os.PathLike[str] | BinaryIO, options: dict[str, Any],
               max_pixels: int) -> vectile.Svg:
    """Trace an image over :data:`HUGE_PIXELS` pixels.

    Placeholder until the tiled flow exists: traces the whole image like :func:`trace_whole`.
    """
    return vectile.vectorize(source, max_pixels=max_pixels, **options)
