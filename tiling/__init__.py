"""vectile.tiling: huge images traced tile by tile, with the same SVG as untiled.

:func:`trace_image` is the one entry point (``vectorize(tile_size=)``, ``vectile convert`` and
the batch all call it); :func:`probe` reads an image's header.  The names are loaded on first
use, so ``import vectile.tiling`` imports neither zarr nor dask.

Modules, in the order of the flow (each imports only those above it):

* :mod:`~vectile.tiling.pixels`: pixel normalisation and EXIF orientation rules;
* :mod:`~vectile.tiling.header`: the one header probe (:class:`ImageInfo`);
* :mod:`~vectile.tiling.store`: the Zarr v3 tile store layout, codecs, atomic publishing;
* :mod:`~vectile.tiling.stream`: huge PNG / JPEG / WebP / strip TIFF streamed into a store;
* :mod:`~vectile.tiling.tiff`: tiled TIFFs read in place;
* :mod:`~vectile.tiling.ingest`: ``load_or_store``, which picks one of the above per file;
* :mod:`~vectile.tiling.grid`: the tile grid, :class:`TileError`, :class:`NotTileable`;
* :mod:`~vectile.tiling.reader`: :class:`TileReader`, a tile's pixels read on a worker;
* :mod:`~vectile.tiling.prepass`: histograms and preset samples (:class:`Prepass`);
* :mod:`~vectile.tiling.tasks`: the task bodies of the seven stages;
* :mod:`~vectile.tiling.trace`: :func:`trace_tiled`, the driver that submits them;
* :mod:`~vectile.tiling.entry`: :func:`trace_image` and :func:`open_source`.

>>> import numpy as np
>>> from vectile.tiling import trace_image
>>> img = np.zeros((64, 64, 3), np.uint8); img[8:40, 8:40] = 255
>>> text, stats = trace_image(img, {"preset": "icon"}, tile_size=16, max_pixels=1 << 20)
>>> stats["tiles"], stats["tiled"]
(16, True)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vectile.tiling.entry import open_source, trace_image
    from vectile.tiling.grid import NotTileable, TileError
    from vectile.tiling.header import ImageInfo, probe
    from vectile.tiling.prepass import Prepass
    from vectile.tiling.reader import TileReader
    from vectile.tiling.trace import trace_tiled

__all__ = [
    "ImageInfo",
    "NotTileable",
    "Prepass",
    "TileError",
    "TileReader",
    "open_source",
    "probe",
    "trace_image",
    "trace_tiled",
]

_HOMES = {
    "ImageInfo": "vectile.tiling.header",
    "probe": "vectile.tiling.header",
    "NotTileable": "vectile.tiling.grid",
    "Prepass": "vectile.tiling.prepass",
    "TileError": "vectile.tiling.grid",
    "TileReader": "vectile.tiling.reader",
    "open_source": "vectile.tiling.entry",
    "trace_image": "vectile.tiling.entry",
    "trace_tiled": "vectile.tiling.trace",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'vectile.tiling' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
