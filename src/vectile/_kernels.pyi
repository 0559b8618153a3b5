"""Type stub for the native module ``vectile._kernels`` (``rust_kernels/src/python/``: the
module and its exceptions in ``mod.rs``, functions in ``core.rs``, ``edges.rs`` and ``tiled.rs``).

Private: the public API is ``vectile._api``, which validates every argument before calling in
here. Arrays must be C-contiguous and of exactly the dtype shown (rust-numpy does not cast).
Option strings (``layers``, ``mode``) are plain ``str`` because the kernels check them and
raise :class:`KernelOptionError` on anything else. Checked by ``mypy.stubtest`` in
``tests/test_stubs.py``.
"""

from typing import Any, Final, Literal, overload

import numpy as np
import numpy.typing as npt
from numpy.typing import NDArray

__all__ = [
    "__version__",
    "KernelInputError",
    "KernelOptionError",
    "KernelNotOpaqueError",
    "KernelNotTileableError",
    "tile_arcs",
    "tile_assemble",
    "tile_histogram",
    "tile_histogram_merge",
    "tile_line_fringe",
    "tile_line_plan",
    "tile_line_resolve",
    "tile_line_window",
    "tile_lines",
    "tile_lines_colour",
    "tile_lines_write",
    "tile_palette",
    "tile_regions",
    "tile_seam",
    "tile_seams",
    "tile_stitch",
    "trace",
    "quantize",
    "generate_paths",
    "fit_polyline",
    "gaussian_blur",
    "sobel",
    "canny",
    "denoise",
    "scan_reach",
    "tile_prepare",
    "tile_field_sums",
    "tile_field",
    "tile_flatten",
]

#: The crate version (``CARGO_PKG_VERSION``).
__version__: Final[str]

class KernelInputError(ValueError):
    """The image or label data is unusable."""

class KernelOptionError(ValueError):
    """An option is out of range."""

class KernelNotOpaqueError(KernelInputError):
    """The tiled tracer was given an image with transparent pixels (trace it untiled)."""

class KernelNotTileableError(KernelInputError):
    """The tiled tracer met input it cannot trace in tiles, such as thick ink in centerline mode (trace it untiled)."""

def trace(
    image: NDArray[np.uint8],
    *,
    colors: int,
    seed: int,
    min_area: int,
    tolerance: float,
    corner_run: int,
    precision: int,
    layers: str,
    mode: str,
    threshold: int | None = None,
    weights: NDArray[np.float32] | None = None,
    edges: NDArray[np.float32] | None = None,
    denoise: float = 0.0,
    noise: float = 0.0,
    delta_e: float = 0.0,
    background: str | None = None,
    local_merge: bool = False,
    strokes: str = "off",
    stroke_width_max: float = 8.0,
) -> tuple[str, dict[str, int]]:
    """Trace an (H, W, 3|4) uint8 image to SVG. Returns (svg_text, stats). ``edges``: an
    optional (H, W) edge strength map in [0, 1] that guides speckle merging.

    ``mode`` is ``color``, ``binary`` or ``centerline`` (every colour but the background
    traced as stroked centerlines). ``strokes`` (``off``, ``on``, ``auto``): the stroke layer
    of colour mode, structures at most ``stroke_width_max`` pixels wide drawn as strokes over
    the fills.

    The scan front end (all off by default): ``denoise`` (strength, 0 = off) scales the
    image's estimated ``noise`` sigma (8-bit units); palette colours closer than ``delta_e``
    (CIELAB) are one colour; ``background`` is None, ``keep``, ``white`` or ``transparent``.
    ``local_merge``: merge speckles in the local order (each joins the neighbour whose colour,
    a small neighbour's mean or a large one's palette colour, is closest to its mean, in
    rounds, smallest first) that tiles settle themselves; not with ``edges``.

    ``stats`` has the keys palette, regions, edges, paths, commands and bytes.
    """

def quantize(
    image: NDArray[np.uint8],
    *,
    colors: int,
    seed: int = 0,
    weights: NDArray[np.float32] | None = None,
) -> tuple[NDArray[np.uint8], NDArray[np.int32], NDArray[np.uint64]]:
    """Quantize an (H, W, 3|4) uint8 image. Returns (palette (k, 3) uint8, labels (H, W) int32,
    counts (k,) uint64); transparent pixels get label -1."""

def generate_paths(
    labels: NDArray[np.int32],
    palette: NDArray[np.uint8],
    *,
    min_area: int,
    tolerance: float,
    corner_run: int,
    precision: int,
    layers: str,
) -> tuple[str, dict[str, int]]:
    """Trace a label image (H, W) int32 with a palette (k, 3) uint8. Returns (svg_text, stats)."""

def fit_polyline(
    points: NDArray[np.int32],
    *,
    closed: bool,
    tolerance: float,
    corner_run: int = 2,
) -> tuple[NDArray[np.float64], tuple[float, float]]:
    """Fit one boundary polyline: ``points`` (N, 2) int32 lattice points, axis-aligned steps.
    Returns (segments (M, 7) float64 ``[kind, c1x, c1y, c2x, c2y, x, y]``, start point);
    kind 0 = line (control points unused), 1 = cubic."""

def gaussian_blur(image: NDArray[np.uint8], *, sigma: float) -> NDArray[np.uint8]:
    """Gaussian blur of an (H, W, C) uint8 image; returns an (H, W, C) uint8 array."""

@overload
def sobel(
    image: NDArray[np.uint8], *, polar: Literal[False] = False
) -> tuple[NDArray[np.int16], NDArray[np.int16]]: ...
@overload
def sobel(
    image: NDArray[np.uint8], *, polar: Literal[True]
) -> tuple[NDArray[np.int16], NDArray[np.int16], NDArray[np.float32], NDArray[np.float32]]: ...
@overload
def sobel(
    image: NDArray[np.uint8], *, polar: bool = False
) -> (
    tuple[NDArray[np.int16], NDArray[np.int16]]
    | tuple[NDArray[np.int16], NDArray[np.int16], NDArray[np.float32], NDArray[np.float32]]
): ...
@overload
def canny(
    image: NDArray[np.uint8],
    *,
    sigma: float,
    low: float | None = None,
    high: float | None = None,
    strength: Literal[False] = False,
    edges: Literal[True] = True,
) -> tuple[NDArray[np.uint8], None, float, float]: ...
@overload
def canny(
    image: NDArray[np.uint8],
    *,
    sigma: float,
    low: float | None = None,
    high: float | None = None,
    strength: Literal[True],
    edges: Literal[True] = True,
) -> tuple[NDArray[np.uint8], NDArray[np.float32], float, float]: ...
@overload
def canny(
    image: NDArray[np.uint8],
    *,
    sigma: float,
    low: float | None = None,
    high: float | None = None,
    strength: Literal[True],
    edges: Literal[False],
) -> tuple[None, NDArray[np.float32], float, float]: ...
@overload
def canny(
    image: NDArray[np.uint8],
    *,
    sigma: float,
    low: float | None = None,
    high: float | None = None,
    strength: bool = False,
    edges: bool = True,
) -> tuple[NDArray[np.uint8] | None, NDArray[np.float32] | None, float, float]: ...

# The scan front end (rust_kernels/src/python/scan.rs).

def denoise(image: NDArray[np.uint8], *, strength: float, noise: float) -> NDArray[np.uint8]:
    """Clean an opaque (H, W, 3|4) uint8 image with the edge-preserving denoise (a guided
    filter smoothing ``strength`` x ``noise`` grey levels); returns (H, W, 3) uint8 RGB
    (strength 0: the pixels unchanged)."""

def scan_reach(*, denoise: float, noise: float) -> int:
    """How far (pixels) beyond a pixel the front end reads: a tile's halo (0 when off)."""

def tile_prepare(
    window: NDArray[np.uint8],
    *,
    x0: int,
    y0: int,
    width: int,
    height: int,
    core_x0: int,
    core_y0: int,
    core_width: int,
    core_height: int,
    denoise: float,
    noise: float,
) -> NDArray[np.uint8]:
    """The cleaned (core_height, core_width, 3) RGB pixels of a tile's core from ``window``,
    the (h, w, 3|4) pixels at (x0, y0) of a width x height image holding the core and its
    halo of ``scan_reach`` pixels (clipped to the image): equal to that rectangle of the
    whole image's front end."""

def tile_field_sums(image: NDArray[np.uint8], *, x0: int, y0: int, palette: bytes) -> bytes:
    """The flat-field sums of one tile at (x0, y0): per cell of the image's fixed grid, its
    pixels and the channel sums of those the ``palette`` state labels paper."""

def tile_field(sums: list[bytes], *, width: int, height: int, palette: bytes) -> bytes | None:
    """The white field (paper x illumination) fitted on every tile's ``tile_field_sums`` (any
    order), or None when there is none (no paper, too little, a background that uses none)."""

def tile_flatten(image: NDArray[np.uint8], *, x0: int, y0: int, field: bytes) -> NDArray[np.uint8]:
    """One (h, w, 3) RGB tile at (x0, y0) with the white ``field`` divided out: the pixels the
    whole-image trace flattens there."""

# Tiled tracing (rust_kernels/src/python/tiled.rs): stage results are opaque bytes.
def tile_histogram(image: npt.NDArray[np.uint8], *, x0: int, y0: int, width: int, height: int, mode: str) -> bytes: ...
def tile_histogram_merge(hists: list[bytes]) -> bytes: ...

# Raises KernelNotOpaqueError (a KernelInputError) when the histograms count transparent pixels.
def tile_palette(
    hists: list[bytes],
    *,
    colors: int,
    seed: int,
    mode: str,
    threshold: int | None = None,
    delta_e: float = 0.0,
    background: str | None = None,
) -> tuple[bytes, npt.NDArray[np.uint8]]: ...
def tile_regions(
    image: npt.NDArray[np.uint8],
    *,
    x0: int,
    y0: int,
    width: int,
    height: int,
    palette: bytes,
    local_merge: bool = False,
    min_area: int = 8,
) -> tuple[bytes, bytes]: ...
def tile_seam(a: bytes, b: bytes, *, vertical: bool) -> bytes: ...
def tile_seams(*, width: int, height: int, tile: int) -> list[tuple[int, int, bool]]: ...
def tile_stitch(
    regions: list[bytes],
    borders: list[bytes],
    seams: list[bytes],
    *,
    width: int,
    height: int,
    tile: int,
    palette: bytes,
    min_area: int,
    local_merge: bool = False,
) -> tuple[list[bytes], bytes]: ...
def tile_arcs(
    image: npt.NDArray[np.uint8],
    *,
    x0: int,
    y0: int,
    width: int,
    height: int,
    palette: bytes,
    links: bytes,
    tolerance: float,
    corner_run: int,
    layers: str,
    local_merge: bool = False,
    min_area: int = 8,
) -> bytes: ...
def tile_assemble(
    arcs: list[bytes],
    table: bytes,
    *,
    width: int,
    height: int,
    tolerance: float,
    corner_run: int,
    precision: int,
    layers: str,
) -> tuple[str, dict[str, Any]]: ...

# Centerline mode in tiles (rust_kernels/src/tiled/lines.rs).
def tile_line_window(
    *, x0: int, y0: int, w: int, h: int, width: int, height: int, max_width: float, min_area: int
) -> tuple[int, int, int, int]:
    """The (x0, y0, w, h) window ``tile_lines`` reads for the tile at (x0, y0) of w x h."""

def tile_line_plan(hists: list[bytes], *, palette: bytes) -> tuple[bytes, list[int], bool]:
    """(the line plan: the background, the anti-aliasing blends' owners, the colours traced;
    the labels traced; whether faint blends wait for ``tile_line_fringe``)."""

def tile_line_fringe(
    image: npt.NDArray[np.uint8],
    *,
    x0: int,
    y0: int,
    w: int,
    h: int,
    window_x0: int,
    window_y0: int,
    width: int,
    height: int,
    palette: bytes,
    plan: bytes,
) -> list[tuple[int, int]]:
    """Per faint blend of ``plan``: (its pixels in the tile, those touching its ink)."""

def tile_line_resolve(plan: bytes, counts: list[list[tuple[int, int]]]) -> tuple[bytes, list[int]]:
    """The plan resolved from every tile's ``tile_line_fringe``: (plan, labels traced)."""

def tile_lines(
    image: npt.NDArray[np.uint8],
    *,
    x0: int,
    y0: int,
    w: int,
    h: int,
    window_x0: int,
    window_y0: int,
    width: int,
    height: int,
    palette: bytes,
    plan: bytes,
    max_width: float,
    min_area: int,
) -> bytes:
    """One tile's cleaned ink and skeleton runs per colour, from its ``tile_line_window``."""

def tile_lines_colour(
    tiles: list[bytes],
    *,
    label: int,
    width: int,
    height: int,
    max_width: float,
    tolerance: float,
    corner_run: int,
) -> bytes:
    """One colour's strokes (for ``tile_lines_write``) from every tile's ``tile_lines``."""

def tile_lines_write(
    colours: list[bytes],
    labels: list[int],
    *,
    width: int,
    height: int,
    palette: bytes,
    plan: bytes,
    tolerance: float,
    precision: int,
    layers: str,
    canvas: bool = True,
) -> tuple[str, dict[str, Any]]:
    """The SVG from the ``labels``' strokes: (svg_text, stats) as ``trace`` gives them;
    ``canvas`` False: the background is not painted (a transparent paper)."""
