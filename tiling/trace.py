"""Tiled tracing: one image, any size, traced tile by tile on Dask, same SVG as untiled.

The stages (DESIGN.md section 2; the kernels are ``rust_kernels/src/tiled/``, the task
bodies :mod:`vectile.tiling.tasks`):

1. per tile: colour (or luma) histogram, and the pixels the preset chooser samples
   (:mod:`vectile.tiling.prepass`; skipped when a :class:`Prepass` took them while the
   image streamed);
2. one task: the global palette from the summed histograms (exactly ``quantize``'s);
3. per tile: local regions (labels, 4-connected components, areas, colour sums, adjacency)
   and the component ids along the tile's border;
4. per seam: which components continue across the seam and which touch it;
5. one task: union-find over the seams gives global region ids (first-pixel order), speckle
   merging runs on the global region graph;
6. per tile: the boundary edges through the cracks the tile owns; edges wholly inside are
   fitted there, pieces cut by the tile border are kept for joining;
7. one task on a worker: pieces joined at their integer end points, each fitted once, the
   outlines walked and the SVG written (atomically) to the output file.

In the centerline mode, stages 3 to 7 are those of :mod:`vectile.tiling.lines` (each tile
thinned in a halo window, one task per colour, one writer).

:func:`trace_tiled` submits that graph and watches it.  Tiles are read on the workers (from
the Zarr store, the tiled TIFF, or an in-memory array for small images,
:class:`~vectile.tiling.reader.TileReader`), never gathered in one process; tasks pass
compact ``bytes`` between them, and the client receives only the statistics. The output is
byte-identical to :func:`vectile.vectorize` on the whole image, for every tile size.

Limits: opaque images only, no ``weights`` and no ``edges`` guidance (their float sums
depend on the order of addition); each raises an :class:`~vectile.errors.OptionError`.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from vectile import _kernels
from vectile.options import PRESET_SAMPLE, TraceOptions, check_tile_size, resolve, settings
from vectile.tiling.clean import cleaned_store, field_sums_task, field_task, flatten_task, prepare_task
from vectile.tiling.grid import Grid, UntileableOption
from vectile.tiling.lines import submit_lines
from vectile.tiling.prepass import MERGE_GROUP, Prepass
from vectile.tiling.reader import TileReader
from vectile.tiling.tasks import (
    arcs_task,
    assemble_task,
    hist_task,
    item,
    merge_task,
    noise_task,
    palette_task,
    preset_task,
    regions_task,
    seam_task,
    stitch_task,
)

__all__ = ["check_tileable", "trace_tiled"]


class _Local:
    """In-process executor with the client's ``submit`` shape: runs each call at once."""

    def submit(self, fn: Callable[..., Any], *args: Any, key: str | None = None, **kw: Any) -> Any:
        return fn(*args)


def check_tileable(options: dict[str, Any]) -> TraceOptions:
    """The options checked, refusing those the tiled tracer cannot honour: ``weights`` and
    ``edges`` guidance sum floats in an order that depends on the tiles; colour mode's stroke
    layer (``strokes`` auto or on) is not traced in tiles yet.  The centerline mode, which has
    no stroke layer, is traced in tiles by :mod:`vectile.tiling.lines`."""
    for unsupported in ("weights", "edges"):
        if options.get(unsupported) is not None:
            raise UntileableOption(
                f"{unsupported} cannot be combined with tiled tracing (tile_size); trace the image untiled",
                option=unsupported,
            )
    opts = resolve({k: v for k, v in options.items() if k not in ("weights", "edges")})
    strokes = opts.tuned.get("strokes")
    if opts.mode != "centerline" and strokes in ("auto", "on"):
        raise UntileableOption(
            f"strokes {strokes!r} is not traced in tiles yet; trace the image untiled", option="strokes"
        )
    return opts


def trace_tiled(
    image: Any,
    *,
    tile_size: int,
    options: dict[str, Any],
    client: Any = None,
    output: str | os.PathLike[str] | None = None,
    progress: bool = False,
    prepass: Prepass | None = None,
    scratch: str | os.PathLike[str] | None = None,
) -> tuple[str | None, dict[str, Any]]:
    """Trace ``image`` (numpy array, a DataArray of tiles, or the :class:`~pathlib.Path` of a
    tile store; see :meth:`TileReader.of`) in tiles of ``tile_size`` pixels;
    ``options`` are :func:`vectile.vectorize`'s keywords.

    Runs on the Dask ``client`` when given (one task per tile and stage, one per seam), else
    in this process. With ``output`` the SVG is written there (atomically, by the worker that
    assembles it) and the text returned is None; without, the text comes back. A
    :class:`Prepass` that saw the whole image while it streamed replaces the histogram pass
    (stats ``"prepass": True``); the SVG is the same either way. When the settings denoise,
    the tiles are first cleaned into a second store in a temporary folder in ``scratch``
    (default the system's; removed after; see :mod:`vectile.tiling.clean`) and the image's
    noise level is reported as stats ``"noise"``. Returns ``(text, stats)``.
    """
    tile_size = check_tile_size(tile_size)
    opts = {k: v for k, v in options.items() if k != "max_pixels"}
    checked = check_tileable(opts)
    tuned = dict(checked.tuned)
    mode, layers, preset, seed, threshold = (
        checked.mode,
        checked.layers,
        checked.preset,
        checked.seed,
        checked.threshold,
    )
    start = time.perf_counter()
    reader = TileReader.of(image)
    grid = Grid(reader.width, reader.height, int(tile_size))
    sample_step = max(1, grid.width * grid.height // PRESET_SAMPLE) if preset is None else 0

    ex = client if client is not None else _Local()
    run = uuid.uuid4().hex[:12]
    pixels: Any = None
    if client is not None and reader.array is not None:
        # One copy per worker, fetched on first use, instead of one inside every task.
        pixels = client.scatter(reader.array, broadcast=False, hash=False)
        reader = replace(reader, array=None)
    tiles = range(len(grid))
    pre = (
        prepass
        if (
            prepass is not None
            and prepass.complete(grid.width, grid.height)
            and prepass.mode == mode
            and (preset is not None or prepass.sampled)
        )
        else None
    )
    front = None if preset is None else settings(preset, **tuned)
    cleans = front is not None and front.denoise > 0
    passes = 2 + (pre is None and not cleans) + cleans  # the bar's first guess; _watch sets it
    with contextlib.ExitStack() as scratch_dir, _progress_bar(progress, len(grid), passes) as advance:
        watched: list[Any] = []
        hists: list[Any] = []
        if not cleans:
            # Raw histograms: the palette's unless the front end cleans, the preset's sample.
            if pre is not None:
                hists = client.scatter(pre.hists, hash=False) if client is not None else list(pre.hists)
            else:
                watched, hists = _histograms(
                    ex, hist_task, len(grid), lambda i: (reader, pixels, grid, i, mode, sample_step), run, "hist"
                )
        name = preset
        noise: Any = 0.0  # the image's noise level: it scales the denoise
        if front is None:
            # One round trip: the preset, chosen from the raw tiles' samples and the noise level,
            # decides whether the cleaning pass runs.
            name, noise = _result(
                client, ex.submit(preset_task, hists, reader, pixels, grid, key=f"vectile-preset-{run}")
            )
            front = settings(name, **tuned)
        elif cleans:
            noise = ex.submit(noise_task, reader, pixels, grid, key=f"vectile-noise-{run}")
        strength = front.denoise
        if strength > 0:
            # Pass 0: tiles cleaned from their halo windows into a store every later stage reads;
            # their histograms replace the raw ones.
            tmp = scratch_dir.enter_context(tempfile.TemporaryDirectory(prefix="vectile-clean-", dir=scratch))
            cleaned = cleaned_store(Path(tmp) / "cleaned.zarr", grid)
            assert cleaned.store is not None
            store = cleaned.store
            more, hists = _histograms(
                ex,
                prepare_task,
                len(grid),
                lambda i: (reader, pixels, grid, i, mode, strength, noise, store),
                run,
                "prepare",
            )
            watched += more
            reader, pixels = cleaned, None
        # Centerline strokes need no paper holes: a transparent paper is the kept paper's
        # palette, not painted.
        transparent = mode == "centerline" and tuned.get("background") == "transparent"
        ptuned = {**tuned, "background": "keep"} if transparent else tuned
        palette = ex.submit(
            palette_task, hists, name, ptuned, seed, mode, threshold, layers, key=f"vectile-palette-{run}"
        )
        if mode == "color" and front.background in ("keep", "white"):
            # The paper's white field divided out, and the palette fitted again on the flat page.
            sums = [
                ex.submit(field_sums_task, reader, pixels, grid, i, palette, key=f"vectile-fieldsums-{run}-{i}")
                for i in tiles
            ]
            watched += sums
            field = _result(client, ex.submit(field_task, sums, grid, palette, key=f"vectile-field-{run}"))
            if field is not None:
                if strength == 0:  # nothing cleaned: a new store (never the source's)
                    tmp = scratch_dir.enter_context(tempfile.TemporaryDirectory(prefix="vectile-flat-", dir=scratch))
                    flat_reader = cleaned_store(Path(tmp) / "flat.zarr", grid)
                else:  # the cleaned store, tile by tile in place
                    flat_reader = reader
                assert flat_reader.store is not None
                flat_store = flat_reader.store
                more, hists = _histograms(
                    ex,
                    flatten_task,
                    len(grid),
                    lambda i: (reader, pixels, grid, i, mode, field, flat_store),
                    run,
                    "flatten",
                )
                watched += more
                reader, pixels = flat_reader, None
                palette = ex.submit(
                    palette_task, hists, name, ptuned, seed, mode, threshold, layers, key=f"vectile-palette2-{run}"
                )
        out = None if output is None else os.fspath(Path(output).absolute())
        if mode == "centerline":
            more, done = submit_lines(
                ex, lambda f: _result(client, f), reader, pixels, grid, palette, hists, tuned, out, run, not transparent
            )
            _watch(client, watched + more, advance)
            text, kstats = _result(client, done)
            return text, _stats(grid, mode, layers, kstats, pre is not None and strength == 0, client, noise, start)
        regions = [
            ex.submit(regions_task, reader, pixels, grid, i, palette, key=f"vectile-regions-{run}-{i}") for i in tiles
        ]
        # Seams need only the tiles' borders, not their region tables (tens of MB on photos).
        borders = [ex.submit(item, regions[i], 1, key=f"vectile-border-{run}-{i}") for i in tiles]
        seams = [
            ex.submit(
                seam_task,
                borders[a],
                borders[b],
                vertical,
                f"seam between {grid.name(a)} and {grid.name(b)}",
                key=f"vectile-seam-{run}-{k}",
            )
            for k, (a, b, vertical) in enumerate(
                _kernels.tile_seams(width=grid.width, height=grid.height, tile=grid.tile)
            )
        ]
        stitched = ex.submit(stitch_task, regions, seams, grid, palette, key=f"vectile-stitch-{run}")
        links = [ex.submit(item, stitched, 0, i, key=f"vectile-links-{run}-{i}") for i in tiles]
        arcs = [
            ex.submit(arcs_task, reader, pixels, grid, i, palette, links[i], key=f"vectile-arcs-{run}-{i}")
            for i in tiles
        ]
        done = ex.submit(assemble_task, arcs, stitched, grid, palette, out, key=f"vectile-assemble-{run}")
        _watch(client, watched + regions + arcs, advance)
        text, kstats = _result(client, done)
    return text, _stats(grid, mode, layers, kstats, pre is not None and strength == 0, client, noise, start)


def _stats(
    grid: Grid,
    mode: str,
    layers: str,
    kstats: dict[str, Any],
    prepass: bool,
    client: Any,
    noise: Any,
    start: float,
) -> dict[str, Any]:
    """The statistics :func:`trace_tiled` returns."""
    return {
        "width": grid.width,
        "height": grid.height,
        "mode": mode,
        "layers": layers,
        **kstats,
        "tiles": len(grid),
        "tile_size": grid.tile,
        "prepass": prepass,
        "noise": float(_result(client, noise)) if not isinstance(noise, float) else noise,
        "seconds": round(time.perf_counter() - start, 6),
    }


def _histograms(
    ex: Any, task: Callable[..., Any], tiles: int, args: Callable[[int], tuple[Any, ...]], run: str, stage: str
) -> tuple[list[Any], list[Any]]:
    """A per-tile pass whose results are histograms (``task(*args(i))`` for every tile),
    merged in groups of :data:`MERGE_GROUP`: (the tile tasks, the merged groups).  Each
    group's merge is submitted right after its tiles, so it runs (and frees their
    histograms) before later groups' tiles."""
    watched, merged = [], []
    for g0 in range(0, tiles, MERGE_GROUP):
        group = [
            ex.submit(task, *args(i), key=f"vectile-{stage}-{run}-{i}") for i in range(g0, min(g0 + MERGE_GROUP, tiles))
        ]
        watched += group
        merged.append(
            group[0]
            if len(group) == 1
            else ex.submit(
                merge_task,
                group,
                f"merging the histograms of tiles {g0}..{g0 + len(group) - 1}",
                key=f"vectile-merge-{stage}-{run}-{g0}",
            )
        )
    return watched, merged


def _result(client: Any, future: Any) -> Any:
    if client is None:
        return future
    return future.result()


def _watch(client: Any, futures: list[Any], advance: Callable[..., None]) -> None:
    """Advance the bar as tile tasks finish (errors surface from the final result)."""
    advance(0, total=len(futures))  # the passes run are known now (the preset chose them)
    if client is None:
        advance(len(futures))
        return
    # distributed only with a client, which means it is imported already.
    from distributed import as_completed

    for f in as_completed(futures, loop=client.loop):
        if f.status == "error":
            f.result()  # raises the TileError naming the tile
        advance(1)


@contextlib.contextmanager
def _progress_bar(show: bool, tiles: int, passes: int) -> Iterator[Callable[..., None]]:
    """A progress bar over the ``passes`` passes of tile tasks (rich, on stderr); it yields
    ``advance(n, total=None)``, whose ``total`` corrects the number of tasks once known."""
    if not show:
        yield lambda n, total=None: None
        return
    # rich only when a bar is shown: its import costs more than a small trace.
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("tiles"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(file=sys.stderr),
        transient=True,
    ) as bar:
        task = bar.add_task("tiles", total=passes * tiles)
        yield lambda n, total=None: bar.update(task, advance=n, total=total)
