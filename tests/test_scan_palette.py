"""The scan palette (ΔE merge, blends, paper) and ``background``: bench icons printed on
yellowed paper under a lamp that falls off across the page, with sensor noise, as JPEG."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import binary_erosion

from bench.corpus import default_corpus
from bench.metrics import render_svg
from vectile import _kernels
from vectile._whole import trace_whole
from vectile.tiling import NotTileable, trace_tiled

BENCH = default_corpus()
PAPER = np.array([245, 232, 196], np.float32) / 255


def clean_icon(index: int, scale: int) -> np.ndarray:
    """Bench icon ``index`` on white, enlarged ``scale`` times (a print of it)."""
    files = sorted((BENCH / "icons").glob("*.png"))
    assert files, f"benchmark icons missing in {BENCH / 'icons'} (../shared/bench)"
    icon = Image.open(files[index]).convert("RGBA")
    page = Image.new("RGBA", icon.size, (255, 255, 255, 255))
    page.alpha_composite(icon)
    return np.asarray(page.convert("RGB").resize((icon.width * scale, icon.height * scale), Image.LANCZOS))


def scanned(clean: np.ndarray, falloff: float = 0.2, sigma: float = 5.0, seed: int = 0) -> np.ndarray:
    """``clean`` on yellowed paper, the light falling off by ``falloff`` towards the far corner,
    with Gaussian noise, saved as JPEG quality 80."""
    h, w = clean.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    light = 1 - falloff * np.hypot(xx / w, yy / h) / np.sqrt(2)
    f = clean.astype(np.float32) * PAPER * light[..., None]
    f += np.random.default_rng(seed).normal(0, sigma, f.shape)
    buf = io.BytesIO()
    Image.fromarray(np.clip(f + 0.5, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=80)
    return np.asarray(Image.open(buf).convert("RGB"))


def paper_pixels(clean: np.ndarray) -> np.ndarray:
    """Where the clean print is white paper, away from its edges."""
    return binary_erosion((clean == 255).all(axis=2), iterations=3)


def colours_at(svg: str, shape: tuple[int, ...], where: np.ndarray) -> dict[int, int]:
    """Rendered colour (packed RGB) -> pixel count, over ``where``."""
    rgb = render_svg(svg, shape[1], shape[0])[..., :3].astype(np.int64)
    packed = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    values, counts = np.unique(packed[where], return_counts=True)
    return dict(zip(values.tolist(), counts.tolist(), strict=True))


SCAN = {"preset": "scan", "denoise": 0}


@pytest.fixture(scope="module")
def page() -> tuple[np.ndarray, np.ndarray]:
    clean = clean_icon(1, 3)
    return clean, scanned(clean)


def test_paper_is_one_flat_colour_despite_the_lamp(page):
    clean, scan = page
    where = paper_pixels(clean)
    assert where.sum() > 0.2 * where.size
    # Today's pipeline (no scan palette): k-means cuts the shaded, noisy paper into bands.
    plain = trace_whole(scan, {"preset": "photo"})
    assert len(colours_at(str(plain), scan.shape, where)) > 20
    keep = trace_whole(scan, {**SCAN, "background": "keep"})
    got = colours_at(str(keep), scan.shape, where)
    # One colour; without the denoise a few specks of noise survive (here 0.13 %).
    top = max(got.values())
    assert top > 0.995 * sum(got.values()), f"paper drawn in {len(got)} colours: {got}"
    # The paper's colour is the mean of the shaded paper: yellowish, darker than white.
    c = max(got, key=got.get)
    r, g, b = c >> 16, (c >> 8) & 255, c & 255
    assert 200 < r < 250 and b < g < r, (r, g, b)
    assert keep.stats["palette"] < plain.stats["palette"]
    assert keep.stats["bytes"] < plain.stats["bytes"] / 10
    white = trace_whole(scan, {**SCAN, "background": "white"})
    got = colours_at(str(white), scan.shape, where)
    assert got[0xFFFFFF] == max(got.values()) > 0.995 * where.sum()


def test_white_background_brings_back_the_ink_colours(page):
    """White-balancing every colour to the paper undoes the paper's tint: the trace is much
    closer to the clean print than the kept paper's."""
    clean, scan = page
    err = {}
    for bg in ("keep", "white"):
        svg = trace_whole(scan, {**SCAN, "background": bg})
        got = render_svg(str(svg), scan.shape[1], scan.shape[0])[..., :3].astype(np.float64)
        err[bg] = np.sqrt(((got - clean) ** 2).mean())
    assert err["white"] < err["keep"] / 2, err


def test_transparent_paper_is_not_drawn_and_not_tiled(page):
    clean, scan = page
    svg = trace_whole(scan, {**SCAN, "background": "transparent"})
    alpha = render_svg(str(svg), scan.shape[1], scan.shape[0])[..., 3]
    where = paper_pixels(clean)
    assert (alpha[where] == 0).mean() > 0.995  # the same specks of noise as above
    # The ink is drawn (opaque away from its edges).
    ink = binary_erosion((clean < 128).any(axis=2), iterations=3)
    assert ink.any() and (alpha[ink] == 255).all()
    with pytest.raises(NotTileable, match="transparent"):
        trace_tiled(scan, tile_size=64, options={**SCAN, "background": "transparent"})


@pytest.mark.parametrize("extra", [{"background": None}, {"background": "keep"}, {"background": "white"}])
@pytest.mark.parametrize("index", [0, 5])
def test_tiled_equals_untiled(extra, index):
    scan = scanned(clean_icon(index, 2), seed=index)
    options = {**SCAN, **extra}
    want = str(trace_whole(scan, options))
    for tile in (23, 100):
        text, stats = trace_tiled(scan, tile_size=tile, options=options)
        assert text == want, (options, tile)
        assert stats["preset"] == "scan"


def test_white_field_makes_the_lamp_vanish(page):
    """With ``white`` the paper's white field (paper x lamp fall-off) is divided out before
    the palette: every colour comes back as printed, wherever the lamp left it, and the
    trace is much closer to the clean print than one white balance for the whole page made
    it (RMSE against the clean print: 11.25 with that, 7.28 with the field)."""
    clean, scan = page
    svg = trace_whole(scan, {**SCAN, "background": "white"})
    got = render_svg(str(svg), scan.shape[1], scan.shape[0])[..., :3].astype(np.float64)
    rmse = np.sqrt(((got - clean) ** 2).mean())
    assert rmse < 9.0, rmse


def has_field(px: np.ndarray, background: str) -> bool:
    """Whether the scan palette of ``px`` (RGB) finds a white field: paper, in enough cells."""
    h, w = px.shape[:2]
    hist = _kernels.tile_histogram(px, x0=0, y0=0, width=w, height=h, mode="color")
    state, _ = _kernels.tile_palette(
        [hist], colors=32, seed=0, mode="color", threshold=None, delta_e=8.0, background=background
    )
    sums = _kernels.tile_field_sums(px, x0=0, y0=0, palette=state)
    return _kernels.tile_field([sums], width=w, height=h, palette=state) is not None


def test_no_paper_no_field():
    """A page with no paper (a full-bleed crop) has no field: nothing is divided out."""
    assert not has_field(np.full((128, 128, 3), 80, np.uint8), "white")
    dark = scanned(np.full((128, 128, 3), 60, np.uint8))
    assert not has_field(dark, "white")


@pytest.mark.parametrize("background", ["keep", "white"])
def test_tiled_equals_untiled_with_the_white_field_and_the_denoise(background):
    """The white field from per-tile sums, tiles flattened in the cleaned store: the same SVG
    for every tile size, down to tiny tiles."""
    # 128 x 128 (a reduced print): enough paper cells for a field, few enough tiny tiles.
    small = np.asarray(Image.fromarray(clean_icon(2, 1)).resize((128, 128), Image.LANCZOS))
    scan = scanned(small, seed=7)
    options = {"preset": "scan", "background": background}
    assert has_field(scan, background)
    want = str(trace_whole(scan, options))
    for tile in (7, 37, 100):
        text, _ = trace_tiled(scan, tile_size=tile, options=options)
        assert text == want, (options, tile)
