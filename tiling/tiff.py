"""Tiled TIFFs read in place: nothing is copied, tiles are decoded when a task asks for them.

A TIFF whose first page is stored in tiles that tifffile can decode (its compression is one
tifffile handles without extra codecs; 8/16-bit unsigned grey, RGB or CMYK samples with at
most one unassociated alpha) is shown as a lazy Dask-backed DataArray
(``tifffile.imread(path, aszarr=True)`` per read), one chunk per processing tile, pixels
normalised and oriented by the rules of :mod:`vectile.tiling.pixels`.  Other TIFFs (LZW or
JPEG tiles without imagecodecs, say) are streamed into a store like strip TIFFs.

A tiled TIFF read in place keeps its alpha band even when it is fully opaque (finding out
would mean reading every tile up front).  tifffile, zarr and dask.array are imported inside
the functions: importing this module costs nothing.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from vectile.tiling.header import ImageInfo
from vectile.tiling.pixels import ALPHA_KINDS, Kind, normalise, orient, source_chunks
from vectile.tiling.store import data_array

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["TiffLayout", "TiffPage", "open_tiff", "tiff_layout"]


@dataclass(frozen=True)
class TiffLayout:
    """Page 0 of a tiled TIFF that tifffile decodes and :func:`normalise` understands."""

    axes: str  # "YX", "YXS" (interleaved samples) or "SYX" (planar)
    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    kind: Kind


class TiffPage:
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


def tiff_layout(info: ImageInfo) -> TiffLayout | None:
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
                kind: Kind = "grey_alpha" if extras else "grey"
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
            return TiffLayout(page.axes, tuple(page.shape), np.dtype(page.dtype), kind)
    except (tifffile.TiffFileError, ValueError, IndexError, KeyError):
        return None  # the streaming path reports what is wrong with the file


def open_tiff(info: ImageInfo, layout: TiffLayout, tile_size: int) -> xr.DataArray:
    """The tiled TIFF ``info`` as a lazy DataArray: tiles decoded per task, never copied."""
    import dask.array as da

    bands = 4 if layout.kind in ALPHA_KINDS else 3
    rows, cols = source_chunks(info.orientation, info.height, info.width, tile_size)
    stat = os.stat(info.path)
    page = TiffPage(info.path, layout.shape, layout.dtype)
    chunks: tuple[Any, ...]
    if layout.axes == "YX":
        chunks = (rows, cols)
    elif layout.axes == "YXS":
        chunks = (rows, cols, layout.shape[2])
    else:  # "SYX"
        chunks = (layout.shape[0], rows, cols)
    token = hashlib.sha256(f"{os.path.abspath(info.path)}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()).hexdigest()[
        :16
    ]
    samples = da.from_array(
        page,
        chunks=chunks,
        name=f"vectile-tiff-{token}-{tile_size}",
        lock=False,
        asarray=True,
        fancy=False,
        meta=np.empty((0,) * page.ndim, dtype=layout.dtype),
    )
    if layout.axes == "YX":
        samples = samples[:, :, None]
    elif layout.axes == "SYX":
        samples = samples.transpose(1, 2, 0)
    rgb = samples.map_blocks(
        normalise,
        layout.kind,
        dtype=np.uint8,
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
    return data_array(orient(rgb, info.orientation), attrs, store=os.path.abspath(info.path))
