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

Thin lines: :func:`thin_line_recall` (the ``thin_recall`` column). A *stroke pixel* of the input
is one where the 5x5 (square) black-hat ``closing(Y) - Y`` or white-hat ``Y - opening(Y)`` of its
BT.601 luma ``Y`` (on white, 0..255) exceeds 48: a dark line on light ground or a light line on
dark ground at most ~4 px wide. The stroke pixel is *kept* when the render's response of the same
kind (black-hat for a dark line, white-hat for a light one; the larger of the two picks the kind
in the input) is at least half the input's there. Recall = kept / stroke pixels (None for an
image without stroke pixels). It is measured on the same crop as the other metrics.

Compactness: :func:`svg_counts` gives bytes (UTF-8), ``<path>`` elements and path commands.

Binary mode: :func:`binarize` thresholds the input once (Otsu on BT.601 luma, as vectile's
binary mode); every binary tracer gets that bitmap and its render is compared with the bitmap.
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
    "binarize",
    "center_crop_box",
    "composite_on_white",
    "count_path_commands",
    "diff_map",
    "fidelity",
    "fidelity_images",
    "luma",
    "luma_u8",
    "noise_contours",
    "flat_mask",
    "otsu_threshold",
    "psnr",
    "render_svg",
    "render_window",
    "set_root_size",
    "ssim",
    "svg_counts",
    "thin_line_recall",
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


_ROOT_TAG = re.compile(r"<svg\b[^>]*>", re.S)
_SIZE_ATTR = re.compile(r"""\s(width|height)\s*=\s*(?:"[^"]*"|'[^']*')""")


def set_root_size(svg_text: str, width: int, height: int) -> str:
    """``svg_text`` with the root ``<svg>``'s ``width`` and ``height`` set to ``width`` x
    ``height`` pixels (other attributes, the viewBox included, untouched)."""
    m = _ROOT_TAG.search(svg_text)
    if m is None:
        raise ValueError("no <svg> element")
    tag = _SIZE_ATTR.sub("", m.group(0))
    tag = tag[:4] + f' width="{width}" height="{height}"' + tag[4:]
    return svg_text[: m.start()] + tag + svg_text[m.end() :]


def _render_png(svg_text: str, width: int, height: int) -> np.ndarray:
    import resvg_py  # imported lazily: only the bench needs it

    # dpi=96 (CSS: 1pt = 96/72 px): resvg-py's default dpi of 0 makes every SVG sized in
    # absolute units (Potrace writes "512pt") an "invalid size".
    png = resvg_py.svg_to_bytes(svg_string=svg_text, width=width, height=height, dpi=96.0)
    with Image.open(io.BytesIO(bytes(png))) as im:
        im.load()
        if im.mode != "RGBA":
            im = im.convert("RGBA")
        return np.asarray(im, dtype=np.uint8)


def render_svg(svg_text: str, width: int, height: int) -> np.ndarray:
    """Render ``svg_text`` with resvg at exactly ``width`` x ``height`` pixels.

    Returns straight (non-premultiplied) RGBA, uint8, shape ``(height, width, 4)``; the canvas
    background is transparent.  resvg fits the SVG's own size into the requested box keeping its
    aspect ratio, so an SVG whose aspect ratio differs from the input's renders at another size:
    that is reported as ``ValueError`` rather than silently resampled.  A size off by one pixel
    (rounding of a size in other units, e.g. Potrace's ``481pt`` x ``321pt`` at 96 dpi) is
    rendered again with the root's width and height set to the input's pixels.
    """
    width, height = int(width), int(height)
    if width <= 0 or height <= 0:
        raise ValueError(f"render size must be positive, got {width}x{height}")
    rgba = _render_png(svg_text, width, height)
    got_h, got_w = rgba.shape[:2]
    if (got_h, got_w) != (height, width) and abs(got_w - width) <= 1 and abs(got_h - height) <= 1:
        rgba = _render_png(set_root_size(svg_text, width, height), width, height)
    if rgba.shape != (height, width, 4):
        raise ValueError(
            f"resvg rendered {got_w}x{got_h}, expected {width}x{height} "
            "(the SVG's size/viewBox does not have the input's aspect ratio)"
        )
    return rgba


_VIEWBOX_ATTR = re.compile(r"""\sviewBox\s*=\s*(?:"[^"]*"|'[^']*')""")


def render_window(svg_text: str, x0: int, y0: int, width: int, height: int) -> np.ndarray:
    """The window ``[x0, x0 + width) x [y0, y0 + height)`` of an SVG whose user units are the
    input's pixels (vectile's and VTracer's are), rendered alone: the root's viewBox becomes
    that window and its size the window's, so a huge SVG's crop costs the crop's pixels, not
    the whole canvas. Straight RGBA uint8 ``(height, width, 4)``: the whole render's window
    but for the anti-aliasing of a few edge pixels (resvg rasterises at another origin)."""
    m = _ROOT_TAG.search(svg_text)
    if m is None:
        raise ValueError("no <svg> element")
    tag = _VIEWBOX_ATTR.sub("", m.group(0))
    tag = tag[:4] + f' viewBox="{x0} {y0} {width} {height}"' + tag[4:]
    windowed = set_root_size(svg_text[: m.start()] + tag + svg_text[m.end() :], width, height)
    return render_svg(windowed, width, height)


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


def ssim(a_rgb: np.ndarray, b_rgb: np.ndarray) -> float:
    """SSIM on BT.601 luma of two RGB uint8 images of equal shape (the ``ssim`` column)."""
    if a_rgb.shape != b_rgb.shape:
        raise ValueError(f"shape mismatch {a_rgb.shape} vs {b_rgb.shape}")
    return _ssim_luma(a_rgb, b_rgb)


def fidelity_images(original: np.ndarray, svg_text: str) -> tuple[dict, np.ndarray, np.ndarray]:
    """:func:`fidelity` plus the two images it compared: ``(metrics, ref, got)``, both RGB
    uint8 on white, cropped as the metrics were (the HTML report shows them)."""
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
    gaps = int(np.count_nonzero(alpha < GAP_ALPHA))
    seams = int(np.count_nonzero(alpha < SEAM_ALPHA))
    return (
        {
            "psnr": psnr(ref, got),
            "ssim": _ssim_luma(ref, got),
            "gaps": gaps,
            "seams": seams,
            "gaps_frac": gaps / alpha.size,
            "seams_frac": seams / alpha.size,
            "thin_recall": thin_line_recall(ref, got),
        },
        ref,
        got,
    )


def fidelity(original: np.ndarray, svg_text: str) -> dict:
    """Compare ``svg_text`` rendered at the original's size with the original.

    ``original``: uint8 gray, gray+alpha, RGB or RGBA, shape ``(H, W[, C])``; alpha is
    composited on white.  Returns ``{"psnr", "ssim", "gaps", "seams", "gaps_frac",
    "seams_frac", "thin_recall"}`` (see module doc; the fractions are over the measured pixels); for images
    over 16 MP all are measured on the centred 4000x4000 crop.
    """
    return fidelity_images(original, svg_text)[0]


#: Side of the square structuring element of the thin-line responses (a line up to ~4 px wide
#: fits inside it and is removed by the opening/closing).
THIN_WINDOW = 5
#: A pixel whose black- or white-hat response exceeds this (luma levels) is a stroke pixel.
THIN_RESPONSE = 48.0
#: A stroke pixel is kept when the render's response is at least this fraction of the input's.
THIN_KEEP = 0.5


def thin_responses(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(black_hat, white_hat)`` of an RGB uint8 image's BT.601 luma, 5x5 square, float64.

    >>> img = np.full((7, 7, 3), 255, np.uint8); img[:, 3] = 0
    >>> bh, wh = thin_responses(img)
    >>> float(bh[3, 3]), float(wh[3, 3]), float(bh[3, 0])
    (255.0, 0.0, 0.0)
    """
    from scipy import ndimage

    y = luma(rgb)
    size = (THIN_WINDOW, THIN_WINDOW)
    black_hat = ndimage.grey_closing(y, size=size, mode="nearest") - y
    white_hat = y - ndimage.grey_opening(y, size=size, mode="nearest")
    return black_hat, white_hat


def thin_line_recall(ref: np.ndarray, got: np.ndarray) -> float | None:
    """Fraction of the input's thin-line pixels the render keeps (see the module doc).

    ``ref``: the input, ``got``: the render, both RGB uint8 on white of equal shape. None when
    the input has no stroke pixel.

    >>> img = np.full((9, 9, 3), 255, np.uint8); img[:, 4] = 0
    >>> thin_line_recall(img, img), thin_line_recall(img, np.full_like(img, 255))
    (1.0, 0.0)
    """
    if ref.shape != got.shape:
        raise ValueError(f"shape mismatch {ref.shape} vs {got.shape}")
    rb, rw = thin_responses(ref)
    dark = rb >= rw
    source = np.where(dark, rb, rw)
    stroke = source > THIN_RESPONSE
    total = int(np.count_nonzero(stroke))
    if total == 0:
        return None
    gb, gw = thin_responses(got)
    response = np.where(dark, gb, gw)
    kept = int(np.count_nonzero(stroke & (response >= THIN_KEEP * source)))
    return kept / total


def diff_map(ref: np.ndarray, got: np.ndarray) -> np.ndarray:
    """Per-pixel mean absolute RGB difference (0..255, float32) of two RGB uint8 images."""
    if ref.shape != got.shape:
        raise ValueError(f"shape mismatch {ref.shape} vs {got.shape}")
    d = np.abs(ref.astype(np.int16) - got.astype(np.int16)).astype(np.float32)
    return d.mean(axis=2)


# --------------------------------------------------------------------------------------------
# Binary mode
# --------------------------------------------------------------------------------------------


def luma_u8(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma rounded to uint8 exactly as vectile's binary mode computes it:
    ``(299 R + 587 G + 114 B + 500) // 1000``."""
    acc = rgb[..., 0].astype(np.uint32) * 299  # channel by channel: 4 bytes/pixel, not 12
    acc += rgb[..., 1].astype(np.uint32) * 587
    acc += rgb[..., 2].astype(np.uint32) * 114
    acc += 500
    acc //= 1000
    return acc.astype(np.uint8)


def otsu_threshold(gray: np.ndarray) -> int:
    """Otsu's threshold of a uint8 image: pixels ``<= t`` are dark (the rule vectile uses)."""
    hist = np.bincount(np.asarray(gray, np.uint8).ravel(), minlength=256).astype(np.float64)
    levels = np.arange(256, dtype=np.float64)
    w0 = np.cumsum(hist)[:255]
    s0 = np.cumsum(hist * levels)[:255]
    total, sum_all = hist.sum(), float((hist * levels).sum())
    w1 = total - w0
    valid = (w0 > 0) & (w1 > 0)
    if not valid.any():
        return 127
    m0 = np.divide(s0, w0, out=np.zeros_like(s0), where=w0 > 0)
    m1 = np.divide(sum_all - s0, w1, out=np.zeros_like(s0), where=w1 > 0)
    between = np.where(valid, w0 * w1 * (m0 - m1) ** 2, -1.0)
    return int(np.argmax(between))  # first maximum, as vectile's strict '>' scan


def binarize(image: np.ndarray, threshold: int | None = None) -> tuple[np.ndarray, int]:
    """Threshold an image for the binary pass: ``(bitmap, threshold)``.

    The image is composited on white, reduced to luma (:func:`luma_u8`); pixels ``<= t`` become
    black (0), the rest white (255); ``t`` is Otsu's threshold unless given. The bitmap (H, W)
    uint8 is both what every binary tracer gets and the reference its render is compared with.
    """
    gray = luma_u8(to_rgb_on_white(np.asarray(image)))
    t = otsu_threshold(gray) if threshold is None else int(threshold)
    return np.where(gray > t, np.uint8(255), np.uint8(0)), t


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


# --------------------------------------------------------------------------------------------
# Noise contours (scans): boundaries the SVG draws where the clean source is flat
# --------------------------------------------------------------------------------------------

#: Neighbouring render pixels further apart than this CIE76 ΔE are a drawn boundary (2.3 is
#: about the smallest difference an observer notices on flat colour).
CONTOUR_DELTA_E = 2.0
#: The clean source is flat at a pixel when no channel varies by more than FLAT_TOLERANCE
#: levels in the (2 FLAT_RADIUS + 1)^2 window around it: flat areas eroded by FLAT_RADIUS px,
#: so the anti-aliased rim of a real edge (and a trace's placement of it) is not counted.
FLAT_TOLERANCE = 2
FLAT_RADIUS = 3


def flat_mask(clean: np.ndarray, radius: int = FLAT_RADIUS, tolerance: int = FLAT_TOLERANCE) -> np.ndarray:
    """Boolean ``(H, W)``: where the clean RGB uint8 image is flat (see :data:`FLAT_TOLERANCE`).

    >>> img = np.zeros((9, 20, 3), np.uint8); img[:, 10:] = 255
    >>> flat_mask(img, radius=3)[4].astype(int).tolist()
    [1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1]
    """
    from scipy import ndimage

    size = 2 * radius + 1
    flat = np.ones(clean.shape[:2], bool)
    for c in range(clean.shape[2]):
        ch = clean[..., c]
        spread = ndimage.maximum_filter(ch, size, mode="nearest").astype(np.int16)
        spread -= ndimage.minimum_filter(ch, size, mode="nearest")
        flat &= spread <= tolerance
    return flat


def noise_contours(clean: np.ndarray, render: np.ndarray, delta_e: float = CONTOUR_DELTA_E) -> dict:
    """Boundary length the render draws inside the clean source's flat areas.

    ``clean`` and ``render``: RGB uint8 of equal shape (the render composited on white). A
    pair of 4-neighbours of the render whose CIELAB (D65) colours differ by more than
    ``delta_e`` is one pixel of drawn boundary; it counts when both pixels are flat in the
    clean source (:func:`flat_mask`). Returns ``{"noise_px": pairs counted, "flat_mp": flat
    area in megapixels, "noise_px_per_mp": noise_px / flat_mp (None without flat area)}``.
    A faithful trace of a scan draws no boundary there, so 0 is the target.
    """
    from skimage.color import rgb2lab

    if clean.shape != render.shape:
        raise ValueError(f"shape mismatch {clean.shape} vs {render.shape}")
    flat = flat_mask(clean)
    lab = rgb2lab(render).astype(np.float32)
    limit = np.float32(delta_e * delta_e)
    count = 0
    for axis in (0, 1):
        a = [slice(None)] * 2
        b = [slice(None)] * 2
        a[axis], b[axis] = slice(1, None), slice(None, -1)
        d = lab[tuple(a)] - lab[tuple(b)]
        edge = np.einsum("...c,...c->...", d, d) > limit
        count += int(np.count_nonzero(edge & flat[tuple(a)] & flat[tuple(b)]))
    flat_mp = float(np.count_nonzero(flat)) / 1e6
    return {"noise_px": count, "flat_mp": flat_mp, "noise_px_per_mp": count / flat_mp if flat_mp else None}
