"""vectile.tiling: huge images traced tile by tile, with the same SVG as untiled.

:func:`trace_image` is the one entry point (``vectorize(tile_size=)``, ``vectile convert`` and
the batch all call it); :func:`probe` reads an image's header.  The names are loaded on first
use, so ``import vectile.tiling`` imports neither zarr nor dask.

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
    from vectile.tiling.ingest import ImageInfo, probe
    from vectile.tiling.trace import NotTileable, Prepass, TileError, TileReader, open_source, trace_image, trace_tiled

__all__ = ["ImageInfo", "NotTileable", "Prepass", "TileError", "TileReader", "open_source", "probe",
           "trace_image", "trace_tiled"]

_HOMES = {
    "ImageInfo": "vectile.tiling.ingest",
    "probe": "vectile.tiling.ingest",
    "NotTileable": "vectile.tiling.trace",
    "Prepass": "vectile.tiling.trace",
    "TileError": "vectile.tiling.trace",
    "TileReader": "vectile.tiling.trace",
    "open_source": "vectile.tiling.trace",
    "trace_image": "vectile.tiling.trace",
    "trace_tiled": "vectile.tiling.trace",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'vectile.tiling' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
