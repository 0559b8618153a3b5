"""The scan corpus: clean art we render ourselves, printed and scanned by a seeded model.

Every synthetic entry is a pair: the **scan** (a JPEG, what a user feeds the tracer) and its
**clean** source (a PNG, the ground truth), kept next to each other in the cache folder
(``bench/out/scans-corpus/``, git-ignored, written only when missing or when the generator
changed: :data:`GENERATOR_VERSION` and the parameters are stamped into ``manifest.json``).

Clean sources (all opaque sRGB, what a printer would get):

* ``icon-*``: three bench icons (``../shared/bench/icons``), composited on white, 512 x 512;
* ``map-*``: two 2000 x 2000 crops of ``large/world-map-12k.png``, read with pyvips (the
  144 MP PNG is streamed, never decoded whole);
* ``lineart``: a CAD-like drawing (frame, title block, circles, arcs, hatching, dimension
  lines, one red and one blue layer) drawn with PIL at twice the size and reduced (Lanczos),
  1600 x 1200;
* ``text``: a page of seeded text in DejaVu Serif / Sans (the fonts matplotlib ships), a
  dark blue heading and a ruled table, drawn at twice the size and reduced, 1200 x 1600.

Degradation model (:func:`degrade`, one pyvips pipeline, so a 144 MP page streams in strips
with bounded memory), in the order a print-and-scan applies it, with :data:`STRENGTHS`:

1. **skew**: the page lies rotated by a small angle on the glass: a bicubic rotation about the
   centre, white outside. The *same* rotation is applied to the clean source, which is what is
   stored as ground truth, so clean and scan stay aligned pixel for pixel;
2. **paper**: ink multiplies the paper's colour (yellowed: ``paper`` RGB) and its **grain**, a
   low-frequency texture (seeded Gaussian noise at ``grain_px`` and ``grain_px / 4`` pixel
   features, relative amplitude ``grain``);
3. **illumination**: lamp fall-off, brightness ``1 - falloff * (r / r_max)^2`` around a lamp
   off the page's centre (``r_max``: the farthest corner);
4. **optical blur**: Gaussian, ``blur`` pixels sigma;
5. **sensor noise**: Gaussian, ``noise`` (8-bit units) sigma, independent per channel;
6. rounding to 8 bits and **JPEG** at quality ``jpeg`` (libvips, 4:2:0 chroma below 90).

``medium`` is the issue's scan (JPEG 80). Extra entries are real scans found in installed
packages (``skimage.data.page()``, a scanned page with uneven illumination): no clean source,
so only the metrics against the scan apply. Everything is deterministic: the same files byte
for byte on every run (libvips' noise is a hash of seed and pixel position).
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from bench.corpus import default_corpus

GENERATOR_VERSION = 1
GROUP = "scans"
CACHE = Path(__file__).resolve().parent / "out" / "scans-corpus"
MAP_NAME = "world-map-12k.png"
#: (x, y) of the 2000 x 2000 map crops: the Caribbean (many small islands and borders) and the
#: east coast of South America (large flat land and sea).
MAP_CROPS = {"map-caribbean": (5600, 4400), "map-atlantic": (8400, 6600)}
MAP_CROP_SIDE = 2000
#: Icons taken from the bench's icon group (composited on white).
ICONS = ("clementine", "keysmith", "surviving-mars")


@dataclass(frozen=True)
class Strength:
    """One degradation level (see the module doc for what each field does)."""

    name: str
    skew_deg: float
    paper: tuple[float, float, float]
    grain: float
    grain_px: int
    falloff: float
    blur: float
    noise: float
    jpeg: int


STRENGTHS = {
    s.name: s
    for s in (
        Strength("light", 0.3, (250.0, 246.0, 236.0), 0.012, 48, 0.06, 0.5, 2.0, 90),
        Strength("medium", 0.6, (243.0, 234.0, 212.0), 0.025, 40, 0.12, 0.8, 4.0, 80),
        Strength("heavy", 1.0, (236.0, 222.0, 190.0), 0.045, 32, 0.22, 1.2, 7.0, 65),
    )
}


# --------------------------------------------------------------------------------- degradation


def _rotate(img: Any, deg: float) -> Any:
    """``img`` (pyvips, uchar) rotated by ``deg`` about its centre, same size, white outside."""
    import pyvips

    if deg == 0:
        return img
    t = math.radians(deg)
    c, s = math.cos(t), math.sin(t)
    cx, cy = img.width / 2, img.height / 2
    return img.affine(
        [c, -s, s, c],
        oarea=[0, 0, img.width, img.height],
        idx=-cx,
        idy=-cy,
        odx=cx,
        ody=cy,
        interpolate=pyvips.Interpolate.new("bicubic"),
        background=[255.0] * img.bands,
        extend="background",
    )


def _grain(width: int, height: int, feature_px: int, seed: int) -> Any:
    """Low-frequency texture, about unit amplitude: noise on a coarse grid, upsampled (cubic)."""
    import pyvips

    gw, gh = width // feature_px + 4, height // feature_px + 4
    coarse = pyvips.Image.gaussnoise(gw, gh, mean=0.0, sigma=1.0, seed=seed)
    fine = coarse.resize(feature_px, kernel="cubic")
    return fine.crop(feature_px, feature_px, width, height)


def _illumination(width: int, height: int, falloff: float) -> Any:
    """Lamp fall-off ``1 - falloff * (r / r_max)^2``, lamp at (0.4 w, 0.35 h)."""
    import pyvips

    lx, ly = 0.4 * width, 0.35 * height
    r2max = max((x - lx) ** 2 + (y - ly) ** 2 for x in (0, width) for y in (0, height))
    xy = pyvips.Image.xyz(width, height).cast("float")
    d = xy - [lx, ly]
    r2 = (d * d).bandmean() * 2.0
    return 1.0 - r2 * (falloff / r2max)


def degrade(clean: Any, strength: Strength, seed: int) -> tuple[Any, Any]:
    """``(ground_truth, scan)`` of a clean page (pyvips, 3-band uchar): the clean page with the
    scan's skew applied, and the scan before JPEG (3-band uchar), lazily (nothing is computed
    until written)."""
    import pyvips

    s = strength
    truth = _rotate(clean, s.skew_deg)
    w, h = truth.width, truth.height
    grain = _grain(w, h, s.grain_px, seed) + _grain(w, h, max(2, s.grain_px // 4), seed + 1) * 0.5
    page = (grain * s.grain + 1.0) * _illumination(w, h, s.falloff)
    ink = truth.cast("float") / 255.0
    scan = ink * (page * list(s.paper))
    if s.blur > 0:
        scan = scan.gaussblur(s.blur, min_ampl=0.05, precision="float")
    if s.noise > 0:
        noise = [pyvips.Image.gaussnoise(w, h, mean=0.0, sigma=s.noise, seed=seed + 2 + b) for b in range(3)]
        scan = scan + noise[0].bandjoin(noise[1:])
    return truth, (scan + 0.5).cast("uchar")


# ------------------------------------------------------------------------------- clean sources


def _font(names: tuple[str, ...], size: int) -> ImageFont.FreeTypeFont:
    import matplotlib

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    for name in names:
        if (folder / name).is_file():
            return ImageFont.truetype(str(folder / name), size)
    raise FileNotFoundError(f"none of the fonts {names} in {folder} (matplotlib ships DejaVu)")


WORDS = (
    "map survey river boundary scale north road bridge station field line contour sheet plan section "
    "elevation drawing datum grid area parcel building wall door window level note detail revision "
    "the of and to in is a for with on by from at as that this be are was it"
).split()


def render_text_page(width: int = 1200, height: int = 1600, seed: int = 0) -> np.ndarray:
    """A page of seeded text (heading, paragraphs, a ruled table), RGB uint8, antialiased."""
    rng = np.random.default_rng(seed)
    k = 2  # drawn at twice the size, then reduced: antialiased like a print
    img = Image.new("RGB", (width * k, height * k), "white")
    d = ImageDraw.Draw(img)
    head = _font(("DejaVuSans-Bold.ttf",), 34 * k)
    body = _font(("DejaVuSerif.ttf",), 15 * k)
    margin = 90 * k
    d.text((margin, 70 * k), "Sheet 12 - Survey of the River Crossing", font=head, fill=(20, 40, 110))
    y = 150 * k
    line_h = 24 * k
    for para in range(5):
        for _ in range(int(rng.integers(4, 8))):
            words = rng.choice(WORDS, size=int(rng.integers(9, 13)))
            d.text((margin, y), " ".join(words).capitalize(), font=body, fill=(15, 15, 15))
            y += line_h
        y += line_h // 2
        if para == 2:  # a ruled table between paragraphs
            cols = [margin, margin + 260 * k, margin + 520 * k, width * k - margin]
            for r in range(5):
                ry = y + r * 30 * k
                d.line([(cols[0], ry), (cols[-1], ry)], fill=(0, 0, 0), width=2 * k if r in (0, 4) else k)
                if r < 4:
                    for c in range(3):
                        txt = f"{rng.choice(WORDS)} {int(rng.integers(1, 999))}"
                        d.text((cols[c] + 8 * k, ry + 5 * k), txt, font=body, fill=(15, 15, 15))
            for cx in cols:
                d.line([(cx, y), (cx, y + 120 * k)], fill=(0, 0, 0), width=k)
            y += 150 * k
    return np.asarray(img.resize((width, height), Image.Resampling.LANCZOS))


def render_lineart(width: int = 1600, height: int = 1200, seed: int = 0) -> np.ndarray:
    """A CAD-like drawing (frame, title block, circles, arcs, hatching, dimensions, a red and a
    blue layer), RGB uint8, antialiased."""
    rng = np.random.default_rng(seed)
    k = 2
    W, H = width * k, height * k
    img = Image.new("RGB", (W, H), "white")
    d = ImageDraw.Draw(img)
    black, red, blue = (0, 0, 0), (200, 30, 30), (30, 60, 190)
    m = 30 * k
    d.rectangle([m, m, W - m, H - m], outline=black, width=4 * k)
    tb = (W - m - 520 * k, H - m - 160 * k)  # title block
    d.rectangle([tb, (W - m, H - m)], outline=black, width=3 * k)
    for i in range(1, 4):
        d.line([(tb[0], tb[1] + 40 * k * i), (W - m, tb[1] + 40 * k * i)], fill=black, width=k)
    font = _font(("DejaVuSans.ttf",), 18 * k)
    for i, label in enumerate(("PART 7-B FLANGE", "SCALE 1:2", "DRAWN 2026-12", "SHEET 1 / 1")):
        d.text((tb[0] + 14 * k, tb[1] + 10 * k + 40 * k * i), label, font=font, fill=black)
    cx, cy = 520 * k, 520 * k  # a flange: circles, bolt holes, centre lines
    for r, w in ((300, 4), (220, 2), (90, 4)):
        d.ellipse([cx - r * k, cy - r * k, cx + r * k, cy + r * k], outline=black, width=w * k)
    for a in range(8):
        t = a * math.pi / 4
        bx, by = cx + 260 * k * math.cos(t), cy + 260 * k * math.sin(t)
        d.ellipse([bx - 18 * k, by - 18 * k, bx + 18 * k, by + 18 * k], outline=black, width=2 * k)
    for x0 in range(cx - 340 * k, cx + 340 * k, 24 * k):  # dash-dot centre lines
        d.line([(x0, cy), (x0 + 14 * k, cy)], fill=red, width=k)
        d.line([(cx, x0 - cx + cy), (cx, x0 - cx + cy + 14 * k)], fill=red, width=k)
    sx, sy = 1000 * k, 180 * k  # a section: hatched rectangle with an arc cut out
    d.rectangle([sx, sy, sx + 420 * k, sy + 300 * k], outline=black, width=3 * k)
    for off in range(16 * k, 720 * k, 16 * k):  # 45-degree hatching clipped to the section
        t0, t1 = max(0.0, (off - 420 * k) / (300 * k)), min(1.0, off / (300 * k))
        p0 = (sx + off - t0 * 300 * k, sy + t0 * 300 * k)
        p1 = (sx + off - t1 * 300 * k, sy + t1 * 300 * k)
        d.line([p0, p1], fill=black, width=k)
    d.pieslice([sx + 130 * k, sy + 150 * k, sx + 290 * k, sy + 310 * k], 180, 360, fill="white", outline=black)
    d.rectangle([sx, sy, sx + 420 * k, sy + 300 * k], outline=black, width=3 * k)
    dy = sy + 360 * k  # a dimension line with arrows
    d.line([(sx, dy), (sx + 420 * k, dy)], fill=blue, width=2 * k)
    for ax, sgn in ((sx, 1), (sx + 420 * k, -1)):
        d.polygon([(ax, dy), (ax + sgn * 24 * k, dy - 8 * k), (ax + sgn * 24 * k, dy + 8 * k)], fill=blue)
    d.text((sx + 170 * k, dy - 34 * k), "120.0", font=font, fill=blue)
    pts = sorted((int(rng.integers(980, 1500)) * k, int(rng.integers(640, 900)) * k) for _ in range(7))
    d.line(pts, fill=blue, width=3 * k, joint="curve")  # a free polyline (a pipe run)
    return np.asarray(img.resize((width, height), Image.Resampling.LANCZOS))


def _clean_sources(bench: Path) -> dict[str, Any]:
    """Name -> clean source as pyvips images (3-band uchar), in the corpus's order."""
    import pyvips

    out: dict[str, Any] = {}
    for name, (x, y) in MAP_CROPS.items():
        big = pyvips.Image.new_from_file(str(bench / "large" / MAP_NAME), access="sequential")
        out[name] = big.crop(x, y, MAP_CROP_SIDE, MAP_CROP_SIDE).copy_memory()
    for icon in ICONS:
        im = pyvips.Image.new_from_file(str(bench / "icons" / f"{icon}.png"))
        if im.hasalpha():
            im = im.flatten(background=[255, 255, 255])
        out[f"icon-{icon}"] = im.colourspace("srgb").cast("uchar")
    out["lineart"] = pyvips.Image.new_from_array(render_lineart(seed=1))
    out["text"] = pyvips.Image.new_from_array(render_text_page(seed=2))
    # One of each kind first, so that `--limit 4` takes a map, an icon, the lineart and the text.
    first = [next(iter(MAP_CROPS)), f"icon-{ICONS[0]}", "lineart", "text"]
    return {name: out[name] for name in first + [n for n in out if n not in first]}


# ------------------------------------------------------------------------------------ corpus


def source_seed(name: str, strength: str) -> int:
    """A stable seed per source and strength (crc32: the same on every machine and run)."""
    return zlib.crc32(f"{name}/{strength}".encode()) % 1_000_000 * 16


def _stamp(bench: Path) -> str:
    # The generator's own source is part of the stamp: any change to it regenerates the cache.
    code = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    params = {"version": GENERATOR_VERSION, "code": code, "strengths": [asdict(s) for s in STRENGTHS.values()]}
    params.update(crops=MAP_CROPS, icons=ICONS, bench=str(bench.resolve()))
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]


def write_pair(clean: Any, strength: Strength, seed: int, folder: Path, stem: str) -> tuple[Path, Path]:
    """Degrade ``clean`` and write ``STEM.jpg`` (the scan) and ``STEM.clean.png`` (the aligned
    ground truth) into ``folder``; returns their paths."""
    truth, scan = degrade(clean, strength, seed)
    scan_path, clean_path = folder / f"{stem}.jpg", folder / f"{stem}.clean.png"
    truth.pngsave(str(clean_path), compression=6, keep="none")
    scan.jpegsave(str(scan_path), Q=strength.jpeg, keep="none")
    return scan_path, clean_path


def real_scans(folder: Path) -> list[dict]:
    """Real scans found in installed packages, copied into ``folder`` as RGB PNG (no ground
    truth): ``skimage.data.page()``, a scanned page with uneven illumination."""
    entries = []
    try:
        from skimage import data
    except ImportError:  # the bench extra is not installed: synthetic scans only
        return entries
    page = np.asarray(data.page(), dtype=np.uint8)
    path = folder / "real-skimage-page.png"
    Image.fromarray(np.repeat(page[..., None], 3, axis=2)).save(path)
    entries.append({"group": GROUP, "file": path.name, "clean": None, "kind": "real", "strength": "real"})
    return entries


def build(
    folder: Path | None = None, bench: Path | None = None, strengths: tuple[str, ...] | None = None
) -> list[dict]:
    """Write the scan corpus into ``folder`` unless its ``manifest.json`` has the current stamp;
    returns the manifest: ``[{"group", "file", "clean", "kind", "strength", "source"}, ...]``
    with files relative to ``folder`` (default :data:`CACHE`), medium scans first (so ``--limit``
    takes a mix)."""
    folder = folder or CACHE
    bench = bench or default_corpus()
    strengths = strengths or tuple(STRENGTHS)
    stamp = _stamp(bench) + "-" + ",".join(strengths)
    manifest_path = folder / "manifest.json"
    if manifest_path.is_file():
        old = json.loads(manifest_path.read_text(encoding="utf-8"))
        if old.get("stamp") == stamp and all((folder / e["file"]).is_file() for e in old["entries"]):
            return list(old["entries"])
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    sources = _clean_sources(bench)
    order = sorted(strengths, key=lambda s: (s != "medium", list(STRENGTHS).index(s)))
    entries: list[dict] = []
    for level in order:
        for name, clean in sources.items():
            stem = f"{name}-{level}"
            scan, truth = write_pair(clean, STRENGTHS[level], source_seed(name, level), folder, stem)
            kind = name.split("-")[0]
            entries.append(
                {
                    "group": GROUP,
                    "file": scan.name,
                    "clean": truth.name,
                    "kind": kind,
                    "strength": level,
                    "source": name,
                }
            )
    entries += real_scans(folder)
    manifest_path.write_text(json.dumps({"stamp": stamp, "entries": entries}, indent=1), encoding="utf-8")
    return entries


def write_big_scan(
    out: Path, source: Path | None = None, strength: str = "medium", seed: int = 144, quality: int | None = None
) -> Path:
    """The whole world map (12000 x 12000, 144 MP) printed and scanned at ``strength`` without
    skew (the issue's case has none, and a rotation would need the whole page at once), as a
    JPEG: streamed by libvips in strips, so memory stays bounded. Written only when missing."""
    import pyvips

    if out.is_file():
        return out
    source = source or default_corpus() / "large" / MAP_NAME
    s = STRENGTHS[strength]
    s = Strength(**{**asdict(s), "skew_deg": 0.0})
    clean = pyvips.Image.new_from_file(str(source), access="sequential")
    if clean.hasalpha():
        clean = clean.flatten(background=[255, 255, 255])
    _truth, scan = degrade(clean, s, seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".partial.jpg")
    scan.jpegsave(str(tmp), Q=quality or s.jpeg, keep="none")
    tmp.replace(out)
    return out
