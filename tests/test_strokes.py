"""The stroke layer of colour mode (issue #16): thin lines kept whole as strokes over fills that
continue underneath them.

The test picture is clip art drawn here as SVG and rendered with resvg: a pale ground, a blue
band, and anti-aliased lines 1 px, 1.3 px and 2 px wide (dark ones across both grounds, a white
one across the band).
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import resvg_py

import vectile
from bench.metrics import composite_on_white, render_svg, thin_line_recall

W, H = 160, 120
GROUND = '<rect width="160" height="120" fill="#f4f1e8"/><rect x="20" y="60" width="120" height="45" fill="#3a78c2"/>'
LINES = (
    '<path d="M30 90 L80 20 L130 90" fill="none" stroke="#222" stroke-width="1"/>'
    '<path d="M10 40 C40 10 120 10 150 40" fill="none" stroke="#111" stroke-width="1.3"/>'
    '<path d="M25 100 L135 70" fill="none" stroke="#fff" stroke-width="1"/>'
    '<path d="M146 45 L146 100" fill="none" stroke="#7a1d12" stroke-width="2"/>'
)
STROKE_TAG = re.compile(r"<path[^>]*\bstroke=\"#[^>]*>")


def _svg(body: str) -> str:
    return f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}">{body}</svg>'


def _render(svg: str) -> np.ndarray:
    assert resvg_py.svg_to_bytes  # the renderer the bench uses
    return composite_on_white(render_svg(svg, W, H))


@pytest.fixture(scope="module")
def picture() -> np.ndarray:
    return _render(_svg(GROUND + LINES))


@pytest.fixture(scope="module")
def ground_only() -> np.ndarray:
    return _render(_svg(GROUND))


def _trace(img: np.ndarray, strokes: str) -> str:
    return str(vectile.vectorize(img, strokes=strokes, stroke_width_max=3))


@pytest.mark.parametrize("strokes", ["on", "auto"])
def test_lines_stay_whole_with_strokes(picture: np.ndarray, strokes: str) -> None:
    svg = _trace(picture, strokes)
    recall = thin_line_recall(picture, _render(svg))
    assert recall is not None and recall >= 0.95, recall
    assert STROKE_TAG.search(svg), svg


def test_lines_break_without_strokes(picture: np.ndarray) -> None:
    svg = _trace(picture, "off")
    assert not STROKE_TAG.search(svg)
    recall = thin_line_recall(picture, _render(svg))
    assert recall is not None and recall < 0.8, recall


def test_fills_continue_under_the_strokes(picture: np.ndarray, ground_only: np.ndarray) -> None:
    svg = _trace(picture, "auto")
    # Every pixel covered (no gap where a stroke was) ...
    rgba = render_svg(svg, W, H)
    assert int(np.count_nonzero(rgba[..., 3] < 128)) == 0
    # ... and without its strokes the SVG is the ground alone where the strokes were: no
    # hole or sliver along them. The pixels a stroke covers (its own render, alone) must show
    # the ground again but where two lines cross (a stroke over a line kept as a fill).
    strokes = STROKE_TAG.findall(svg)
    assert len(strokes) >= 3, svg
    covered = render_svg(_svg("".join(strokes)), W, H)[..., 3] > 128
    fills = _render(STROKE_TAG.sub("", svg)).astype(int)
    wrong = np.abs(fills - ground_only.astype(int)).max(axis=2) > 40
    assert covered.sum() > 300  # the strokes are there to be filled under
    assert (wrong & covered).sum() <= 0.02 * covered.sum(), (int((wrong & covered).sum()), int(covered.sum()))
    # The band's edge runs on straight under the lines: the band is one rectangle.
    assert '<path d="M20 60v45h120v-45z" fill="#3a78c2"/>' in svg, svg


def test_strokes_are_deterministic(picture: np.ndarray) -> None:
    assert _trace(picture, "auto") == _trace(picture, "auto")
    assert _trace(picture, "on") == _trace(picture, "on")


def test_auto_leaves_a_picture_without_lines_as_it_was(ground_only: np.ndarray) -> None:
    # Nothing thin to keep: auto draws exactly what the fills alone draw.
    assert _trace(ground_only, "auto") == _trace(ground_only, "off")


def test_thin_line_recall_definition(picture: np.ndarray, ground_only: np.ndarray) -> None:
    assert thin_line_recall(picture, picture) == 1.0
    assert thin_line_recall(picture, ground_only) == 0.0
    assert thin_line_recall(ground_only, ground_only) is None  # no thin structure at all


def test_defaults_are_off_and_three_pixels(picture: np.ndarray) -> None:
    # Strokes are asked for (off by default in every preset); colour mode's widest stroke is
    # 3 px unless set.
    assert str(vectile.vectorize(picture)) == str(vectile.vectorize(picture, strokes="off"))
    assert str(vectile.vectorize(picture, strokes="on")) == _trace(picture, "on")
    assert str(vectile.vectorize(picture, strokes="on")) != str(
        vectile.vectorize(picture, strokes="on", stroke_width_max=8)
    )
