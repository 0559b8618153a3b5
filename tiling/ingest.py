"""Ingest: the first stage of the tiled flow for huge images (DESIGN.md section 2).

:func:`load_or_store` is the entry point (:func:`vectile.tiling.open_source` calls it for
every path it is given).  It probes the image's header (:func:`~vectile.tiling.header.probe`)
and then, by size and kind:

* at most ``threshold_pixels`` pixels: decoded in memory by :func:`vectile.load_image`;
* a tiled TIFF whose tiles tifffile decodes: read in place (:mod:`vectile.tiling.tiff`), a
  lazy DataArray, nothing copied;
* any other PNG, JPEG, WebP or TIFF: streamed strip by strip (:mod:`vectile.tiling.stream`)
  into a Zarr v3 tile store (:mod:`vectile.tiling.store`), whose path comes back; a store
  already there for the same file is reused;
* other formats (BMP, GIF, ...): decoded whole while small enough, else an
  :class:`~vectile.errors.InputError` asking for PNG or TIFF.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vectile._io import DEFAULT_MAX_PIXELS, load_image
from vectile.errors import InputError, PixelLimitError
from vectile.options import DEFAULT_TILE_SIZE, HUGE_PIXELS, check_tile_size
from vectile.tiling.header import UnsupportedFormat, check_max_pixels, path_str, probe
from vectile.tiling.store import check_target, is_current, store_name
from vectile.tiling.stream import TileHook, stream
from vectile.tiling.tiff import open_tiff, tiff_layout

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["load_or_store"]


def load_or_store(
    path: str | os.PathLike[str],
    store_dir: str | os.PathLike[str],
    *,
    tile_size: int = DEFAULT_TILE_SIZE,
    threshold_pixels: int = HUGE_PIXELS,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    on_tile: TileHook | None = None,
) -> np.ndarray | xr.DataArray | Path:
    """The image at ``path`` in memory when small, in tiles when huge.

    Images of at most ``threshold_pixels`` pixels (width x height) come back from
    :func:`vectile.load_image`: a numpy uint8 array (H, W, 3|4).  Bigger tiled TIFFs whose
    tiles tifffile decodes come back as a lazy DataArray read in place (one Dask chunk per
    ``tile_size`` tile).  The rest are streamed into
    ``store_dir/<name>-<hash>-t<tile_size>.zarr`` (the hash is of the absolute source path)
    and that path comes back, for readers that open the store themselves
    (:func:`~vectile.tiling.store.open_store`) without the ~1 s of importing xarray and
    dask.array that a DataArray costs.  A store already there for the same source (same
    path, size, modification time and tile size) is reused without decoding anything; a
    stale one is replaced; a directory of that name that is not a tile store raises
    :class:`FileExistsError`.

    ``on_tile`` (a :data:`~vectile.tiling.stream.TileHook`) sees every tile of an image
    streamed now, in the image's final layout, so a first pass over the pixels needs no read
    of the store.  It is not called for a reused store, an image loaded whole or read in
    place, or an image whose stored order is not its displayed order (EXIF orientation); a
    caller counts the pixels it was shown to know whether it saw them all.  What it raises
    aborts the ingest.

    Formats libvips does not stream here (BMP, GIF, ...) load whole while small; over the
    threshold they raise :class:`~vectile.errors.InputError` asking for PNG or TIFF.
    Raises :class:`~vectile.errors.InputError` naming the file for missing, unreadable,
    unsupported, truncated or corrupt images (no store is left behind),
    :class:`~vectile.errors.PixelLimitError` above ``max_pixels`` (before anything is
    decoded or written) and :class:`~vectile.errors.OptionError` for a bad ``tile_size``.
    """
    tile_size = check_tile_size(tile_size)
    check_max_pixels(max_pixels)
    if isinstance(threshold_pixels, bool) or not isinstance(threshold_pixels, int):
        raise TypeError(f"threshold_pixels must be an int, got {type(threshold_pixels).__name__}")
    name = path_str(path)
    try:
        info = probe(name, max_pixels=max_pixels)
    except UnsupportedFormat:
        return _load_whole_unstreamable(name, threshold_pixels, max_pixels)
    if info.pixels <= threshold_pixels:
        return load_image(name, max_pixels=max_pixels)
    layout = tiff_layout(info) if info.tiled_tiff else None
    if layout is not None:
        return open_tiff(info, layout, tile_size)
    target = Path(store_dir) / store_name(name, tile_size)
    if is_current(target, name, tile_size):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    check_target(target, overwrite=True)
    return stream(info, target, tile_size, overwrite=True, on_tile=on_tile)


def _load_whole_unstreamable(path: str, threshold_pixels: int, max_pixels: int) -> np.ndarray:
    """Load a file libvips does not stream here, if it is small enough to load whole."""
    if threshold_pixels >= max_pixels:
        return load_image(path, max_pixels=max_pixels)
    try:
        return load_image(path, max_pixels=threshold_pixels)
    except PixelLimitError as exc:
        if exc.pixels > max_pixels:
            # Raise the caller's limit in its own words (Pillow checks the header only).
            load_image(path, max_pixels=max_pixels)
        raise InputError(
            f"'{path}' has {exc.pixels:,} pixels, more than the {threshold_pixels:,} that load "
            "whole, and its format cannot be read in tiles; convert it to PNG or TIFF",
            path=path,
        ) from None
