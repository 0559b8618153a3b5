"""The Python API: ``vectorize``, ``quantize_colors``, ``optimize_palette``, ``generate_paths``
(``Svg`` and the untiled trace behind ``vectorize`` are in :mod:`vectile._whole`).

Coordinates in the SVG are pixel units: the viewBox is ``0 0 W H`` and pixel ``(x, y)`` covers
the unit square whose top-left corner is ``(x, y)`` (y down). Region boundaries run along pixel
corners before smoothing; see ``rust_kernels/src/boundary.rs`` for the crack-grid conventions.
"""

from __future__ import annotations

import time
from typing import Any, Literal

import numpy as np

from vectile import _kernels
from vectile._edges import LEARNED_PALETTE_GAIN, edge_importance, palette_weights
from vectile._io import load_image
from vectile._whole import Svg, image_name, kernel_errors, trace_whole
from vectile.errors import InputError
from vectile.options import (
    LAYERS,
    PRESETS,
    PresetName,
    check_choice,
    check_float,
    check_int,
    check_weights,
)

__all__ = ["PRESETS", "Svg", "generate_paths", "optimize_palette", "quantize_colors", "vectorize"]


def vectorize(
    image: Any,
    *,
    colors: int | None = None,
    preset: PresetName | None = None,
    mode: Literal["color", "binary", "centerline"] = "color",
    layers: Literal["stacked", "cutout"] = "stacked",
    tolerance: float | None = None,
    min_area: int | None = None,
    corner_run: int | None = None,
    precision: int | None = None,
    seed: int = 0,
    threshold: int | None = None,
    weights: np.ndarray | None = None,
    edges: Literal["canny", "learned", "blend"] | None = None,
    denoise: float | None = None,
    delta_e: float | None = None,
    background: Literal["keep", "white", "transparent"] | None = None,
    strokes: Literal["auto", "on", "off"] | None = None,
    stroke_width_max: float | None = None,
    max_pixels: int = 1 << 30,
    tile_size: int | None = None,
    client: Any = None,
) -> Svg:
    """Trace a raster image into a compact, gap-free SVG.

    ``image`` is a path, a PIL image or a numpy array (H, W), (H, W, 3) or (H, W, 4); uint8
    arrays are read in place. ``preset`` (icon, photo, lineart, pixel) sets the defaults of the
    other options and is picked from the image when omitted. ``colors``: palette size (1-256);
    ``mode``: ``color``, ``binary`` (black/white at ``threshold``, Otsu's when None) or
    ``centerline`` (every colour but the background traced along its centre as strokes);
    ``layers``: ``stacked`` (no gaps, no seams) or ``cutout`` (shapes tile the plane exactly;
    the tolerance is capped at 0.5 px there, ``stats["tolerance"]`` says what was used);
    ``tolerance``: curve-fitting error in pixels; ``min_area``: regions smaller than this many
    pixels merge into their most similar neighbour; ``corner_run``: runs at least this long
    meet in a sharp corner (1 keeps every pixel corner); ``precision``: decimals in path data;
    ``weights``: optional (H, W) importance per pixel for the palette; ``edges="canny"``:
    weight the palette by Canny edge strength next to edges, so thin outlines count more
    (``vectile._edges.tracer_guides``; off by default: measured neutral on PSNR);
    ``edges="learned"`` or ``"blend"``: weight the palette by the learned edge map (as
    :func:`optimize_palette`) and make speckle merging avoid crossing learned edges.

    The scan front end (the ``scan`` preset turns it on; the automatic preset picks ``scan``
    for noisy images with paper): ``denoise``: strength of the edge-preserving denoise in
    units of the image's measured noise (0 = off); ``delta_e``: palette colours closer than
    this CIELAB distance are one colour (0 = off); ``background``: the paper is ``keep`` (one
    flat shape in its colour), ``white`` (pure white, other colours white-balanced to it) or
    ``transparent`` (not drawn); with ``keep`` and ``white`` the paper's lamp fall-off is
    divided out first, where enough paper shows.  ``stats["noise"]`` is the measured noise.

    Lines: ``strokes`` (``auto``, ``on``, ``off``; colour mode) draws thin structures, at most
    ``stroke_width_max`` pixels wide, as stroked centerlines over the fills, which continue
    underneath; ``auto`` where it measurably helps.

    ``tile_size``: trace in tiles of this many pixels a side (``vectile.tiling.trace``): the
    SVG is byte-identical to the untiled one, memory is bounded by the tile size, and a path
    to a huge image is streamed into a temporary Zarr store instead of being decoded whole.
    Runs on the Dask ``client`` when given (one task per tile and stage), else in this
    process. Tiling needs an opaque image and no ``weights`` or ``edges``.

    >>> import numpy as np, vectile
    >>> img = np.zeros((8, 8, 3), np.uint8); img[2:6, 2:6] = 255
    >>> svg = vectile.vectorize(img, preset="icon")
    >>> 'fill="#fff"' in str(svg)
    True
    """
    options = dict(
        colors=colors,
        preset=preset,
        mode=mode,
        layers=layers,
        tolerance=tolerance,
        min_area=min_area,
        corner_run=corner_run,
        precision=precision,
        seed=seed,
        threshold=threshold,
        weights=weights,
        edges=edges,
        denoise=denoise,
        delta_e=delta_e,
        background=background,
        strokes=strokes,
        stroke_width_max=stroke_width_max,
    )
    if tile_size is not None:
        from vectile.tiling import trace_image

        text, stats = trace_image(image, options, tile_size=tile_size, client=client, max_pixels=max_pixels)
        assert text is not None
        return Svg(text, stats)
    return trace_whole(image, options, max_pixels=max_pixels)


def quantize_colors(
    array: Any, k: int = 16, weights: np.ndarray | None = None, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Reduce an image to at most ``k`` colours.

    Returns ``(palette, labels)``: palette (n, 3) uint8 with n <= k, most frequent colour first
    (each entry the mean sRGB of its pixels); labels (H, W) int32 indexing the palette, -1 for
    transparent pixels. Exact when the image has at most ``k`` colours, else k-means++ and
    Lloyd iterations in CIELAB with a deterministic ``seed``; ``weights`` (H, W) >= 0 make
    pixels count more when choosing the palette.

    >>> import numpy as np, vectile
    >>> img = np.array([[[255, 0, 0], [0, 0, 255], [0, 0, 255]]], np.uint8)
    >>> palette, labels = vectile.quantize_colors(img, k=4)
    >>> palette.tolist(), labels.tolist()
    ([[0, 0, 255], [255, 0, 0]], [[1, 0, 0]])
    """
    pixels = load_image(array)
    k_v = check_int("k", k, 1, 4096)
    seed_v = check_int("seed", seed, 0, (1 << 64) - 1)
    w = check_weights(weights, pixels.shape[:2])
    try:
        palette, labels, _counts = _kernels.quantize(np.ascontiguousarray(pixels), colors=k_v, seed=seed_v, weights=w)
    except ValueError as exc:
        raise kernel_errors(exc, image_name(array)) from exc
    return palette, labels


def optimize_palette(
    image: Any,
    k: int = 16,
    *,
    method: Literal["learned", "blend", "canny"] = "learned",
    gain: float = LEARNED_PALETTE_GAIN,
    seed: int = 0,
    return_labels: bool = False,
) -> Any:
    """A palette of at most ``k`` colours chosen with pixels weighted by edge and detail
    importance (:func:`quantize_colors` with weights).

    Each pixel counts ``1 + gain x importance``, where importance is the learned edge map
    (``method="learned"``, the default; ``"blend"`` mixes in Canny's map, ``"canny"`` uses
    Canny alone): pixels on salient edges and fine details weigh more, so small details keep
    their own colours instead of being absorbed by large smooth areas. Returns the palette
    (n, 3) uint8, most frequent colour first; with ``return_labels=True``, ``(palette,
    labels)`` as :func:`quantize_colors` does.
    """
    pixels = load_image(image)
    gain_v = check_float("gain", gain, 0.0, 1000.0)
    importance = edge_importance(pixels, method)
    weights = palette_weights(importance, gain_v, None)
    palette, labels = quantize_colors(pixels, k, weights=weights, seed=seed)
    return (palette, labels) if return_labels else palette


def generate_paths(
    labels: np.ndarray,
    palette: np.ndarray,
    tolerance: float = 0.5,
    *,
    min_area: int = 1,
    corner_run: int = 2,
    precision: int = 1,
    layers: Literal["stacked", "cutout"] = "stacked",
) -> Svg:
    """Trace a label image (H, W) with a palette (n, 3) into an SVG.

    Every 4-connected group of equal labels becomes one shape in its palette colour; labels
    < 0 are transparent. Edges between shapes are fitted once and shared, so the result has
    no gaps or overlaps.

    >>> import numpy as np, vectile
    >>> labels = np.array([[0, 0, 1], [0, 0, 1]], np.int32)
    >>> svg = vectile.generate_paths(labels, np.array([[255, 0, 0], [0, 0, 255]], np.uint8), layers="cutout")
    >>> svg.stats["paths"]
    2
    """
    lab = np.asarray(labels)
    pal = np.asarray(palette)
    if lab.ndim != 2 or lab.size == 0 or not np.issubdtype(lab.dtype, np.integer):
        raise InputError(f"labels must be a non-empty 2-D integer array, got shape {lab.shape} dtype {lab.dtype}")
    if pal.ndim != 2 or pal.shape[1] != 3 or pal.shape[0] == 0:
        raise InputError(f"palette must have shape (n, 3), got {pal.shape}")
    if not np.issubdtype(pal.dtype, np.integer) or pal.min() < 0 or pal.max() > 255:
        raise InputError("palette values must be integers in 0..255")
    if lab.max() >= pal.shape[0]:
        raise InputError(f"label {int(lab.max())} has no palette entry (palette has {pal.shape[0]} colours)")
    # Every negative label means transparent; map them to -1 before narrowing to int32.
    lab = np.where(lab < 0, -1, lab)
    start = time.perf_counter()
    try:
        text, kstats = _kernels.generate_paths(
            np.ascontiguousarray(lab, dtype=np.int32),
            np.ascontiguousarray(pal, dtype=np.uint8),
            min_area=check_int("min_area", min_area, 1, 1 << 40),
            tolerance=check_float("tolerance", tolerance, 0.0, 100.0),
            corner_run=check_int("corner_run", corner_run, 1, 1 << 20),
            precision=check_int("precision", precision, 0, 4),
            layers=check_choice("layers", layers, LAYERS),
        )
    except ValueError as exc:
        raise kernel_errors(exc, "labels") from exc
    stats = {
        "width": int(lab.shape[1]),
        "height": int(lab.shape[0]),
        "layers": layers,
        **kstats,
        "seconds": round(time.perf_counter() - start, 6),
    }
    return Svg(text, stats)
