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

from vectile import _kernels

__all__ = [
    "NOISE_WINDOW",
    "flat_share",
    "image_noise",
    "image_signals",
    "looks_like_scan",
    "noise_sigma",
    "noise_windows",
    "window_signals",
]

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
    return noise_sigma(_windows(pixels))


def _windows(pixels: np.ndarray) -> list[np.ndarray]:
    h, w = pixels.shape[:2]
    return [pixels[y0 : y0 + wh, x0 : x0 + ww] for x0, y0, ww, wh in noise_windows(w, h)]


#: Noise (grey levels) from which an image may be a scan.
SCAN_NOISE = 1.0

#: Share of flat pixels (after the denoise) from which a noisy image is a scan.
SCAN_FLAT = 0.62

#: A pixel is flat when the grey levels of its 3 x 3 neighbourhood, after the denoise, span at
#: most this much.
FLAT_SPAN = 3.0


def flat_share(windows: Iterable[np.ndarray], noise: float) -> float:
    """The share of pixels of opaque (h, w, 3|4) windows that are flat once the scan denoise
    (at strength 1.5 x ``noise``, the threshold measured with it) has run: flat art scanned with noise
    becomes flat again, a photo keeps its texture and shading.  Rounded to 0.001; windows'
    outer 4 pixels (where the filter sees less) are left out."""
    flat = total = 0
    for px in windows:
        if px.shape[0] < 11 or px.shape[1] < 11:
            continue
        clean = _kernels.denoise(np.ascontiguousarray(px[..., :3]), strength=1.5, noise=noise).astype(np.int32)
        g = clean[..., 0] * 299 + clean[..., 1] * 587 + clean[..., 2] * 114
        # 3 x 3 max - min by shifted views (no scipy at run time).
        stack = np.stack([g[dy : g.shape[0] - 2 + dy, dx : g.shape[1] - 2 + dx] for dy in range(3) for dx in range(3)])
        span = (stack.max(axis=0) - stack.min(axis=0))[3:-3, 3:-3]
        flat += int((span <= FLAT_SPAN * 1000).sum())
        total += span.size
    return round(flat / total, 3) if total else 0.0


def window_signals(windows: Iterable[np.ndarray], opaque: bool = True) -> tuple[float, float]:
    """``(noise, flat)`` of an image from its :func:`noise_windows` (read once): the noise
    sigma, and, when the image is noisy enough to be a scan and ``opaque`` (the whole image;
    the windows are checked here too), :func:`flat_share`.  An image with transparent pixels
    is never a scan: the scan front end needs opaque pixels."""
    wins = list(windows)
    noise = noise_sigma(wins)
    opaque = opaque and all(w.shape[2] == 3 or bool((w[..., 3] == 255).all()) for w in wins)
    flat = flat_share(wins, noise) if noise >= SCAN_NOISE and opaque else 0.0
    return noise, flat


def image_signals(pixels: np.ndarray) -> tuple[float, float]:
    """:func:`window_signals` of a decoded (H, W, 3|4) image, whose every pixel decides
    whether it is opaque."""
    opaque = pixels.shape[2] == 3 or bool((pixels[..., 3] == 255).all())
    return window_signals(_windows(pixels), opaque)


def looks_like_scan(noise: float, flat: float) -> bool:
    """Whether an image with this noise level and flat share is a scan: noisy, and flat (at
    least :data:`SCAN_FLAT`) once denoised.  Measured on the bench: scans of icons, maps, line
    art and text at three strengths 0.677-0.990; the bench photos 0.131-0.545."""
    return noise >= SCAN_NOISE and flat >= SCAN_FLAT
