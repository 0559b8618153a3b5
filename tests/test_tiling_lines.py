"""The centerline mode in tiles (vectile.tiling.lines): line drawings whose lines cross tile
borders (X, T and Y joins, circles, Hershey single-stroke text at widths 1 to 8, a scanned
drawing with the scan preset) trace to the same SVG as untiled, byte for byte, at tile sizes
from tiny to larger than the image, in process and on a Dask cluster; a line crossing tile
borders is one path. Ink too thick for lines (filled by the untiled trace) is refused in
tiles, typed, and traced whole when tiling was chosen for the caller."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import cloudpickle
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

import vectile
from vectile.cli import main as cli_main
from vectile.tiling import NotTileable, trace_image
from vectile.tiling.trace import check_tileable

# Debian's hershey-fonts-data: the Roman simplex font, one stroke per line of a glyph.
HERSHEY = Path("/usr/share/hershey-fonts/futural.jhf")

cloudpickle.register_pickle_by_value(sys.modules[__name__])

Strokes = list[list[tuple[int, int]]]


def _hershey(path: Path) -> dict[str, tuple[int, int, Strokes]]:
    """The glyphs of a .jhf font for the printable ASCII characters: (left, right, strokes),
    each stroke a polyline in font units."""
    assert path.is_file(), f"{path} is missing (apt-get install hershey-fonts-data)"
    text = path.read_text(encoding="ascii")
    glyphs: list[tuple[int, int, Strokes]] = []
    pos = 0
    flat = text.replace("\n", "")
    while pos + 8 <= len(flat) and len(glyphs) < 95:
        n = int(flat[pos + 5 : pos + 8])
        data = flat[pos + 8 : pos + 8 + 2 * n]
        pos += 8 + 2 * n
        pairs = [(ord(data[k]) - ord("R"), ord(data[k + 1]) - ord("R")) for k in range(0, len(data), 2)]
        strokes: Strokes = [[]]
        for p in pairs[1:]:
            if p == (-50, 0):  # " R": pen up
                strokes.append([])
            else:
                strokes[-1].append(p)
        glyphs.append((pairs[0][0], pairs[0][1], [s for s in strokes if s]))
    return {chr(32 + k): g for k, g in enumerate(glyphs)}


def _write(draw: ImageDraw.ImageDraw, font: dict, text: str, x: float, y: float, scale: float, **kw) -> None:
    for ch in text:
        left, right, strokes = font[ch]
        for s in strokes:
            pts = [(x + (px - left) * scale, y + py * scale) for px, py in s]
            if len(pts) > 1:
                draw.line(pts, joint="curve", **kw)
        x += (right - left) * scale


def _drawing(w: int = 330, h: int = 250, widths: tuple[int, ...] = (1, 2, 3, 4, 6, 8)) -> np.ndarray:
    """X, T and Y joins, circles and text at ``widths`` (1 to 8) in three colours on white."""
    font = _hershey(HERSHEY)
    im = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(im)
    d.line([(4, 4), (w - 5, h - 5)], fill=(20, 20, 20), width=3)  # X
    d.line([(w - 5, 4), (4, h - 5)], fill=(20, 20, 20), width=1)
    d.line([(8, 60), (170, 60)], fill=(200, 30, 30), width=4)  # T
    d.line([(90, 60), (90, 120)], fill=(200, 30, 30), width=4)
    d.line([(200, 150), (240, 180), (280, 150)], fill=(200, 30, 30), width=2)  # Y
    d.line([(240, 180), (240, 230)], fill=(200, 30, 30), width=2)
    d.ellipse([190, 10, 300, 120], outline=(30, 60, 200), width=5)
    d.ellipse([30, 150, 80, 200], outline=(30, 60, 200), width=1)
    for k, width in enumerate(widths):
        _write(d, font, "Lines 16", 10 + 14 * (k % 2), 80 + 26 * k, 0.7 + 0.12 * k, fill=(20, 20, 20), width=width)
    return np.asarray(im)


def _scanned(clean: np.ndarray, sigma: float = 6.0, seed: int = 0) -> np.ndarray:
    """``clean`` as a scan: blurred, on yellowed paper, with sensor noise, saved as JPEG q80."""
    rng = np.random.default_rng(seed)
    f = np.asarray(Image.fromarray(clean).filter(ImageFilter.GaussianBlur(0.8)), np.float32)
    f = f * np.array([0.96, 0.92, 0.80], np.float32) + rng.normal(0, sigma, f.shape)
    buf = io.BytesIO()
    Image.fromarray(np.clip(f, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=80)
    return np.asarray(Image.open(buf).convert("RGB"))


@pytest.fixture(scope="module")
def drawing() -> np.ndarray:
    return _drawing()


@pytest.fixture(scope="module")
def lighter() -> np.ndarray:
    """The drawing without its 8 px text, which blurred (soft edges, a scan) merges into ink
    too thick for lines: the untiled trace fills it, which the tiles refuse (below)."""
    return _drawing(widths=(1, 2, 3, 4, 6))


def _strokes(svg: str) -> list[str]:
    return [line for line in svg.splitlines() if 'fill="none"' in line]


@pytest.mark.parametrize(
    ("widths", "options"),
    [
        ((1, 2, 3, 4, 6, 8), {}),
        # Lines up to 4 px: with a 3 px stroke_width_max, 6 and 8 px text would be filled.
        ((1, 2, 3, 4), {"colors": 4, "stroke_width_max": 3.0, "tolerance": 1.0, "precision": 2}),
        ((1, 2, 3, 4, 6, 8), {"stroke_width_max": 16.0, "preset": "icon"}),
    ],
)
def test_tiled_equals_untiled_in_process(widths, options):
    drawing = _drawing(widths=widths)
    want = vectile.vectorize(drawing, mode="centerline", **options)
    assert re.findall(r'<path d="[^"]+" fill=', str(want)) == ['<path d="M0 0v250h330v-250z" fill='], "no fills"
    assert len(_strokes(str(want))) >= 3, str(want)
    for tile in (16, 37, 64, 1000):
        got = vectile.vectorize(drawing, mode="centerline", tile_size=tile, **options)
        assert str(got) == str(want), f"{options} tile {tile}: tiled SVG differs"
        for k in ("preset", "palette", "paths", "commands", "bytes"):
            assert got.stats[k] == want.stats[k], (k, tile)


def test_thick_ink_is_refused_in_tiles_and_traced_whole_when_tiling_was_chosen(drawing):
    """With a 3 px stroke_width_max the 6 and 8 px text is thick ink, filled by the untiled
    trace: asked for tiles, the tiled trace refuses it (typed); tiling chosen for the caller,
    the image is traced whole."""
    options = {"mode": "centerline", "stroke_width_max": 3.0}
    want = str(vectile.vectorize(drawing, **options))
    assert len(re.findall(r'<path d="[^"]+" fill=', want)) > 1, "the thick text is filled"
    for tile in (16, 64):
        with pytest.raises(NotTileable, match="stroke_width_max"):
            vectile.vectorize(drawing, tile_size=tile, **options)
    text, stats = trace_image(drawing, options, max_pixels=10**9)
    assert stats["tiled"] is False and text == want


def test_tiled_equals_untiled_with_soft_edges(lighter):
    """Soft (blurred) edges make palette entries that blend ink and paper: they join their
    ink or the paper, and specks and pinholes go, identically in tiles."""
    soft = np.asarray(Image.fromarray(lighter).filter(ImageFilter.GaussianBlur(0.7)))
    for options in ({"colors": 12}, {"colors": 24, "min_area": 30}):
        want = vectile.vectorize(soft, mode="centerline", **options)
        assert len(_strokes(str(want))) >= 3, str(want)
        for tile in (16, 37, 64):
            got = vectile.vectorize(soft, mode="centerline", tile_size=tile, **options)
            assert str(got) == str(want), f"{options} tile {tile}: tiled SVG differs"


def test_tiled_equals_untiled_on_a_scan_with_the_scan_preset(lighter, tmp_path):
    scan = _scanned(lighter)
    for background in ("keep", "white", "transparent"):
        options = {"mode": "centerline", "preset": "scan", "background": background}
        want = str(vectile.vectorize(scan, **options))
        assert _strokes(want), want
        for tile in (16, 37, 64):
            got = vectile.vectorize(scan, tile_size=tile, **options)
            assert str(got) == want, f"{background} tile {tile}: tiled SVG differs"
        assert ('fill="#fff"' in want) == (background == "white")
        assert ('<path d="M0 0' in want) == (background != "transparent"), "the canvas"


@pytest.mark.slow
def test_tiled_equals_untiled_on_a_cluster(drawing, lighter, cluster_client):
    scan = _scanned(lighter, seed=3)
    for image, options in ((drawing, {}), (scan, {"preset": "scan"})):
        want = str(vectile.vectorize(image, mode="centerline", **options))
        for tile in (37, 100):
            got = vectile.vectorize(image, mode="centerline", tile_size=tile, client=cluster_client, **options)
            assert str(got) == want, f"{options} tile {tile}: tiled SVG differs on the cluster"
            assert got.stats["tiles"] == -(-image.shape[0] // tile) * -(-image.shape[1] // tile)


def test_a_line_crossing_tile_borders_is_one_path():
    im = Image.new("RGB", (260, 180), "white")
    d = ImageDraw.Draw(im)
    d.line([(6, 10), (250, 170)], fill=(0, 0, 0), width=3)
    d.ellipse([150, 8, 240, 98], outline=(200, 0, 0), width=2)
    d.line([(10, 170), (40, 130), (70, 170), (100, 130)], fill=(0, 0, 200), width=5, joint="curve")
    image = np.asarray(im)
    want = str(vectile.vectorize(image, mode="centerline"))
    for tile in (16, 37):
        svg = str(vectile.vectorize(image, mode="centerline", tile_size=tile))
        assert svg == want, f"tile {tile}: tiled SVG differs"
        strokes = _strokes(svg)
        assert len(strokes) == 3, svg
        for line in strokes:
            d_attr = re.search(r' d="([^"]*)"', line)
            assert d_attr is not None and d_attr.group(1).count("M") == 1, line
            assert "m" not in d_attr.group(1), f"a line broke into pieces: {line}"


def test_centerline_is_tileable_and_tiled_automatically(drawing, tmp_path):
    assert check_tileable({"mode": "centerline"}).mode == "centerline"
    # Tiling chosen for the caller (huge images): traced in tiles, not refused.
    text, stats = trace_image(drawing, {"mode": "centerline"}, max_pixels=10**9)
    assert stats["tiled"] is True
    assert text == str(vectile.vectorize(drawing, mode="centerline"))


def test_a_streamed_file_uses_the_prepass(drawing, tmp_path):
    src = tmp_path / "drawing.png"
    Image.fromarray(drawing).save(src)
    text, stats = trace_image(src, {"mode": "centerline"}, tile_size=48, max_pixels=10**9, stream_above=0)
    assert stats["tiled"] is True and stats["prepass"] is True
    assert text == str(vectile.vectorize(drawing, mode="centerline"))


def test_cli_convert_with_tile_size(drawing, tmp_path):
    src = tmp_path / "drawing.png"
    Image.fromarray(drawing).save(src)
    tiled, whole = tmp_path / "tiled.svg", tmp_path / "whole.svg"
    assert cli_main(["convert", str(src), "-o", str(tiled), "--mode", "centerline", "--tile-size", "40"]) == 0
    assert cli_main(["convert", str(src), "-o", str(whole), "--mode", "centerline"]) == 0
    assert tiled.read_bytes() == whole.read_bytes()
    assert _strokes(whole.read_text())
