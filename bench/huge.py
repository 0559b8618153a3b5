"""``python -m bench huge``: generated huge map images, rendered tile by tile into Zarr.

The scaling benchmark of the tiled pipeline (DESIGN.md section 2) needs images of 16 to
1024 megapixels that never sit in memory whole.  :func:`generate` renders a procedural map
tile by tile with resvg and writes every tile as one whole shard of a Zarr v3 store laid out
like :mod:`vectile.tiling.store` lays out, so :func:`~vectile.tiling.store.open_tiles`
reads it back as a lazy DataArray.

The scene (:func:`map_scene`)
    A seeded, deterministic description of a map in *pixel* coordinates (one SVG user unit
    is one pixel of the image, the origin is the top-left corner).  On a sea background
    (``#bcd8e8``), in paint order:

    * land masses: smooth, star-shaped closed blobs (a circle whose radius is modulated by a
      few random harmonics) in five flat land colours, plus small islands;
    * lakes inside the larger land masses (smaller blobs in lake blue);
    * rivers (blue, 1.5-3.5 px wide) and roads (white minor roads 1.2-2 px, orange major
      roads 3-4 px): polylines that wander with a smoothly changing heading, stroked with
      butt caps and miter joins;
    * a graticule: horizontal and vertical lines 1.2 px wide every ``feature_scale`` pixels;
    * label-like boxes: small rectangles (24-90 x 9-16 px) with a 1 px dark border.

    Flat colours only (:data:`PALETTE`), no gradients, no transparency, no text; resvg
    anti-aliases every edge, as in a real rendered map.  Sizes scale with the image through
    the *feature scale* ``L = clamp(sqrt(width * height) / 4, 128, 1024)`` pixels: about 10
    shapes per ``L x L`` cell, plus 6 labels per megapixel.  From 16 MP up ``L`` is
    1000-1024 px, so the detail per pixel (and the work per tile) is the same at every size,
    like a real map at a fixed scale whose image covers more ground: 250 shapes at 16 MP,
    1,000 at 64 MP, 3,900 at 256 MP and 15,100 at 1024 MP (seed 0).  Small images (tests)
    get a smaller ``L``, so even a 700 x 513 image holds some 150 shapes.

The tiling rule (why a tile equals the crop of the whole image, pixel for pixel)
    A window ``(x0, y0, w, h)`` of the image is rendered from an SVG whose shapes keep their
    global coordinates; only the ``viewBox`` and the canvas size change, to the window
    grown by :data:`MARGIN` pixels on every side (integer origin, scale exactly 1: a pure
    integer translation, exact in resvg's float32 arithmetic), and the margin is cropped
    off afterwards.  Only shapes whose box (ink plus a pixel of anti-aliasing) meets that
    canvas are written into the SVG, so the SVG of a tile stays small however big the image
    is (about 80-230 KB for a 1024 px tile); dropping a closed outline that lies outside
    the canvas changes no pixel inside it.

    resvg (tiny-skia) fills a path identically under an integer translation of the canvas,
    with three exceptions, measured here (resvg 0.48 through resvg-py 0.5) and designed
    around:

    * an edge that crosses the canvas border is clipped, i.e. replaced by a shorter edge
      whose fixed-point slope and start differ slightly, which flips 1/16-pixel supersamples
      along its whole length, not only near the border (a first scene of long-edged
      polygons, cubic Beziers and resvg strokes, tiled without a margin, differed by up to
      24, 49 and 42 of 255 levels).  So every edge that is not axis-aligned is at most
      :data:`MAX_SEGMENT` pixels long (curves and strokes are flattened into short
      segments), and axis-aligned edges clip exactly: an edge that reaches into the window
      then lies wholly inside the canvas and is never clipped; only edges in the margin are;
    * strokes are outlined by tiny-skia after the canvas transform, in float32, so a stroke
      can differ by a pixel or two depending on where the canvas starts: strokes are
      outlined here instead (:func:`_stroke_outline`) and filled as polygons;
    * strokes of width <= 1 px are drawn as hairlines, whose clipping is not exact either:
      the scene has no strokes at all (the graticule is thin rectangles, label borders are
      a dark rectangle under a light one).

    Renders of any two windows, a tile or the whole image, therefore agree exactly on the
    pixels they share, for any tile size: tested for tile sizes 37, 64 and 256 on a 700 x
    513 image and for overlapping windows near (11000, 11000) of a 144 MP scene (and checked
    once for 40 pairs of windows between 26000 and 32000 px of a 1024 MP scene).  The "whole
    image" is the same rule applied to the window ``(0, 0, width, height)``.  (A plain
    render of the whole scene without the margin differs from it on a few pixels next to
    the image border, by up to 9 levels; plain tiles without a margin differ from a plain
    whole render on up to 0.01 % of the pixels, by up to 11 levels.)

Store layout: the one of :mod:`vectile.tiling.store` (one shard of ``tile_size x tile_size
x 3`` per processing tile, inner chunks of at most 1024 px, zstd), attrs ``vectile_tiles``,
``tile_size``, ``source`` (``"generated:map:seed=S:WxH"``), ``format`` (``"generated"``),
``width``, ``height`` and ``seed``.  Every tile is rendered and written by one writer, as one
whole shard; with ``workers`` each process writes its own shards.  The store appears
atomically (temporary sibling directory, renamed at the end, removed on any error).

Memory: one tile canvas (RGBA plus its PNG) and one shard's encoding buffers per process,
plus the scene (its SVG text: 0.5 MB at 16 MP, 35 MB at 1024 MP).

CLI::

    python -m bench huge OUT.zarr --megapixels 64 [--tile-size 1024] [--seed 0]
                                  [--workers N] [--png OUT.png] [--overwrite]

prints the size, the shape count, the time and the peak RSS (``resource.getrusage``).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import io
import math
import multiprocessing
import os
import random
import resource
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
import resvg_py
import xarray as xr
import zarr
from PIL import Image

from vectile.errors import OptionError
from vectile.options import DEFAULT_TILE_SIZE
from vectile.tiling import store as _store

__all__ = [
    "MARGIN",
    "MAX_SEGMENT",
    "Scene",
    "generate",
    "main",
    "map_scene",
    "render_window",
    "window_svg",
]

#: Longest edge (in pixels) of any outline that is not axis-aligned (checked when the
#: scene is built).
MAX_SEGMENT: Final = 8.0
#: Pixels added around a window before rendering it (cropped off afterwards).  Must be at
#: least MAX_SEGMENT plus a pixel of anti-aliasing; 32 leaves room.
MARGIN: Final = 32
#: Largest window rendered as one canvas; bigger windows are rendered in blocks (exact, by
#: the tiling rule), which bounds memory and stays under Pillow's decompression-bomb limit.
MAX_BLOCK: Final = 4096

SEA: Final = "#bcd8e8"
LAND: Final = ("#e9e4c9", "#cfe3b4", "#a9d39e", "#f3dfc1", "#d9cfe6")
LAKE: Final = "#9fc9e6"
RIVER: Final = "#4f8fc8"
MINOR_ROAD: Final = "#ffffff"
MAJOR_ROAD: Final = "#e8964a"
GRID: Final = "#6b7c8a"
LABEL_FILL: Final = "#fffbe6"
LABEL_BORDER: Final = "#37474f"
#: Every flat colour of the scene (the rest of an image's colours are anti-aliasing).
PALETTE: Final = (SEA, *LAND, LAKE, RIVER, MINOR_ROAD, MAJOR_ROAD, GRID, LABEL_FILL, LABEL_BORDER)

# Shapes per L x L cell (L = the feature scale).
_LANDS_PER_CELL: Final = 0.8
_ISLANDS_PER_CELL: Final = 2.0
_RIVERS_PER_CELL: Final = 1.5
_ROADS_PER_CELL: Final = 4.0
_LABELS_PER_MEGAPIXEL: Final = 6.0
_MIN_SCALE: Final = 128.0
_MAX_SCALE: Final = 1024.0
_WALK_STEP: Final = 6.0  # segment length of rivers and roads (<= MAX_SEGMENT)


@dataclass(frozen=True, eq=False)
class Scene:
    """A map scene in global pixel coordinates (see the module docstring).

    ``elements`` are SVG elements in paint order; ``boxes[i]`` is ``(x0, y0, x1, y1)``, the
    extent of element ``i``'s ink (stroke and anti-aliasing included); ``counts`` the number
    of shapes of each kind.
    """

    width: int
    height: int
    seed: int
    feature_scale: float
    elements: tuple[str, ...]
    boxes: np.ndarray = field(repr=False)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def source(self) -> str:
        """The ``source`` attribute of stores generated from this scene."""
        return f"generated:map:seed={self.seed}:{self.width}x{self.height}"


# --- the scene ------------------------------------------------------------------------------


def map_scene(width: int, height: int, seed: int = 0) -> Scene:
    """The deterministic map scene of a ``width x height`` image for ``seed``.

    The same arguments give the same scene in every process (Python's :mod:`random`, seeded
    with a string); the scene depends on the image size but never on a tile size.
    """
    _check_size("width", width)
    _check_size("height", height)
    _check_seed(seed)
    width, height, seed = int(width), int(height), int(seed)
    rng = random.Random(f"vectile-bench-huge:{seed}:{width}x{height}")
    scale = min(_MAX_SCALE, max(_MIN_SCALE, math.sqrt(width * height) / 4))
    cells = width * height / scale**2
    builder = _Builder()

    def count(rate: float, minimum: int = 0) -> int:
        return max(minimum, round(rate * cells * rng.uniform(0.8, 1.2)))

    def anywhere(pad: float = 0.0) -> tuple[float, float]:
        return rng.uniform(-pad, width + pad), rng.uniform(-pad, height + pad)

    lands: list[tuple[float, float, float]] = []
    for _ in range(count(_LANDS_PER_CELL, 2)):
        x, y = anywhere(0.3 * scale)
        radius = scale * rng.uniform(0.35, 0.9)
        builder.polygon("land", _blob(rng, x, y, radius), rng.choice(LAND))
        lands.append((x, y, radius))
    for _ in range(count(_ISLANDS_PER_CELL)):
        x, y = anywhere(0.1 * scale)
        builder.polygon("island", _blob(rng, x, y, scale * rng.uniform(0.04, 0.15)), rng.choice(LAND))
    for x, y, radius in lands:  # lakes well inside their land mass (its radius >= 0.35 r)
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            angle, distance = rng.uniform(0, 2 * math.pi), rng.uniform(0, 0.15 * radius)
            builder.polygon(
                "lake",
                _blob(
                    rng,
                    x + distance * math.cos(angle),
                    y + distance * math.sin(angle),
                    radius * rng.uniform(0.06, 0.16),
                ),
                LAKE,
            )
    for _ in range(count(_RIVERS_PER_CELL, 1)):
        x, y, radius = rng.choice(lands)
        start = (x + rng.uniform(-0.3, 0.3) * radius, y + rng.uniform(-0.3, 0.3) * radius)
        builder.polyline(
            "river", _walk(rng, start, scale * rng.uniform(0.3, 0.9), 0.12), RIVER, round(rng.uniform(1.5, 3.5), 2)
        )
    for _ in range(count(_ROADS_PER_CELL, 1)):
        major = rng.random() < 0.3
        x, y, radius = rng.choice(lands)
        start = (x + rng.uniform(-0.6, 0.6) * radius, y + rng.uniform(-0.6, 0.6) * radius)
        builder.polyline(
            "road",
            _walk(rng, start, scale * rng.uniform(0.2, 1.0), 0.06),
            MAJOR_ROAD if major else MINOR_ROAD,
            round(rng.uniform(3.0, 4.0) if major else rng.uniform(1.2, 2.0), 2),
        )
    offset_x, offset_y = rng.uniform(0, scale), rng.uniform(0, scale)
    for x in np.arange(offset_x, width, scale):
        builder.grid_line(float(x) - 0.6, -1.0, 1.2, height + 2.0)
    for y in np.arange(offset_y, height, scale):
        builder.grid_line(-1.0, float(y) - 0.6, width + 2.0, 1.2)
    # Labels keep their size in pixels, so their count goes with the area in pixels.
    for _ in range(max(3, round(_LABELS_PER_MEGAPIXEL * width * height / 1e6))):
        x, y = anywhere()
        builder.label(x, y, rng.uniform(24, 90), rng.uniform(9, 16))
    return Scene(
        width,
        height,
        seed,
        scale,
        tuple(builder.elements),
        np.array(builder.boxes, dtype=np.float64).reshape(-1, 4),
        dict(builder.counts),
    )


class _Builder:
    """Collects SVG elements (global coordinates, 2 decimals) and their ink boxes."""

    def __init__(self) -> None:
        self.elements: list[str] = []
        self.boxes: list[tuple[float, float, float, float]] = []
        self.counts: dict[str, int] = {}

    def _add(self, kind: str, element: str, points: np.ndarray, pad: float, *, polygon: bool) -> None:
        """Add ``element``; ``points`` are its polygon's vertices (``polygon``) or its
        rectangle's corners, ``pad`` what its ink reaches beyond them."""
        if polygon:
            ends = np.roll(points, -1, axis=0)
            slanted = (ends[:, 0] != points[:, 0]) & (ends[:, 1] != points[:, 1])
            longest = float(np.hypot(*(ends - points)[slanted].T).max()) if slanted.any() else 0
            if longest > MAX_SEGMENT:
                raise AssertionError(
                    f"a {kind} has an edge of {longest:.2f} px, more than "
                    f"MAX_SEGMENT ({MAX_SEGMENT}); tiles would not be exact"
                )
        self.elements.append(element)
        low, high = points.min(axis=0) - pad, points.max(axis=0) + pad
        self.boxes.append((float(low[0]), float(low[1]), float(high[0]), float(high[1])))
        self.counts[kind] = self.counts.get(kind, 0) + 1

    def polygon(self, kind: str, points: np.ndarray, fill: str) -> None:
        points = np.round(points, 2)
        self._add(kind, f'<polygon points="{_points(points)}" fill="{fill}"/>', points, 1.0, polygon=True)

    def polyline(self, kind: str, points: np.ndarray, colour: str, width: float) -> None:
        """A stroked polyline, written as its filled outline (see :func:`_stroke_outline`)."""
        outline = np.round(_stroke_outline(points, width), 2)
        self._add(kind, f'<polygon points="{_points(outline)}" fill="{colour}"/>', outline, 1.0, polygon=True)

    def grid_line(self, x: float, y: float, w: float, h: float) -> None:
        """A graticule line as a thin filled rectangle (a stroke of width <= 1 px would be
        drawn as a tiny-skia hairline, whose clipping is not exact)."""
        x, y, w, h = (round(v, 2) for v in (x, y, w, h))
        element = f'<rect x="{x:.2f}" y="{y:.2f}" width="{w:.2f}" height="{h:.2f}" fill="{GRID}"/>'
        self._add("grid", element, np.array([[x, y], [x + w, y + h]]), 1.0, polygon=False)

    def label(self, x: float, y: float, w: float, h: float) -> None:
        """A label box: a dark rectangle under a light one inset by 1 px (fills only, so
        its 1 px border is no hairline)."""
        x, y, w, h = (round(v, 2) for v in (x, y, w, h))
        element = (
            f'<rect x="{x:.2f}" y="{y:.2f}" width="{w:.2f}" height="{h:.2f}" '
            f'fill="{LABEL_BORDER}"/><rect x="{x + 1:.2f}" y="{y + 1:.2f}" '
            f'width="{w - 2:.2f}" height="{h - 2:.2f}" fill="{LABEL_FILL}"/>'
        )
        self._add("label", element, np.array([[x, y], [x + w, y + h]]), 1.0, polygon=False)


def _points(points: np.ndarray) -> str:
    return " ".join(f"{x:.2f},{y:.2f}" for x, y in points.tolist())


def _blob(rng: random.Random, cx: float, cy: float, radius: float) -> np.ndarray:
    """A smooth star-shaped closed outline around ``(cx, cy)``: the radius modulated by
    harmonics 2-6, flattened into segments of at most MAX_SEGMENT (and of at most a tenth of
    the radius, so small blobs look round too)."""
    harmonics = [(k, rng.uniform(0.0, 0.22) / k**0.8, rng.uniform(0, 2 * math.pi)) for k in range(2, 7)]
    step = min(MAX_SEGMENT, max(0.5, radius / 10)) * 0.98
    n = max(16, math.ceil(2 * math.pi * radius * 1.3 / step))
    while True:
        theta = np.linspace(0.0, 2 * math.pi, n, endpoint=False)
        factor = np.ones(n)
        for k, amplitude, phase in harmonics:
            factor += amplitude * np.cos(k * theta + phase)
        r = radius * np.maximum(factor, 0.35)
        points = np.column_stack([cx + r * np.cos(theta), cy + r * np.sin(theta)])
        longest = _longest_edge(np.round(points, 2), closed=True)
        if longest <= step:
            return points
        n = math.ceil(n * longest / step * 1.02)


def _walk(rng: random.Random, start: tuple[float, float], length: float, wiggle: float) -> np.ndarray:
    """A wandering polyline from ``start``: steps of _WALK_STEP pixels whose heading turns
    smoothly (the turn rate is a damped random walk of amplitude ``wiggle`` rad)."""
    n = max(2, math.ceil(length / _WALK_STEP))
    heading, turn = rng.uniform(0, 2 * math.pi), 0.0
    headings = []
    for _ in range(n):
        turn = 0.85 * turn + rng.uniform(-wiggle, wiggle) * 0.5
        heading += turn
        headings.append(heading)
    angles = np.array(headings)
    steps = np.column_stack([np.cos(angles), np.sin(angles)]) * _WALK_STEP
    return np.vstack([np.array([start]), np.array(start) + np.cumsum(steps, axis=0)])


def _stroke_outline(points: np.ndarray, width: float) -> np.ndarray:
    """The outline of ``points`` stroked ``width`` wide with butt caps and miter joins, as one
    closed polygon (the left side forward, the right side backward) to fill with the
    nonzero rule, which is what an SVG stroke is.

    Strokes are outlined here rather than by resvg: tiny-skia strokes after the canvas
    transform, in float32, so the outline (and a pixel or two along it) depends on where
    the canvas starts; a polygon with global coordinates does not.  Miters reach at most
    1.5 x ``width`` from the vertex (the walks turn gently: they never get near that)."""
    half = width / 2
    steps = np.diff(points, axis=0)
    directions = steps / np.hypot(steps[:, 0], steps[:, 1])[:, None]
    normals = np.column_stack([-directions[:, 1], directions[:, 0]])
    offsets = np.empty_like(points)
    offsets[0], offsets[-1] = normals[0], normals[-1]
    inner = normals[:-1] + normals[1:]
    # Miter vector (n1 + n2) / (1 + n1 . n2): length 1 / cos(turn / 2).
    miter = inner / np.maximum(1 + np.sum(normals[:-1] * normals[1:], axis=1), 0.25)[:, None]
    offsets[1:-1] = miter
    return np.vstack([points + half * offsets, (points - half * offsets)[::-1]])


def _longest_edge(points: np.ndarray, *, closed: bool) -> float:
    ends = np.vstack([points[1:], points[:1]]) if closed else points[1:]
    return float(np.hypot(*(ends - points[: len(ends)]).T).max())


# --- rendering ------------------------------------------------------------------------------


def window_svg(scene: Scene, x0: int, y0: int, width: int, height: int, margin: int = MARGIN) -> str:
    """SVG text of the window ``(x0, y0, width, height)`` grown by ``margin`` on every side.

    The shapes keep their global coordinates; ``viewBox`` and the canvas size are the grown
    window, so rendering it at its own size is a pure integer translation.  Only the shapes
    whose ink box meets the grown window are included.
    """
    cx0, cy0 = x0 - margin, y0 - margin
    cw, ch = width + 2 * margin, height + 2 * margin
    boxes = scene.boxes
    hit = np.flatnonzero(
        (boxes[:, 2] > cx0) & (boxes[:, 0] < cx0 + cw) & (boxes[:, 3] > cy0) & (boxes[:, 1] < cy0 + ch)
    )
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{cw}" height="{ch}" '
        f'viewBox="{cx0} {cy0} {cw} {ch}">'
        f'<rect x="{cx0}" y="{cy0}" width="{cw}" height="{ch}" fill="{SEA}"/>'
    )
    return "\n".join([head, *(scene.elements[i] for i in hit.tolist()), "</svg>"])


def render_window(scene: Scene, x0: int, y0: int, width: int, height: int) -> np.ndarray:
    """Pixels ``[y0:y0+height, x0:x0+width]`` of the scene's image, as (height, width, 3)
    uint8 RGB.  Any window renders exactly the pixels of the whole image (module docstring);
    windows larger than MAX_BLOCK are rendered in blocks."""
    for name, value in (("x0", x0), ("y0", y0)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise OptionError(f"{name} must be an int (pixels), got {value!r}", option=name)
    _check_size("width", width)
    _check_size("height", height)
    x0, y0, width, height = int(x0), int(y0), int(width), int(height)
    if width <= MAX_BLOCK and height <= MAX_BLOCK:
        return _render_block(scene, x0, y0, width, height)
    out = np.empty((height, width, 3), dtype=np.uint8)
    for top in range(0, height, MAX_BLOCK):
        for left in range(0, width, MAX_BLOCK):
            h, w = min(MAX_BLOCK, height - top), min(MAX_BLOCK, width - left)
            out[top : top + h, left : left + w] = _render_block(scene, x0 + left, y0 + top, w, h)
    return out


def _render_block(scene: Scene, x0: int, y0: int, width: int, height: int) -> np.ndarray:
    svg = window_svg(scene, x0, y0, width, height)
    png = bytes(resvg_py.svg_to_bytes(svg_string=svg, skip_system_fonts=True))
    with Image.open(io.BytesIO(png)) as image:
        image.load()
        if image.size != (width + 2 * MARGIN, height + 2 * MARGIN):
            raise RuntimeError(f"resvg rendered {image.size}, expected {(width + 2 * MARGIN, height + 2 * MARGIN)}")
        rgba = np.asarray(image.convert("RGBA"))
    # The sea rectangle covers the canvas, so every pixel is opaque.
    return np.ascontiguousarray(rgba[MARGIN : MARGIN + height, MARGIN : MARGIN + width, :3])


# --- generating a store ---------------------------------------------------------------------


def generate(
    store_path: str | os.PathLike[str],
    width: int,
    height: int,
    *,
    tile_size: int = DEFAULT_TILE_SIZE,
    seed: int = 0,
    workers: int | None = None,
    overwrite: bool = False,
) -> xr.DataArray:
    """Render the map scene of a ``width x height`` image tile by tile into a new Zarr v3
    store at ``store_path`` and return it as :func:`~vectile.tiling.store.open_tiles`
    does (a lazy DataArray, one Dask chunk per tile, dims ``("y", "x", "band")``).

    Tiles are ``tile_size`` squares on a grid anchored at the top-left corner (the last
    row and column may be smaller); each is rendered on its own (:func:`render_window`) and
    written as one whole shard, so the whole image never sits in memory.  ``workers``: that
    many processes (``spawn``) render and write tiles, each its own shards; None (the
    default) or 1 renders serially in this process.  The result does not depend on
    ``tile_size`` or ``workers``.

    ``store_path`` must not exist, unless ``overwrite`` is true and it is a vectile tile
    store.  The store appears atomically; on any error nothing is left behind.

    Raises :class:`~vectile.errors.OptionError` (a :class:`ValueError`) for a non-positive
    or non-int ``width``, ``height``, ``tile_size`` or ``workers`` or a non-int ``seed``,
    :class:`FileExistsError` when ``store_path`` exists (see ``overwrite``).
    """
    _check_size("width", width)
    _check_size("height", height)
    _check_size("tile_size", tile_size)
    _check_seed(seed)
    if workers is not None:
        _check_size("workers", workers)
    width, height, tile_size, seed = int(width), int(height), int(tile_size), int(seed)
    target = Path(store_path)
    _store.check_target(target, overwrite)
    scene = map_scene(width, height, seed)
    attrs = {
        "vectile_tiles": _store.LAYOUT_VERSION,
        "tile_size": tile_size,
        "source": scene.source,
        "format": "generated",
        "width": width,
        "height": height,
        "seed": seed,
    }
    directory = _store.temporary_dir(target)
    try:
        # One encoding thread: tiles are written one at a time here (or one per worker
        # process), and more threads only spread buffers over more allocator arenas.
        array = _store.create_store(directory, (height, width, 3), tile_size, attrs, threads=1)
        tiles = list(_tiles(width, height, tile_size))
        if workers is None or workers == 1:
            for tile in tiles:
                _write_tile(scene, array, tile)
        else:
            _write_parallel(scene, directory, tiles, workers)
        _store.publish(directory, target, overwrite)
    finally:
        shutil.rmtree(directory, ignore_errors=True)  # gone already when published
    return _store.open_tiles(target)


_Tile = tuple[int, int, int, int]  # x0, y0, width, height


def _tiles(width: int, height: int, tile_size: int) -> Iterator[_Tile]:
    for top in range(0, height, tile_size):
        for left in range(0, width, tile_size):
            yield left, top, min(tile_size, width - left), min(tile_size, height - top)


def _write_tile(scene: Scene, array: zarr.Array, tile: _Tile) -> None:
    """Render one tile and write it as its whole shard."""
    x0, y0, w, h = tile
    array[y0 : y0 + h, x0 : x0 + w] = render_window(scene, x0, y0, w, h)


# Per worker process: the scene and the open store (set by _init_worker).
_WORKER: dict[str, object] = {}


def _init_worker(scene: Scene, directory: str) -> None:
    _WORKER["scene"] = scene
    with _store.rust_codecs(threads=1):
        _WORKER["array"] = zarr.open_array(directory, mode="r+")


def _worker_tile(tile: _Tile) -> None:
    scene, array = _WORKER["scene"], _WORKER["array"]
    assert isinstance(scene, Scene) and isinstance(array, zarr.Array)
    _write_tile(scene, array, tile)


def _write_parallel(scene: Scene, directory: Path, tiles: list[_Tile], workers: int) -> None:
    """Render ``tiles`` in ``workers`` spawned processes; each task writes one shard.  On an
    error the tasks not yet started are cancelled and the running ones finish before this
    returns (so nothing writes into the directory once the caller removes it)."""
    context = multiprocessing.get_context("spawn")  # fork would copy zarr's event-loop thread
    with concurrent.futures.ProcessPoolExecutor(
        max_workers=min(workers, len(tiles)),
        mp_context=context,
        initializer=_init_worker,
        initargs=(scene, str(directory)),
    ) as pool:
        futures = [pool.submit(_worker_tile, tile) for tile in tiles]
        try:
            for future in concurrent.futures.as_completed(futures):
                future.result()
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def _check_size(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise OptionError(f"{name} must be a positive int, got {value!r}", option=name)


def _check_seed(seed: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise OptionError(f"seed must be an int, got {seed!r}", option="seed")


# --- command line ---------------------------------------------------------------------------


def _peak_rss_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss * 1024 / 1e6  # Linux: kilobytes


def main(argv: list[str] | None = None) -> int:
    """``python -m bench huge OUT.zarr --megapixels 64 ...`` (see the module docstring)."""
    parser = argparse.ArgumentParser(
        prog="python -m bench huge",
        description="Generate a huge map image (a square of --megapixels, or --size WxH), "
        "rendered tile by tile straight into a Zarr v3 store.",
    )
    parser.add_argument("out", type=Path, help="the Zarr store to create (a directory)")
    size = parser.add_mutually_exclusive_group(required=True)
    size.add_argument("--megapixels", type=float, help="a square image of about this many MP")
    size.add_argument("--size", help="WIDTHxHEIGHT in pixels, e.g. 8000x6000")
    parser.add_argument(
        "--tile-size", type=int, default=DEFAULT_TILE_SIZE, help="edge of a tile and a shard (default %(default)s)"
    )
    parser.add_argument("--seed", type=int, default=0, help="scene seed (default 0)")
    parser.add_argument(
        "--workers", type=int, default=None, help="render in N processes (default: serially in this one)"
    )
    parser.add_argument("--png", type=Path, default=None, help="also write the image as a PNG (at most 64 MP)")
    parser.add_argument("--overwrite", action="store_true", help="replace OUT if it is a vectile tile store")
    args = parser.parse_args(argv)
    if args.size is not None:
        try:
            width, height = (int(v) for v in args.size.lower().split("x"))
        except ValueError:
            parser.error(f"--size must be WIDTHxHEIGHT, got {args.size!r}")
    else:
        if not args.megapixels > 0:
            parser.error(f"--megapixels must be positive, got {args.megapixels}")
        width = height = max(1, round(math.sqrt(args.megapixels * 1e6)))
    if args.png is not None and width * height > 64_000_000:
        parser.error("--png is for images of at most 64 MP (the PNG is written from memory)")
    start = time.perf_counter()
    try:
        image = generate(
            args.out,
            width,
            height,
            tile_size=args.tile_size,
            seed=args.seed,
            workers=args.workers,
            overwrite=args.overwrite,
        )
    except (ValueError, FileExistsError) as exc:
        print(f"bench huge: {exc}", file=sys.stderr)
        return 2
    seconds = time.perf_counter() - start
    scene = map_scene(width, height, args.seed)
    tiles = math.ceil(width / args.tile_size) * math.ceil(height / args.tile_size)
    counts = ", ".join(f"{n} {kind}" for kind, n in scene.counts.items())
    print(
        f"generated {args.out}: {width}x{height} ({width * height / 1e6:.1f} MP), {tiles} "
        f"tiles of {args.tile_size}, seed {args.seed}, {len(scene.elements)} shapes "
        f"({counts})"
    )
    line = f"time {seconds:.1f} s, peak RSS {_peak_rss_mb(resource.RUSAGE_SELF):.0f} MB"
    if args.workers not in (None, 1):
        line += f" (largest worker {_peak_rss_mb(resource.RUSAGE_CHILDREN):.0f} MB)"
    print(line)
    if args.png is not None:
        Image.fromarray(np.asarray(image.values)).save(args.png)
        print(f"wrote {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
