"""Tracing an uploaded image: quality levels, options, decoding from bytes.

Shared by ``POST /v1/vectorize`` (in the server's thread pool) and by job tasks (on Dask
workers), so both give the same SVG for the same upload and options.
"""

from __future__ import annotations

import functools
import io
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import numpy as np

import vectile
from vectile.errors import OptionError
from vectile.options import FORM_OPTIONS, PRESETS, choose_preset

__all__ = [
    "QUALITIES",
    "Quality",
    "TraceRequest",
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
    """Options of one trace as the API takes them: a quality level and the form's tracer
    options (:data:`vectile.options.FORM_OPTIONS`); a missing option takes its declared
    default, where None means "from quality and preset".

    >>> TraceRequest("fast", {"colors": 8}).as_dict()["colors"]
    8
    """

    quality: Quality = "balanced"
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.options) - {o.name for o in FORM_OPTIONS})
        if unknown:
            raise OptionError(f"unknown option(s): {', '.join(unknown)}", option=unknown[0])
        complete = {o.name: self.options.get(o.name, o.default) for o in FORM_OPTIONS}
        object.__setattr__(self, "options", complete)  # frozen: set once, here

    def as_dict(self) -> dict[str, Any]:
        """``quality`` and every option, as a job records them (and :meth:`of` reads them)."""
        return {"quality": self.quality, **self.options}

    @classmethod
    def of(cls, fields: Mapping[str, Any]) -> TraceRequest:
        """The request :meth:`as_dict` returned ``fields`` for."""
        options = dict(fields)
        return cls(options.pop("quality", "balanced"), options)


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
    given = dict(request.options)
    mode = given["mode"]
    preset = given.pop("preset") or ("lineart" if mode == "binary" else choose_preset(pixels))
    # The quality level's values, then what the client gave (None: the level's or preset's).
    options: dict[str, Any] = {
        **quality_options(request.quality, preset),
        **{k: v for k, v in given.items() if v is not None},
    }
    options["preset"] = preset
    options["edges"] = "learned" if request.quality == "ai" and mode == "color" else None
    svg = vectile.vectorize(pixels, max_pixels=max_pixels, **options)
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


# --- AI-enhanced edges ------------------------------------------------------------------------
# Quality "ai" turns on when detect_edges(method="learned") runs here (the shipped model and
# onnxruntime are installed). It traces with vectorize(edges="learned"): the learned edge
# map weights the palette (optimize_palette) and guides speckle merging.


@functools.cache
def learned_edges_available() -> bool:
    """Whether ``vectile.detect_edges(..., method="learned")`` works here (checked once)."""
    try:
        edges = np.asarray(vectile.detect_edges(np.zeros((16, 16, 3), np.uint8), method="learned"))
    except Exception:  # missing model, missing onnxruntime: the level stays off
        return False
    return edges.shape[:2] == (16, 16)
