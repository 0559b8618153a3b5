"""The Python API: ``vectorize``, ``quantize_colors``, ``generate_paths`` and ``Svg``.

Coordinates in the SVG are pixel units: the viewBox is ``0 0 W H`` and pixel ``(x, y)`` covers
the unit square whose top-left corner is ``(x, y)`` (y down). Region boundaries run along pixel
corners before smoothing; see ``rust_kernels/src/boundary.rs`` for the crack-grid conventions.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from vectile import _kernels
from vectile._edges import LEARNED_PALETTE_GAIN, edge_importance, palette_weights, tracer_guides
from vectile._io import load_image, write_atomic
from vectile.errors import InputError, OptionError

__all__ = ["PRESETS", "Preset", "Svg", "generate_paths", "optimize_palette", "quantize_colors", "vectorize",
           "choose_preset"]

PresetName = Literal["icon", "photo", "lineart", "pixel"]


@dataclass(frozen=True)
class Preset:
    """Tracing parameters; every field can be overridden by a ``vectorize`` keyword."""

    colors: int
    min_area: int
    tolerance: float
    corner_run: int
    precision: int


#: Built-in presets. ``icon``: flat art with anti-aliased edges; ``photo``: natural images and
#: smooth gradients; ``lineart``: two-tone drawings and scans; ``pixel``: pixel art, every pixel
#: corner kept.
PRESETS: dict[str, Preset] = {
    "icon": Preset(colors=16, min_area=10, tolerance=0.5, corner_run=2, precision=1),
    "photo": Preset(colors=24, min_area=8, tolerance=1.0, corner_run=2, precision=1),
    "lineart": Preset(colors=2, min_area=6, tolerance=0.5, corner_run=2, precision=1),
    "pixel": Preset(colors=256, min_area=1, tolerance=0.05, corner_run=1, precision=0),
}

_MODES = ("color", "binary")
_LAYERS = ("stacked", "cutout")


class Svg:
    """A traced SVG document.

    >>> import numpy as np, vectile
    >>> svg = vectile.vectorize(np.zeros((4, 4, 3), np.uint8))
    >>> str(svg).startswith("<svg")
    True
    >>> svg.stats["width"], svg.stats["paths"]
    (4, 1)
    """

    __slots__ = ("_text", "stats")

    def __init__(self, text: str, stats: dict[str, Any]) -> None:
        self._text = text
        #: Numbers about the result: width, height, preset, palette, regions, edges, paths,
        #: commands, bytes, seconds.
        self.stats = stats

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        s = self.stats
        return f"<Svg {s.get('width')}x{s.get('height')} paths={s.get('paths')} bytes={s.get('bytes')}>"

    def _repr_svg_(self) -> str:  # Jupyter display
        return self._text

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the SVG atomically (temporary file in the same folder, then rename)."""
        return write_atomic(path, self._text)


def _check_int(name: str, value: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise OptionError(f"{name} must be an integer in {lo}..{hi}, got {value!r}", option=name)
    if not lo <= int(value) <= hi:
        raise OptionError(f"{name} must be in {lo}..{hi}, got {value}", option=name)
    return int(value)


def _check_float(name: str, value: Any, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise OptionError(f"{name} must be a number in ({lo}, {hi}], got {value!r}", option=name)
    v = float(value)
    if not (lo < v <= hi):
        raise OptionError(f"{name} must be in ({lo}, {hi}], got {value}", option=name)
    return v


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise OptionError(f"{name} must be one of {', '.join(choices)}; got {value!r}", option=name)
    return str(value)


def choose_preset(pixels: np.ndarray) -> str:
    """Pick a preset from image statistics (used when ``preset`` is not given).

    Flat art (a few colours cover nearly every pixel) is ``icon``; everything else is
    ``photo``. ``lineart`` and ``pixel`` are only chosen explicitly.
    """
    rgb = pixels[..., :3]
    if pixels.shape[2] == 4:
        rgb = rgb[pixels[..., 3] >= 128]
    flat = rgb.reshape(-1, 3)
    if flat.shape[0] == 0:
        return "icon"
    step = max(1, flat.shape[0] // PRESET_SAMPLE)
    sample = flat[::step]
    packed = (sample[:, 0].astype(np.uint32) << 16) | (sample[:, 1].astype(np.uint32) << 8) | sample[:, 2]
    return preset_of_sample(packed)


#: ``choose_preset`` looks at every ``max(1, pixels // PRESET_SAMPLE)``-th opaque pixel.
PRESET_SAMPLE = 8192


def preset_of_sample(packed: np.ndarray) -> str:
    """The preset for a sample of packed RGB values (``R << 16 | G << 8 | B``): ``icon`` when
    the 16 most common colours cover at least 60 % of it (shared with the tiled tracer, which
    gathers the same sample from its tiles)."""
    if packed.shape[0] == 0:
        return "icon"
    _, counts = np.unique(packed, return_counts=True)
    top = np.sort(counts)[::-1][:16].sum() / packed.shape[0]
    return "icon" if top >= 0.6 else "photo"


def settings(preset_name: str, **overrides: Any) -> Preset:
    """The preset's parameters with the given ``overrides`` (None = keep), checked."""
    p = replace(PRESETS[preset_name], **{k: v for k, v in overrides.items() if v is not None})
    return Preset(
        colors=_check_int("colors", p.colors, 1, 256),
        min_area=_check_int("min_area", p.min_area, 1, 1 << 40),
        tolerance=_check_float("tolerance", p.tolerance, 0.0, 100.0),
        corner_run=_check_int("corner_run", p.corner_run, 1, 1 << 20),
        precision=_check_int("precision", p.precision, 0, 4),
    )


def _check_weights(weights: Any, shape: tuple[int, ...]) -> np.ndarray | None:
    """Per-pixel importance weights: (H, W), finite, >= 0; returned as C-contiguous float32."""
    if weights is None:
        return None
    try:
        w = np.ascontiguousarray(weights, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise OptionError(f"weights must be a numeric (H, W) array, got {type(weights).__name__}: {exc}",
                          option="weights") from exc
    if w.shape != tuple(shape):
        raise OptionError(f"weights must have shape {tuple(shape)}, got {w.shape}", option="weights")
    if not np.isfinite(w).all() or (w < 0).any():
        raise OptionError("weights must be finite and >= 0", option="weights")
    return w


def _kernel_errors(exc: Exception, where: str) -> Exception:
    if isinstance(exc, _kernels.KernelOptionError):
        return OptionError(f"{where}: {exc}")
    if isinstance(exc, _kernels.KernelInputError):
        return InputError(f"{where}: {exc}")
    return exc


def _image_name(image: Any) -> str:
    if isinstance(image, (str, os.PathLike)):
        return os.fspath(image)
    return f"<{type(image).__name__}>"


def vectorize(
    image: Any,
    *,
    colors: int | None = None,
    preset: PresetName | None = None,
    mode: Literal["color", "binary"] = "color",
    layers: Literal["stacked", "cutout"] = "stacked",
    tolerance: float | None = None,
    min_area: int | None = None,
    corner_run: int | None = None,
    precision: int | None = None,
    seed: int = 0,
    threshold: int | None = None,
    weights: np.ndarray | None = None,
    edges: Literal["canny", "learned", "blend"] | None = None,
    max_pixels: int = 1 << 30,
    tile_size: int | None = None,
    client: Any = None,
) -> Svg:
    """Trace a raster image into a compact, gap-free SVG.

    ``image`` is a path, a PIL image or a numpy array (H, W), (H, W, 3) or (H, W, 4); uint8
    arrays are read in place. ``preset`` (icon, photo, lineart, pixel) sets the defaults of the
    other options and is picked from the image when omitted. ``colors``: palette size (1-256);
    ``mode``: ``color`` or ``binary`` (black/white at ``threshold``, Otsu's when None);
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
    if tile_size is not None:
        return _vectorize_tiled(image, tile_size, client, max_pixels, dict(
            colors=colors, preset=preset, mode=mode, layers=layers, tolerance=tolerance,
            min_area=min_area, corner_run=corner_run, precision=precision, seed=seed,
            threshold=threshold, weights=weights, edges=edges))
    start = time.perf_counter()
    pixels = load_image(image, max_pixels=max_pixels)
    name = _image_name(image)
    if preset is None:
        preset_name = "lineart" if mode == "binary" else choose_preset(pixels)
    else:
        preset_name = _check_choice("preset", preset, tuple(PRESETS))
    p = settings(preset_name, colors=colors, tolerance=tolerance, min_area=min_area,
                 corner_run=corner_run, precision=precision)
    colors_v, min_area_v, tolerance_v, corner_run_v, precision_v = (
        p.colors, p.min_area, p.tolerance, p.corner_run, p.precision)
    seed_v = _check_int("seed", seed, 0, (1 << 64) - 1)
    mode_v = _check_choice("mode", mode, _MODES)
    layers_v = _check_choice("layers", layers, _LAYERS)
    threshold_v = None if threshold is None else _check_int("threshold", threshold, 0, 255)
    w = _check_weights(weights, pixels.shape[:2])
    w, edge_map = tracer_guides(pixels, edges, w)
    try:
        text, kstats = _kernels.trace(
            np.ascontiguousarray(pixels), colors=colors_v, seed=seed_v, min_area=min_area_v,
            tolerance=tolerance_v, corner_run=corner_run_v, precision=precision_v,
            layers=layers_v, mode=mode_v, threshold=threshold_v, weights=w, edges=edge_map,
        )
    except ValueError as exc:
        raise _kernel_errors(exc, name) from exc
    stats = {"width": int(pixels.shape[1]), "height": int(pixels.shape[0]), "preset": preset_name,
             "mode": mode_v, "layers": layers_v, **kstats,
             "seconds": round(time.perf_counter() - start, 6)}
    return Svg(text, stats)


def _vectorize_tiled(image: Any, tile_size: int, client: Any, max_pixels: int,
                     options: dict[str, Any]) -> Svg:
    from vectile.tiling.trace import Prepass, open_source, trace_tiled

    options = {k: v for k, v in options.items() if v is not None}
    prepass = Prepass(options)
    with open_source(image, max_pixels=max_pixels, prepass=prepass) as source:
        try:
            text, stats = trace_tiled(source, tile_size=tile_size, options=options, client=client, prepass=prepass)
        except ValueError as exc:
            raise _kernel_errors(exc, _image_name(image)) from exc
    assert text is not None
    return Svg(text, stats)


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
    k_v = _check_int("k", k, 1, 4096)
    seed_v = _check_int("seed", seed, 0, (1 << 64) - 1)
    w = _check_weights(weights, pixels.shape[:2])
    try:
        palette, labels, _counts = _kernels.quantize(np.ascontiguousarray(pixels), colors=k_v, seed=seed_v, weights=w)
    except ValueError as exc:
        raise _kernel_errors(exc, _image_name(array)) from exc
    return palette, labels


def optimize_palette(
    image: Any, k: int = 16, *, method: Literal["learned", "blend", "canny"] = "learned",
    gain: float = LEARNED_PALETTE_GAIN, seed: int = 0, return_labels: bool = False,
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
    gain_v = _check_float("gain", gain, 0.0, 1000.0)
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
            np.ascontiguousarray(lab, dtype=np.int32), np.ascontiguousarray(pal, dtype=np.uint8),
            min_area=_check_int("min_area", min_area, 1, 1 << 40),
            tolerance=_check_float("tolerance", tolerance, 0.0, 100.0),
            corner_run=_check_int("corner_run", corner_run, 1, 1 << 20),
            precision=_check_int("precision", precision, 0, 4),
            layers=_check_choice("layers", layers, _LAYERS),
        )
    except ValueError as exc:
        raise _kernel_errors(exc, "labels") from exc
    stats = {"width": int(lab.shape[1]), "height": int(lab.shape[0]), "layers": layers, **kstats,
             "seconds": round(time.perf_counter() - start, 6)}
    return Svg(text, stats)


def _stats_json(svg: Svg) -> str:
    return json.dumps(svg.stats, sort_keys=True)
