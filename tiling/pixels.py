"""Pixel rules shared by the streamed and the in-place readers of huge images.

Pixels are normalised exactly as :func:`vectile.load_image` does (every rule is per pixel,
except dropping an all-opaque alpha channel, which the streaming reader decides at the end):

* grey -> RGB, grey + alpha -> RGBA, palette -> RGB(A) (expanded by libvips);
* 16-bit samples -> their top 8 bits (``v >> 8``); 32-bit unsigned grey is clipped to
  0..65535 first;
* CMYK -> RGB with Pillow's formula ``(255 - c) * (255 - k) / 255`` (rounded like Pillow), no
  colour management (ICC profiles are ignored, as everywhere in vectile);
* EXIF / TIFF orientation is applied (:func:`orient`, lazily on Dask arrays), so width and
  height are the displayed size.

The processing-tile grid is anchored at the top-left corner of the displayed image
(:func:`grid`); :func:`source_chunks` gives the chunks of the stored image that become that
grid once oriented.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Literal

import numpy as np

if TYPE_CHECKING:
    import dask.array as da

__all__ = ["ALPHA_KINDS", "ORIENTATIONS", "Kind", "grid", "normalise", "orient", "source_chunks"]

#: How the samples of a decoded strip or tile map to RGB(A).
Kind = Literal["grey", "grey_alpha", "rgb", "rgba", "cmyk"]
ALPHA_KINDS: Final = frozenset({"grey_alpha", "rgba"})

#: EXIF orientation -> (transpose first, then flip rows, flip columns); the same transforms
#: as PIL.ImageOps.exif_transpose (2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90
#: clockwise, 7 transverse, 8 rotate 90 counter-clockwise).
ORIENTATIONS: Final = {
    1: (False, False, False),
    2: (False, False, True),
    3: (False, True, True),
    4: (False, True, False),
    5: (True, False, False),
    6: (True, False, True),
    7: (True, True, True),
    8: (True, True, False),
}


def normalise(samples: np.ndarray, kind: Kind) -> np.ndarray:
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
    alpha = kind in ALPHA_KINDS
    out = np.empty((height, width, 4 if alpha else 3), dtype=np.uint8)
    out[:, :, :3] = samples[:, :, :colors]  # one grey channel broadcasts to R, G and B
    if alpha:
        out[:, :, 3] = samples[:, :, colors]
    return out


def orient(array: da.Array, orientation: int) -> da.Array:
    """``array`` (stored order) as displayed: EXIF ``orientation`` applied lazily."""
    transpose, flip_rows, flip_cols = ORIENTATIONS[orientation]
    if transpose:
        array = array.transpose(1, 0, 2)
    return array[slice(None, None, -1 if flip_rows else 1), slice(None, None, -1 if flip_cols else 1)]


def source_chunks(orientation: int, height: int, width: int, tile_size: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Chunks of the stored (un-oriented) image whose blocks become, after :func:`orient`,
    exactly the ``tile_size`` grid of the displayed ``height x width`` image."""
    transpose, flip_rows, flip_cols = ORIENTATIONS[orientation]
    rows, cols = grid(height, tile_size), grid(width, tile_size)
    if flip_rows:
        rows = rows[::-1]
    if flip_cols:
        cols = cols[::-1]
    return (cols, rows) if transpose else (rows, cols)


def grid(length: int, tile_size: int) -> tuple[int, ...]:
    """Chunk lengths of ``length`` cut every ``tile_size`` from 0: (t, ..., t, rest).

    >>> grid(700, 256)
    (256, 256, 188)
    """
    full, rest = divmod(length, tile_size)
    return (tile_size,) * full + ((rest,) if rest else ())
