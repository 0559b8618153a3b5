"""Centerline mode (``vectorize(..., mode="centerline")``): line art becomes stroked paths
along the lines' centres, checked by rendering the SVG back with resvg (``bench.metrics``).

Drawings are made with PIL (black lines on white paper); a pixel is ink when its luma is
below 128, in the input and in the render.
"""

from __future__ import annotations

import re

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

import vectile
from bench.metrics import composite_on_white, render_svg

STROKE_PATH = re.compile(
    r'<path fill="none" stroke="(#[0-9a-f]+)" stroke-width="([0-9.]+)" '
    r'stroke-linecap="round" stroke-linejoin="round" d="([^"]+)"/>'
)


def drawing(width: int = 3) -> np.ndarray:
    """A plus, a T, a circle, a zigzag and a dot: 6 lines and a dot."""
    img = Image.new("RGB", (220, 160), "white")
    d = ImageDraw.Draw(img)
    d.line([(20, 40), (80, 40)], fill="black", width=width)  # plus
    d.line([(50, 12), (50, 70)], fill="black", width=width)
    d.line([(110, 20), (190, 20)], fill="black", width=width)  # T
    d.line([(150, 20), (150, 70)], fill="black", width=width)
    d.ellipse([(20, 90), (80, 150)], outline="black", width=width)  # ring
    d.line([(110, 140), (130, 95), (150, 140), (170, 95), (190, 140)], fill="black", width=width, joint="curve")
    d.ellipse([(200, 100), (205, 105)], fill="black")  # dot
    return np.asarray(img)


def ink(rgb: np.ndarray) -> np.ndarray:
    luma = rgb[..., :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    return luma < 128


def rendered_ink(svg: vectile.Svg, w: int, h: int) -> np.ndarray:
    return ink(composite_on_white(render_svg(str(svg), w, h)))


def test_drawing_becomes_round_capped_strokes_covering_the_ink() -> None:
    img = drawing(3)
    h, w = img.shape[:2]
    svg = vectile.vectorize(img, mode="centerline")
    text = str(svg)
    strokes = STROKE_PATH.findall(text)
    assert strokes, text
    # One fill (the paper, as a canvas rectangle); everything else is a stroke.
    fills = [ln for ln in text.splitlines() if ln.startswith("<path") and 'fill="none"' not in ln]
    assert len(fills) == 1 and 'fill="#fff"' in fills[0], fills
    # Two lines of the plus, two of the T, the ring, the zigzag and the dot.
    assert svg.stats["paths"] == 7, text
    assert all(colour == "#000" for colour, _, _ in strokes)
    assert all(1.5 <= float(width) <= 4.5 for colour, width, _ in strokes[:-1]), strokes
    # The ring is closed and the zigzag's corners stay corners (no subpath is cut there).
    subpaths = [sp for _, _, d in strokes for sp in re.split(r"(?=[Mm])", d) if sp]
    assert sum(sp.endswith("z") for sp in subpaths) == 1, subpaths
    # Re-rendered, the strokes cover the ink, and paint little beyond it.
    src, out = ink(img), rendered_ink(svg, w, h)
    recall = (out & src).sum() / src.sum()
    precision = (out & ndimage.binary_dilation(src)).sum() / out.sum()
    assert recall >= 0.95, recall
    assert precision >= 0.97, precision


def test_each_palette_colour_becomes_strokes_of_its_colour() -> None:
    img = Image.new("RGB", (120, 80), "white")
    d = ImageDraw.Draw(img)
    d.line([(10, 20), (110, 20)], fill=(200, 0, 0), width=3)
    d.line([(10, 60), (110, 60)], fill=(0, 0, 200), width=5)
    d.line([(60, 30), (60, 50)], fill=(200, 0, 0), width=3)
    svg = vectile.vectorize(np.asarray(img), mode="centerline", colors=3)
    strokes = STROKE_PATH.findall(str(svg))
    colours = {c for c, _, _ in strokes}
    assert len(colours) == 2, strokes
    reds = [s for s in strokes if int(s[0][1:3], 16) > 150]
    blues = [s for s in strokes if int(s[0][5:7], 16) > 150]
    assert reds and blues, strokes
    assert all(abs(float(width) - 5) <= 1 for _, width, _ in blues), blues
    assert svg.stats["paths"] == 3, str(svg)


def test_thick_and_thin_lines_keep_their_widths() -> None:
    for width in (1, 2, 4, 6, 8):
        img = Image.new("RGB", (100, 40), "white")
        ImageDraw.Draw(img).line([(10, 20), (90, 20)], fill="black", width=width)
        svg = vectile.vectorize(np.asarray(img), mode="centerline")
        strokes = STROKE_PATH.findall(str(svg))
        assert len(strokes) == 1, (width, str(svg))
        assert abs(float(strokes[0][1]) - width) <= 1.0, (width, strokes)
        src, out = ink(np.asarray(img)), rendered_ink(svg, 100, 40)
        assert (out & src).sum() / src.sum() >= 0.95, width


def test_output_is_deterministic() -> None:
    img = drawing(4)
    a = str(vectile.vectorize(img, mode="centerline"))
    b = str(vectile.vectorize(img, mode="centerline"))
    assert a == b
