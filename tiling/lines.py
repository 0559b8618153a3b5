"""The centerline mode in tiles: the stages after the palette, on Dask.

:func:`~vectile.tiling.trace.trace_tiled` runs the first stages as for colour mode (the
histograms, the preset, the scan front end's cleaned tiles, the palette), so the labels are
exactly the untiled trace's; then (kernels ``rust_kernels/src/tiled/lines.rs``):

1. one task: the line plan from the same histograms (the background: the paper, else the
   colour of most pixels; which colour each anti-aliasing blend joins; the colours traced)
   and the widest line (``stroke_width_max``); when faint blends need their pixels (does a
   blend lie beside its ink, or is it a faint line's core), a pass over the tiles counts
   them and one task decides;
2. per tile: every traced colour's mask, cleaned of specks and pinholes, thinned in the
   tile's window (the tile and a halo of the skeleton's and the cleaning's reach,
   ``_kernels.tile_line_window``), the tile's ink and skeleton returned as runs, so both
   are exactly the whole image's;
3. per colour (in parallel on a cluster): its runs from all tiles painted into whole-image
   arrays and the strokes traced from them (a line crossing tile borders is one path); one
   task on a worker: the SVG written (atomically) to the output file.

The client waits for stage 1 (the colours to trace are known then) before it submits the
rest. A colour's task holds 7 bytes per image pixel (its ink, skeleton and pixel graph)
plus the tiles' runs (a few bytes per run); the SVG is byte-identical to
:func:`vectile.vectorize` with ``mode="centerline"`` on the whole image, for every tile size.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vectile import _kernels
from vectile._io import text_or_file
from vectile.options import settings
from vectile.tiling.grid import Grid, NotTileable, named
from vectile.tiling.reader import TileReader

__all__ = [
    "fringe_task",
    "lines_colour_task",
    "lines_setup_task",
    "lines_task",
    "lines_write_task",
    "resolve_task",
    "submit_lines",
]


def lines_setup_task(palette: dict[str, Any], hists: list[tuple[bytes, Any]], tuned: dict[str, Any]) -> dict[str, Any]:
    """Stage 1: the palette's keywords with the line plan (the background, the blends' owners,
    the colours traced; ``pending`` while faint blends wait for :func:`fringe_task`), the
    labels traced and the widest line added."""

    def work() -> dict[str, Any]:
        plan, traced, pending = _kernels.tile_line_plan([h[0] for h in hists], palette=palette["state"])
        width = settings(palette["preset"], **tuned).stroke_width("centerline")
        return {**palette, "plan": plan, "traced": traced, "pending": pending, "max_width": float(width)}

    return named("the line plan", work)


def _in_window(
    kernel: Callable[..., Any],
    reader: TileReader,
    pixels: Any,
    grid: Grid,
    i: int,
    window: Callable[[int, int, int, int], tuple[int, int, int, int]],
    **options: Any,
) -> Any:
    """``kernel`` on tile ``i`` read with the window ``window(x0, y0, w, h)`` gives, told
    where the tile and the window lie (the keywords every per-tile line kernel takes)."""
    x0, y0, w, h = grid.rect(i)
    wx0, wy0, ww, wh = window(x0, y0, w, h)
    image = reader(wx0, wy0, ww, wh, pixels)
    return kernel(image, x0=x0, y0=y0, w=w, h=h, window_x0=wx0, window_y0=wy0, **options)


def fringe_task(reader: TileReader, pixels: Any, grid: Grid, i: int, lines: dict[str, Any]) -> list[tuple[int, int]]:
    """Stage 1b (only with faint blends): tile ``i``'s counts of the faint blends' pixels and
    of those touching their ink, from the tile and its ring of pixels."""

    def ring(x0: int, y0: int, w: int, h: int) -> tuple[int, int, int, int]:
        wx0, wy0 = max(0, x0 - 1), max(0, y0 - 1)
        return wx0, wy0, min(grid.width, x0 + w + 1) - wx0, min(grid.height, y0 + h + 1) - wy0

    def work() -> list[tuple[int, int]]:
        return _in_window(
            _kernels.tile_line_fringe,
            reader,
            pixels,
            grid,
            i,
            ring,
            width=grid.width,
            height=grid.height,
            palette=lines["state"],
            plan=lines["plan"],
        )

    return named(grid.name(i), work)


def resolve_task(lines: dict[str, Any], counts: list[list[tuple[int, int]]]) -> dict[str, Any]:
    """Stage 1c: the plan with its faint blends decided from every tile's counts."""

    def work() -> dict[str, Any]:
        plan, traced = _kernels.tile_line_resolve(lines["plan"], counts)
        return {**lines, "plan": plan, "traced": traced, "pending": False}

    return named("the faint blends", work)


def lines_task(reader: TileReader, pixels: Any, grid: Grid, i: int, lines: dict[str, Any]) -> bytes:
    """Stage 2: tile ``i``'s ink and skeleton runs, thinned in its window."""
    where = {"width": grid.width, "height": grid.height, "max_width": lines["max_width"], "min_area": lines["min_area"]}

    def window(x0: int, y0: int, w: int, h: int) -> tuple[int, int, int, int]:
        return _kernels.tile_line_window(x0=x0, y0=y0, w=w, h=h, **where)

    def work() -> bytes:
        return _in_window(
            _kernels.tile_lines, reader, pixels, grid, i, window, palette=lines["state"], plan=lines["plan"], **where
        )

    return named(grid.name(i), work)


def lines_colour_task(tiles: list[bytes], grid: Grid, lines: dict[str, Any], label: int) -> bytes:
    """Stage 3a: the strokes of colour ``label`` from all tiles' runs of it.
    :class:`~vectile.tiling.grid.NotTileable` when the colour has ink wider than
    ``stroke_width_max`` (the untiled trace fills it; the tiles do not yet)."""

    def work() -> bytes:
        try:
            return _kernels.tile_lines_colour(
                tiles,
                label=label,
                width=grid.width,
                height=grid.height,
                max_width=lines["max_width"],
                tolerance=lines["tolerance"],
                corner_run=lines["corner_run"],
            )
        except _kernels.KernelNotTileableError as exc:
            raise NotTileable(str(exc)) from None

    return named(f"the lines of colour {label}", work)


def lines_write_task(
    colours: list[bytes], grid: Grid, lines: dict[str, Any], output: str | None, canvas: bool = True
) -> tuple[str | None, dict[str, Any]]:
    """Stage 3b: the SVG from the traced colours' strokes, written to ``output`` (atomically;
    None comes back as the text) or returned; ``canvas`` False: the background is not
    painted (a transparent paper)."""

    def work() -> tuple[str | None, dict[str, Any]]:
        text, kstats = _kernels.tile_lines_write(
            colours,
            lines["traced"],
            width=grid.width,
            height=grid.height,
            palette=lines["state"],
            plan=lines["plan"],
            tolerance=lines["tolerance"],
            precision=lines["precision"],
            layers=lines["layers"],
            canvas=canvas,
        )
        return text_or_file(text, output), {"preset": lines["preset"], **kstats}

    return named("the assembly", work)


def submit_lines(
    ex: Any,
    result: Callable[[Any], Any],
    reader: TileReader,
    pixels: Any,
    grid: Grid,
    palette: Any,
    hists: list[Any],
    tuned: dict[str, Any],
    output: str | None,
    run: str,
    canvas: bool = True,
) -> tuple[list[Any], Any]:
    """Submit the stages after the palette on ``ex`` (a Dask client or the in-process
    executor; ``result`` waits for one of its futures: the colours traced are known once the
    palette is); returns (the tile and colour tasks, the assembly's future). ``canvas``
    False: the background is not painted (the paper made transparent; the palette is the
    kept paper's)."""
    setup = ex.submit(lines_setup_task, palette, hists, tuned, key=f"vectile-lines-setup-{run}")
    fringes: list[Any] = []
    if result(setup)["pending"]:
        fringes = [
            ex.submit(fringe_task, reader, pixels, grid, i, setup, key=f"vectile-lines-fringe-{run}-{i}")
            for i in range(len(grid))
        ]
        setup = ex.submit(resolve_task, setup, fringes, key=f"vectile-lines-resolve-{run}")
    tiles = [
        ex.submit(lines_task, reader, pixels, grid, i, setup, key=f"vectile-lines-{run}-{i}") for i in range(len(grid))
    ]
    colours = [
        ex.submit(lines_colour_task, tiles, grid, setup, k, key=f"vectile-lines-colour-{run}-{k}")
        for k in result(setup)["traced"]
    ]
    done = ex.submit(lines_write_task, colours, grid, setup, output, canvas, key=f"vectile-lines-write-{run}")
    return fringes + tiles + colours, done
