"""Tracing an uploaded image: quality levels, options, decoding from bytes.

Shared by ``POST /v1/vectorize`` (in the server's thread pool) and by job tasks (on Dask
workers), so both give the same SVG for the same upload and options.
"""

from __future__ import annotations

import functools
import io
import time
from dataclasses import asdict, dataclass
from typing import Any, Final, Literal

import numpy as np

import vectile
from vectile.options import PRESETS, choose_preset
from vectile.errors import InputError, OptionError, PixelLimitError

__all__ = [
    "QUALITIES",
    "TraceRequest",
    "is_pixel_limit",
    "learned_edges_available",
    "quality_options",
    "trace_bytes",
]

Quality = Literal["fast", "balanced", "high", "ai"]

#: The page's quality selector, and what each level means.
QUALITIES: Final[dict[str, str]] = {
    "fast": "8 colours at most, curves within 1 px: smallest files, quickest",
    "balanced": "the preset's defaults",
    "high": "twice the colours, curves within 0.25 px, half the smallest region: most detail",
    "ai": "balanced, with the palette and region cleanup guided by the learned edge model",
}


@dataclass(frozen=True)
class TraceRequest:
    """Options of one trace as the API takes them; None means "from quality and preset"."""

    quality: Quality = "balanced"
    preset: Literal["icon", "photo", "lineart", "pixel"] | None = None
    colors: int | None = None
    mode: Literal["color", "binary"] = "color"
    layers: Literal["stacked", "cutout"] = "stacked"
    tolerance: float | None = None
    min_area: int | None = None
    precision: int | None = None
    seed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def quality_options(quality: str, preset: str) -> dict[str, Any]:
    """``vectorize`` keywords for a quality level on top of a preset's defaults.

    >>> quality_options("fast", "icon")
    {'colors': 8, 'tolerance': 1.0}
    >>> quality_options("high", "photo")
    {'colors': 48, 'tolerance': 0.25, 'min_area': 4}
    """
    p = PRESETS[preset]
    if quality == "fast":
        return {"colors": min(p.colors, 8), "tolerance": max(p.tolerance, 1.0)}
    if quality == "high":
        return {
            "colors": min(256, p.colors * 2),
            "tolerance": min(p.tolerance, 0.25),
            "min_area": max(1, p.min_area // 2),
        }
    if quality in ("balanced", "ai"):
        return {}
    raise OptionError(f"quality must be one of {', '.join(QUALITIES)}; got {quality!r}", option="quality")


def trace_bytes(data: bytes, name: str, request: TraceRequest, max_pixels: int) -> vectile.Svg:
    """Decode an uploaded image and trace it; ``stats["seconds"]`` counts decoding too.

    ``name`` is the client's (display) file name: it appears in error messages only.
    Raises :class:`~vectile.InputError` or :class:`~vectile.OptionError`.
    """
    start = time.perf_counter()
    if request.quality == "ai" and not learned_edges_available():
        raise OptionError(
            "quality 'ai' needs the learned edge model, which is not installed on this server; "
            "choose fast, balanced or high",
            option="quality",
        )
    pixels = vectile.load_image(_NamedBytes(data, name), max_pixels=max_pixels)
    preset: Any = request.preset or ("lineart" if request.mode == "binary" else choose_preset(pixels))
    options = quality_options(request.quality, preset)
    given = {
        "colors": request.colors, "tolerance": request.tolerance,
        "min_area": request.min_area, "precision": request.precision,
    }
    options.update({k: v for k, v in given.items() if v is not None})
    edges = "learned" if request.quality == "ai" and request.mode == "color" else None
    svg = vectile.vectorize(
        pixels, preset=preset, mode=request.mode, layers=request.layers, seed=request.seed,
        edges=edges, max_pixels=max_pixels, **options,
    )
    svg.stats["quality"] = request.quality
    svg.stats["seconds"] = round(time.perf_counter() - start, 6)
    return svg


class _NamedBytes(io.BytesIO):
    """In-memory upload whose ``name`` (the client's file name) labels error messages.

    Pillow reads it as a stream; the name is never opened.
    """

    def __init__(self, data: bytes, name: str) -> None:
        super().__init__(data)
        self.name = name


def is_pixel_limit(exc: InputError) -> bool:
    """Whether ``exc`` says the image has more pixels than allowed (answered with 413; other
    bad images with 422)."""
    return isinstance(exc, PixelLimitError)


# --- AI-enhanced edges ------------------------------------------------------------------------
# Quality "ai" turns on when detect_edges(method="learned") runs here (the shipped model and
# onnxruntime are installed). It traces with vectorize(edges="learned"): the learned edge
# map weights the palette (optimize_palette) and guides speckle merging.


@functools.cache
def learned_edges_available() -> bool:
    """Whether ``vectile.detect_edges(..., method="learned")`` works here (checked once)."""
    detect = getattr(vectile, "detect_edges", None)
    if detect is None:
        return False
    try:
        edges = np.asarray(detect(np.zeros((16, 16, 3), np.uint8), method="learned"))
    except Exception:  # missing model, missing onnxruntime: the level stays off
        return False
    return edges.shape[:2] == (16, 16)

