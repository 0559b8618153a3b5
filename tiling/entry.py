"""The entry points of tiled tracing: :func:`trace_image` (the one entry the API, the
command line and the batch use) and :func:`open_source` (an image, path or array, as pixels
:func:`~vectile.tiling.trace.trace_tiled` can read without decoding a huge file whole).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vectile._io import load_image, write_atomic
from vectile._whole import trace_whole
from vectile.options import DEFAULT_TILE_SIZE, HUGE_PIXELS, check_tile_size
from vectile.tiling.grid import NotTileable, UntileableOption
from vectile.tiling.ingest import load_or_store
from vectile.tiling.prepass import Prepass
from vectile.tiling.reader import TileReader
from vectile.tiling.trace import check_tileable, trace_tiled

__all__ = ["open_source", "trace_image"]


@contextlib.contextmanager
def open_source(
    image: Any,
    *,
    max_pixels: int,
    threshold_pixels: int | None = None,
    store_dir: str | os.PathLike[str] | None = None,
    prepass: Prepass | None = None,
) -> Iterator[Any]:
    """The pixels of ``image`` for :func:`trace_tiled`, without decoding a huge file whole.

    Paths of images over ``threshold_pixels`` (default :data:`~vectile.options.HUGE_PIXELS`)
    are streamed into a temporary Zarr store (in ``store_dir``, default the system's
    temporary folder; removed on exit), tiled TIFFs are read in place; smaller files are
    decoded in memory. Arrays and DataArrays pass through. A :class:`Prepass` given here
    sees the tiles as they stream; hand it to :func:`trace_tiled` too.
    """
    if not isinstance(image, (str, os.PathLike)):
        if hasattr(image, "attrs") and hasattr(image, "dims"):  # an xarray DataArray
            yield image
        else:
            yield load_image(image, max_pixels=max_pixels)
        return
    limit = HUGE_PIXELS if threshold_pixels is None else threshold_pixels
    with tempfile.TemporaryDirectory(prefix="vectile-tiles-", dir=store_dir) as tmp:
        found = load_or_store(
            image, tmp, tile_size=DEFAULT_TILE_SIZE, threshold_pixels=limit, max_pixels=max_pixels, on_tile=prepass
        )
        # A streamed store is read by path (no DataArray: importing xarray costs ~1 s).
        yield TileReader.of(found) if isinstance(found, Path) else found


def trace_image(
    image: Any,
    options: dict[str, Any],
    *,
    tile_size: int | None = None,
    client: Any = None,
    output: str | os.PathLike[str] | None = None,
    progress: bool = False,
    max_pixels: int,
    stream_above: int | None = None,
) -> tuple[str | None, dict[str, Any]]:
    """The one tiled entry point, used by ``vectorize(tile_size=)``, ``vectile convert`` and
    the batch: trace ``image`` (a path, array, PIL image, or tile store) in tiles.

    ``options``: :func:`vectile.vectorize`'s keywords (None = default).  A path to an image
    over ``stream_above`` pixels (default :data:`~vectile.options.HUGE_PIXELS`; 0 streams
    every file) is streamed into a temporary Zarr store, never decoded whole, and its
    histograms are taken while it streams (:class:`Prepass`).  Tiles run on the Dask
    ``client`` when given, else in this process.  With ``output`` the SVG is written there
    atomically (by the worker that assembles it) and the text returned is None.

    ``tile_size`` given: the caller asked for tiles, so what prevents tiling is an error
    (:class:`NotTileable` for transparent pixels, :class:`~vectile.errors.OptionError` for the
    ``weights`` and ``edges`` options).  ``tile_size`` None: tiling was chosen for the caller
    (:data:`~vectile.options.DEFAULT_TILE_SIZE`), and an image the tiled tracer cannot take
    is traced whole instead, in this process.  ``stats["tiled"]`` says which happened and
    ``stats["untiled_because"]`` why.  Returns ``(text, stats)``.
    """
    opts = {k: v for k, v in options.items() if v is not None}
    chosen = tile_size is None  # tiling chosen for the caller, not asked for
    tile = DEFAULT_TILE_SIZE if chosen else check_tile_size(tile_size)
    try:
        text, stats = _trace_streamed(image, opts, tile, client, output, progress, max_pixels, stream_above)
        return text, {**stats, "tiled": True}
    except (NotTileable, UntileableOption) as exc:
        if not chosen:
            raise
        why = str(exc)
    svg = trace_whole(image, opts, max_pixels=max_pixels)
    stats = {**svg.stats, "tiled": False, "untiled_because": why}
    if output is None:
        return str(svg), stats
    write_atomic(output, str(svg))
    return None, stats


def _trace_streamed(
    image: Any,
    options: dict[str, Any],  # None values already left out
    tile_size: int,
    client: Any,
    output: str | os.PathLike[str] | None,
    progress: bool,
    max_pixels: int,
    stream_above: int | None,
) -> tuple[str | None, dict[str, Any]]:
    check_tileable(options)  # bad options fail before any streaming
    prepass = Prepass(options)
    with open_source(image, max_pixels=max_pixels, threshold_pixels=stream_above, prepass=prepass) as pixels:
        return trace_tiled(
            pixels,
            tile_size=tile_size,
            options=options,
            client=client,
            output=output,
            progress=progress,
            prepass=prepass,
        )
