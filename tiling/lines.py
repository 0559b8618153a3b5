"""The centerline mode in tiles: the stages after the palette, on Dask.

:func:`~vectile.tiling.trace.trace_tiled` runs the first stages as for colour mode (the
histograms, the preset, the scan front end's cleaned tiles, the palette), so the labels are
exactly the untiled trace's; then (kernels ``rust_kernels/src/tiled/lines.rs``):

1. one task: the background label from the same histograms (the paper, else the colour of
   most pixels) and the widest line (``stroke_width_max``);
2. per tile: every other colour thinned in the tile's window (the tile and a halo of the
   skeleton's reach, ``_kernels.tile_line_window``), the tile's ink and skeleton returned as
   runs, so the skeleton is exactly the whole image's;
3. one task on a worker: the runs painted into whole-image arrays one colour at a time, the
   strokes traced from them (a line crossing tile borders is one path) and the SVG written
   (atomically) to the output file.

The SVG is byte-identical to :func:`vectile.vectorize` with ``mode="centerline"`` on the
whole image, for every tile size.
"""

from __future__ import annotations

from typing import Any

from vectile import _kernels
from vectile._io import write_atomic
from vectile.options import settings
from vectile.tiling.grid import Grid, named
from vectile.tiling.reader import TileReader

__all__ = ["lines_assemble_task", "lines_setup_task", "lines_task", "submit_lines"]


def lines_setup_task(palette: dict[str, Any], hists: list[tuple[bytes, Any]], tuned: dict[str, Any]) -> dict[str, Any]:
    """Stage 1: the palette's keywords with the background label and the widest line added."""

    def work() -> dict[str, Any]:
        background = _kernels.tile_line_background([h[0] for h in hists], palette=palette["state"])
        width = settings(palette["preset"], **tuned).stroke_width_max
        return {**palette, "background": background, "max_width": float(width)}

    return named("the line background", work)


def lines_task(reader: TileReader, pixels: Any, grid: Grid, i: int, lines: dict[str, Any]) -> bytes:
    """Stage 2: tile ``i``'s ink and skeleton runs, thinned in its window."""

    def work() -> bytes:
        x0, y0, w, h = grid.rect(i)
        where = {"width": grid.width, "height": grid.height, "max_width": lines["max_width"]}
        wx0, wy0, ww, wh = _kernels.tile_line_window(x0=x0, y0=y0, w=w, h=h, **where)
        return _kernels.tile_lines(
            reader(wx0, wy0, ww, wh, pixels),
            x0=x0,
            y0=y0,
            w=w,
            h=h,
            window_x0=wx0,
            window_y0=wy0,
            palette=lines["state"],
            background=lines["background"],
            **where,
        )

    return named(grid.name(i), work)


def lines_assemble_task(
    tiles: list[bytes], grid: Grid, lines: dict[str, Any], output: str | None, canvas: bool = True
) -> tuple[str | None, dict[str, Any]]:
    """Stage 3: the strokes traced from all tiles' runs and the SVG written to ``output``
    (atomically; None comes back as the text) or returned; ``canvas`` False: the background
    is not painted (a transparent paper)."""

    def work() -> tuple[str | None, dict[str, Any]]:
        text, kstats = _kernels.tile_lines_assemble(
            tiles,
            width=grid.width,
            height=grid.height,
            palette=lines["state"],
            background=lines["background"],
            max_width=lines["max_width"],
            tolerance=lines["tolerance"],
            corner_run=lines["corner_run"],
            precision=lines["precision"],
            layers=lines["layers"],
            canvas=canvas,
        )
        stats = {"preset": lines["preset"], **kstats}
        if output is None:
            return text, stats
        write_atomic(output, text)
        return None, stats

    return named("the assembly", work)


def submit_lines(
    ex: Any,
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
    executor); returns (the tile tasks, the assembly's future). ``canvas`` False: the
    background is not painted (the paper made transparent; the palette is the kept paper's)."""
    lines = ex.submit(lines_setup_task, palette, hists, tuned, key=f"vectile-lines-setup-{run}")
    tiles = [
        ex.submit(lines_task, reader, pixels, grid, i, lines, key=f"vectile-lines-{run}-{i}") for i in range(len(grid))
    ]
    done = ex.submit(lines_assemble_task, tiles, grid, lines, output, canvas, key=f"vectile-lines-assemble-{run}")
    return tiles, done
