"""The untiled trace: :class:`Svg` and :func:`trace_whole`, which decodes an image and traces it in
one kernel call.

Below both :mod:`vectile._api` (``vectorize``) and the tiled tracer (which falls back to it), so
neither has to import the other for it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from vectile import _kernels
from vectile._edges import tracer_guides
from vectile._io import load_image, write_atomic
from vectile._scan import image_noise, image_signals
from vectile.errors import InputError, OptionError
from vectile.options import TraceOptions, check_weights, choose_preset, resolve

__all__ = ["Svg", "image_name", "kernel_errors", "trace_pixels", "trace_whole"]


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

    def save(
        self,
        path: str | os.PathLike[str],
        format: str | None = None,
        *,
        dpi: float | None = None,
        group_by: str | None = None,
    ) -> Path:
        """Write the result atomically (temporary file in the same folder, then rename).

        ``format`` is ``svg``, ``svgz``, ``pdf``, ``eps`` or ``dxf`` (default: by the suffix of
        ``path``, else ``svg``; one that contradicts the suffix raises
        :class:`~vectile.errors.OptionError`); ``dpi`` sizes PDF, EPS and DXF pages (pixels per
        inch, default 72); ``group_by`` is ``none``, ``color`` or ``layer``
        (see :mod:`vectile.formats`)."""
        from vectile import formats

        fmt = formats.format_for(format, path)
        if fmt == "svg" and group_by in (None, "none"):
            formats.check_dpi(dpi)
            return write_atomic(path, self._text)
        formats.convert(self._text, path, fmt, dpi=dpi, group_by=group_by)
        return Path(path)

    def to_bytes(self, format: str = "svg", *, dpi: float | None = None, group_by: str | None = None) -> bytes:
        """The result as ``format`` (see :meth:`save`), in memory.

        >>> import numpy as np, vectile
        >>> vectile.vectorize(np.zeros((4, 4, 3), np.uint8)).to_bytes("pdf")[:5]
        b'%PDF-'
        """
        from vectile import formats

        return formats.to_bytes(self._text, format, dpi=dpi, group_by=group_by)


def kernel_errors(exc: Exception, where: str) -> Exception:
    """The kernels' typed ``ValueError`` subclasses as vectile's own errors, naming ``where``."""
    if isinstance(exc, _kernels.KernelOptionError):
        return OptionError(f"{where}: {exc}")
    if isinstance(exc, _kernels.KernelInputError):
        return InputError(f"{where}: {exc}")
    return exc


def image_name(image: Any) -> str:
    """How messages name ``image``: its path, else its type."""
    if isinstance(image, (str, os.PathLike)):
        return os.fspath(image)
    return f"<{type(image).__name__}>"


def trace_whole(image: Any, options: dict[str, Any], *, max_pixels: int = 1 << 30) -> Svg:
    """:func:`vectile.vectorize` without tiling: decode the whole image and trace it in one call."""
    start = time.perf_counter()
    opts = resolve({k: v for k, v in options.items() if k != "weights"})
    pixels = load_image(image, max_pixels=max_pixels)
    w = check_weights(options.get("weights"), pixels.shape[:2])
    w, edge_map = tracer_guides(pixels, opts.edges, w)
    try:
        text, stats = trace_pixels(pixels, opts, weights=w, guide=edge_map)
    except ValueError as exc:
        raise kernel_errors(exc, image_name(image)) from exc
    return Svg(text, {**stats, "seconds": round(time.perf_counter() - start, 6)})


def trace_pixels(
    pixels: np.ndarray, opts: TraceOptions, *, weights: np.ndarray | None = None, guide: np.ndarray | None = None
) -> tuple[str, dict[str, Any]]:
    """The kernel call under :func:`trace_whole`: decoded (H, W, 3|4) uint8 ``pixels``, checked
    options, palette ``weights`` and the speckle-merging ``guide`` map as given (the benchmark
    passes its own variants of these).  Returns ``(svg text, stats)``; kernel errors raise
    as the kernel raises them (``KernelInputError``, ``KernelOptionError``)."""
    if opts.preset is None:
        signals = image_signals(pixels)
        noise, preset_name = signals[0], choose_preset(pixels, signals)
    else:
        preset_name = opts.preset
        opaque = pixels.shape[2] == 3 or bool((pixels[..., 3] == 255).all())
        noise = image_noise(pixels) if opaque and opts.settings().denoise > 0 else 0.0
    p = opts.settings(preset_name)
    text, kstats = _kernels.trace(
        np.ascontiguousarray(pixels),
        colors=p.colors,
        seed=opts.seed,
        min_area=p.min_area,
        tolerance=p.tolerance,
        corner_run=p.corner_run,
        precision=p.precision,
        layers=opts.layers,
        mode=opts.mode,
        threshold=opts.threshold,
        weights=weights,
        edges=guide,
        denoise=p.denoise,
        noise=noise,
        delta_e=p.delta_e,
        background=p.background,
        # An edge guide steers the global merge; the local merge takes none.
        local_merge=p.local_merge and guide is None,
        strokes=p.strokes,
        stroke_width_max=p.stroke_width(opts.mode),
    )
    stats = {
        "width": int(pixels.shape[1]),
        "height": int(pixels.shape[0]),
        "preset": preset_name,
        "mode": opts.mode,
        "layers": opts.layers,
        "noise": noise,
        **kstats,
    }
    return text, stats
