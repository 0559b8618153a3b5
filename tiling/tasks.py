"""Task bodies of the tiled trace, one per stage (DESIGN.md section 2).

They are module-level functions, so workers unpickle them by reference, and each runs under
:func:`~vectile.tiling.grid.named` so a failure names its tile, seam or stage.  Tasks pass
compact ``bytes`` (the kernels' own encodings) between them; tile tasks read their pixels
where they run (:class:`~vectile.tiling.reader.TileReader`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vectile import _kernels
from vectile._io import text_or_file
from vectile._scan import noise_sigma, noise_windows, window_signals
from vectile.options import preset_of_sample, settings
from vectile.tiling.grid import Grid, NotTileable, named
from vectile.tiling.prepass import histogram, merge
from vectile.tiling.reader import TileReader

__all__ = [
    "arcs_task",
    "assemble_task",
    "hist_task",
    "item",
    "merge_task",
    "noise_task",
    "palette_task",
    "preset_task",
    "regions_task",
    "seam_task",
    "stitch_task",
]


def hist_task(
    reader: TileReader, pixels: Any, grid: Grid, i: int, mode: str, sample_step: int
) -> tuple[bytes, np.ndarray]:
    """Stage 1: tile ``i``'s histogram and preset sample (:func:`~vectile.tiling.prepass.histogram`)."""

    def work() -> tuple[bytes, np.ndarray]:
        x0, y0, w, h = grid.rect(i)
        return histogram(reader(x0, y0, w, h, pixels), x0, y0, grid.width, grid.height, mode, sample_step)

    return named(grid.name(i), work)


def _noise_windows(reader: TileReader, pixels: Any, grid: Grid) -> list[np.ndarray]:
    """The pixels of the windows an untiled trace measures the noise on
    (:func:`~vectile._scan.noise_windows`), read from the tiles' source."""
    return [reader(x0, y0, w, h, pixels) for x0, y0, w, h in noise_windows(grid.width, grid.height)]


def noise_task(reader: TileReader, pixels: Any, grid: Grid) -> float:
    """The image's noise level, as an untiled trace measures it, for the scan front end."""

    def work() -> float:
        return noise_sigma(_noise_windows(reader, pixels, grid))

    return named("the noise estimate", work)


def preset_task(
    hists: list[tuple[bytes, np.ndarray]], reader: TileReader, pixels: Any, grid: Grid
) -> tuple[str, float]:
    """The preset chosen from the tiles' preset samples and the image's ``(noise, flat)``
    signals (on the same windows as :func:`noise_task`), as
    :func:`~vectile.options.choose_preset` chooses it for the whole image, and the noise level.
    Measured after the histogram pass, so a failing tile stops the run first."""

    def work() -> tuple[str, float]:
        signals = window_signals(_noise_windows(reader, pixels, grid))
        return preset_of_sample(np.concatenate([h[1] for h in hists]), signals), signals[0]

    return named("the preset choice", work)


def merge_task(parts: list[tuple[bytes, np.ndarray]], name: str) -> tuple[bytes, np.ndarray]:
    """Stage 1: a group of tile histograms as one (:func:`~vectile.tiling.prepass.merge`)."""
    return named(name, merge, parts)


def palette_task(
    hists: list[tuple[bytes, np.ndarray]],
    preset: str,
    tuned: dict[str, Any],
    seed: int,
    mode: str,
    threshold: int | None,
    layers: str,
) -> dict[str, Any]:
    """Stage 2: the preset's settings (the preset given, or chosen by :func:`preset_task`)
    and the global palette: everything later tasks need, decided on a worker.
    :class:`~vectile.tiling.grid.NotTileable` when the image has transparent pixels
    (or a transparent background is asked for: the kernel refuses it as not opaque)."""

    def work() -> dict[str, Any]:
        p = settings(preset, **tuned)
        try:
            state, palette = _kernels.tile_palette(
                [h[0] for h in hists],
                colors=p.colors,
                seed=seed,
                mode=mode,
                threshold=threshold,
                delta_e=p.delta_e,
                background=p.background,
            )
        except _kernels.KernelNotOpaqueError as exc:
            raise NotTileable(str(exc)) from None
        return {
            "state": state,
            "preset": preset,
            "min_area": p.min_area,
            "tolerance": float(p.tolerance),
            "corner_run": p.corner_run,
            "precision": p.precision,
            "layers": layers,
            # Speckles settled per tile (bounded stitch on noisy input); the preset decides.
            "local_merge": p.local_merge,
        }

    return named("the palette", work)


def _tile(reader: TileReader, pixels: Any, grid: Grid, i: int, palette: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """Tile ``i``'s pixels and the keywords every per-tile kernel after the palette takes (the
    tile's place, the palette state and the speckle merge: the local merge runs in the
    regions stage and again, identically, in the arcs stage)."""
    x0, y0, w, h = grid.rect(i)
    where = {"x0": x0, "y0": y0, "width": grid.width, "height": grid.height}
    merge = {"local_merge": palette.get("local_merge", False), "min_area": palette["min_area"]}
    return reader(x0, y0, w, h, pixels), {**where, "palette": palette["state"], **merge}


def regions_task(reader: TileReader, pixels: Any, grid: Grid, i: int, palette: dict[str, Any]) -> tuple[bytes, bytes]:
    """Stage 3: tile ``i``'s local regions and the component ids along its border."""

    def work() -> tuple[bytes, bytes]:
        px, kw = _tile(reader, pixels, grid, i, palette)
        return _kernels.tile_regions(px, **kw)

    return named(grid.name(i), work)


def seam_task(a: bytes, b: bytes, vertical: bool, name: str) -> bytes:
    """Stage 4: links across one seam, from the borders of the tiles on either side."""
    return named(name, lambda: _kernels.tile_seam(a, b, vertical=vertical))


def stitch_task(
    regions: list[tuple[bytes, bytes]], seams: list[bytes], grid: Grid, palette: dict[str, Any]
) -> tuple[list[bytes], bytes]:
    """Stage 5: global region ids over the seams, speckles merged; per-tile links and the
    global region table."""

    def work() -> tuple[list[bytes], bytes]:
        return _kernels.tile_stitch(
            [r[0] for r in regions],
            [r[1] for r in regions],
            seams,
            width=grid.width,
            height=grid.height,
            tile=grid.tile,
            palette=palette["state"],
            min_area=palette["min_area"],
            local_merge=palette.get("local_merge", False),
        )

    return named("the region stitch", work)


def item(value: Any, *path: int) -> Any:
    """``value[path[0]][path[1]]...``: one part of another task's result, as its own task, so
    the tasks that need only that part fetch only that part."""
    for i in path:
        value = value[i]
    return value


def arcs_task(reader: TileReader, pixels: Any, grid: Grid, i: int, palette: dict[str, Any], links: bytes) -> bytes:
    """Stage 6: tile ``i``'s boundary edges, fitted where wholly inside, cut pieces kept."""

    def work() -> bytes:
        px, kw = _tile(reader, pixels, grid, i, palette)
        fit = {k: palette[k] for k in ("tolerance", "corner_run", "layers")}
        return _kernels.tile_arcs(px, links=links, **kw, **fit)

    return named(grid.name(i), work)


def assemble_task(
    arcs: list[bytes], stitched: tuple[list[bytes], bytes], grid: Grid, palette: dict[str, Any], output: str | None
) -> tuple[str | None, dict[str, Any]]:
    """Stage 7: pieces joined and fitted, outlines walked, the SVG written to ``output``
    (atomically; None comes back as the text) or returned."""

    def work() -> tuple[str | None, dict[str, Any]]:
        text, kstats = _kernels.tile_assemble(
            arcs,
            stitched[1],
            width=grid.width,
            height=grid.height,
            tolerance=palette["tolerance"],
            corner_run=palette["corner_run"],
            precision=palette["precision"],
            layers=palette["layers"],
        )
        return text_or_file(text, output), {"preset": palette["preset"], **kstats}

    return named("the assembly", work)
