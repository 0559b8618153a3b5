"""Streaming a huge PNG, JPEG, WebP or strip TIFF into a tile store, one strip at a time.

libvips decodes the file top to bottom (``access="sequential"``) and hands its raw pixel
stream to a :class:`StripSink`, which collects strips of ``tile_size`` rows, normalises each
to RGB(A) uint8 (:func:`~vectile.tiling.pixels.normalise`) and writes it shard by shard into
a new store (layout: :mod:`vectile.tiling.store`), so memory holds about one strip.

Two things are only known at the end: whether an alpha channel is all opaque (then dropped,
as :func:`vectile.load_image` does) and, for an image whose EXIF orientation is not the
default, nothing can be written in displayed order while streaming.  Such images are written
once in stored order and then copied tile by tile into the final layout (:func:`reorient`);
memory stays bounded by one tile.

Limits: float, signed and Lab samples are not streamed (:class:`~vectile.errors.InputError`
asks for an 8- or 16-bit file); premultiplied (associated) alpha is not un-premultiplied.

Memory while streaming is bounded by the strip, not the image: one strip buffer of
``tile_size x width x bands`` samples, a normalised copy unless the source already is 8-bit
RGB(A), one shard's encoding buffers and libvips' own line buffers.  Measured here: a
4000 x 4000 RGB PNG (48 MB decoded) peaks about 15 MB above the resting RSS with
``tile_size=256`` and about 29 MB with 1024; an 8000 x 8000 one (192 MB) about 28 and 53 MB.

Relies on libvips' ``rawsave_target`` (developed and tested with libvips 8.18.7).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pyvips  # type: ignore[import-untyped]  # ships .pyi stubs but no py.typed

from vectile.errors import InputError
from vectile.tiling.header import ImageInfo, corrupt, open_vips
from vectile.tiling.pixels import ALPHA_KINDS, Kind, normalise, orient, source_chunks
from vectile.tiling.store import LAYOUT_VERSION, create_store, publish, temporary_dir

if TYPE_CHECKING:
    import zarr

__all__ = ["StripSink", "TileHook", "reorient", "stream"]

#: ``on_tile(pixels, x0, y0, width, height)``: called with each processing tile of a
#: streamed image as it is written (its (h, w, 3|4) uint8 pixels, its top-left corner, and
#: the image's size), while the tile is still in memory.
TileHook = Callable[[np.ndarray, int, int, int, int], None]

_VIPS_DTYPES: Final = {"uchar": np.uint8, "ushort": np.uint16, "uint": np.uint32}


def stream(info: ImageInfo, target: Path, tile_size: int, overwrite: bool, on_tile: TileHook | None = None) -> Path:
    """Stream the image into a new store at ``target``, published atomically (replacing a
    store there when ``overwrite``); returns ``target``.  ``on_tile`` sees each written tile
    when the stored order is the displayed one.  On any error no directory is left."""
    name, label = info.path, f"'{info.path}'"
    stat = os.stat(name)
    image = open_vips(name, info.format, label)
    kind = _vips_kind(image, label, name)
    bands = 4 if kind in ALPHA_KINDS else 3
    attrs: dict[str, Any] = {
        "vectile_tiles": LAYOUT_VERSION,
        "tile_size": tile_size,
        "source": os.path.abspath(name),
        "format": info.format,
        "width": info.width,
        "height": info.height,
        "source_bytes": stat.st_size,
        "source_mtime_ns": stat.st_mtime_ns,
    }
    temporaries: list[Path] = []
    try:
        raw_dir = temporary_dir(target)
        temporaries.append(raw_dir)
        raw = create_store(raw_dir, (image.height, image.width, bands), tile_size, attrs)
        opaque = _write_strips(image, kind, raw, tile_size, label, name, on_tile if info.orientation == 1 else None)
        drop_alpha = bands == 4 and opaque
        final_dir = raw_dir
        if info.orientation != 1 or drop_alpha:
            final_dir = temporary_dir(target)
            temporaries.append(final_dir)
            reorient(raw, final_dir, info.orientation, 3 if drop_alpha else bands, attrs)
        publish(final_dir, target, overwrite)
        temporaries.remove(final_dir)
    finally:
        for directory in temporaries:
            shutil.rmtree(directory, ignore_errors=True)
    return target


def _write_strips(
    image: pyvips.Image,
    kind: Kind,
    array: zarr.Array,
    tile_size: int,
    label: str,
    path: str,
    on_tile: TileHook | None = None,
) -> bool:
    """Decode ``image`` top to bottom into ``array``, ``tile_size`` rows at a time.

    libvips streams the decoded pixels (``rawsave_target``: rows in order, native byte order,
    no header) through its own bounded pipeline into a :class:`StripSink`, which collects
    one strip and writes it.  Each strip covers whole shards (a full row of processing
    tiles), so every shard is written once, completely.  Returns whether every alpha value
    was 255 (True without alpha).

    (Pulling strips with ``Region.fetch`` or ``crop().write_to_memory()`` instead measured
    three to four times the peak memory here, growing with the image size; and a new
    ``crop()`` pipeline per strip can make a sequential loader refuse rows it has already
    read past, an "out of order read".)
    """
    sink = StripSink(image, kind, array, tile_size, on_tile)
    target = pyvips.TargetCustom()
    target.on_write(sink.write)
    try:
        image.rawsave_target(target)
    except pyvips.Error as exc:
        if sink.error is not None:
            raise sink.error from None
        raise corrupt(label, exc, path) from exc
    if sink.error is not None:
        raise sink.error
    sink.finish()
    if sink.rows_written != image.height:
        raise InputError(
            f"{label} is truncated or corrupt (decoded {sink.rows_written} of {image.height} "
            "rows); re-export or re-download it",
            path=path,
        )
    return sink.opaque


class StripSink:
    """Collects libvips' raw pixel stream into strips of ``tile_size`` rows and writes each
    normalised strip into the Zarr array.  Errors inside :meth:`write` (a full disk, an
    interrupt) are kept in :attr:`error` and make libvips stop, then re-raised."""

    def __init__(
        self, image: pyvips.Image, kind: Kind, array: zarr.Array, tile_size: int, on_tile: TileHook | None = None
    ) -> None:
        self.kind = kind
        self.on_tile = on_tile
        self.height = image.height
        self.array = array
        self.tile_size = tile_size
        self.width, self.bands = image.width, image.bands
        self.dtype = np.dtype(_VIPS_DTYPES[image.format])
        self.row_bytes = self.width * self.bands * self.dtype.itemsize
        self.buffer = np.empty(tile_size * self.row_bytes, dtype=np.uint8)
        self.filled = 0
        self.rows_written = 0
        self.opaque = True
        self.error: BaseException | None = None

    def write(self, data: Any) -> int:
        """libvips' write callback: take ``data`` (a buffer), return its length, or -1."""
        if self.error is not None:
            return -1
        try:
            chunk = np.frombuffer(data, dtype=np.uint8)
            while chunk.size:
                count = min(chunk.size, self.buffer.size - self.filled)
                self.buffer[self.filled : self.filled + count] = chunk[:count]
                self.filled += count
                chunk = chunk[count:]
                if self.filled == self.buffer.size:
                    self._flush()
            return len(data)
        except BaseException as exc:  # noqa: BLE001 - re-raised by _write_strips
            self.error = exc
            return -1

    def finish(self) -> None:
        """Write the last, shorter strip."""
        self._flush()

    def _flush(self) -> None:
        rows = self.filled // self.row_bytes
        if rows == 0:
            return
        samples = self.buffer[: rows * self.row_bytes].view(self.dtype)
        strip = normalise(samples.reshape(rows, self.width, self.bands), self.kind)
        if self.opaque and strip.shape[2] == 4:
            self.opaque = bool((strip[:, :, 3] == 255).all())
        top = self.rows_written
        # One shard per write: zarr encodes a shard's inner chunks in parallel, and memory
        # holds one shard's encoding buffers, not a whole strip's.
        for left in range(0, self.width, self.tile_size):
            tile = strip[:, left : left + self.tile_size]
            if self.on_tile is not None:
                tile = np.ascontiguousarray(tile)  # one copy, for the store and the hook
            self.array[top : top + rows, left : left + self.tile_size] = tile
            if self.on_tile is not None:
                self.on_tile(tile, left, top, self.width, self.height)
        self.rows_written += rows
        self.filled = 0


def reorient(raw: zarr.Array, final_dir: Path, orientation: int, bands: int, attrs: dict[str, Any]) -> None:
    """Copy ``raw`` (stored order) into a new store, oriented and with ``bands`` bands.

    The source is read with Dask chunks chosen so that, after the transform, every chunk is
    exactly one output tile; each output shard is then written once, by one task.
    """
    # dask.array only here: images streamed in displayed order, the common case, never pay
    # for importing it.
    import dask.array as da

    tile = int(attrs["tile_size"])
    height, width = int(attrs["height"]), int(attrs["width"])
    rows, cols = source_chunks(orientation, height, width, tile)
    source = da.from_zarr(raw, chunks=(rows, cols, raw.shape[2]))
    oriented = orient(source, orientation)[:, :, :bands]
    final = create_store(final_dir, (height, width, bands), tile, attrs)
    da.store(oriented, final, lock=False, scheduler="synchronous")  # type: ignore[arg-type]


def _vips_kind(image: pyvips.Image, label: str, path: str) -> Kind:
    """How the bands libvips decodes map to RGB(A); InputError for what is not streamed."""
    sample = image.format
    if sample not in _VIPS_DTYPES:
        raise InputError(
            f"{label} has {sample} samples; huge images are read with 8- or 16-bit unsigned "
            "samples only; convert it to 8 or 16 bits per sample",
            path=path,
        )
    interpretation, bands = image.interpretation, image.bands
    if interpretation == "cmyk" and bands == 4:
        return "cmyk"
    if interpretation in ("b-w", "grey16", "srgb", "rgb16", "rgb", "multiband") and 1 <= bands <= 4:
        kinds: tuple[Kind, ...] = ("grey", "grey_alpha", "rgb", "rgba")
        return kinds[bands - 1]
    raise InputError(
        f"{label} has {bands} bands of {interpretation} colour, which the huge-image reader "
        "does not convert; convert it to RGB, RGBA or grey",
        path=path,
    )
