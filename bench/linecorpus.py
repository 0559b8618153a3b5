"""The centerline corpus: line drawings whose vector source we write ourselves, so the true
centerline of every line is known.

Two kinds of drawing, each 512 x 512 (:data:`SIZE`), black on white:

* ``cad``: the :data:`CAD_SYMBOLS` (32 symbols from Debian's ``librecad-data`` library:
  electrical, plan, kinetics, power-station and flow-chart parts), read with ezdxf. Blocks
  (INSERT) are exploded; LINE, ARC, CIRCLE, ELLIPSE, LWPOLYLINE, POLYLINE and SPLINE are
  flattened to polylines by ezdxf's ``path`` module (chord error 0.05 px); text, hatches and
  other entities are left out (the chosen symbols have none). Each symbol is scaled uniformly
  into the page with a margin, DXF's y axis flipped to the image's.
* ``text``: single-stroke Hershey fonts (PyPI ``Hershey-Fonts``: :data:`FONTS`) writing
  :data:`TEXTS` (words, sentences, digits), the block centred and scaled down to fit.

Every drawing has one stroke width from :data:`WIDTHS` (1 to 8 px, cycled over the symbols,
fixed per text), drawn by resvg from an SVG we write (round caps and joins, anti-aliased).
Coordinates are pixel-corner coordinates: pixel ``(row, col)`` covers ``[col, col + 1] x [row,
row + 1]``, as in vectile's SVG.

Corpora (folder names): ``cad-clean``, ``cad-degraded``, ``text-clean``, ``text-degraded``.
A degraded drawing is its clean drawing printed and scanned by ``bench.scans.degrade`` at the
``medium`` strength (paper, grain, lamp fall-off, blur, noise, JPEG 80); its skew is applied to
the *vector* source before rendering (a rotation about the page centre), so the ground truth
stays exact, and the scan model runs without its own rotation.

Files per drawing in ``CACHE/CORPUS/``: ``NAME.png`` (clean) or ``NAME.jpg`` (scan): the input;
``NAME.svg``: the clean vector source; ``NAME.truth.png``: the clean render (its ink mask is the
reference of the re-rendered IoU); ``NAME.json``: the ground truth (polylines, stroke width,
keypoints). ``manifest.json`` lists them with a stamp of the generator; the folder is rebuilt
when the stamp changes or a file is missing. Deterministic: the same bytes on every run.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import zlib
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from bench import linemetrics
from bench.linemetrics import count_chains, polyline_keypoints

GENERATOR_VERSION = 1
SIZE = 512
MARGIN = 24
WIDTHS = (1, 2, 3, 5, 8)
CACHE = Path(__file__).resolve().parent / "out" / "centerline-corpus"
LIBRECAD = Path("/usr/share/librecad/library")
CORPORA = ("cad-clean", "cad-degraded", "text-clean", "text-degraded")
SCAN_STRENGTH = "medium"
#: Chord error of the flattened arcs, circles, ellipses and splines, in output pixels.
FLATTEN_PX = 0.05

#: The CAD symbols (relative to :data:`LIBRECAD`): one or a few per library folder, each 8 to
#: 60 geometric entities and nothing else (no text, hatch or dimension).
CAD_SYMBOLS = (
    "elektro/audio/mg2.dxf",
    "elektro/capacitor/cap6.dxf",
    "elektro/coil/L21.dxf",
    "elektro/connector-iso/Jack-relay.dxf",
    "elektro/dev/dev11.dxf",
    "elektro/diode-iso/Diode-Diac.dxf",
    "elektro/electric_appliances/elk19.dxf",
    "elektro/electro-vacuum/evd11.dxf",
    "elektro/electronics/mk10.dxf",
    "elektro/fuse/fu11.dxf",
    "elektro/lamp/hl_28.dxf",
    "elektro/power/pe11.dxf",
    "elektro/relay/n14.dxf",
    "elektro/resistor-iso/Resistor-heatfuse.dxf",
    "elektro/switch/qsn2.dxf",
    "elektro/transformer/t2o.dxf",
    "elektro/transistor-iso/Transistor-MOSFET-dep-Pc.dxf",
    "elektro/filter-iso/Delay.dxf",
    "plan/architect/Bathroom-bath-E.dxf",
    "plan/air_water/aw15.dxf",
    "plan/doors/d2.dxf",
    "plan/gasification/ga4.dxf",
    "plan/vegetation/v12.dxf",
    "kinetics/kin100.dxf",
    "kinetics/kin12.dxf",
    "kinetics/kin31.dxf",
    "kinetics/kin44.dxf",
    "power_station/ed100.dxf",
    "power_station/ed23.dxf",
    "power_station/ed51.dxf",
    "power_station/ed71.dxf",
    "algoritm/alg12.dxf",
)

#: Single-stroke (simplex) Hershey fonts: sans, roman, script, Greek.
FONTS = ("futural", "rowmans", "scripts", "greeks")
#: (stroke width px, cap-to-descender height px, lines): small text thin, large text bold.
TEXTS: tuple[tuple[int, int, tuple[str, ...]], ...] = (
    (1, 30, ("The quick brown fox", "jumps over the lazy dog.", "0123456789 +-=/()")),
    (2, 36, ("Sheet 12 survey", "river crossing", "scale 1:2500")),
    (3, 52, ("North arrow", "datum 42.5 m")),
    (5, 76, ("Plan B-7", "rev 3")),
    (8, 120, ("Hatch", "99")),
    (2, 32, ("Pack my box with", "five dozen liquor", "jugs, quickly! #47")),
)
ENTITY_TYPES = ("LINE", "ARC", "CIRCLE", "ELLIPSE", "LWPOLYLINE", "POLYLINE", "SPLINE")


class CorpusUnavailable(RuntimeError):
    """A source the corpus needs is not installed (the message says how to install it)."""


@dataclass(frozen=True)
class Drawing:
    """One ground-truth drawing: ``polylines`` (each ``(n, 2)`` float, x right, y down, pixel
    corners) stroked at ``width`` pixels on a ``size`` x ``size`` white page."""

    name: str
    kind: str
    width: float
    polylines: tuple[np.ndarray, ...]
    size: int = SIZE


# ------------------------------------------------------------------------------ vector sources


def _fit(polylines: list[np.ndarray], size: int, margin: float, flip_y: bool) -> list[np.ndarray]:
    """Scale and translate uniformly so the bounding box fills the page less ``margin``."""
    allp = np.concatenate(polylines)
    lo, hi = allp.min(axis=0), allp.max(axis=0)
    span = max(float((hi - lo).max()), 1e-9)
    scale = (size - 2 * margin) / span
    centre = (lo + hi) / 2
    out = []
    for p in polylines:
        q = (p - centre) * scale
        if flip_y:
            q[:, 1] = -q[:, 1]
        out.append(q + size / 2)
    return out


def read_dxf(path: Path, size: int = SIZE, margin: float = MARGIN) -> list[np.ndarray]:
    """The polylines of a DXF file's model space (blocks exploded), fitted into the page."""
    import ezdxf
    from ezdxf import disassemble
    from ezdxf import path as dxfpath

    doc = ezdxf.readfile(str(path))
    entities = [e for e in disassemble.recursive_decompose(doc.modelspace()) if e.dxftype() in ENTITY_TYPES]
    if not entities:
        raise ValueError(f"{path}: no {'/'.join(ENTITY_TYPES)} entities")
    paths = [dxfpath.make_path(e) for e in entities]
    # The chord error is set in DXF units: scale of the page over the drawing's extent.
    ext = np.array([[v.x, v.y] for p in paths for v in p.control_vertices()] or [[0.0, 0.0]])
    span = max(float((ext.max(axis=0) - ext.min(axis=0)).max()), 1e-9)
    distance = FLATTEN_PX * span / (size - 2 * margin)
    polylines = []
    for p in paths:
        for sub in p.sub_paths():
            pts = np.array([[v.x, v.y] for v in sub.flattening(distance)], dtype=np.float64)
            if len(pts) >= 2:
                polylines.append(pts)
    return _fit(polylines, size, margin, flip_y=True)


def hershey_polylines(font: str, lines: tuple[str, ...], height: float, size: int = SIZE) -> list[np.ndarray]:
    """Strokes of ``lines`` in the Hershey ``font``, ``height`` px from its cap line to its
    bottom (descender) line (capitals are about 3/4 of it), lines 1.45 heights apart, the block
    centred on the page (scaled down only when it would not fit)."""
    from HersheyFonts import HersheyFonts

    f = HersheyFonts()
    f.load_default_font(font)
    f.normalize_rendering(height)
    polylines = []
    for i, line in enumerate(lines):
        for stroke in f.strokes_for_text(line):
            pts = np.array(stroke, dtype=np.float64)
            if len(pts) >= 2:
                pts[:, 1] = -pts[:, 1] + i * 1.45 * height  # font y is up: flip, then next line
                polylines.append(pts)
    allp = np.concatenate(polylines)
    span = (allp.max(axis=0) - allp.min(axis=0)).max()
    if span > size - 2 * MARGIN:
        return _fit(polylines, size, MARGIN, flip_y=False)
    centre = (allp.max(axis=0) + allp.min(axis=0)) / 2
    return [p - centre + size / 2 for p in polylines]


def cad_drawings(library: Path = LIBRECAD) -> list[Drawing]:
    """The :data:`CAD_SYMBOLS` as drawings, widths cycling through :data:`WIDTHS`."""
    if not library.is_dir():
        raise CorpusUnavailable(f"no LibreCAD library at {library} (apt-get install -y librecad-data)")
    out = []
    for i, rel in enumerate(CAD_SYMBOLS):
        name = "cad-" + rel.removesuffix(".dxf").replace("/", "-").lower()
        polys = read_dxf(library / rel)
        out.append(Drawing(name, "cad", float(WIDTHS[i % len(WIDTHS)]), tuple(polys)))
    return out


def text_drawings() -> list[Drawing]:
    """Every font of :data:`FONTS` writing every entry of :data:`TEXTS` (24 drawings)."""
    out = []
    for font in FONTS:
        for j, (width, height, lines) in enumerate(TEXTS):
            polys = hershey_polylines(font, lines, height)
            out.append(Drawing(f"text-{font}-{j}", "text", float(width), tuple(polys)))
    return out


def rotated(drawing: Drawing, degrees: float) -> Drawing:
    """``drawing`` rotated by ``degrees`` (clockwise on screen, y down) about the page centre."""
    t = math.radians(degrees)
    rot = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    c = drawing.size / 2
    return replace(drawing, polylines=tuple((p - c) @ rot.T + c for p in drawing.polylines))


# ---------------------------------------------------------------------------------- rendering


def _d(p: np.ndarray) -> str:
    return "M" + " L".join(f"{x:.3f} {y:.3f}" for x, y in p)


def drawing_svg(drawing: Drawing) -> str:
    """The clean vector source: one stroked path per polyline, round caps and joins."""
    s = drawing.size
    paths = "\n".join(f'<path d="{_d(p)}"/>' for p in drawing.polylines)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{s}" height="{s}" viewBox="0 0 {s} {s}">\n'
        f'<rect width="{s}" height="{s}" fill="#fff"/>\n'
        f'<g fill="none" stroke="#000" stroke-width="{drawing.width:g}" stroke-linecap="round" '
        f'stroke-linejoin="round">\n{paths}\n</g>\n</svg>\n'
    )


def render(drawing: Drawing) -> np.ndarray:
    """The drawing rendered by resvg: RGB uint8 ``(size, size, 3)``."""
    from bench.metrics import render_svg

    return np.ascontiguousarray(render_svg(drawing_svg(drawing), drawing.size, drawing.size)[..., :3])


def ink_mask(rgb: np.ndarray) -> np.ndarray:
    """Ink of a clean render: luminance below mid-grey (what a person sees as line)."""
    from bench.metrics import luma

    return np.asarray(luma(rgb) < 127.5)


def truth_record(drawing: Drawing) -> dict[str, Any]:
    """The JSON ground truth: polylines (4 decimals), width, keypoints, chain count."""
    ends, junctions = polyline_keypoints(list(drawing.polylines), drawing.width)
    return {
        "name": drawing.name,
        "kind": drawing.kind,
        "width": drawing.width,
        "size": drawing.size,
        "polylines": [np.round(p, 4).tolist() for p in drawing.polylines],
        "endpoints": np.round(ends, 3).tolist(),
        "junctions": np.round(junctions, 3).tolist(),
        "chains": count_chains(list(drawing.polylines), drawing.width),
    }


def load_truth(path: Path) -> dict[str, Any]:
    """A ``NAME.json`` ground truth with its polylines as arrays."""
    rec = json.loads(path.read_text(encoding="utf-8"))
    rec["polylines"] = [np.asarray(p, dtype=np.float64) for p in rec["polylines"]]
    for key in ("endpoints", "junctions"):
        rec[key] = np.asarray(rec[key], dtype=np.float64).reshape(-1, 2)
    return rec


# ------------------------------------------------------------------------------------- corpus


def _stamp(corpora: tuple[str, ...]) -> str:
    from bench import scans

    # The truth's keypoints and chains come from linemetrics: its code is part of the stamp.
    sources = (Path(__file__), Path(scans.__file__), Path(str(linemetrics.__file__)))
    code = hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest()
    params = {"version": GENERATOR_VERSION, "code": code, "corpora": list(corpora)}
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]


def _write_drawing(drawing: Drawing, folder: Path, degraded: bool) -> dict[str, Any]:
    from PIL import Image

    from bench import scans

    strength = scans.STRENGTHS[SCAN_STRENGTH]
    if degraded:
        drawing = rotated(drawing, strength.skew_deg)
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / drawing.name
    clean = render(drawing)
    Image.fromarray(clean).save(stem.with_suffix(".truth.png"), optimize=False)
    stem.with_suffix(".svg").write_text(drawing_svg(drawing), encoding="utf-8")
    stem.with_suffix(".json").write_text(json.dumps(truth_record(drawing)), encoding="utf-8")
    if degraded:
        import pyvips

        seed = zlib.crc32(f"centerline/{drawing.name}".encode()) % 1_000_000 * 16
        flat = scans.Strength(**{**asdict(strength), "skew_deg": 0.0})  # skew is in the vectors
        _truth, scan = scans.degrade(pyvips.Image.new_from_array(clean), flat, seed)
        image = stem.with_suffix(".jpg")
        scan.jpegsave(str(image), Q=flat.jpeg, keep="none")
    else:
        image = stem.with_suffix(".png")
        shutil.copyfile(stem.with_suffix(".truth.png"), image)
    return {
        "corpus": folder.name,
        "name": drawing.name,
        "file": f"{folder.name}/{image.name}",
        "truth": f"{folder.name}/{drawing.name}.json",
        "clean": f"{folder.name}/{drawing.name}.truth.png",
        "width": drawing.width,
        "size": drawing.size,
    }


def drawings_for(kind: str) -> list[Drawing]:
    """All drawings of ``kind`` (``cad`` or ``text``)."""
    return cad_drawings() if kind == "cad" else text_drawings()


def build(folder: Path | None = None, corpora: tuple[str, ...] = CORPORA) -> list[dict[str, Any]]:
    """Write ``corpora`` into ``folder`` (default :data:`CACHE`) unless its manifest has the
    current stamp and every file is there; returns the manifest entries ``{"corpus", "name",
    "file", "truth", "clean", "width", "size"}`` (paths relative to ``folder``).

    Raises :class:`CorpusUnavailable` when a source is not installed (librecad-data for cad).
    """
    folder = folder or CACHE
    stamp = _stamp(corpora)
    manifest = folder / "manifest.json"
    if manifest.is_file():
        old = json.loads(manifest.read_text(encoding="utf-8"))
        files = [folder / e[k] for e in old["entries"] for k in ("file", "truth", "clean")]
        if old.get("stamp") == stamp and all(f.is_file() for f in files):
            return list(old["entries"])
    if folder.exists():
        shutil.rmtree(folder)
    entries: list[dict[str, Any]] = []
    cache: dict[str, list[Drawing]] = {}
    for corpus in corpora:
        kind, _, state = corpus.partition("-")
        if kind not in cache:
            cache[kind] = drawings_for(kind)
        for drawing in cache[kind]:
            entries.append(_write_drawing(drawing, folder / corpus, degraded=state == "degraded"))
    manifest.write_text(json.dumps({"stamp": stamp, "entries": entries}, indent=1), encoding="utf-8")
    return entries
