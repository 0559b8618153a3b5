"""Tiled tracing: one image, any size, traced tile by tile on Dask, same SVG as untiled.

The stages (DESIGN.md section 2; the kernels are ``rust_kernels/src/tiled.rs``):

1. per tile: colour (or luma) histogram, and the pixels the preset chooser samples;
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

Tiles are read on the workers (from the Zarr store, the tiled TIFF, or an in-memory array
for small images), never gathered in one process; tasks pass compact ``bytes`` between
them, and the client receives only the statistics. The output is byte-identical to
:func:`vectile.vectorize` on the whole image, for every tile size.

Limits: opaque images only, no ``weights`` and no ``edges`` guidance (their float sums
depend on the order of addition); each raises an :class:`~vectile.errors.OptionError`.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from vectile import _kernels
from vectile.errors import InputError, OptionError, VectileError
from vectile.options import DEFAULT_TILE_SIZE, HUGE_PIXELS, PRESET_SAMPLE, TraceOptions, check_tile_size, preset_of_sample, resolve, settings

__all__ = ["NotTileable", "Prepass", "TileError", "TileReader", "open_source", "trace_image", "trace_tiled"]

class TileError(VectileError, RuntimeError):
    """A tile (or seam, or the assembly) failed; the message names which and why."""


class NotTileable(InputError):
    """The image cannot be traced in tiles (it has transparent pixels); trace it whole."""


@dataclass(frozen=True)
class TileReader:
    """Reads the pixels of one rectangle, on whichever worker runs the task.

    ``store``: a Zarr store written by :mod:`vectile.tiling.ingest`; ``array``: an
    in-memory (H, W, C) uint8 array (on a cluster it is scattered once and passed to the
    tasks as ``pixels``, never pickled into each task); ``lazy``: any
    other lazy array with numpy slicing (a tiled TIFF read in place), computed per tile.
    """

    width: int
    height: int
    bands: int
    store: str | None = None
    array: np.ndarray | None = None
    lazy: Any = None

    def __call__(self, x0: int, y0: int, w: int, h: int, pixels: np.ndarray | None = None) -> np.ndarray:
        if self.store is not None:
            block = _zarr_array(self.store)[y0:y0 + h, x0:x0 + w]
        elif pixels is not None or self.array is not None:
            block = (self.array if pixels is None else pixels)[y0:y0 + h, x0:x0 + w]
        else:
            block = self.lazy[y0:y0 + h, x0:x0 + w]
            if hasattr(block, "compute"):
                block = block.compute(scheduler="sync")
        out = np.ascontiguousarray(np.asarray(block), dtype=np.uint8)
        if out.ndim != 3 or out.shape[:2] != (h, w) or out.shape[2] not in (3, 4):
            raise InputError(f"tile read at ({x0}, {y0}) gave shape {out.shape}, expected ({h}, {w}, 3|4)")
        return out

    @classmethod
    def of(cls, image: Any) -> TileReader:
        """A reader for a numpy array, the DataArray :mod:`vectile.tiling.ingest` returns, or
        the path (:class:`~pathlib.Path`) of a tile store; a reader passes through."""
        if isinstance(image, TileReader):
            return image
        if isinstance(image, Path):
            store = os.fspath(image.absolute())
            try:
                height, width, bands = _zarr_array(store).shape
            except Exception as exc:
                raise InputError(f"cannot open the tile store '{image}': {exc}", path=str(image)) from None
            return cls(width=width, height=height, bands=bands, store=store)
        if isinstance(image, np.ndarray):
            a = image if image.ndim == 3 else np.repeat(image[..., None], 3, axis=2)
            if a.dtype != np.uint8 or a.shape[2] not in (3, 4):
                raise InputError(f"tiled tracing needs (H, W, 3|4) uint8 pixels, got {image.dtype} {image.shape}")
            return cls(width=a.shape[1], height=a.shape[0], bands=a.shape[2], array=np.ascontiguousarray(a))
        shape = tuple(int(s) for s in image.shape)
        if len(shape) != 3 or shape[2] not in (3, 4):
            raise InputError(f"tiled tracing needs (H, W, 3|4) pixels, got shape {shape}")
        store = getattr(image, "attrs", {}).get("store")
        if store and Path(store).is_dir():
            return cls(width=shape[1], height=shape[0], bands=shape[2], store=str(store))
        data = getattr(image, "data", image)
        return cls(width=shape[1], height=shape[0], bands=shape[2], lazy=data)


_ZARR_CACHE: dict[tuple[str, int], Any] = {}


def _zarr_array(store: str) -> Any:
    """The store's array, opened once per process (again when the store was rewritten);
    each read decodes in the calling task's thread only (tasks already run one per core)."""
    try:
        key = (store, os.stat(os.path.join(store, "zarr.json")).st_mtime_ns)
    except OSError:
        key = (store, 0)
    array = _ZARR_CACHE.get(key)
    if array is None:
        from vectile.tiling.store import open_store

        array = open_store(store, threads=1)
        if len(_ZARR_CACHE) >= 8:  # bounded: drop the store opened first
            del _ZARR_CACHE[next(iter(_ZARR_CACHE))]
        _ZARR_CACHE[key] = array
    return array


@dataclass(frozen=True)
class _Grid:
    width: int
    height: int
    tile: int

    @property
    def cols(self) -> int:
        return -(-self.width // self.tile)

    @property
    def rows(self) -> int:
        return -(-self.height // self.tile)

    def __len__(self) -> int:
        return self.cols * self.rows

    def rect(self, i: int) -> tuple[int, int, int, int]:
        r, c = divmod(i, self.cols)
        x0, y0 = c * self.tile, r * self.tile
        return x0, y0, min(self.tile, self.width - x0), min(self.tile, self.height - y0)

    def name(self, i: int) -> str:
        x0, y0, w, h = self.rect(i)
        r, c = divmod(i, self.cols)
        return f"tile {i} (row {r}, column {c}: x {x0}..{x0 + w}, y {y0}..{y0 + h})"


def _named(what: str, fn: Callable[..., Any], *args: Any) -> Any:
    """Run ``fn``; any failure becomes a TileError that names ``what``."""
    try:
        return fn(*args)
    except (TileError, NotTileable):
        raise
    except Exception as exc:
        raise TileError(f"{what} failed: {type(exc).__name__}: {exc}") from None


# --- task bodies (module level, so workers can unpickle them) ---------------------------------


def _histogram(px: np.ndarray, x0: int, y0: int, width: int, height: int, mode: str,
               sample_step: int) -> tuple[bytes, np.ndarray]:
    """The histogram of the block ``px`` at (x0, y0) of a width x height image, and the
    packed colours of its pixels in ``choose_preset``'s sample (global raster index a
    multiple of ``sample_step``; none when 0).  Summed over any blocks that cover the image
    once, both are the same: blocks need not be the trace's tiles."""
    h, w = px.shape[:2]
    hist = _kernels.tile_histogram(px, x0=x0, y0=y0, width=width, height=height, mode=mode)
    sample = np.empty(0, np.uint32)
    if sample_step:
        # Per row: the first sampled column, then every sample_step-th (no per-pixel work).
        first = -(np.arange(y0, y0 + h, dtype=np.int64) * width + x0) % sample_step
        count = np.maximum(0, (w - first + sample_step - 1) // sample_step)
        rows = np.repeat(np.arange(h), count)
        within = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
        rgb = px[rows, np.repeat(first, count) + within * sample_step, :3].astype(np.uint32)
        sample = (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]
    return hist, sample


def _hist_task(reader: TileReader, pixels: Any, grid: _Grid, i: int, mode: str,
               sample_step: int) -> tuple[bytes, np.ndarray]:
    def work() -> tuple[bytes, np.ndarray]:
        x0, y0, w, h = grid.rect(i)
        return _histogram(reader(x0, y0, w, h, pixels), x0, y0, grid.width, grid.height, mode, sample_step)

    return _named(grid.name(i), work)


#: Tile histograms are merged this many at a time before the palette task (and the
#: :class:`Prepass` merges what it holds at this count), so memory holds the distinct colours
#: of a few tiles at once, not of every tile: a 2048-pixel tile of a noisy photo has a 2-5 MB
#: histogram, which over a gigapixel's 240 tiles would be 0.5-1.2 GB.
_MERGE_GROUP = 8


def _merge(parts: list[tuple[bytes, np.ndarray]]) -> tuple[bytes, np.ndarray]:
    """Histograms and preset samples of several blocks as one (same palette, same preset)."""
    if len(parts) == 1:
        return parts[0]
    return (_kernels.tile_histogram_merge([p[0] for p in parts]),
            np.concatenate([p[1] for p in parts]))


def _merge_task(parts: list[tuple[bytes, np.ndarray]], name: str) -> tuple[bytes, np.ndarray]:
    return _named(name, _merge, parts)


class Prepass:
    """The histogram pass done while the image streams into Zarr: a
    :data:`~vectile.tiling.stream.TileHook` for :func:`open_source` that keeps each streamed
    tile's histogram and preset sample, so :func:`trace_tiled` (``prepass=``) skips reading
    every tile once more.  ``options`` are the trace's (only ``mode`` and ``preset`` matter
    here).  Used only when it saw every pixel (:attr:`complete`)."""

    def __init__(self, options: dict[str, Any]) -> None:
        mode = options.get("mode") or "color"
        # A mode trace_tiled will refuse: do nothing here, let it report the option.
        self.mode = mode if mode in ("color", "binary") else None
        self.sampled = options.get("preset") is None and self.mode != "binary"
        self.hists: list[tuple[bytes, np.ndarray]] = []
        self.pixels = 0
        self.size: tuple[int, int] | None = None

    def __call__(self, px: np.ndarray, x0: int, y0: int, width: int, height: int) -> None:
        if self.mode is None:
            return
        self.size = (width, height)
        step = max(1, width * height // PRESET_SAMPLE) if self.sampled else 0
        self.hists.append(_histogram(px, x0, y0, width, height, self.mode, step))
        if len(self.hists) >= _MERGE_GROUP:
            self.hists = [_merge(self.hists)]
        self.pixels += px.shape[0] * px.shape[1]

    def complete(self, width: int, height: int) -> bool:
        """Whether it saw every pixel of a width x height image, once."""
        return self.size == (width, height) and self.pixels == width * height


def _palette_task(hists: list[tuple[bytes, np.ndarray]], preset: str | None, tuned: dict[str, Any], seed: int,
                  mode: str, threshold: int | None, layers: str) -> dict[str, Any]:
    """The preset (from the tiles' samples when not given), its settings and the global
    palette: everything later tasks need, decided on a worker without a client round trip."""
    def work() -> dict[str, Any]:
        name = preset or preset_of_sample(np.concatenate([h[1] for h in hists]))
        p = settings(name, **tuned)
        try:
            state, palette = _kernels.tile_palette([h[0] for h in hists], colors=p.colors, seed=seed, mode=mode,
                                                   threshold=threshold)
        except _kernels.KernelInputError as exc:
            if "opaque" in str(exc):
                raise NotTileable(str(exc)) from None
            raise
        return {"state": state, "preset": name, "min_area": p.min_area, "tolerance": float(p.tolerance),
                "corner_run": p.corner_run, "precision": p.precision, "layers": layers}

    return _named("the palette", work)


def _regions_task(reader: TileReader, pixels: Any, grid: _Grid, i: int, palette: dict[str, Any]) -> tuple[bytes, bytes]:
    def work() -> tuple[bytes, bytes]:
        x0, y0, w, h = grid.rect(i)
        return _kernels.tile_regions(reader(x0, y0, w, h, pixels), x0=x0, y0=y0, width=grid.width,
                                     height=grid.height, palette=palette["state"])

    return _named(grid.name(i), work)


def _seam_task(a: bytes, b: bytes, vertical: bool, name: str) -> bytes:
    """Links across one seam, from the borders of the tiles on either side."""
    return _named(name, lambda: _kernels.tile_seam(a, b, vertical=vertical))


def _stitch_task(regions: list[tuple[bytes, bytes]], seams: list[bytes], grid: _Grid,
                 palette: dict[str, Any]) -> tuple[list[bytes], bytes]:
    def work() -> tuple[list[bytes], bytes]:
        return _kernels.tile_stitch([r[0] for r in regions], [r[1] for r in regions], seams,
                                    width=grid.width, height=grid.height, tile=grid.tile,
                                    palette=palette["state"], min_area=palette["min_area"])

    return _named("the region stitch", work)


def _item(value: Any, *path: int) -> Any:
    """``value[path[0]][path[1]]...``: one part of another task's result, as its own task, so
    the tasks that need only that part fetch only that part."""
    for i in path:
        value = value[i]
    return value


def _arcs_task(reader: TileReader, pixels: Any, grid: _Grid, i: int, palette: dict[str, Any],
               links: bytes) -> bytes:
    def work() -> bytes:
        x0, y0, w, h = grid.rect(i)
        return _kernels.tile_arcs(reader(x0, y0, w, h, pixels), x0=x0, y0=y0, width=grid.width,
                                  height=grid.height, palette=palette["state"], links=links,
                                  tolerance=palette["tolerance"], corner_run=palette["corner_run"],
                                  layers=palette["layers"])

    return _named(grid.name(i), work)


def _assemble_task(arcs: list[bytes], stitched: tuple[list[bytes], bytes], grid: _Grid,
                   palette: dict[str, Any], output: str | None) -> tuple[str | None, dict[str, Any]]:
    def work() -> tuple[str | None, dict[str, Any]]:
        text, kstats = _kernels.tile_assemble(arcs, stitched[1], width=grid.width, height=grid.height,
                                              tolerance=palette["tolerance"], corner_run=palette["corner_run"],
                                              precision=palette["precision"], layers=palette["layers"])
        stats = {"preset": palette["preset"], **kstats}
        if output is None:
            return text, stats
        from vectile._io import write_atomic

        write_atomic(output, text)
        return None, stats

    return _named("the assembly", work)


# --- drivers ------------------------------------------------------------------------------------


class _Local:
    """In-process executor with the client's ``submit`` shape: runs each call at once."""

    def submit(self, fn: Callable[..., Any], *args: Any, key: str | None = None, **kw: Any) -> Any:
        return fn(*args)


def _check_tileable(options: dict[str, Any]) -> TraceOptions:
    """The options checked, refusing those the tiled tracer cannot honour: ``weights`` and
    ``edges`` guidance sum floats in an order that depends on the tiles."""
    for unsupported in ("weights", "edges"):
        if options.get(unsupported) is not None:
            raise OptionError(f"{unsupported} cannot be combined with tiled tracing (tile_size); "
                              "trace the image untiled", option=unsupported)
    return resolve({k: v for k, v in options.items() if k not in ("weights", "edges")})


def trace_tiled(
    image: Any,
    *,
    tile_size: int,
    options: dict[str, Any],
    client: Any = None,
    output: str | os.PathLike[str] | None = None,
    progress: bool = False,
    prepass: Prepass | None = None,
) -> tuple[str | None, dict[str, Any]]:
    """Trace ``image`` (numpy array, the DataArray of :mod:`vectile.tiling.ingest`, or the
    :class:`~pathlib.Path` of a tile store it wrote) in tiles of ``tile_size`` pixels;
    ``options`` are :func:`vectile.vectorize`'s keywords.

    Runs on the Dask ``client`` when given (one task per tile and stage, one per seam), else
    in this process. With ``output`` the SVG is written there (atomically, by the worker that
    assembles it) and the text returned is None; without, the text comes back. A
    :class:`Prepass` that saw the whole image while it streamed replaces the histogram pass
    (stats ``"prepass": True``); the SVG is the same either way. Returns ``(text, stats)``.
    """
    tile_size = check_tile_size(tile_size)
    opts = {k: v for k, v in options.items() if k != "max_pixels"}
    checked = _check_tileable(opts)
    tuned = dict(checked.tuned)
    mode, layers, preset, seed, threshold = (checked.mode, checked.layers, checked.preset, checked.seed,
                                             checked.threshold)
    start = time.perf_counter()
    reader = TileReader.of(image)
    grid = _Grid(reader.width, reader.height, int(tile_size))
    sample_step = max(1, grid.width * grid.height // PRESET_SAMPLE) if preset is None else 0

    ex = client if client is not None else _Local()
    run = uuid.uuid4().hex[:12]
    pixels: Any = None
    if client is not None and reader.array is not None:
        # One copy per worker, fetched on first use, instead of one inside every task.
        pixels = client.scatter(reader.array, broadcast=False, hash=False)
        reader = replace(reader, array=None)
    tiles = range(len(grid))
    pre = prepass if (prepass is not None and prepass.complete(grid.width, grid.height) and prepass.mode == mode
                      and (preset is not None or prepass.sampled)) else None
    with _progress_bar(progress, len(grid), 2 if pre else 3) as advance:
        if pre is not None:
            hists = client.scatter(pre.hists, hash=False) if client is not None else list(pre.hists)
            watched = []
        else:
            # Each group's merge is submitted right after its tiles, so it runs (and frees
            # their histograms) before later groups' tiles.
            watched, hists = [], []
            for g0 in range(0, len(grid), _MERGE_GROUP):
                group = [ex.submit(_hist_task, reader, pixels, grid, i, mode, sample_step,
                                   key=f"vectile-hist-{run}-{i}") for i in tiles[g0:g0 + _MERGE_GROUP]]
                watched += group
                hists.append(group[0] if len(group) == 1 else
                             ex.submit(_merge_task, group, f"merging the histograms of tiles {g0}..{g0 + len(group) - 1}",
                                       key=f"vectile-merge-{run}-{g0}"))
        palette = ex.submit(_palette_task, hists, preset, tuned, seed, mode, threshold, layers,
                            key=f"vectile-palette-{run}")
        regions = [ex.submit(_regions_task, reader, pixels, grid, i, palette, key=f"vectile-regions-{run}-{i}")
                   for i in tiles]
        # Seams need only the tiles' borders, not their region tables (tens of MB on photos).
        borders = [ex.submit(_item, regions[i], 1, key=f"vectile-border-{run}-{i}") for i in tiles]
        seams = [ex.submit(_seam_task, borders[a], borders[b], vertical,
                           f"seam between {grid.name(a)} and {grid.name(b)}", key=f"vectile-seam-{run}-{k}")
                 for k, (a, b, vertical) in enumerate(_kernels.tile_seams(width=grid.width, height=grid.height,
                                                                          tile=grid.tile))]
        stitched = ex.submit(_stitch_task, regions, seams, grid, palette, key=f"vectile-stitch-{run}")
        links = [ex.submit(_item, stitched, 0, i, key=f"vectile-links-{run}-{i}") for i in tiles]
        arcs = [ex.submit(_arcs_task, reader, pixels, grid, i, palette, links[i], key=f"vectile-arcs-{run}-{i}")
                for i in tiles]
        out = None if output is None else os.fspath(Path(output).absolute())
        done = ex.submit(_assemble_task, arcs, stitched, grid, palette, out, key=f"vectile-assemble-{run}")
        _watch(client, watched + regions + arcs, advance)
        text, kstats = _result(client, done)
    stats = {"width": grid.width, "height": grid.height, "mode": mode, "layers": layers,
             **kstats, "tiles": len(grid), "tile_size": grid.tile, "prepass": pre is not None,
             "seconds": round(time.perf_counter() - start, 6)}
    return text, stats


def _result(client: Any, future: Any) -> Any:
    if client is None:
        return future
    return future.result()


def _watch(client: Any, futures: list[Any], advance: Callable[[int], None]) -> None:
    """Advance the bar as tile tasks finish (errors surface from the final result)."""
    if client is None:
        advance(len(futures))
        return
    from distributed import as_completed

    for f in as_completed(futures, loop=client.loop):
        if f.status == "error":
            f.result()  # raises the TileError naming the tile
        advance(1)


@contextlib.contextmanager
def _progress_bar(show: bool, tiles: int, passes: int) -> Iterator[Callable[[int], None]]:
    """A progress bar over the ``passes`` passes of tile tasks (rich, on stderr)."""
    if not show:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("tiles"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(file=sys.stderr), transient=True) as bar:
        task = bar.add_task("tiles", total=passes * tiles)
        yield lambda n: bar.advance(task, n)


@contextlib.contextmanager
def open_source(image: Any, *, max_pixels: int, threshold_pixels: int | None = None,
                store_dir: str | os.PathLike[str] | None = None, prepass: Prepass | None = None) -> Iterator[Any]:
    """The pixels of ``image`` for :func:`trace_tiled`, without decoding a huge file whole.

    Paths of images over ``threshold_pixels`` (default :data:`~vectile.options.HUGE_PIXELS`)
    are streamed into a temporary Zarr store (in ``store_dir``, default the system's
    temporary folder; removed on exit), tiled TIFFs are read in place; smaller files are
    decoded in memory. Arrays and DataArrays pass through. A :class:`Prepass` given here
    sees the tiles as they stream; hand it to :func:`trace_tiled` too.
    """
    import tempfile

    from vectile._io import load_image

    if not isinstance(image, (str, os.PathLike)):
        if hasattr(image, "attrs") and hasattr(image, "dims"):  # an xarray DataArray
            yield image
        else:
            yield load_image(image, max_pixels=max_pixels)
        return
    from vectile.tiling.ingest import load_or_store

    limit = HUGE_PIXELS if threshold_pixels is None else threshold_pixels
    with tempfile.TemporaryDirectory(prefix="vectile-tiles-", dir=store_dir) as tmp:
        found = load_or_store(image, tmp, tile_size=DEFAULT_TILE_SIZE, threshold_pixels=limit,
                              max_pixels=max_pixels, on_tile=prepass)
        # A streamed store is read by path (no DataArray: importing xarray costs ~1 s).
        yield TileReader.of(found) if isinstance(found, Path) else found


def trace_image(
    image: Any,
    options: dict[str, Any],
    *,
    tile_size: int | None = None,
    client: Any = None,
    output: str | os.PathLike[str] | None = None,
    progress: bool = False,
    max_pixels: int,
    stream_above: int | None = None,
) -> tuple[str | None, dict[str, Any]]:
    """The one tiled entry point, used by ``vectorize(tile_size=)``, ``vectile convert`` and
    the batch: trace ``image`` (a path, array, PIL image, or tile store) in tiles.

    ``options``: :func:`vectile.vectorize`'s keywords (None = default).  A path to an image
    over ``stream_above`` pixels (default :data:`~vectile.options.HUGE_PIXELS`; 0 streams
    every file) is streamed into a temporary Zarr store, never decoded whole, and its
    histograms are taken while it streams (:class:`Prepass`).  Tiles run on the Dask
    ``client`` when given, else in this process.  With ``output`` the SVG is written there
    atomically (by the worker that assembles it) and the text returned is None.

    ``tile_size`` given: the caller asked for tiles, so what prevents tiling is an error
    (:class:`NotTileable` for transparent pixels, :class:`~vectile.errors.OptionError` for the
    ``weights`` and ``edges`` options).  ``tile_size`` None: tiling was chosen for the caller
    (:data:`~vectile.options.DEFAULT_TILE_SIZE`), and an image the tiled tracer cannot take
    is traced whole instead, in this process.  ``stats["tiled"]`` says which happened and
    ``stats["untiled_because"]`` why.  Returns ``(text, stats)``.
    """
    from vectile._api import trace_whole

    if tile_size is not None:  # tiling the caller asked for: what prevents it is an error
        text, stats = _trace_streamed(image, options, check_tile_size(tile_size), client, output, progress,
                                      max_pixels, stream_above)
        return text, {**stats, "tiled": True}
    opts = {k: v for k, v in options.items() if v is not None}
    why = next((f"the {k} option needs the whole image" for k in ("weights", "edges") if k in opts), None)
    if why is None:
        try:
            text, stats = _trace_streamed(image, opts, DEFAULT_TILE_SIZE, client, output, progress, max_pixels,
                                          stream_above)
            return text, {**stats, "tiled": True}
        except NotTileable as exc:
            why = str(exc)
    svg = trace_whole(image, opts, max_pixels=max_pixels)
    stats = {**svg.stats, "tiled": False, "untiled_because": why}
    if output is None:
        return str(svg), stats
    from vectile._io import write_atomic

    write_atomic(output, str(svg))
    return None, stats


def _trace_streamed(image: Any, options: dict[str, Any], tile_size: int, client: Any,
                    output: str | os.PathLike[str] | None, progress: bool, max_pixels: int,
                    stream_above: int | None) -> tuple[str | None, dict[str, Any]]:
    opts = {k: v for k, v in options.items() if v is not None}
    _check_tileable(opts)  # bad options fail before any streaming
    prepass = Prepass(opts)
    with open_source(image, max_pixels=max_pixels, threshold_pixels=stream_above, prepass=prepass) as pixels:
        return trace_tiled(pixels, tile_size=tile_size, options=opts, client=client, output=output,
                           progress=progress, prepass=prepass)
