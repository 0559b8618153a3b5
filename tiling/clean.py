"""The scan front end of a tiled trace: every tile cleaned from the tile and its halo.

When the settings denoise (``denoise > 0``), a first pass runs before the histograms: each
tile task reads its tile grown by the front end's reach (``_kernels.scan_reach``, clipped to
the image) from the source, cleans it (``_kernels.tile_prepare``, equal to the same rectangle
of the whole-image front end) and writes the cleaned core into a second tile store
(:func:`cleaned_store`: same grid, one shard per tile, so each shard has one writer; in a
temporary folder removed after the trace).  Every later stage reads the cleaned store.  The
task also returns the cleaned tile's histogram: histograms taken of the raw pixels (the
:class:`~vectile.tiling.prepass.Prepass` while the image streamed) do not describe what is
traced.  Halos are read-only: a task reads its neighbours' raw pixels, never their output.

With a ``keep`` or ``white`` background (colour mode), the paper's white field (paper colour
x lamp fall-off, ``rust_kernels/src/scan/field.rs``) is divided out after the palette: each
tile adds its paper pixels into the cells of a grid fixed in image coordinates
(:func:`field_sums_task`), one task fits the field on the summed cells (:func:`field_task`),
and, when there is a field, each tile is flattened and written back into the cleaned store
(or a new one when nothing was cleaned; :func:`flatten_task`), whose histograms give the
palette again: the steps :func:`vectile.vectorize` takes on the whole image, on the same sums.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from vectile import _kernels
from vectile.tiling.grid import Grid, NotTileable, named
from vectile.tiling.prepass import histogram
from vectile.tiling.reader import TileReader
from vectile.tiling.store import LAYOUT_VERSION, create_store, rust_codecs

__all__ = ["cleaned_store", "field_sums_task", "field_task", "flatten_task", "halo_window", "prepare_task"]


def cleaned_store(directory: Path, grid: Grid) -> TileReader:
    """A new, empty RGB store for the cleaned tiles at ``directory`` (one shard per tile of
    ``grid``), as the reader the later stages use."""
    attrs = {
        "vectile_tiles": LAYOUT_VERSION,
        "tile_size": grid.tile,
        "source": "scan front end",
        "format": "cleaned",
        "width": grid.width,
        "height": grid.height,
    }
    create_store(directory, (grid.height, grid.width, 3), grid.tile, attrs, threads=1)
    return TileReader(width=grid.width, height=grid.height, bands=3, store=os.fspath(directory.absolute()))


def halo_window(grid: Grid, i: int, halo: int) -> tuple[int, int, int, int]:
    """Tile ``i`` grown by ``halo`` pixels on every side, clipped to the image, as
    ``(x0, y0, width, height)``.

    >>> halo_window(Grid(100, 70, 64), 1, 8)
    (56, 0, 44, 70)
    """
    x0, y0, w, h = grid.rect(i)
    wx0, wy0 = max(0, x0 - halo), max(0, y0 - halo)
    wx1, wy1 = min(grid.width, x0 + w + halo), min(grid.height, y0 + h + halo)
    return wx0, wy0, wx1 - wx0, wy1 - wy0


def prepare_task(
    reader: TileReader, pixels: Any, grid: Grid, i: int, mode: str, denoise: float, noise: float, store: str
) -> tuple[bytes, np.ndarray]:
    """Stage 0: tile ``i`` cleaned from its halo window and written into the cleaned ``store``;
    returns the cleaned tile's histogram (and an empty preset sample: the preset is chosen
    before this pass).  :class:`~vectile.tiling.grid.NotTileable` for transparent pixels."""

    def work() -> tuple[bytes, np.ndarray]:
        x0, y0, w, h = grid.rect(i)
        halo = _kernels.scan_reach(denoise=denoise, noise=noise)
        wx0, wy0, ww, wh = halo_window(grid, i, halo)
        window = reader(wx0, wy0, ww, wh, pixels)
        if window.shape[2] == 4 and bool((window[..., 3] < 128).any()):
            raise NotTileable("the scan front end of a tiled trace needs an opaque image (trace it untiled)")
        core = _kernels.tile_prepare(
            window,
            x0=wx0,
            y0=wy0,
            width=grid.width,
            height=grid.height,
            core_x0=x0,
            core_y0=y0,
            core_width=w,
            core_height=h,
            denoise=denoise,
            noise=noise,
        )
        _write(store, x0, y0, core)
        return histogram(core, x0, y0, grid.width, grid.height, mode, 0)

    return named(grid.name(i), work)


def _write(store: str, x0: int, y0: int, block: np.ndarray) -> None:
    """``block`` written at (x0, y0) of the store: exactly one shard (the tile's own)."""
    import zarr

    with rust_codecs(1):
        array = zarr.open_array(store, mode="r+")
    array[y0 : y0 + block.shape[0], x0 : x0 + block.shape[1]] = block


def field_sums_task(reader: TileReader, pixels: Any, grid: Grid, i: int, palette: dict[str, Any]) -> bytes:
    """Tile ``i``'s paper sums per cell of the flat-field grid (``_kernels.tile_field_sums``)."""

    def work() -> bytes:
        x0, y0, w, h = grid.rect(i)
        return _kernels.tile_field_sums(reader(x0, y0, w, h, pixels), x0=x0, y0=y0, palette=palette["state"])

    return named(grid.name(i), work)


def field_task(sums: list[bytes], grid: Grid, palette: dict[str, Any]) -> bytes | None:
    """The white field fitted on all tiles' sums, or None (no paper: nothing is flattened)."""
    return named(
        "the flat field",
        lambda: _kernels.tile_field(sums, width=grid.width, height=grid.height, palette=palette["state"]),
    )


def flatten_task(
    reader: TileReader, pixels: Any, grid: Grid, i: int, mode: str, field: bytes, store: str
) -> tuple[bytes, np.ndarray]:
    """Tile ``i`` with the white ``field`` divided out, written into ``store`` (its own shard;
    it may be the store ``reader`` reads: the tile is read whole before it is written);
    returns the flattened tile's histogram, as :func:`prepare_task`."""

    def work() -> tuple[bytes, np.ndarray]:
        x0, y0, w, h = grid.rect(i)
        flat = _kernels.tile_flatten(reader(x0, y0, w, h, pixels), x0=x0, y0=y0, field=field)
        _write(store, x0, y0, flat)
        return histogram(flat, x0, y0, grid.width, grid.height, mode, 0)

    return named(grid.name(i), work)
