"""The histogram pass of a tiled trace: per-block histograms and preset samples, merged.

Stage 1 of the tiled flow (DESIGN.md section 2) needs, over the whole image, the colour (or
luma) histogram from which the global palette is built and the pixels ``choose_preset``
samples.  :func:`histogram` takes both from one block; summed over any blocks that cover the
image once they are the same, so they can be taken per trace tile
(:func:`vectile.tiling.tasks.hist_task`) or, cheaper, while the image streams into its store
(:class:`Prepass`, whose blocks are the store's shards).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vectile import _kernels
from vectile.options import PRESET_SAMPLE

__all__ = ["MERGE_GROUP", "Prepass", "histogram", "merge"]

#: Tile histograms are merged this many at a time before the palette task (and the
#: :class:`Prepass` merges what it holds at this count), so memory holds the distinct colours
#: of a few tiles at once, not of every tile: a 2048-pixel tile of a noisy photo has a 2-5 MB
#: histogram, which over a gigapixel's 240 tiles would be 0.5-1.2 GB.
MERGE_GROUP = 8


def histogram(
    px: np.ndarray, x0: int, y0: int, width: int, height: int, mode: str, sample_step: int
) -> tuple[bytes, np.ndarray]:
    """The histogram of the block ``px`` at (x0, y0) of a width x height image, and the
    packed colours of its pixels in ``choose_preset``'s sample (global raster index a
    multiple of ``sample_step``; none when 0).  Summed over any blocks that cover the image
    once, both are the same: blocks need not be the trace's tiles."""
    h, w = px.shape[:2]
    hist = _kernels.tile_histogram(px, x0=x0, y0=y0, width=width, height=height, mode=mode)
    sample: np.ndarray = np.empty(0, np.uint32)
    if sample_step:
        # Per row: the first sampled column, then every sample_step-th (no per-pixel work).
        first = -(np.arange(y0, y0 + h, dtype=np.int64) * width + x0) % sample_step
        count = np.maximum(0, (w - first + sample_step - 1) // sample_step)
        rows = np.repeat(np.arange(h), count)
        within = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
        rgb = px[rows, np.repeat(first, count) + within * sample_step, :3].astype(np.uint32)
        sample = (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]
    return hist, sample


def merge(parts: list[tuple[bytes, np.ndarray]]) -> tuple[bytes, np.ndarray]:
    """Histograms and preset samples of several blocks as one (same palette, same preset)."""
    if len(parts) == 1:
        return parts[0]
    return (_kernels.tile_histogram_merge([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))


class Prepass:
    """The histogram pass done while the image streams into Zarr: a
    :data:`~vectile.tiling.stream.TileHook` for :func:`~vectile.tiling.open_source` that
    keeps each streamed tile's histogram and preset sample, so
    :func:`~vectile.tiling.trace_tiled` (``prepass=``) skips reading every tile once more.
    ``options`` are the trace's (only ``mode`` and ``preset`` matter here).  Used only when
    it saw every pixel (:meth:`complete`)."""

    def __init__(self, options: dict[str, Any]) -> None:
        mode = options.get("mode") or "color"
        # A mode trace_tiled will refuse: do nothing here, let it report the option.
        self.mode = mode if mode in ("color", "binary", "centerline") else None
        self.sampled = options.get("preset") is None and self.mode != "binary"
        self.hists: list[tuple[bytes, np.ndarray]] = []
        self.pixels = 0
        self.size: tuple[int, int] | None = None

    def __call__(self, px: np.ndarray, x0: int, y0: int, width: int, height: int) -> None:
        if self.mode is None:
            return
        self.size = (width, height)
        step = max(1, width * height // PRESET_SAMPLE) if self.sampled else 0
        self.hists.append(histogram(px, x0, y0, width, height, self.mode, step))
        if len(self.hists) >= MERGE_GROUP:
            self.hists = [merge(self.hists)]
        self.pixels += px.shape[0] * px.shape[1]

    def complete(self, width: int, height: int) -> bool:
        """Whether it saw every pixel of a width x height image, once."""
        return self.size == (width, height) and self.pixels == width * height
