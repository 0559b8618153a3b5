"""Centerline mode on drawings and maps with filled (thick) areas: ink wider than lines can be
becomes filled outlines in its colour beneath the strokes, the thin lines stay strokes that
reach the fill, and the blend pixels along a fill's edge never become a line of their own.
Checked by rendering the SVG back with resvg (``bench.metrics``), as a person would look."""

from __future__ import annotations

import re

import numpy as np
import pytest
import pyvips
from PIL import Image, ImageDraw

import vectile
from bench.corpus import default_corpus
from bench.metrics import composite_on_white, render_svg
from vectile.tiling import NotTileable, trace_image

FILL_PATH = re.compile(r'<path d="([^"]+)" fill="(#[0-9a-f]+)"/>')
STROKE_PATH = re.compile(r'<path fill="none" stroke="(#[0-9a-f]+)" stroke-width="([0-9.]+)"[^>]* d="([^"]+)"/>')
WORLD_MAP = default_corpus() / "large" / "world-map-12k.png"


def drawing() -> np.ndarray:
    """Anti-aliased (drawn 4x, downsampled): an arrow with a solid head, a solid disc with a
    3 px and a 1.5 px line leaving it, a red solid rectangle with a red line, a blue line and
    a thin ring."""
    s, (w, h) = 4, (320, 240)
    img = Image.new("RGB", (w * s, h * s), "white")
    d = ImageDraw.Draw(img)

    def line(pts: list[tuple[float, float]], width: float, colour: tuple[int, int, int] = (0, 0, 0)) -> None:
        d.line([(x * s, y * s) for x, y in pts], fill=colour, width=round(width * s), joint="curve")

    line([(20, 40), (180, 40)], 2)
    d.polygon([(180 * s, 16 * s), (236 * s, 40 * s), (180 * s, 64 * s)], fill=(0, 0, 0))
    d.ellipse([(60 * s, 90 * s), (100 * s, 130 * s)], fill=(0, 0, 0))
    line([(100, 110), (180, 110)], 3)
    line([(80, 130), (80, 200)], 1.5)
    d.rectangle([(200 * s, 100 * s), (280 * s, 160 * s)], fill=(200, 30, 30))
    line([(240, 160), (240, 220)], 2, (200, 30, 30))
    line([(120, 180), (300, 200)], 2, (30, 60, 200))
    d.ellipse([(20 * s, 160 * s), (60 * s, 220 * s)], outline=(0, 0, 0), width=2 * s)
    return np.asarray(img.resize((w, h), Image.Resampling.LANCZOS))


def dark(rgb: np.ndarray) -> np.ndarray:
    luma = rgb[..., :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    return luma < 160


def render(svg: str, w: int, h: int) -> np.ndarray:
    return composite_on_white(render_svg(svg, w, h))


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def strokes_only(svg: str) -> str:
    """The SVG with its fills (and canvas) left out: what the strokes draw alone."""
    return FILL_PATH.sub("", svg)


def test_solid_shapes_are_fills_and_lines_stay_strokes() -> None:
    img = drawing()
    h, w = img.shape[:2]
    svg = str(vectile.vectorize(img, mode="centerline"))
    fills = FILL_PATH.findall(svg)
    colours = {c for _, c in fills}
    # The canvas, the black shapes (disc, arrowhead) and the red rectangle, in the inks' own
    # colours (not a blend with the paper).
    assert "#fff" in colours and len(colours) == 3, colours
    inks = {c for c in colours if c != "#fff"}
    rgb = {c: tuple(int(c[i : i + 2], 16) for i in (1, 3, 5)) for c in inks}
    assert any(max(v) < 40 for v in rgb.values()), rgb  # black
    assert any(v[0] > 150 and v[1] < 60 and v[2] < 60 for v in rgb.values()), rgb  # red
    # Every line is still a stroke: the arrow's shaft, both lines off the disc, the red and
    # blue lines, the ring; widths stay those of the lines.
    strokes = STROKE_PATH.findall(svg)
    widths = sorted(float(wd) for _, wd, _ in strokes)
    assert widths and max(widths) <= 4, widths
    assert {c for c, _, _ in strokes} >= {next(c for c in inks if max(rgb[c]) < 40)}
    # Rendered back, the ink is where the input's is.
    assert iou(dark(render(svg, w, h)), dark(img)) > 0.9
    # The solid disc is filled: its middle is dark with the strokes left out of the SVG too.
    alone = render(FILL_PATH.sub(lambda m: m.group(0) if m.group(2) != "#fff" else "", svg), w, h)
    assert dark(alone)[110, 80] and dark(alone)[40, 205] and not dark(render(strokes_only(svg), w, h))[110, 80]


def test_lines_reach_the_fill_without_a_gap() -> None:
    img = drawing()
    h, w = img.shape[:2]
    out = dark(render(str(vectile.vectorize(img, mode="centerline")), w, h))
    # Along the 1.5 px line below the disc and the 3 px line right of it, from the disc's
    # edge outwards: ink on every pixel (no notch where line and fill meet).
    assert out[128:140, 79:82].any(axis=1).all(), out[128:140, 79:82].astype(int)
    assert out[109:112, 98:110].any(axis=0).all(), out[109:112, 98:110].astype(int)


def test_no_stroke_along_a_fills_edge() -> None:
    img = drawing()
    h, w = img.shape[:2]
    svg = str(vectile.vectorize(img, mode="centerline"))
    lines = dark(render(strokes_only(svg), w, h))
    # The ring 2..6 px outside the disc's edge (centre (80, 110), radius 20), away from the
    # two lines leaving it: no stroke there.
    yy, xx = np.mgrid[0:h, 0:w]
    r = np.hypot(xx + 0.5 - 80, yy + 0.5 - 110)
    ring = (r > 17) & (r < 23) & (np.abs(yy + 0.5 - 110) > 4) & (np.abs(xx + 0.5 - 80) > 4)
    assert lines[ring].sum() == 0, int(lines[ring].sum())


def test_line_art_without_thick_ink_has_no_fills() -> None:
    img = Image.new("RGB", (200, 120), "white")
    d = ImageDraw.Draw(img)
    d.line([(10, 60), (190, 60)], fill="black", width=8)
    d.line([(100, 10), (100, 110)], fill="black", width=8)
    svg = str(vectile.vectorize(np.asarray(img), mode="centerline"))
    assert [c for _, c in FILL_PATH.findall(svg)] == ["#fff"]


def test_shaded_paper_is_not_filled_as_ink() -> None:
    # A scan's shadow: a wide patch of paper a third of the way to the ink's colour, away
    # from any line. Its palette entry joins the ink only as a faint line's core, and such
    # pixels never make ink thick, so the patch is not filled in the ink's colour (it was,
    # black, when the thick test read them).
    h, w = 240, 320
    paper, ink = np.array([236.0, 228.0, 205.0]), (25, 20, 15)
    yy, xx = np.mgrid[0:h, 0:w]
    patch = ((xx - 250) / 60.0) ** 2 + ((yy - 190) / 40.0) ** 2 < 1
    page = np.ones((h, w, 3)) * paper
    page[patch] = paper + 0.35 * (np.array(ink) - paper)
    img = Image.fromarray(page.astype(np.uint8))
    d = ImageDraw.Draw(img)
    for k in range(5):
        d.line([(20, 30 + k * 25), (200, 30 + k * 25)], fill=ink, width=3)
    d.line([(30, 20), (30, 140)], fill=ink, width=3)
    svg = str(vectile.vectorize(np.asarray(img), mode="centerline"))
    assert len(FILL_PATH.findall(svg)) == 1  # the paper canvas alone
    out = render(svg, w, h)
    assert out[patch].mean() > 150  # paper-light, never the ink's near-black
    assert dark(out)[20:150, 15:210].sum() > 500  # the lines are drawn


@pytest.fixture(scope="module")
def map_crop() -> np.ndarray:
    assert WORLD_MAP.is_file(), f"benchmark image {WORLD_MAP} is missing (../shared/bench)"
    # Part of the Caribbean (Cuba, Hispaniola, islands) from the bench's 12k world map.
    crop = pyvips.Image.new_from_file(str(WORLD_MAP), access="sequential").crop(6300, 4750, 640, 480)
    return np.ndarray(buffer=crop.write_to_memory(), dtype=np.uint8, shape=(480, 640, crop.bands))[..., :3].copy()


def test_map_land_is_filled_without_phantom_coastlines(map_crop: np.ndarray) -> None:
    h, w = map_crop.shape[:2]
    svg = str(vectile.vectorize(map_crop, mode="centerline"))
    src = map_crop.astype(np.int32)
    sea = np.median(src.reshape(-1, 3), axis=0)
    land = np.abs(src - sea).sum(axis=2) > 60
    out = render(svg, w, h).astype(np.int32)
    drawn = np.abs(out - sea).sum(axis=2) > 60
    assert iou(drawn, land) > 0.9, iou(drawn, land)
    # The strokes alone cover almost none of the sea beside the land (a coastline traced as
    # a line would) and not the land's interior either.
    lines = render(strokes_only(svg), w, h).astype(np.int32)
    stroked = np.abs(lines - np.array([255, 255, 255])).sum(axis=2) > 60
    assert stroked.sum() < 0.1 * land.sum(), (int(stroked.sum()), int(land.sum()))


def test_tiles_refuse_thick_ink_and_automatic_tiling_traces_whole() -> None:
    img = drawing()
    with pytest.raises(NotTileable, match="stroke_width_max"):
        trace_image(img, {"mode": "centerline"}, tile_size=64, max_pixels=10**8)
    text, stats = trace_image(img, {"mode": "centerline"}, tile_size=None, max_pixels=10**8)
    assert stats["tiled"] is False and "stroke_width_max" in stats["untiled_because"]
    assert text == str(vectile.vectorize(img, mode="centerline"))
