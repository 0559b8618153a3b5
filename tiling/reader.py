"""Reading one tile's pixels on whichever worker runs the task.

:class:`TileReader` is small and picklable: it travels inside every tile task and reads its
rectangle there, from a tile store (opened once per process, :func:`_zarr_array`), from an
in-memory array, or from any other lazy array with numpy slicing (a tiled TIFF read in
place).  The image is never gathered in one process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vectile.errors import InputError
from vectile.tiling.store import open_store

__all__ = ["TileReader"]


@dataclass(frozen=True)
class TileReader:
    """Reads the pixels of one rectangle, on whichever worker runs the task.

    ``store``: the path of a tile store (:mod:`vectile.tiling.store`); ``array``: an
    in-memory (H, W, C) uint8 array (on a cluster it is scattered once and passed to the
    tasks as ``pixels``, never pickled into each task); ``lazy``: any
    other lazy array with numpy slicing (a tiled TIFF read in place), computed per tile.
    """

    width: int
    height: int
    bands: int
    store: str | None = None
    array: np.ndarray | None = None
    lazy: Any = None

    def __call__(self, x0: int, y0: int, w: int, h: int, pixels: np.ndarray | None = None) -> np.ndarray:
        if self.store is not None:
            block = _zarr_array(self.store)[y0 : y0 + h, x0 : x0 + w]
        elif pixels is not None:
            block = pixels[y0 : y0 + h, x0 : x0 + w]
        elif self.array is not None:
            block = self.array[y0 : y0 + h, x0 : x0 + w]
        else:
            block = self.lazy[y0 : y0 + h, x0 : x0 + w]
            if hasattr(block, "compute"):
                block = block.compute(scheduler="sync")
        out = np.ascontiguousarray(np.asarray(block), dtype=np.uint8)
        if out.ndim != 3 or out.shape[:2] != (h, w) or out.shape[2] not in (3, 4):
            raise InputError(f"tile read at ({x0}, {y0}) gave shape {out.shape}, expected ({h}, {w}, 3|4)")
        return out

    @classmethod
    def of(cls, image: Any) -> TileReader:
        """A reader for a numpy array, a DataArray (:func:`~vectile.tiling.store.open_tiles`,
        or a tiled TIFF read in place), or the path (:class:`~pathlib.Path`) of a tile store;
        a reader passes through."""
        if isinstance(image, TileReader):
            return image
        if isinstance(image, Path):
            store = os.fspath(image.absolute())
            try:
                height, width, bands = _zarr_array(store).shape
            except Exception as exc:
                raise InputError(f"cannot open the tile store '{image}': {exc}", path=str(image)) from None
            return cls(width=width, height=height, bands=bands, store=store)
        if isinstance(image, np.ndarray):
            a = image if image.ndim == 3 else np.repeat(image[..., None], 3, axis=2)
            if a.dtype != np.uint8 or a.shape[2] not in (3, 4):
                raise InputError(f"tiled tracing needs (H, W, 3|4) uint8 pixels, got {image.dtype} {image.shape}")
            return cls(width=a.shape[1], height=a.shape[0], bands=a.shape[2], array=np.ascontiguousarray(a))
        shape = tuple(int(s) for s in image.shape)
        if len(shape) != 3 or shape[2] not in (3, 4):
            raise InputError(f"tiled tracing needs (H, W, 3|4) pixels, got shape {shape}")
        written = getattr(image, "attrs", {}).get("store")  # a DataArray of a store we wrote
        if written and Path(written).is_dir():
            return cls(width=shape[1], height=shape[0], bands=shape[2], store=str(written))
        data = getattr(image, "data", image)
        return cls(width=shape[1], height=shape[0], bands=shape[2], lazy=data)


_ZARR_CACHE: dict[tuple[str, int], Any] = {}


def _zarr_array(store: str) -> Any:
    """The store's array, opened once per process (again when the store was rewritten);
    each read decodes in the calling task's thread only (tasks already run one per core)."""
    try:
        key = (store, os.stat(os.path.join(store, "zarr.json")).st_mtime_ns)
    except OSError:
        key = (store, 0)
    array = _ZARR_CACHE.get(key)
    if array is None:
        array = open_store(store, threads=1)
        if len(_ZARR_CACHE) >= 8:  # bounded: drop the store opened first
            del _ZARR_CACHE[next(iter(_ZARR_CACHE))]
        _ZARR_CACHE[key] = array
    return array
