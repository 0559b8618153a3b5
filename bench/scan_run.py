"""``python -m bench run --group scans``: scans traced by vectile and its peers, each trace
measured against the scan *and* against the clean source the scan was made from.

The corpus is generated (``bench/scans.py``, cached in ``bench/out/scans-corpus``). For every
scan, in one run and in fresh processes as ``bench run`` measures (``bench/runner.py``):

* vectile in each of :data:`VECTILE_VARIANTS` (options this vectile does not accept yet are
  skipped with a line, so the list is data: a variant switches itself on when vectile grows
  the option), then every other colour tracer asked for (VTracer by default);
* ``vectile on clean``: vectile's default trace of the clean source, the reference the targets
  compare with (a scan's trace should be nearly as good as the clean source's).

Per trace: wall and CPU seconds, peak RSS, SVG bytes, paths, commands, PSNR and SSIM against
the scan (``*_scan``) and against the clean source (``*_clean``), and the noise contours
(``bench.metrics.noise_contours``: drawn boundary pixels inside the clean source's flat areas,
per megapixel of flat area). Real scans have no clean source: their ``*_clean`` and noise
columns stay empty. Writes ``scans.jsonl``, ``scans.md`` and, for the first scan of each kind,
``scans-before-after-KIND.png`` (a crop of the scan | vectile's render | the peer's render,
zoomed) under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from bench import scans
from bench.cli import parse_opts, resolve_tracers
from bench.corpus import load_original
from bench.metrics import (
    composite_on_white,
    noise_contours,
    psnr,
    render_svg,
    ssim,
    svg_counts,
    thin_line_recall,
    to_rgb_on_white,
)
from bench.runner import measure
from bench.tables import _fmt, median
from bench.tracers import COLOR, TRACERS, Tracer

#: vectile's variants on the scans: (label, options). The first is the one the targets judge.
VECTILE_VARIANTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("vectile", {}),
    ("vectile background=white", {"background": "white"}),
    ("vectile preset=scan", {"preset": "scan"}),
    ("vectile preset=scan background=white", {"preset": "scan", "background": "white"}),
    # The stroke layer of colour mode (#16, off by default): auto at its default width (3 px)
    # and at 8.
    ("vectile strokes=auto", {"strokes": "auto"}),
    ("vectile strokes=auto stroke-width-max=8", {"strokes": "auto", "stroke_width_max": 8.0}),
)
CLEAN_LABEL = "vectile on clean"
PICTURE = "scans-before-after-{kind}.png"  # one per kind of clean source (map, icon, lineart, text)
PICTURE_CROP = 300  # px of the scan shown per panel, zoomed PICTURE_ZOOM times
PICTURE_ZOOM = 2

COLUMNS = [
    ("images", None, None),
    ("s per image", "seconds", "{:.3f}"),
    ("peak RSS MB", "peak_rss_mb", "{:.0f}"),
    ("SVG KB", "kb", "{:.1f}"),
    ("paths", "paths", "{:.0f}"),
    ("PSNR scan dB", "psnr_scan", "{:.2f}"),
    ("SSIM scan", "ssim_scan", "{:.3f}"),
    ("PSNR clean dB", "psnr_clean", "{:.2f}"),
    ("SSIM clean", "ssim_clean", "{:.3f}"),
    ("thin recall clean", "thin_recall_clean", "{:.3f}"),
    ("noise px/MP", "noise_px_per_mp", "{:.0f}"),
]
RATIO_KEYS = ("seconds", "peak_rss_mb", "kb", "paths")


def _measure_into(rec: dict, tracer: Tracer, path: Path, repeat: int, opts: dict, args: Any, warmup: str) -> str:
    inputs = {"in": str(path), "in_pbm": None}
    m = measure(tracer, inputs, repeat, opts, isolate=not args.in_process, warmup=warmup, timeout=args.timeout)
    rec.update(seconds=statistics.median(m.times), cpu_seconds=statistics.median(m.cpu_times), times=m.times)
    if m.peak_rss_kb is not None:
        rec["peak_rss_mb"] = m.peak_rss_kb * 1024 / 1e6
    counts = svg_counts(m.svg)
    rec.update(counts, kb=counts["bytes"] / 1000.0)
    return m.svg


def score(rec: dict, svg: str, scan: np.ndarray | None, clean: np.ndarray | None) -> np.ndarray:
    """Fill ``rec`` with the fidelity of ``svg`` against the scan and the clean source (either
    may be None) and the noise contours; returns the render (RGB on white)."""
    ref = clean if clean is not None else scan
    assert ref is not None
    h, w = ref.shape[:2]
    rgba = render_svg(svg, w, h)
    got = composite_on_white(rgba)
    rec["gaps"] = int(np.count_nonzero(rgba[..., 3] < 128))
    if scan is not None:
        rec.update(psnr_scan=psnr(scan, got), ssim_scan=ssim(scan, got))
    if clean is not None:
        rec.update(psnr_clean=psnr(clean, got), ssim_clean=ssim(clean, got), **noise_contours(clean, got))
        rec["thin_recall_clean"] = thin_line_recall(clean, got)
    return got


def accepted_variants(args: Any, warmup: str, base: dict[str, Any]) -> tuple[list[tuple[str, dict]], list[str]]:
    """The vectile variants this vectile accepts (one warm-up trace each, in a worker), and a
    line for each one skipped."""
    ok, lines = [], []
    for label, opts in VECTILE_VARIANTS:
        merged = {**base, **opts}
        if opts:
            try:
                measure(TRACERS["vectile"], {"in": warmup, "in_pbm": None}, 1, merged, isolate=not args.in_process)
            except Exception as exc:  # TypeError or OptionError for an option it lacks
                lines.append(f"bench: skipping {label}: this vectile refuses {opts} ({str(exc).strip()[-160:]})")
                continue
        ok.append((label, merged))
    return ok, lines


def _progress(done: int, total: int, rec: dict) -> str:
    head = f"[{done}/{total}] scans {rec['file']} {rec['tracer']}"
    if "error" in rec:
        return f"{head}: ERROR {rec['error']}"
    cells = [f"{rec['seconds']:.2f}s", f"{rec['kb']:.1f}KB", f"{rec['paths']} paths"]
    for key, fmt in (("psnr_scan", "psnr/scan {:.2f}"), ("ssim_scan", "ssim/scan {:.3f}")):
        if key in rec:
            cells.append(fmt.format(rec[key]))
    for key, fmt in (("psnr_clean", "psnr/clean {:.2f}"), ("ssim_clean", "ssim/clean {:.3f}")):
        if key in rec:
            cells.append(fmt.format(rec[key]))
    if rec.get("thin_recall_clean") is not None:
        cells.append(f"thin/clean {rec['thin_recall_clean']:.3f}")
    if rec.get("noise_px_per_mp") is not None:
        cells.append(f"noise {rec['noise_px_per_mp']:.0f} px/MP")
    return f"{head}: " + " ".join(cells)


# ------------------------------------------------------------------------------------ tables


def table(title: str, records: list[dict], labels: list[str], peer: str | None) -> str:
    """One Markdown table: a row of medians per tracer label, then ``vectile / PEER`` ratios."""
    lines = [f"### {title}", "", "| tracer | " + " | ".join(c[0] for c in COLUMNS) + " |"]
    lines.append("|" + " --- |" * (len(COLUMNS) + 1))
    ok = [r for r in records if "error" not in r]
    for label in labels:
        rs = [r for r in ok if r["tracer"] == label]
        if rs:
            cells = [label, str(len(rs))] + [_fmt(median(r.get(k) for r in rs), f) for _, k, f in COLUMNS[1:]]
            lines.append("| " + " | ".join(cells) + " |")
    subject = labels[0] if labels else None
    if subject and peer:
        by_file: dict[str, dict[str, dict]] = {}
        for r in ok:
            by_file.setdefault(r["file"], {})[r["tracer"]] = r
        pairs = [(d[subject], d[peer]) for d in by_file.values() if subject in d and peer in d]
        if pairs:
            cells = [f"{subject} / {peer}", str(len(pairs))]
            for _, key, _f in COLUMNS[1:]:
                ratios = [a[key] / b[key] for a, b in pairs if key in RATIO_KEYS and a.get(key) and b.get(key)]
                cells.append(_fmt(median(ratios), "{:.2f}") if ratios else "")
            lines.append("| " + " | ".join(cells) + " |")
    errors = [r for r in records if "error" in r]
    if errors:
        lines += ["", f"{len(errors)} failed run(s): " + "; ".join(f"{r['tracer']} {r['file']}" for r in errors)]
    return "\n".join(lines) + "\n"


def targets(records: list[dict], peer: str | None) -> list[str]:
    """The issue's targets, checked on the synthetic scans' medians: SSIM and SVG bytes for each
    vectile variant that keeps the paper (the first, the automatic preset, is the one the issue
    judges), PSNR vs clean for each variant that whitens it."""
    syn = [r for r in records if "error" not in r and r.get("strength") != "real"]
    present = list(dict.fromkeys(r["tracer"] for r in syn))

    def med(label: str, key: str) -> float | None:
        return median(r.get(key) for r in syn if r["tracer"] == label)

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    out = []
    s_clean, p_clean = med(CLEAN_LABEL, "ssim_clean"), med(CLEAN_LABEL, "psnr_clean")
    s_peer = med(peer, "ssim_clean") if peer else None
    for label, opts in VECTILE_VARIANTS:
        if label not in present:
            continue
        if opts.get("background") == "white":
            p_white = med(label, "psnr_clean")
            if p_white is not None and p_clean is not None:
                out.append(
                    f"- {label}: PSNR vs clean {p_white:.2f} dB, the clean trace's {p_clean:.2f} dB (difference "
                    f"{p_white - p_clean:+.2f} dB; target >= -2: {verdict(p_white >= p_clean - 2)})"
                )
                out.append(f"  - {white_gap(syn, label)}")
            continue
        s_scan = med(label, "ssim_clean")
        if s_scan is not None and s_clean is not None:
            line = (
                f"- {label}: SSIM vs clean {s_scan:.4f}, the clean trace's {s_clean:.4f} (difference "
                f"{s_scan - s_clean:+.4f}; target >= -0.01: {verdict(s_scan >= s_clean - 0.01)})"
            )
            if s_peer is not None:
                line += f"; {peer}'s {s_peer:.4f} (target: above it: {verdict(s_scan > s_peer)})"
            out.append(line)
        ratios = []
        for f in dict.fromkeys(r["file"] for r in syn):
            a = [r for r in syn if r["file"] == f and r["tracer"] == label]
            b = [r for r in syn if r["file"] == f and r["tracer"] == peer]
            if a and b and b[0].get("bytes"):
                ratios.append(a[0]["bytes"] / b[0]["bytes"])
        if ratios:
            m = statistics.median(ratios)
            out.append(f"- {label}: SVG bytes / {peer}'s, median {m:.3f} (target <= 0.5: {verdict(m <= 0.5)})")
    noise = [(label, med(label, "noise_px_per_mp")) for label in present]
    if any(v is not None for _, v in noise):
        out.append(
            "- noise contours (px of boundary per MP of flat clean area, target 0): "
            + ", ".join(f"{label} {v:.0f}" for label, v in noise if v is not None)
        )
    return out


def white_gap(records: list[dict], label: str) -> str:
    """The PSNR gap (against the clean source) between ``label`` and the clean trace of the
    same source, as the median of the per-image differences and per kind of source (icon,
    lineart, text, map): one line. The difference of the medians (the target's line) pairs
    two different images when the order changes; the per-image one does not."""
    clean = {r["file"]: r.get("psnr_clean") for r in records if r["tracer"] == CLEAN_LABEL}
    diffs: dict[str, list[float]] = {}
    for r in records:
        ref = clean.get(r["file"])
        if r["tracer"] == label and r.get("psnr_clean") is not None and ref is not None:
            diffs.setdefault(r.get("kind", "?"), []).append(r["psnr_clean"] - ref)
    every = [d for ds in diffs.values() for d in ds]
    if not every:
        return "per-image PSNR differences: none"
    kinds = ", ".join(
        f"{kind} {statistics.median(ds):+.2f} ({min(ds):+.2f} to {max(ds):+.2f}, {len(ds)})"
        for kind, ds in sorted(diffs.items())
    )
    return (
        f"median of the per-image differences {statistics.median(every):+.2f} dB over {len(every)} images; "
        f"per kind, median (range, images): {kinds}"
    )


def summary(records: list[dict], labels: list[str], peer: str | None, meta: dict) -> str:
    out = [
        "# vectile bench: scans",
        "",
        f"- command: `{meta['command']}`; tracers: {', '.join(f'{t} {v}' for t, v in meta['versions'].items())}",
        f"- timing: median of {meta['repeat']} run(s), fresh processes per tracer and image; "
        "cells: medians over images",
        "- scan / clean columns: the render on white against the scan / against its clean source; "
        "noise px/MP: drawn boundary pixels (render neighbours > "
        "2 ΔE apart) inside the clean source's flat areas (eroded 3 px), per MP of flat area",
        "",
    ]
    syn = [r for r in records if r.get("strength") != "real"]
    out.append(table("scans (synthetic, all strengths)", syn, labels, peer))
    out += ["Targets (issue #15):", "", *targets(records, peer), ""]
    for level in scans.STRENGTHS:
        rs = [r for r in records if r.get("strength") == level]
        if rs:
            out.append(table(f"scans ({level})", rs, labels, peer))
    real = [r for r in records if r.get("strength") == "real"]
    if real:
        out.append(table("scans (real, no clean source)", real, [x for x in labels if x != CLEAN_LABEL], peer))
    return "\n".join(out)


# ----------------------------------------------------------------------------------- picture


def busiest_window(clean: np.ndarray, side: int) -> tuple[int, int]:
    """Top-left ``(x, y)`` of the ``side`` square (on a grid of side / 2 steps) where the clean
    source has the most edges and still some flat area: where a scan's trace is judged."""
    from bench.metrics import flat_mask

    flat = flat_mask(clean)
    h, w = flat.shape
    best, at = -1.0, (0, 0)
    step = max(1, side // 2)
    for y in range(0, max(1, h - side + 1), step):
        for x in range(0, max(1, w - side + 1), step):
            f = float(flat[y : y + side, x : x + side].mean())
            s = (1.0 - f) * min(f, 0.5)  # edges, but at least some paper
            if s > best:
                best, at = s, (x, y)
    return at


def write_picture(path: Path, scan: np.ndarray, clean: np.ndarray | None, panels: dict[str, np.ndarray]) -> Path:
    """``scan crop | each render`` side by side, zoomed, with a label strip over each."""
    from PIL import ImageDraw

    side = min(PICTURE_CROP, *scan.shape[:2])
    x, y = busiest_window(clean if clean is not None else scan, side)
    tiles = [("scan", scan)] + list(panels.items())
    z = PICTURE_ZOOM
    strip = 28
    canvas = Image.new("RGB", (len(tiles) * side * z + (len(tiles) - 1) * 8, side * z + strip), "white")
    draw = ImageDraw.Draw(canvas)
    font = scans._font(("DejaVuSans.ttf",), 18)
    for i, (label, img) in enumerate(tiles):
        crop = Image.fromarray(img[y : y + side, x : x + side]).resize((side * z, side * z), Image.Resampling.NEAREST)
        left = i * (side * z + 8)
        canvas.paste(crop, (left, strip))
        draw.text((left + 4, 4), label, font=font, fill=(0, 0, 0))
    canvas.save(path)
    return path


# ---------------------------------------------------------------------------------------- run


def run(args: argparse.Namespace) -> int:
    """The scans group of ``bench run`` (the parsed ``bench run`` arguments)."""
    repeat = args.repeat if args.repeat is not None else (1 if args.quick else 3)
    limit = args.limit
    if args.quick:
        limit = 4 if limit is None else min(limit, 4)
    base_opts = parse_opts(args.vectile_opt)
    requested = [t.strip() for t in args.tracers.split(",") if t.strip()]
    tracers, messages, versions = resolve_tracers(requested, args.tracer, [COLOR], isolate=not args.in_process)
    tracers = [t for t in tracers if COLOR in t.modes]
    for msg in messages:
        print(msg)
    print("bench: scans: building the scan corpus (cached) ...", flush=True)
    folder = scans.CACHE
    entries = scans.build(folder, bench=args.corpus)
    if limit is not None:
        entries = entries[:limit]
    args.out.mkdir(parents=True, exist_ok=True)
    records: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="bench-scans-") as tmp:
        warm = Path(tmp) / "warmup.png"
        Image.fromarray(np.full((16, 16, 3), 255, np.uint8)).save(warm)
        has_vectile = any(t.name == "vectile" for t in tracers)
        variants, lines = accepted_variants(args, str(warm), base_opts) if has_vectile else ([], [])
        for line in lines:
            print(line)
        peers = [t for t in tracers if t.name != "vectile"]
        labels = [label for label, _ in variants] + [t.name for t in peers] + ([CLEAN_LABEL] if has_vectile else [])
        peer = peers[0].name if peers else None
        total = len(entries)
        pictures: dict[str, Path] = {}
        with open(args.out / "scans.jsonl", "w", encoding="utf-8") as out:
            for done, entry in enumerate(entries, 1):
                scan_path = folder / entry["file"]
                scan = to_rgb_on_white(load_original(scan_path))
                clean_path = scan_path.parent / entry["clean"] if entry.get("clean") else None
                clean = to_rgb_on_white(load_original(clean_path)) if clean_path else None
                runs = [(label, TRACERS["vectile"], opts, scan_path) for label, opts in variants]
                runs += [(t.name, t, {}, scan_path) for t in peers]
                if has_vectile and clean_path is not None:
                    runs.append((CLEAN_LABEL, TRACERS["vectile"], dict(base_opts), clean_path))
                renders: dict[str, np.ndarray] = {}
                for label, tracer, opts, path in runs:
                    rec: dict[str, Any] = {
                        "tracer": label,
                        "group": "scans",
                        "file": entry["file"],
                        "strength": entry["strength"],
                        "kind": entry["kind"],
                        "width": int(scan.shape[1]),
                        "height": int(scan.shape[0]),
                        "options": opts,
                    }
                    try:
                        svg = _measure_into(rec, tracer, path, repeat, opts, args, str(warm))
                        on_clean = label == CLEAN_LABEL
                        renders[label] = score(rec, svg, None if on_clean else scan, clean)
                    except Exception as exc:  # one failure must not stop the run
                        rec["error"] = f"{type(exc).__name__}: {exc}"
                    records.append(rec)
                    out.write(json.dumps(rec, allow_nan=True) + "\n")
                    out.flush()
                    print(_progress(done, total, rec), flush=True)
                kind = entry["kind"]
                if kind not in pictures and clean is not None and labels[0] in renders:
                    shown = {k: renders[k] for k in (labels[0], peer) if k and k in renders}
                    pictures[kind] = write_picture(args.out / PICTURE.format(kind=kind), scan, clean, shown)
    meta = {"command": " ".join(["python -m bench"] + sys.argv[1:]), "versions": versions, "repeat": repeat}
    text = summary(records, labels, peer, meta)
    (args.out / "scans.md").write_text(text, encoding="utf-8")
    print()
    print(text)
    written = [args.out / "scans.jsonl", args.out / "scans.md", *pictures.values()]
    print("bench: wrote " + ", ".join(str(p) for p in written))
    return 1 if any("error" in r for r in records) else 0
