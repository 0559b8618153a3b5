"""Fidelity and compactness metrics for traced SVGs (DESIGN.md section 6, "Measuring").

Fidelity: the SVG is rendered back with resvg (PyPI ``resvg-py``) at exactly the input's pixel
size, composited on white and compared with the input (also composited on white if it has alpha):

* ``psnr``  -- PSNR in dB over the three RGB channels (``inf`` when identical);
* ``ssim``  -- SSIM (``skimage.metrics.structural_similarity``, ``data_range=255``, default
  7x7 uniform window; smaller odd window on images under 7 px) on BT.601 luma
  ``Y = 0.299 R + 0.587 G + 0.114 B`` (float64);
* ``gaps``  -- pixels the SVG leaves (mostly) uncovered: rendered alpha < 0.5 (alpha <= 127);
* ``seams`` -- pixels not fully covered: rendered alpha < 0.99 (alpha <= 252); gaps included.

Crop rule: for inputs over 16 MP (``width * height > 16_000_000``) the whole SVG is still rendered
at full size, but every metric (gaps and seams too) is computed on the centred 4000x4000 crop
(``min(4000, side)`` along a side shorter than 4000).

Compactness: :func:`svg_counts` gives bytes (UTF-8), ``<path>`` elements and path commands.
"""

from __future__ import annotations

import io
import math
import re

import numpy as np
from PIL import Image

__all__ = [
    "CROP_SIDE",
    "CROP_THRESHOLD_PIXELS",
    "center_crop_box",
    "composite_on_white",
    "count_path_commands",
    "fidelity",
    "luma",
    "psnr",
    "render_svg",
    "svg_counts",
    "to_rgb_on_white",
]

#: Images with more pixels than this are measured on a centred crop.
CROP_THRESHOLD_PIXELS = 16_000_000
#: Side of the centred square crop used for images over the threshold.
CROP_SIDE = 4000

# Alpha thresholds on the 0..255 scale (strict "<").
GAP_ALPHA = 0.5 * 255  # 127.5: alpha <= 127
SEAM_ALPHA = 0.99 * 255  # 252.45: alpha <= 252


# --------------------------------------------------------------------------------------------
# Rendering and compositing
# --------------------------------------------------------------------------------------------


def render_svg(svg_text: str, width: int, height: int) -> np.ndarray:
    """Render ``svg_text`` with resvg at exactly ``width`` x ``height`` pixels.

    Returns straight (non-premultiplied) RGBA, uint8, shape ``(height, width, 4)``; the canvas
    background is transparent.  resvg fits the SVG's own size into the requested box keeping its
    aspect ratio, so an SVG whose aspect ratio differs from the input's renders at another size:
    that is reported as ``ValueError`` rather than silently resampled.
    """
    import resvg_py  # imported lazily: only the bench needs it

    width, height = int(width), int(height)
    if width <= 0 or height <= 0:
        raise ValueError(f"render size must be positive, got {width}x{height}")
    png = resvg_py.svg_to_bytes(svg_string=svg_text, width=width, height=height)
    with Image.open(io.BytesIO(bytes(png))) as im:
        im.load()
        if im.mode != "RGBA":
            im = im.convert("RGBA")
        rgba = np.asarray(im, dtype=np.uint8)
    if rgba.shape != (height, width, 4):
        raise ValueError(
            f"resvg rendered {rgba.shape[1]}x{rgba.shape[0]}, expected {width}x{height} "
            "(the SVG's size/viewBox does not have the input's aspect ratio)"
        )
    return rgba


def composite_on_white(rgba: np.ndarray) -> np.ndarray:
    """Composite straight-alpha RGBA uint8 ``(H, W, 4)`` over white; returns RGB uint8 ``(H, W, 3)``.

    ``out = c * a + 255 * (1 - a)`` with ``a = alpha / 255``, rounded to nearest.
    """
    rgba = np.asarray(rgba)
    if rgba.ndim != 3 or rgba.shape[2] != 4:
        raise ValueError(f"expected (H, W, 4) RGBA, got shape {rgba.shape}")
    a = rgba[..., 3:4].astype(np.float32) / np.float32(255.0)
    rgb = rgba[..., :3].astype(np.float32)
    out = rgb * a + np.float32(255.0) * (np.float32(1.0) - a)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def to_rgb_on_white(image: np.ndarray) -> np.ndarray:
    """Any of gray ``(H, W)``, gray+alpha ``(H, W, 2)``, RGB or RGBA -> RGB uint8 on white."""
    img = np.asarray(image)
    if img.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels, got {img.dtype}")
    if img.ndim == 2:
        return np.repeat(img[..., None], 3, axis=2)
    if img.ndim != 3:
        raise ValueError(f"expected an (H, W[, C]) image, got shape {img.shape}")
    c = img.shape[2]
    if c == 1:
        return np.repeat(img, 3, axis=2)
    if c == 2:
        rgba = np.concatenate([np.repeat(img[..., :1], 3, axis=2), img[..., 1:2]], axis=2)
        return composite_on_white(rgba)
    if c == 3:
        return img
    if c == 4:
        return composite_on_white(img)
    raise ValueError(f"unsupported channel count {c}")


# --------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------


def center_crop_box(width: int, height: int) -> tuple[int, int, int, int]:
    """``(x0, y0, x1, y1)`` of the region the metrics use: the whole image, or for images over
    16 MP the centred ``CROP_SIDE`` x ``CROP_SIDE`` square (clipped to a shorter side)."""
    if width * height <= CROP_THRESHOLD_PIXELS:
        return 0, 0, width, height
    cw, ch = min(CROP_SIDE, width), min(CROP_SIDE, height)
    x0, y0 = (width - cw) // 2, (height - ch) // 2
    return x0, y0, x0 + cw, y0 + ch


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB between two uint8 images of equal shape (peak 255); ``inf`` when identical."""
    if a.shape != b.shape:
        raise ValueError(f"shape mismatch {a.shape} vs {b.shape}")
    diff = a.astype(np.float64) - b.astype(np.float64)
    mse = float(np.mean(diff * diff))
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(255.0 * 255.0 / mse)


def luma(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma as float64: ``0.299 R + 0.587 G + 0.114 B``."""
    rgb = rgb.astype(np.float64)
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


def _ssim_luma(a_rgb: np.ndarray, b_rgb: np.ndarray) -> float:
    from skimage.metrics import structural_similarity

    # skimage's default 7x7 window; images smaller than that use the largest odd window that
    # fits (3 or 5), and images under 3 px on a side get NaN (SSIM is undefined there).
    win = min(7, *a_rgb.shape[:2])
    win -= 1 - win % 2
    if win < 3:
        return math.nan
    return float(structural_similarity(luma(a_rgb), luma(b_rgb), data_range=255, win_size=win))


def fidelity(original: np.ndarray, svg_text: str) -> dict:
    """Compare ``svg_text`` rendered at the original's size with the original.

    ``original``: uint8 gray, gray+alpha, RGB or RGBA, shape ``(H, W[, C])``; alpha is
    composited on white.  Returns ``{"psnr", "ssim", "gaps", "seams"}`` (see module doc); for
    images over 16 MP all four are measured on the centred 4000x4000 crop.
    """
    orig = np.asarray(original)
    height, width = orig.shape[:2]
    rgba = render_svg(svg_text, width, height)
    x0, y0, x1, y1 = center_crop_box(width, height)
    if (x0, y0, x1, y1) != (0, 0, width, height):
        orig = orig[y0:y1, x0:x1]
        rgba = rgba[y0:y1, x0:x1]
    ref = to_rgb_on_white(orig)
    got = composite_on_white(rgba)
    alpha = rgba[..., 3]
    return {
        "psnr": psnr(ref, got),
        "ssim": _ssim_luma(ref, got),
        "gaps": int(np.count_nonzero(alpha < GAP_ALPHA)),
        "seams": int(np.count_nonzero(alpha < SEAM_ALPHA)),
    }


# --------------------------------------------------------------------------------------------
# Compactness
# --------------------------------------------------------------------------------------------

# Number of arguments per path command (SVG 1.1 / SVG 2 path grammar), both cases.
_ARGS = {"M": 2, "L": 2, "H": 1, "V": 1, "C": 6, "S": 4, "Q": 4, "T": 2, "A": 7, "Z": 0}
_ARGS.update({k.lower(): v for k, v in list(_ARGS.items())})
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_SEPARATORS = " \t\r\n\f,"


def count_path_commands(d: str) -> int:
    """Number of drawing commands in a path ``d`` string.

    Every command letter counts once, and every further argument group after it (an implicit
    repeat, e.g. ``L 1 2 3 4`` = two lines, ``M 0 0 1 1`` = a move and a line) counts again.
    Arc flags may be written without separators (``a5 5 0 1010 10``).  As in SVG error handling,
    counting stops at the first malformed token; an incomplete trailing group is not counted.
    """
    n = len(d)
    i = 0
    count = 0
    cmd: str | None = None
    while True:
        while i < n and d[i] in _SEPARATORS:
            i += 1
        if i >= n:
            return count
        ch = d[i]
        if ch in _ARGS:
            cmd = ch
            i += 1
            if _ARGS[cmd] == 0:  # Z/z: no arguments, no implicit repeat
                count += 1
                cmd = None
                continue
        elif cmd is None:
            return count  # numbers with no command, or after Z: malformed
        # Read one full argument group for `cmd`.
        nargs = _ARGS[cmd]
        for k in range(nargs):
            while i < n and d[i] in _SEPARATORS:
                i += 1
            if i >= n:
                return count
            if cmd in "Aa" and k in (3, 4):  # large-arc and sweep flags: a single 0/1
                if d[i] not in "01":
                    return count
                i += 1
                continue
            m = _NUMBER.match(d, i)
            if m is None:
                return count
            i = m.end()
        count += 1
        if cmd == "M":
            cmd = "L"  # extra pairs after a moveto are implicit linetos
        elif cmd == "m":
            cmd = "l"


_PATH_TAG = re.compile(r"<(?:[A-Za-z_][\w.-]*:)?path(?=[\s/>])([^>]*)>", re.S)
_D_ATTR = re.compile(r"""(?:^|\s)d\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.S)


def svg_counts(svg_text: str) -> dict:
    """``{"bytes", "paths", "commands"}``: UTF-8 size, number of ``<path>`` elements, and the
    number of path commands over all their ``d`` attributes (see :func:`count_path_commands`)."""
    paths = 0
    commands = 0
    for m in _PATH_TAG.finditer(svg_text):
        paths += 1
        d = _D_ATTR.search(m.group(1))
        if d is not None:
            commands += count_path_commands(d.group(1) if d.group(1) is not None else d.group(2))
    return {"bytes": len(svg_text.encode("utf-8")), "paths": paths, "commands": commands}
