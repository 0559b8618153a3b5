"""What the automatic preset needs to recognise a scan: the noise level of an image, measured on
fixed windows so that the whole-image and the tiled tracer measure the same pixels.

The noise estimate is Immerkær's (1996) Laplacian-difference estimator made robust with a
median, taken at half resolution: the 3x3 kernel ``[[1,-2,1],[-2,4,-2],[1,-2,1]]`` cancels
every linear intensity ramp, so what remains on flat areas is noise (sigma of the response = 6
sigma of the noise); the median ignores the few pixels on edges and lines. At full resolution
JPEG removes the finest noise and a scan at quality 80 measures almost nothing; averaged 2 x 2
(which halves white noise, so the result is doubled) the grain that JPEG keeps shows. Clean
renders measure 0, scans and photos several grey levels.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> flat = np.full((300, 300, 3), 200, np.uint8)
>>> noise_sigma([flat])
0.0
>>> noisy = np.clip(200 + rng.normal(0, 5, (300, 300, 1)), 0, 255).astype(np.uint8).repeat(3, 2)
>>> 4.0 < noise_sigma([noisy]) < 6.0
True
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

__all__ = ["NOISE_WINDOW", "image_noise", "looks_like_scan", "noise_sigma", "noise_windows"]

#: Side of the windows the noise is measured on (3 x 3 of them, spread over the image).
NOISE_WINDOW = 256


def noise_windows(width: int, height: int) -> list[tuple[int, int, int, int]]:
    """``(x0, y0, w, h)`` of the windows :func:`noise_sigma` measures: one centred in each
    ninth of the image (clipped to it), so they depend on the image size only."""
    out = []
    w, h = min(NOISE_WINDOW, width), min(NOISE_WINDOW, height)
    for j in range(3):
        for i in range(3):
            cx, cy = (2 * i + 1) * width // 6, (2 * j + 1) * height // 6
            x0 = min(max(0, cx - w // 2), width - w)
            y0 = min(max(0, cy - h // 2), height - h)
            if (x0, y0, w, h) not in out:
                out.append((x0, y0, w, h))
    return out


def noise_sigma(windows: Iterable[np.ndarray]) -> float:
    """The noise sigma (8-bit grey levels, rounded to 0.01) of (h, w, 3|4) uint8 windows."""
    responses = []
    for px in windows:
        if px.shape[0] < 3 or px.shape[1] < 3:
            continue
        h, w = px.shape[0] // 2 * 2, px.shape[1] // 2 * 2
        rgb = px[:h, :w, :3].astype(np.float64)
        g = rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114
        g = g.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
        if g.shape[0] < 3 or g.shape[1] < 3:
            continue
        r = (
            g[:-2, :-2] - 2 * g[:-2, 1:-1] + g[:-2, 2:]
            - 2 * g[1:-1, :-2] + 4 * g[1:-1, 1:-1] - 2 * g[1:-1, 2:]
            + g[2:, :-2] - 2 * g[2:, 1:-1] + g[2:, 2:]
        )  # fmt: skip
        if px.shape[2] == 4:
            opaque = px[:h, :w, 3].reshape(h // 2, 2, w // 2, 2).min(axis=(1, 3)) == 255
            r = r[opaque[1:-1, 1:-1]]
        responses.append(np.abs(r).ravel())
    if not responses:
        return 0.0
    allr = np.concatenate(responses)
    if allr.size == 0:
        return 0.0
    # Median absolute response -> sigma of a normal variable (1.4826), / 6 (the kernel's norm),
    # x 2 (the 2 x 2 average halved it).
    return round(float(np.median(allr)) * 1.4826 / 6.0 * 2.0, 2)


def image_noise(pixels: np.ndarray) -> float:
    """:func:`noise_sigma` of a decoded (H, W, 3|4) image, on its :func:`noise_windows`."""
    h, w = pixels.shape[:2]
    return noise_sigma(pixels[y0 : y0 + wh, x0 : x0 + ww] for x0, y0, ww, wh in noise_windows(w, h))


#: Noise (grey levels) from which an image with paper may be a scan.
SCAN_NOISE = 1.0

#: Share of the pixels near the paper colour from which an image is a scan.
PAPER_SHARE = 0.2


def looks_like_scan(packed: np.ndarray, noise: float) -> bool:
    """Whether a sample of packed RGB values (``R << 16 | G << 8 | B``) with this noise level
    is a scan: noisy, with paper (its most common colour is light, white to yellowed, never
    bluish like a sky) covering at least a fifth of it, give or take the noise."""
    if noise < SCAN_NOISE or packed.shape[0] == 0:
        return False
    rgb = np.stack([(packed >> 16) & 255, (packed >> 8) & 255, packed & 255], axis=1).astype(np.int32)
    # The most common colour on a coarse grid (16 levels per channel)...
    bins = (rgb[:, 0] // 16) * 256 + (rgb[:, 1] // 16) * 16 + rgb[:, 2] // 16
    top = np.bincount(bins).argmax()
    paper = rgb[bins == top].mean(axis=0)
    # ... is paper-coloured, and pixels within a few noise sigmas of it cover much.
    paperlike = paper.min() >= 150 and paper.max() - paper.min() <= 60 and paper[2] <= paper[0] + 8
    near = np.abs(rgb - paper).max(axis=1) <= max(12.0, 3 * noise)
    return bool(paperlike and near.mean() >= PAPER_SHARE)
