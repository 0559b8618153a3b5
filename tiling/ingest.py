"""Ingest: the first stage of the tiled flow for huge images (DESIGN.md section 2).

A huge image never sits in memory whole.  It is probed first (:func:`probe` reads the header
only), then either

* **streamed** into a Zarr v3 store (:func:`ingest`): libvips decodes PNG, JPEG, WebP and
  strip TIFF top to bottom (``access="sequential"``) in strips of ``tile_size`` rows, each
  strip is normalised to RGB(A) uint8 and written, so memory holds about one strip; or
* **read in place** when it is a tiled TIFF whose tiles tifffile can decode
  (``tifffile.imread(path, aszarr=True)``): nothing is copied, the tiles are decoded when a
  task asks for them.

Either way the result is a lazily loaded :class:`xarray.DataArray` backed by Dask, dims
``("y", "x", "band")``, one Dask chunk per *processing tile* of ``tile_size x tile_size``
pixels on a grid anchored at the top-left corner (the last row and column of tiles may be
smaller), and attrs ``tile_size``, ``source`` (absolute path of the image), ``format``,
``width``, ``height`` and ``store`` (the Zarr store, or the TIFF read in place).
:func:`open_tiles` reopens a store written earlier; :func:`load_or_ingest` is the entry point
that keeps small images in memory as numpy arrays.

Store layout (one Zarr v3 array at the root of the store directory):

* shape ``(height, width, bands)``, dtype uint8, ``bands`` 3 (RGB) or 4 (RGBA), dimension
  names ``("y", "x", "band")``, fill value 0;
* **one shard per processing tile**: shards of ``(tile_size, tile_size, bands)``, so a tile
  task reads or writes exactly one storage object.  Never let two tasks write into one shard:
  concurrent partial writes into a shard lose data silently;
* inner chunks of at most 1024 x 1024 pixels that divide the tile (see :func:`_inner_chunk`),
  so a halo read fetches only the inner chunks it touches.  Not smaller: zarr spends about
  0.5 ms of Python per inner chunk read, so a 2048-pixel tile read as 64 chunks of 256 took
  35 ms, as 4 chunks of 1024 9 ms (world-map-12k; decompressing is a small part of either);
* each inner chunk compressed with zstd (level 3);
* attributes ``vectile_tiles`` (layout version), ``tile_size``, ``source``, ``format``,
  ``width``, ``height``, ``source_bytes`` and ``source_mtime_ns`` (used by
  :func:`load_or_ingest` to reuse a store that is still current).

Stores appear atomically: everything is written into a temporary sibling directory
(``.NAME.XXXXXXXX.tmp``) that is renamed to the final name at the end.  On any error,
interruption included, the temporary directories are removed and no half-written store is
left behind.

Pixels are normalised exactly as :func:`vectile.load_image` does (every rule is per pixel,
except the last, which needs every pixel):

* grey -> RGB, grey + alpha -> RGBA, palette -> RGB(A) (expanded by libvips);
* 16-bit samples -> their top 8 bits (``v >> 8``); 32-bit unsigned grey is clipped to
  0..65535 first;
* CMYK -> RGB with Pillow's formula ``(255 - c) * (255 - k) / 255`` (rounded like Pillow), no
  colour management (ICC profiles are ignored, as everywhere in vectile);
* EXIF / TIFF orientation is applied, so ``width`` and ``height`` are the displayed size;
* an alpha channel whose pixels are all opaque is dropped (the result has 3 bands).  When
  streaming, that is only known at the end, so such an image (and any image whose
  orientation is not the default) is written once in stored order and then copied tile by
  tile into the final layout; memory stays bounded by one tile.  A tiled TIFF read in place
  keeps its alpha band even when it is fully opaque (finding out would mean reading every
  tile up front).

Limits: float, signed and Lab samples are not streamed (:class:`~vectile.errors.InputError`
asks for an 8- or 16-bit file); premultiplied (associated) alpha is not un-premultiplied on
the streaming path; formats other than PNG, JPEG, WebP and TIFF load only whole
(:func:`load_or_ingest` does that for images at or below its threshold).

Memory while streaming is bounded by the strip, not the image: one strip buffer of
``tile_size x width x bands`` samples, a normalised copy unless the source already is 8-bit
RGB(A), one shard's encoding buffers and libvips' own line buffers.  Measured here: a
4000 x 4000 RGB PNG (48 MB decoded) peaks about 15 MB above the resting RSS with
``tile_size=256`` and about 29 MB with 1024; an 8000 x 8000 one (192 MB) about 28 and 53 MB.

Relies on libvips' ``fail_on``, ``revalidate`` and ``rawsave_target`` (developed and tested
with libvips 8.18.7 from PyPI's pyvips-binary; older libvips may lack some of them).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import numpy as np
import pyvips  # type: ignore[import-untyped]  # ships .pyi stubs but no py.typed

from vectile._io import DEFAULT_MAX_PIXELS, _check_size, load_image
from vectile.errors import InputError, OptionError, PixelLimitError
from vectile.options import DEFAULT_TILE_SIZE, HUGE_PIXELS

if TYPE_CHECKING:
    import dask.array as da
    import xarray as xr
    import zarr

# zarr, dask.array, xarray and tifffile are imported where needed: :func:`probe`, which the
# command line runs on every input to decide whether to tile, needs none of them (zarr alone
# takes ~0.16 s to import), and the command line's tiled path (load_or_store, a PNG streamed
# into a store) needs only zarr.

__all__ = [
    "STREAM_FORMATS",
    "ImageInfo",
    "TileHook",
    "ingest",
    "load_or_ingest",
    "load_or_store",
    "open_store",
    "open_tiles",
    "probe",
    "rust_codecs",
]


#: ``on_tile(pixels, x0, y0, width, height)``: called by :func:`load_or_store` with each
#: processing tile of a streamed image as it is written (its (h, w, 3|4) uint8 pixels, its
#: top-left corner, and the image's size), while the tile is still in memory.
TileHook = Callable[[np.ndarray, int, int, int, int], None]

#: Formats :func:`ingest` can stream (libvips decodes them top to bottom).
STREAM_FORMATS: Final = frozenset({"png", "jpeg", "webp", "tiff"})

#: Version of the store layout described in the module docstring.
_LAYOUT_VERSION: Final = 1
_INNER_CHUNK_MAX: Final = 1024
_INNER_CHUNK_MIN: Final = 256
_ZSTD_LEVEL: Final = 3
_BAND_NAMES: Final = ("R", "G", "B", "A")

# File signatures of the formats libvips streams (sniffed, so a file's suffix never picks a
# loader: libvips would also read text files named *.csv or *.mat as images).
_SIGNATURES: Final = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"II+\x00", "tiff"),  # BigTIFF
    (b"MM\x00+", "tiff"),
)
_LOADERS: Final = {"png": "pngload", "jpeg": "jpegload", "webp": "webpload", "tiff": "tiffload"}
_VIPS_DTYPES: Final = {"uchar": np.uint8, "ushort": np.uint16, "uint": np.uint32}

# How the samples of a decoded strip or tile map to RGB(A).
_Kind = Literal["grey", "grey_alpha", "rgb", "rgba", "cmyk"]
_ALPHA_KINDS: Final = frozenset({"grey_alpha", "rgba"})

# EXIF orientation -> (transpose first, then flip rows, flip columns); the same transforms
# as PIL.ImageOps.exif_transpose (2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90
# clockwise, 7 transverse, 8 rotate 90 counter-clockwise).
_ORIENTATIONS: Final = {
    1: (False, False, False),
    2: (False, False, True),
    3: (False, True, True),
    4: (False, True, False),
    5: (True, False, False),
    6: (True, False, True),
    7: (True, True, True),
    8: (True, True, False),
}


@dataclass(frozen=True)
class ImageInfo:
    """What :func:`probe` learns from an image's header, without decoding pixels.

    ``width`` and ``height`` are the displayed size (EXIF / TIFF orientation applied), as
    :func:`vectile.load_image` returns it.  ``bands`` is 4 when the file has an alpha
    channel (or a transparency key), else 3; decoding drops an alpha channel whose pixels
    are all opaque, so a 4 here may become 3 there.  ``format`` is ``"png"``, ``"jpeg"``,
    ``"webp"`` or ``"tiff"``.  ``tiled_tiff`` says whether the TIFF's first page is stored
    in tiles, ``tile_shape`` is then their ``(rows, columns)``.  ``orientation`` is the
    EXIF orientation (1 to 8, 1 = as stored).
    """

    path: str
    format: str
    width: int
    height: int
    bands: int
    tiled_tiff: bool = False
    tile_shape: tuple[int, int] | None = None
    orientation: int = 1

    @property
    def pixels(self) -> int:
        """``width * height``."""
        return self.width * self.height


class _UnsupportedFormat(InputError):
    """Not a format libvips streams here (may still be an image Pillow loads whole)."""


@dataclass(frozen=True)
class _TiffLayout:
    """Page 0 of a tiled TIFF that tifffile decodes and :func:`_normalise` understands."""

    axes: str  # "YX", "YXS" (interleaved samples) or "SYX" (planar)
    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    kind: _Kind


# --- probe ----------------------------------------------------------------------------------


def probe(path: str | os.PathLike[str], *, max_pixels: int = DEFAULT_MAX_PIXELS) -> ImageInfo:
    """Read the header of the image at ``path``; no pixel is decoded, so this is instant.

    libvips (``Image.new_from_file(..., access="sequential")`` semantics: the loader of the
    sniffed format, which reads the header only) gives size, bands and orientation;
    tifffile gives the tile layout of TIFFs.

    Raises :class:`~vectile.errors.InputError` naming the file when it is missing, a
    directory, unreadable, not a PNG / JPEG / WebP / TIFF, or has a corrupt header, and
    :class:`~vectile.errors.PixelLimitError` when it has more than ``max_pixels`` pixels.
    """
    name = _path_str(path)
    label = f"'{name}'"
    _check_max_pixels(max_pixels)
    fmt = _sniff(name, label)
    image = _open_vips(name, fmt, label)
    orientation = _orientation(image)
    width, height = image.width, image.height
    if _ORIENTATIONS[orientation][0]:
        width, height = height, width
    _check_size(label, width, height, max_pixels, name)
    tiled, tile_shape = False, None
    if fmt == "tiff":
        import tifffile

        try:
            with tifffile.TiffFile(name) as tif:
                page = tif.pages[0]
                tiled = isinstance(page, tifffile.TiffPage) and bool(page.is_tiled)
                if tiled and isinstance(page, tifffile.TiffPage):
                    tile_shape = (int(page.tilelength), int(page.tilewidth))
        except (tifffile.TiffFileError, ValueError, IndexError, KeyError) as exc:
            raise _corrupt(label, exc, name) from exc
    return ImageInfo(
        path=name,
        format=fmt,
        width=width,
        height=height,
        bands=4 if image.hasalpha() else 3,
        tiled_tiff=tiled,
        tile_shape=tile_shape,
        orientation=orientation,
    )


# --- ingest ---------------------------------------------------------------------------------


def ingest(
    path: str | os.PathLike[str],
    store_path: str | os.PathLike[str],
    *,
    tile_size: int = DEFAULT_TILE_SIZE,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    overwrite: bool = False,
) -> xr.DataArray:
    """Bring the image at ``path`` into tiles and return it as a lazy DataArray.

    PNG, JPEG, WebP and strip TIFF are streamed into a new Zarr v3 store at ``store_path``
    (layout in the module docstring), ``tile_size`` rows at a time, written atomically.  A
    tiled TIFF whose tiles tifffile decodes is read in place instead: nothing is written and
    ``store_path`` is left alone (other tiled TIFFs, say LZW or JPEG tiles without
    imagecodecs, are streamed like strip TIFFs).

    The result has one Dask chunk per ``tile_size x tile_size`` processing tile; see the
    module docstring for dims and attrs.  Nothing is decoded until a chunk is computed (the
    returned array of a streamed image reads the finished store).

    ``store_path`` must not exist, unless ``overwrite`` is true and it is a store written
    here earlier (anything else raises :class:`FileExistsError`; a directory that is not a
    vectile tile store is never replaced).

    Raises :class:`~vectile.errors.InputError` naming the file for missing, unreadable,
    unsupported, truncated or corrupt images (no store is left behind),
    :class:`~vectile.errors.PixelLimitError` above ``max_pixels`` (before anything is
    decoded or written) and :class:`~vectile.errors.OptionError` for a bad ``tile_size``.
    """
    _check_tile_size(tile_size)
    info = probe(path, max_pixels=max_pixels)
    layout = _tiff_layout(info) if info.tiled_tiff else None
    if layout is not None:
        return _open_tiff(info, layout, tile_size)
    target = Path(store_path)
    _check_target(target, overwrite)
    return open_tiles(_stream(info, target, tile_size, overwrite))


def open_tiles(store_path: str | os.PathLike[str]) -> xr.DataArray:
    """Open a store written by :func:`ingest` as a lazy DataArray (one chunk per shard).

    Raises :class:`~vectile.errors.InputError` when ``store_path`` is missing or is not a
    vectile tile store.
    """
    import dask.array as da

    name = _path_str(store_path)
    array = _open_store(name)
    if array is None:
        raise InputError(
            f"'{name}' is not a vectile tile store (vectile.tiling.ingest writes them)",
            path=name,
        )
    attrs = array.attrs.asdict()
    tile = int(attrs["tile_size"])  # type: ignore[arg-type]
    data = da.from_zarr(array, chunks=(tile, tile, array.shape[2]))
    return _data_array(data, attrs, store=os.path.abspath(name))


def load_or_ingest(
    path: str | os.PathLike[str],
    store_dir: str | os.PathLike[str],
    *,
    tile_size: int = DEFAULT_TILE_SIZE,
    threshold_pixels: int = HUGE_PIXELS,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> np.ndarray | xr.DataArray:
    """The image at ``path`` in memory when small, in tiles when huge.

    Images of at most ``threshold_pixels`` pixels (width x height) come back from
    :func:`vectile.load_image`: a numpy uint8 array (H, W, 3|4), no Zarr, no Dask.  Bigger
    ones come back from :func:`ingest` as a lazy DataArray: tiled TIFFs read in place, the
    rest streamed into ``store_dir/<name>-<hash>-t<tile_size>.zarr`` (the hash is of the
    absolute source path).  A store already there for the same source (same path, size,
    modification time and tile size) is reused without decoding anything; a stale one is
    replaced.

    Formats libvips does not stream here (BMP, GIF, ...) load whole while small; over the
    threshold they raise :class:`~vectile.errors.InputError` asking for PNG or TIFF.
    Errors as :func:`ingest` and :func:`vectile.load_image`.
    """
    found = load_or_store(path, store_dir, tile_size=tile_size, threshold_pixels=threshold_pixels,
                          max_pixels=max_pixels)
    return open_tiles(found) if isinstance(found, Path) else found


def load_or_store(
    path: str | os.PathLike[str],
    store_dir: str | os.PathLike[str],
    *,
    tile_size: int = DEFAULT_TILE_SIZE,
    threshold_pixels: int = HUGE_PIXELS,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    on_tile: TileHook | None = None,
) -> np.ndarray | xr.DataArray | Path:
    """:func:`load_or_ingest`, except that a streamed (or reused) store comes back as its
    path, for readers that open it themselves (:func:`open_store`) without the ~1 s of
    importing xarray and dask.array that a DataArray costs.

    ``on_tile`` (a :data:`TileHook`) sees every tile of an image streamed now, in the
    image's final layout, so a first pass over the pixels needs no read of the store.  It is
    not called for a reused store, an image loaded whole or read in place, or an image whose
    stored order is not its displayed order (EXIF orientation); a caller counts the pixels
    it was shown to know whether it saw them all.  What it raises aborts the ingest."""
    _check_tile_size(tile_size)
    _check_max_pixels(max_pixels)
    if isinstance(threshold_pixels, bool) or not isinstance(threshold_pixels, int):
        raise TypeError(f"threshold_pixels must be an int, got {type(threshold_pixels).__name__}")
    name = _path_str(path)
    try:
        info = probe(name, max_pixels=max_pixels)
    except _UnsupportedFormat:
        return _load_whole_unstreamable(name, threshold_pixels, max_pixels)
    if info.pixels <= threshold_pixels:
        return load_image(name, max_pixels=max_pixels)
    layout = _tiff_layout(info) if info.tiled_tiff else None
    if layout is not None:
        return _open_tiff(info, layout, tile_size)
    target = Path(store_dir) / _store_name(name, tile_size)
    if _is_current(target, name, tile_size):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    _check_target(target, overwrite=True)
    return _stream(info, target, tile_size, overwrite=True, on_tile=on_tile)


# --- streaming into Zarr --------------------------------------------------------------------


def _stream(info: ImageInfo, target: Path, tile_size: int, overwrite: bool,
            on_tile: TileHook | None = None) -> Path:
    """Stream the image into a new store at ``target``; returns ``target``.  ``on_tile``
    sees each written tile when the stored order is the displayed one."""
    name, label = info.path, f"'{info.path}'"
    stat = os.stat(name)
    image = _open_vips(name, info.format, label)
    kind = _vips_kind(image, label, name)
    bands = 4 if kind in _ALPHA_KINDS else 3
    attrs: dict[str, Any] = {
        "vectile_tiles": _LAYOUT_VERSION,
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
        raw_dir = _temporary_dir(target)
        temporaries.append(raw_dir)
        raw = _create_store(raw_dir, (image.height, image.width, bands), tile_size, attrs)
        opaque = _write_strips(image, kind, raw, tile_size, label, name,
                               on_tile if info.orientation == 1 else None)
        drop_alpha = bands == 4 and opaque
        final_dir = raw_dir
        if info.orientation != 1 or drop_alpha:
            final_dir = _temporary_dir(target)
            temporaries.append(final_dir)
            _reorient(raw, final_dir, info.orientation, 3 if drop_alpha else bands, attrs)
        _publish(final_dir, target, overwrite)
        temporaries.remove(final_dir)
    finally:
        for directory in temporaries:
            shutil.rmtree(directory, ignore_errors=True)
    return target


def _write_strips(
    image: pyvips.Image, kind: _Kind, array: zarr.Array, tile_size: int, label: str, path: str,
    on_tile: TileHook | None = None,
) -> bool:
    """Decode ``image`` top to bottom into ``array``, ``tile_size`` rows at a time.

    libvips streams the decoded pixels (``rawsave_target``: rows in order, native byte order,
    no header) through its own bounded pipeline into a :class:`_StripSink`, which collects
    one strip and writes it.  Each strip covers whole shards (a full row of processing
    tiles), so every shard is written once, completely.  Returns whether every alpha value
    was 255 (True without alpha).

    (Pulling strips with ``Region.fetch`` or ``crop().write_to_memory()`` instead measured
    three to four times the peak memory here, growing with the image size; and a new
    ``crop()`` pipeline per strip can make a sequential loader refuse rows it has already
    read past, an "out of order read".)
    """
    sink = _StripSink(image, kind, array, tile_size, on_tile)
    target = pyvips.TargetCustom()
    target.on_write(sink.write)
    try:
        image.rawsave_target(target)
    except pyvips.Error as exc:
        if sink.error is not None:
            raise sink.error from None
        raise _corrupt(label, exc, path) from exc
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


class _StripSink:
    """Collects libvips' raw pixel stream into strips of ``tile_size`` rows and writes each
    normalised strip into the Zarr array.  Errors inside :meth:`write` (a full disk, an
    interrupt) are kept in :attr:`error` and make libvips stop, then re-raised."""

    def __init__(self, image: pyvips.Image, kind: _Kind, array: zarr.Array, tile_size: int,
                 on_tile: TileHook | None = None) -> None:
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
        strip = _normalise(samples.reshape(rows, self.width, self.bands), self.kind)
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


def _reorient(raw: zarr.Array, final_dir: Path, orientation: int, bands: int,
              attrs: dict[str, Any]) -> None:
    """Copy ``raw`` (stored order) into a new store, oriented and with ``bands`` bands.

    The source is read with Dask chunks chosen so that, after the transform, every chunk is
    exactly one output tile; each output shard is then written once, by one task.
    """
    import dask.array as da

    tile = int(attrs["tile_size"])
    height, width = int(attrs["height"]), int(attrs["width"])
    rows, cols = _source_chunks(orientation, height, width, tile)
    source = da.from_zarr(raw, chunks=(rows, cols, raw.shape[2]))
    oriented = _orient(source, orientation)[:, :, :bands]
    final = _create_store(final_dir, (height, width, bands), tile, attrs)
    da.store(oriented, final, lock=False, scheduler="synchronous")  # type: ignore[arg-type]


def _create_store(directory: Path, shape: tuple[int, int, int], tile_size: int,
                  attrs: dict[str, Any], *, threads: int | None = None) -> zarr.Array:
    """A new, empty store array; its shards are encoded in ``threads`` threads (default one
    per core, see :func:`rust_codecs`)."""
    import zarr.codecs

    inner = _inner_chunk(tile_size)
    bands = shape[2]
    with rust_codecs(threads):
        return zarr.create_array(
            store=str(directory),
            shape=shape,
            dtype="uint8",
            shards=(tile_size, tile_size, bands),
            chunks=(inner, inner, bands),
            compressors=zarr.codecs.ZstdCodec(level=_ZSTD_LEVEL),
            fill_value=0,
            dimension_names=("y", "x", "band"),
            attributes=attrs,
            overwrite=True,  # the directory is our own, freshly made and empty
        )


def _inner_chunk(tile_size: int) -> int:
    """Edge of the inner Zarr chunks: the tile itself up to 1024, else its largest divisor in
    256..1024 (1024 for 2048 and 4096, 1000 for 3000), else the whole tile (one inner chunk
    per shard, for tile sizes without such a divisor).

    >>> _inner_chunk(37), _inner_chunk(1024), _inner_chunk(2048), _inner_chunk(3000), _inner_chunk(2053)
    (37, 1024, 1024, 1000, 2053)
    """
    if tile_size <= _INNER_CHUNK_MAX:
        return tile_size
    for edge in range(_INNER_CHUNK_MAX, _INNER_CHUNK_MIN - 1, -1):
        if tile_size % edge == 0:
            return edge
    return tile_size


def rust_codecs(threads: int | None = None) -> Any:
    """zarr settings (a context manager) under which arrays are opened with the zarrs codec
    pipeline: shards encoded and decoded in Rust, off the GIL, in ``threads`` threads (default
    one per core; give 1 inside a task that already runs in parallel with others).  An array
    keeps its pipeline after the block.  Measured on world-map-12k's 2048-pixel tiles: write
    7 ms and read ~4 ms per tile, against 28 ms and 11 ms with zarr's own pipeline."""
    import zarr
    import zarrs  # noqa: F401  (the pipeline named below; imported here, not mid-stream)

    settings: dict[str, Any] = {"codec_pipeline.path": "zarrs.ZarrsCodecPipeline"}
    if threads is not None:
        settings["threading.max_workers"] = threads
    return zarr.config.set(settings)


def open_store(name: str | os.PathLike[str], *, threads: int | None = None) -> zarr.Array:
    """A tile store's array, read-only, decoded with :func:`rust_codecs` (``threads``)."""
    import zarr

    with rust_codecs(threads):
        return zarr.open_array(os.fspath(name), mode="r")


def _open_store(name: str) -> zarr.Array | None:
    """The store's array when ``name`` is a vectile tile store, else None."""
    import zarr.errors

    if not os.path.isdir(name):
        return None
    try:
        array = open_store(name)
    except (OSError, ValueError, KeyError, zarr.errors.BaseZarrError):
        return None
    attrs = array.attrs.asdict()
    if attrs.get("vectile_tiles") != _LAYOUT_VERSION or "tile_size" not in attrs:
        return None
    if array.ndim != 3 or array.dtype != np.uint8 or array.shape[2] not in (3, 4):
        return None
    return array


def _is_current(target: Path, source: str, tile_size: int) -> bool:
    """Whether ``target`` is a finished store of ``source`` as it is now, in ``tile_size``."""
    array = _open_store(str(target))
    if array is None:
        return False
    try:
        stat = os.stat(source)
    except OSError:
        return False
    attrs = array.attrs.asdict()
    return (
        attrs.get("source") == os.path.abspath(source)
        and attrs.get("tile_size") == tile_size
        and attrs.get("source_bytes") == stat.st_size
        and attrs.get("source_mtime_ns") == stat.st_mtime_ns
    )


def _store_name(source: str, tile_size: int) -> str:
    digest = hashlib.sha256(os.fsencode(os.path.abspath(source))).hexdigest()[:12]
    return f"{Path(source).stem}-{digest}-t{tile_size}.zarr"


# --- atomic directories ---------------------------------------------------------------------


def _temporary_dir(target: Path) -> Path:
    """A new, empty sibling directory of ``target`` (mode 0o777 minus the umask)."""
    for _ in range(100):
        candidate = target.parent / f".{target.name}.{secrets.token_hex(4)}.tmp"
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        return candidate
    raise FileExistsError(f"no free temporary directory name next to '{target}'")


def _check_target(target: Path, overwrite: bool) -> None:
    if not (target.exists() or target.is_symlink()):
        return
    if not overwrite:
        raise FileExistsError(
            f"'{target}' already exists; remove it, choose another path or pass overwrite=True"
        )
    if target.is_symlink() or _open_store(str(target)) is None:
        raise FileExistsError(
            f"'{target}' exists and is not a vectile tile store; refusing to replace it"
        )


def _publish(directory: Path, target: Path, overwrite: bool) -> None:
    """Rename the finished ``directory`` to ``target``, replacing an old store if allowed."""
    if not (target.exists() or target.is_symlink()):
        os.rename(directory, target)
        return
    _check_target(target, overwrite)
    old = _temporary_dir(target)
    os.rename(target, old / "old")  # a rename within one directory tree: atomic, instant
    try:
        os.rename(directory, target)
    except BaseException:
        os.rename(old / "old", target)
        raise
    finally:
        shutil.rmtree(old, ignore_errors=True)


# --- tiled TIFF in place --------------------------------------------------------------------


class _TiffPage:
    """Page 0 of a TIFF as a picklable array-like that Dask slices (shape, dtype, ndim,
    ``__getitem__``).  Each read opens the file, decodes the tiles it needs through
    tifffile's Zarr view and closes the file again, so no handle outlives a task and the
    object travels to other processes."""

    def __init__(self, path: str, shape: tuple[int, ...], dtype: np.dtype[Any]) -> None:
        self.path = path
        self.shape = shape
        self.dtype = dtype
        self.ndim = len(shape)

    def __getitem__(self, key: Any) -> np.ndarray:
        import tifffile
        import zarr

        with tifffile.imread(self.path, aszarr=True, key=0) as store:
            return np.asarray(zarr.open_array(store, mode="r")[key])


def _tiff_layout(info: ImageInfo) -> _TiffLayout | None:
    """How to read ``info``'s tiled TIFF in place, or None when it must be streamed instead
    (tifffile cannot decode its compression, or its samples are not 8/16-bit unsigned grey,
    RGB or CMYK with at most one unassociated alpha)."""
    import tifffile

    try:
        with tifffile.TiffFile(info.path) as tif:
            page = tif.pages[0]
            if not isinstance(page, tifffile.TiffPage) or not page.is_tiled:
                return None
            if page.compression not in tifffile.TIFF.DECOMPRESSORS:
                return None
            if page.sampleformat != tifffile.SAMPLEFORMAT.UINT or page.bitspersample not in (8, 16):
                return None
            photometric, samples = page.photometric, page.samplesperpixel
            extras = tuple(page.extrasamples)
            colors = samples - len(extras)
            if photometric == tifffile.PHOTOMETRIC.MINISBLACK and colors == 1:
                kind: _Kind = "grey_alpha" if extras else "grey"
            elif photometric == tifffile.PHOTOMETRIC.RGB and colors == 3:
                kind = "rgba" if extras else "rgb"
            elif photometric == tifffile.PHOTOMETRIC.SEPARATED and colors == 4 and not extras:
                if page.tags.valueof(332, 1) != 1:  # InkSet: 1 = CMYK
                    return None
                kind = "cmyk"
            else:
                return None
            if extras not in ((), (tifffile.EXTRASAMPLE.UNASSALPHA,)):
                return None
            if page.axes not in ("YX", "YXS", "SYX"):
                return None
            return _TiffLayout(page.axes, tuple(page.shape), np.dtype(page.dtype), kind)
    except (tifffile.TiffFileError, ValueError, IndexError, KeyError):
        return None  # the streaming path reports what is wrong with the file


def _open_tiff(info: ImageInfo, layout: _TiffLayout, tile_size: int) -> xr.DataArray:
    """The tiled TIFF ``info`` as a lazy DataArray: tiles decoded per task, never copied."""
    bands = 4 if layout.kind in _ALPHA_KINDS else 3
    rows, cols = _source_chunks(info.orientation, info.height, info.width, tile_size)
    stat = os.stat(info.path)
    page = _TiffPage(info.path, layout.shape, layout.dtype)
    chunks: tuple[Any, ...]
    if layout.axes == "YX":
        chunks = (rows, cols)
    elif layout.axes == "YXS":
        chunks = (rows, cols, layout.shape[2])
    else:  # "SYX"
        chunks = (layout.shape[0], rows, cols)
    token = hashlib.sha256(
        f"{os.path.abspath(info.path)}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()
    ).hexdigest()[:16]
    import dask.array as da

    samples = da.from_array(
        page, chunks=chunks, name=f"vectile-tiff-{token}-{tile_size}", lock=False,
        asarray=True, fancy=False, meta=np.empty((0,) * page.ndim, dtype=layout.dtype),
    )
    if layout.axes == "YX":
        samples = samples[:, :, None]
    elif layout.axes == "SYX":
        samples = samples.transpose(1, 2, 0)
    rgb = samples.map_blocks(
        _normalise, layout.kind, dtype=np.uint8,
        chunks=(samples.chunks[0], samples.chunks[1], (bands,)),
        meta=np.empty((0, 0, 0), dtype=np.uint8),
    )
    attrs = {
        "tile_size": tile_size,
        "source": os.path.abspath(info.path),
        "format": "tiff",
        "width": info.width,
        "height": info.height,
    }
    return _data_array(_orient(rgb, info.orientation), attrs, store=os.path.abspath(info.path))


# --- pixels ---------------------------------------------------------------------------------


def _normalise(samples: np.ndarray, kind: _Kind) -> np.ndarray:
    """Samples of one strip or tile, (h, w) or (h, w, s), 8/16/32-bit unsigned, to RGB(A)
    uint8 by the rules of :func:`vectile.load_image`.  8-bit RGB(A) comes back as is (the
    same array, not a copy); everything else in a new C-contiguous array."""
    if samples.ndim == 2:
        samples = samples[:, :, None]
    if samples.dtype == np.uint16:
        samples = (samples >> 8).astype(np.uint8)
    elif samples.dtype == np.uint32:
        samples = (np.minimum(samples, 0xFFFF) >> 8).astype(np.uint8)
    elif samples.dtype != np.uint8:
        raise TypeError(f"unexpected sample dtype {samples.dtype}")
    height, width = samples.shape[:2]
    if kind in ("rgb", "rgba") and samples.shape[2] == len(kind):
        return samples  # already RGB(A) uint8: no copy
    if kind == "cmyk":
        # Pillow's cmyk2rgb: (255 - c) * (255 - k) / 255, divided with its MULDIV255 rounding.
        inverse_k = 255 - samples[:, :, 3].astype(np.uint16)
        out = np.empty((height, width, 3), dtype=np.uint8)
        for band in range(3):
            product = (255 - samples[:, :, band].astype(np.uint16)) * inverse_k + 128
            out[:, :, band] = (((product >> 8) + product) >> 8).astype(np.uint8)
        return out
    colors = 1 if kind in ("grey", "grey_alpha") else 3
    alpha = kind in _ALPHA_KINDS
    out = np.empty((height, width, 4 if alpha else 3), dtype=np.uint8)
    out[:, :, :3] = samples[:, :, :colors]  # one grey channel broadcasts to R, G and B
    if alpha:
        out[:, :, 3] = samples[:, :, colors]
    return out


def _vips_kind(image: pyvips.Image, label: str, path: str) -> _Kind:
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
        kinds: tuple[_Kind, ...] = ("grey", "grey_alpha", "rgb", "rgba")
        return kinds[bands - 1]
    raise InputError(
        f"{label} has {bands} bands of {interpretation} colour, which the huge-image reader "
        "does not convert; convert it to RGB, RGBA or grey",
        path=path,
    )


def _orient(array: da.Array, orientation: int) -> da.Array:
    """``array`` (stored order) as displayed: EXIF ``orientation`` applied lazily."""
    transpose, flip_rows, flip_cols = _ORIENTATIONS[orientation]
    if transpose:
        array = array.transpose(1, 0, 2)
    return array[slice(None, None, -1 if flip_rows else 1), slice(None, None, -1 if flip_cols else 1)]


def _source_chunks(orientation: int, height: int, width: int,
                   tile_size: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Chunks of the stored (un-oriented) image whose blocks become, after :func:`_orient`,
    exactly the ``tile_size`` grid of the displayed ``height x width`` image."""
    transpose, flip_rows, flip_cols = _ORIENTATIONS[orientation]
    rows, cols = _grid(height, tile_size), _grid(width, tile_size)
    if flip_rows:
        rows = rows[::-1]
    if flip_cols:
        cols = cols[::-1]
    return (cols, rows) if transpose else (rows, cols)


def _grid(length: int, tile_size: int) -> tuple[int, ...]:
    """Chunk lengths of ``length`` cut every ``tile_size`` from 0: (t, ..., t, rest)."""
    full, rest = divmod(length, tile_size)
    return (tile_size,) * full + ((rest,) if rest else ())


def _data_array(data: da.Array, attrs: dict[str, Any], *, store: str) -> xr.DataArray:
    import xarray as xr

    keys = ("tile_size", "source", "format", "width", "height")
    return xr.DataArray(
        data,
        dims=("y", "x", "band"),
        coords={"band": list(_BAND_NAMES[: data.shape[2]])},
        attrs={**{key: attrs[key] for key in keys}, "store": store},
        name=Path(str(attrs["source"])).name,
    )


# --- files and errors -----------------------------------------------------------------------


def _path_str(path: str | os.PathLike[str]) -> str:
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"expected a path, got {type(path).__name__}")
    return os.fspath(path)


def _sniff(path: str, label: str) -> str:
    """The format of the file at ``path`` from its first bytes, or InputError."""
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except FileNotFoundError:
        raise InputError(f"cannot read {label}: no such file; check the path", path=path) from None
    except IsADirectoryError:
        raise InputError(
            f"cannot read {label}: it is a directory, not an image file", path=path
        ) from None
    except PermissionError:
        raise InputError(f"cannot read {label}: permission denied", path=path) from None
    except OSError as exc:
        raise InputError(f"cannot read {label}: {exc.strerror or exc}", path=path) from exc
    for signature, fmt in _SIGNATURES:
        if head.startswith(signature):
            return fmt
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    raise _UnsupportedFormat(
        f"{label} is not a PNG, JPEG, WebP or TIFF image; huge images are read from these "
        "formats only (small images of other formats load whole with vectile.load_image)",
        path=path,
    )


def _open_vips(path: str, fmt: str, label: str) -> pyvips.Image:
    """The sniffed format's libvips loader, header only, failing on any decoding error."""
    loader = getattr(pyvips.Image, _LOADERS[fmt])
    try:
        # revalidate: never reuse libvips' cached loader for this file, which a previous
        # sequential read may have consumed, or which may describe an older file.
        image: pyvips.Image = loader(
            path, access="sequential", fail_on="error", revalidate=True
        )
    except pyvips.Error as exc:
        raise _corrupt(label, exc, path) from exc
    return image


def _orientation(image: pyvips.Image) -> int:
    if image.get_typeof("orientation") == 0:
        return 1
    value = image.get("orientation")
    return value if isinstance(value, int) and value in _ORIENTATIONS else 1


def _corrupt(label: str, exc: BaseException, path: str) -> InputError:
    if isinstance(exc, pyvips.Error):
        details = [line.strip() for line in str(exc.detail or "").splitlines() if line.strip()]
        reason = "; ".join(details) or exc.message
    else:
        reason = str(exc).strip() or type(exc).__name__
    return InputError(
        f"{label} is truncated or corrupt ({reason}); re-export or re-download it", path=path
    )


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


def _check_tile_size(tile_size: int) -> None:
    if isinstance(tile_size, bool) or not isinstance(tile_size, int) or tile_size < 1:
        raise OptionError(
            f"tile_size must be a positive int (pixels), got {tile_size!r}", option="tile_size"
        )


def _check_max_pixels(max_pixels: int) -> None:
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, int | np.integer):
        raise TypeError(f"max_pixels must be an int, got {type(max_pixels).__name__}")

