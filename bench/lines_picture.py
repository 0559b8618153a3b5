"""The README's lines picture: ``python -m bench lines-picture [--out FILE]``.

Two rows of four panels, each the same crop zoomed: the input; vectile's trace with fills only
(``strokes="off"``, the default); with the stroke layer (``strokes="auto"``); the centerline
mode (``mode="centerline"``).  The rows: the bench icon whose thin-line recall the stroke layer
raises most (``pekka-kana-2``: 0.613 -> 0.935), and a scan-degraded CAD symbol of the centerline
corpus (``python -m bench centerline`` builds it; built here when missing, which needs Debian's
librecad-data).  Rendered with resvg, like the bench's metrics.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

import vectile
from bench import linecorpus
from bench.corpus import default_corpus
from bench.metrics import render_svg, to_rgb_on_white

ICON = "icons/pekka-kana-2.png"
SYMBOL = "cad-elektro-coil-l21"
CROP = (128, 128, 256)  # x, y, size: the centre of a 512 x 512 image
PANELS = ("input", "fills only", "fills + strokes", "centerline")
PANEL = 384  # displayed size of a panel, pixels


def panels(pixels: np.ndarray, crop: tuple[int, int, int]) -> list[np.ndarray]:
    """The four renders of ``pixels`` (H, W, 3), each cropped to ``crop`` = (x, y, size)."""
    h, w = pixels.shape[:2]
    svgs = [
        vectile.vectorize(pixels, strokes="off"),
        vectile.vectorize(pixels, strokes="auto"),
        vectile.vectorize(pixels, mode="centerline"),
    ]
    renders = [pixels] + [to_rgb_on_white(render_svg(str(s), w, h)) for s in svgs]
    x, y, size = crop
    return [np.asarray(r)[y : y + size, x : x + size, :3] for r in renders]


def picture(rows: list[list[np.ndarray]]) -> Image.Image:
    """Rows of equal-sized panels, zoomed to :data:`PANEL` pixels (nearest), labelled on top."""
    size = PANEL
    label, gap = 18, 4
    out = Image.new("RGB", (len(PANELS) * (size + gap) - gap, len(rows) * (size + label + gap)), "white")
    draw = ImageDraw.Draw(out)
    for r, row in enumerate(rows):
        top = r * (size + label + gap)
        for c, (name, panel) in enumerate(zip(PANELS, row, strict=True)):
            left = c * (size + gap)
            draw.text((left + 4, top + 3), name, fill="black")
            zoomed = Image.fromarray(panel).resize((size, size), Image.Resampling.NEAREST)
            out.paste(zoomed, (left, top + label))
    return out


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench lines-picture", description=__doc__)
    ap.add_argument("--out", type=Path, default=Path("docs/lines.png"))
    args = ap.parse_args(argv)
    icon = default_corpus() / ICON
    entries = linecorpus.build(corpora=("cad-degraded",))
    symbol = next(linecorpus.CACHE / e["file"] for e in entries if e["name"] == SYMBOL)
    rows = []
    for path in (icon, symbol):
        with Image.open(path) as im:
            rows.append(panels(np.asarray(im.convert("RGB")), CROP))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    picture(rows).save(args.out, optimize=True)
    print(f"wrote {args.out}")
    return 0
