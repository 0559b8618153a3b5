"""Local speckle merging (``local_merge``): through the kernel bindings, the tiled stages give
the SVG of the untiled trace for every tile size on a noisy real photo, and the option is
refused where it cannot hold (an edge guide, stages run with different settings)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from bench.corpus import default_corpus
from vectile import _kernels

BENCH = default_corpus()
FIT = {"tolerance": 1.0, "corner_run": 2}


@pytest.fixture(scope="module")
def noisy() -> np.ndarray:
    path = BENCH / "photos" / "100007.png"
    assert path.is_file(), f"benchmark image {path} is missing (../shared/bench)"
    image = np.asarray(Image.open(path).convert("RGB"))[:120, :150].astype(np.float64)
    rng = np.random.default_rng(6)
    return np.clip(np.rint(image + rng.normal(0.0, 6.0, image.shape)), 0, 255).astype(np.uint8)


def _untiled(image: np.ndarray, local_merge: bool) -> tuple[str, dict[str, int]]:
    return _kernels.trace(
        image, colors=16, seed=0, min_area=8, precision=1, layers="stacked", mode="color",
        local_merge=local_merge, **FIT,
    )  # fmt: skip


def _tiled(image: np.ndarray, tile: int, local_merge: bool, stitch_local: bool | None = None) -> str:
    """The tiled stages in one process, as the Dask flow runs them."""
    height, width = image.shape[:2]
    rects = [
        (x0, y0, min(tile, width - x0), min(tile, height - y0))
        for y0 in range(0, height, tile)
        for x0 in range(0, width, tile)
    ]
    geo = {"width": width, "height": height}

    def crop(r: tuple[int, int, int, int]) -> np.ndarray:
        x0, y0, w, h = r
        return np.ascontiguousarray(image[y0 : y0 + h, x0 : x0 + w])

    hists = [_kernels.tile_histogram(crop(r), x0=r[0], y0=r[1], mode="color", **geo) for r in rects]
    state, _ = _kernels.tile_palette(hists, colors=16, seed=0, mode="color")
    merge = {"local_merge": local_merge, "min_area": 8}
    parts = [_kernels.tile_regions(crop(r), x0=r[0], y0=r[1], palette=state, **merge, **geo) for r in rects]
    seams = [
        _kernels.tile_seam(parts[a][1], parts[b][1], vertical=v) for a, b, v in _kernels.tile_seams(tile=tile, **geo)
    ]
    links, table = _kernels.tile_stitch(
        [p[0] for p in parts], [p[1] for p in parts], seams, tile=tile, palette=state, min_area=8,
        local_merge=local_merge if stitch_local is None else stitch_local, **geo,
    )  # fmt: skip
    arcs = [
        _kernels.tile_arcs(
            crop(r), x0=r[0], y0=r[1], palette=state, links=link, layers="stacked", **merge, **FIT, **geo
        )
        for r, link in zip(rects, links, strict=True)
    ]
    svg, _ = _kernels.tile_assemble(arcs, table, precision=1, layers="stacked", **FIT, **geo)
    return svg


def test_local_merge_tiled_equals_untiled_on_a_noisy_photo(noisy):
    want, stats = _untiled(noisy, local_merge=True)
    for tile in (7, 32, 64, 150):
        assert _tiled(noisy, tile, local_merge=True) == want, f"tile {tile}: tiled SVG differs"
    # The option is a different merge order: the same image traces differently without it,
    # and the tiled global order still matches its own untiled trace.
    off, off_stats = _untiled(noisy, local_merge=False)
    assert off != want
    assert _tiled(noisy, 32, local_merge=False) == off
    assert stats["regions"] > 0 and off_stats["regions"] > 0


def test_local_merge_refuses_an_edge_guide_and_mixed_stages(noisy):
    edges = np.zeros(noisy.shape[:2], np.float32)
    with pytest.raises(_kernels.KernelOptionError, match="edge guide"):
        _kernels.trace(
            noisy, colors=16, seed=0, min_area=8, precision=1, layers="stacked", mode="color",
            edges=edges, local_merge=True, **FIT,
        )  # fmt: skip
    with pytest.raises(_kernels.KernelInputError, match="local_merge"):
        _tiled(noisy, 64, local_merge=True, stitch_local=False)
