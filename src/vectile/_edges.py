"""Edge detection and edge guidance for the tracer.

``detect_edges`` gives float32 maps in [0, 1]: Canny strength, Sobel magnitude (both from the
Rust kernels), the learned edge probability of vectile's own network, or a blend of the learned
map with Canny's. ``edge_importance``, ``palette_weights`` and ``tracer_guides`` turn such maps
into the palette weights and merge guides of ``vectorize(edges=...)``.

Units: gradient magnitudes are normalised so that 1 is the Sobel response to an unblurred
black-to-white step (1020 in 8-bit Sobel units); ``low`` and ``high`` use the same units. A step
of contrast ``c`` (0..1) blurred with the default sigma 1.4 peaks at about ``0.5 c``.

Pixel ``(x, y)`` of the map is pixel ``(x, y)`` of the image (row ``y``, column ``x``). A
step between two pixels is marked on one pixel only: the left one of a vertical step, the top
one of a horizontal step (see ``rust_kernels/src/edges/canny.rs``).
"""

from __future__ import annotations

import os
from typing import Any, Literal

import numpy as np

from vectile import _kernels
from vectile._io import DEFAULT_MAX_PIXELS, load_image
from vectile.errors import InputError, OptionError

__all__ = ["EDGE_METHODS", "detect_edges", "edge_pixels"]

#: Methods ``detect_edges`` knows.
EDGE_METHODS = ("canny", "sobel", "learned", "blend")
#: ``method="learned"|"blend"``: scales the network runs at by default (averaged).
LEARNED_SCALES: tuple[float, ...] = (1.0,)
#: ``method="blend"``: weight of the learned map against Canny's strength map, chosen by ODS
#: on the 25 held-out BSDS500 val images (``python -m bench bsds --choose-alpha --alphas
#: 0.5,0.6,0.7,0.8,0.9,1 --thresholds 33``: ODS .689 .697 .700 .702 .701 .700).
BLEND_ALPHA = 0.8
DEFAULT_SIGMA = 1.4
_MAX_SIGMA = 256.0


def _number(name: str, value: Any, lo: float, hi: float, *, lo_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise OptionError(f"{name} must be a number, got {value!r}", option=name)
    v = float(value)
    ok = (lo < v if lo_open else lo <= v) and v <= hi
    if not ok:  # also rejects NaN
        interval = f"({lo:g}, {hi:g}]" if lo_open else f"[{lo:g}, {hi:g}]"
        raise OptionError(f"{name} must be in {interval}, got {value}", option=name)
    return v


def edge_pixels(image: Any, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """The pixels the edge kernels see: (H, W, 1) for grey images, else (H, W, 3).

    Transparent images are composited on white first (``c * a + 255 * (1 - a)``, rounded), so
    an object's outline against transparency is an edge and hidden colours are not. A grey
    uint8 array, (H, W) or (H, W, 1), is used as it is (no copy when it is C-contiguous).
    """
    grey = _grey_array(image, max_pixels)
    if grey is not None:
        return grey
    pixels = load_image(image, max_pixels=max_pixels)
    if pixels.shape[2] == 4:
        alpha = pixels[:, :, 3:4].astype(np.uint16)
        rgb = (pixels[:, :, :3].astype(np.uint16) * alpha + 255 * (255 - alpha) + 127) // 255
        pixels = rgb.astype(np.uint8)
    # A grey image (decoded to three equal channels) runs as one channel: same result, faster.
    # The first row settles it for most colour images before the whole image is compared.
    r, g, b = pixels[:, :, 0], pixels[:, :, 1], pixels[:, :, 2]
    if _equal(r[:1], g[:1], b[:1]) and _equal(r, g, b):
        return np.ascontiguousarray(r[:, :, None])
    return np.ascontiguousarray(pixels)


def _equal(r: np.ndarray, g: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.array_equal(r, g) and np.array_equal(g, b))


def _grey_array(image: Any, max_pixels: int) -> np.ndarray | None:
    """``image`` as (H, W, 1) when it is a grey uint8 array that ``load_image`` accepts, else None.

    ``load_image`` would expand it to three equal channels and ``edge_pixels`` take one back,
    at the cost of two copies and a comparison of the whole image (10 ms at 1080p).
    """
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        return None
    if image.ndim == 2:
        image = image[:, :, None]
    elif image.ndim != 3 or image.shape[2] != 1:
        return None
    height, width = image.shape[:2]
    # Anything load_image would refuse (empty, too large, a bad max_pixels) goes there for its error.
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, (int, np.integer)):
        return None
    if not (0 < height * width <= max_pixels):
        return None
    return np.ascontiguousarray(image)


def detect_edges(
    image: Any,
    method: Literal["canny", "sobel", "learned", "blend"] = "canny",
    *,
    sigma: float = DEFAULT_SIGMA,
    low: float | None = None,
    high: float | None = None,
    alpha: float | None = None,
    scales: tuple[float, ...] | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> np.ndarray:
    """Edge strength of an image: a float32 (H, W) map with values in [0, 1].

    ``image`` is a path, a PIL image or a numpy array, as for :func:`vectile.vectorize`.
    Colour images use, per pixel, the gradient of the channel (R, G or B) where it is largest.

    ``method="canny"``: Gaussian blur (``sigma`` pixels, 0 = none), Sobel gradient,
    interpolated non-maximum suppression, double threshold ``low``/``high`` and hysteresis.
    Non-edge pixels are 0; an edge pixel holds its *strength*: the largest ``high`` at which
    it would still be an edge with ``low / high`` kept, so ``map >= t`` is exactly the Canny
    result for ``(t * low / high, t)`` and ``map > 0`` the result for ``(low, high)``.
    Thresholds left out are automatic: ``high`` is the 70th percentile of the gradient
    magnitude over all pixels, rounded up to the end of its 1/1020-wide histogram bin (so at
    least one Sobel unit, and a flat image has no edges), and ``low = 0.4 high``; only ``high``
    given: ``low = 0.4 high``; only ``low`` given: ``high = low / 0.4`` (at least 1/1020).
    Automatic thresholds need a magnitude histogram first and usually mark many more pixels,
    so give both thresholds where speed matters.

    ``method="sobel"``: the gradient magnitude after the blur, no suppression, clipped to 1
    (``low`` and ``high`` must not be given).

    ``method="learned"``: the edge probability of vectile's own network
    (``vectile.models``, ONNX Runtime; see ``models/edge/MODEL_CARD.md``). A soft map, a few
    pixels wide across an edge: apply non-maximum suppression for one-pixel lines
    (``bench.bsds.edge_nms``). ``sigma``, ``low`` and ``high`` do not apply.

    ``method="blend"``: ``alpha x learned + (1 - alpha) x canny``, clipped to [0, 1], where the
    Canny strength map keeps nearly every local maximum: when neither ``low`` nor ``high`` is
    given they are 0.4 and 1 Sobel unit (0.4/1020 and 1/1020) instead of the automatic
    thresholds. ``alpha`` defaults to :data:`BLEND_ALPHA`, chosen on BSDS500 val.

    ``scales`` (``learned`` and ``blend`` only): the image scales the network runs at, its
    maps averaged (default :data:`LEARNED_SCALES`). ``max_pixels``: the limit on width x height,
    as for :func:`vectile.load_image`. Bad options raise :class:`~vectile.errors.OptionError`,
    unreadable images :class:`~vectile.errors.InputError`.

    >>> import numpy as np, vectile
    >>> img = np.zeros((8, 8), np.uint8); img[:, 4:] = 255
    >>> edges = vectile.detect_edges(img, sigma=0)
    >>> (edges > 0).sum(axis=1).tolist(), float(edges[0, 3])
    ([1, 1, 1, 1, 1, 1, 1, 1], 1.0)
    """
    if method not in EDGE_METHODS:
        raise OptionError(f"method must be one of {', '.join(EDGE_METHODS)}; got {method!r}", option="method")
    sigma_v = _number("sigma", sigma, 0.0, _MAX_SIGMA)
    low_v = None if low is None else _number("low", low, 0.0, 1.0)
    high_v = None if high is None else _number("high", high, 0.0, 1.0, lo_open=True)
    if low_v is not None and high_v is not None and low_v > high_v:
        raise OptionError(f"low ({low_v:g}) must not be above high ({high_v:g})", option="low")
    if method in ("sobel", "learned") and (low_v is not None or high_v is not None):
        raise OptionError("low and high apply to method='canny' and 'blend' only", option="low")
    if alpha is not None and method != "blend":
        raise OptionError("alpha applies to method='blend' only", option="alpha")
    if scales is not None and method not in ("learned", "blend"):
        raise OptionError("scales apply to method='learned' and 'blend' only", option="scales")
    scales_v = LEARNED_SCALES
    if scales is not None:  # checked before the image is decoded, like every option
        from vectile.models import check_scales

        try:
            scales_v = check_scales(scales)
        except ValueError as exc:
            raise OptionError(str(exc), option="scales") from exc
    alpha_v = BLEND_ALPHA if alpha is None else _number("alpha", alpha, 0.0, 1.0)
    pixels = edge_pixels(image, max_pixels=max_pixels)
    name = os.fspath(image) if isinstance(image, (str, os.PathLike)) else f"<{type(image).__name__}>"
    if method in ("learned", "blend"):
        learned = _learned(pixels, scales_v)
        if method == "learned":
            return learned
        if low_v is None and high_v is None:
            high_v = 1.0 / 1020.0
            low_v = 0.4 * high_v
    try:
        if method in ("canny", "blend"):
            # Only the strength map: the kernel then skips building the 0/255 edge map.
            _edges, strength, _lo, _hi = _kernels.canny(
                pixels, sigma=sigma_v, low=low_v, high=high_v, strength=True, edges=False
            )
            assert strength is not None
            if method == "blend":
                blend = np.float32(alpha_v) * learned + np.float32(1.0 - alpha_v) * strength
                return np.clip(blend, 0.0, 1.0, out=blend)
            return strength
        blurred = pixels if sigma_v == 0 else _kernels.gaussian_blur(pixels, sigma=sigma_v)
        _gx, _gy, magnitude, _direction = _kernels.sobel(blurred, polar=True)
        return np.minimum(magnitude / np.float32(1020.0), np.float32(1.0))
    except _kernels.KernelOptionError as exc:
        raise OptionError(f"{name}: {exc}") from exc
    except _kernels.KernelInputError as exc:
        raise InputError(f"{name}: {exc}") from exc


def _learned(pixels: np.ndarray, scales: tuple[float, ...]) -> np.ndarray:
    """The learned edge map of ``edge_pixels``' output (grey runs as three equal channels)."""
    from vectile import models

    rgb = pixels if pixels.shape[2] == 3 else np.repeat(pixels, 3, axis=2)
    try:
        return models.learned_edges(np.ascontiguousarray(rgb), scales)
    except models.ModelUnavailable as exc:
        raise OptionError(f"method='learned' is not available here: {exc}", option="method") from exc


#: Palette importance next to edges: weight ``1 + gain x strength`` within one pixel of an
#: edge pixel (both sides of a thin outline count), 0 turns it off. Measured with
#: ``python -m bench run --group photos --group icons --tracers vectile --vectile-opt
#: edges=canny`` against the same run without: gain 8 left PSNR unchanged (median per-image
#: difference icons -0.006 dB, photos +0.02 dB) with 2.6 % smaller photo SVGs; gain 32 made
#: photos 7 % smaller but 0.07 dB worse. Opt-in only (``vectorize(edges="canny")``).
PALETTE_EDGE_GAIN = 8.0
#: Whether speckle merging avoids strong edges (``regions::find_regions_guided``). Measured
#: the same way it cost 0.12 dB on photos (worse on 12 of 12, 1.6 % smaller) and nothing on
#: icons, so ``edges="canny"`` leaves it off; the kernel keeps it for callers that prefer
#: structure over colour fidelity.
GUIDE_MERGING = False


#: Methods ``vectorize(edges=...)`` and ``optimize_palette`` take.
GUIDE_METHODS = ("canny", "learned", "blend")
#: Palette importance from the learned (or blended) map: weight ``1 + gain x probability``.
#: Measured with ``python -m bench tracer-edges`` (median per-image dB against the plain
#: tracer, photos / icons): gain 4 alone +0.008 / +0.025; gain 8 -0.060 / +0.022 (with full
#: merge guidance). See ``models/edge/MODEL_CARD.md``.
LEARNED_PALETTE_GAIN = 4.0
#: Whether ``edges="learned"|"blend"`` also guides speckle merging with the learned map.
LEARNED_GUIDE_MERGING = True
#: The learned map is scaled by this before it guides merging: a speckle's cost of joining a
#: neighbour is its LAB distance + 100 x this x the mean probability along their boundary.
#: Measured (median dB vs plain, photos / icons, with gain 4): scale 1 -0.071 / -0.022,
#: 0.25 -0.007 / +0.041 at 3.4 % / 1.8 % smaller files.
LEARNED_GUIDE_SCALE = 0.25


def edge_importance(pixels: np.ndarray, method: str) -> np.ndarray:
    """Per-pixel edge importance in [0, 1] for palette weighting.

    ``canny``: the strength map widened by one pixel (both sides of a thin outline count);
    ``learned`` / ``blend``: the map of :func:`detect_edges`, already a few pixels wide.
    """
    if method not in GUIDE_METHODS:
        raise OptionError(f"edges must be None or one of {', '.join(GUIDE_METHODS)}; got {method!r}", option="edges")
    if method != "canny":
        return detect_edges(pixels, method)  # type: ignore[arg-type]
    strength = detect_edges(pixels, "canny")
    near = strength.copy()
    near[1:] = np.maximum(near[1:], strength[:-1])
    near[:-1] = np.maximum(near[:-1], strength[1:])
    wide = near.copy()
    wide[:, 1:] = np.maximum(wide[:, 1:], near[:, :-1])
    wide[:, :-1] = np.maximum(wide[:, :-1], near[:, 1:])
    return wide


def palette_weights(importance: np.ndarray, gain: float, weights: np.ndarray | None) -> np.ndarray:
    """``(1 + gain x importance) x weights`` as C-contiguous float32."""
    palette = np.float32(1.0) + np.float32(gain) * importance.astype(np.float32, copy=False)
    if weights is not None:
        palette *= weights
    return np.ascontiguousarray(palette, dtype=np.float32)


def tracer_guides(
    pixels: np.ndarray, method: str | None, weights: np.ndarray | None
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """``(palette weights, edge map for speckle merging)`` for ``vectorize(edges=method)``.

    ``pixels``: the decoded (H, W, 3|4) image; ``weights``: the caller's weights or None
    (multiplied in). ``method`` None returns ``(weights, None)`` unchanged.
    """
    if method is None:
        return weights, None
    importance = edge_importance(pixels, method)
    if method == "canny":
        guide = detect_edges(pixels, "canny") if GUIDE_MERGING else None
        gain = PALETTE_EDGE_GAIN
    else:
        guide = (
            np.ascontiguousarray(importance * np.float32(LEARNED_GUIDE_SCALE), dtype=np.float32)
            if LEARNED_GUIDE_MERGING
            else None
        )
        gain = LEARNED_PALETTE_GAIN
    if gain <= 0:
        return weights, guide
    return palette_weights(importance, gain, weights), guide
