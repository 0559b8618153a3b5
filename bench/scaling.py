"""``python -m bench scaling``: how time and peak memory grow with pixels.

The input is generated, never stored: one procedural "map" (a fixed, seeded SVG scene of a
few hundred polygons, ellipses and polylines in flat colours on a 1000 x 1000 viewBox) rendered
by resvg at growing square sizes, 1, 4, 16, 64 and 256 MP by default. The scene is the same at
every size, so the number of shapes stays constant while the boundary lengths grow with the
side and the pixel count with its square: a tracer linear in pixels shows a slope of 1 on the
log-log plot. Anti-aliased edges come from resvg, as in the corpus.

Each tracer runs on each size in fresh processes (``bench.runner``): wall and CPU seconds from
file path to SVG text, peak RSS of the process. Peers (every tracer but the first) are skipped
above ``--peer-max-mp`` (default 64: VTracer needs about 25 bytes per pixel and 0.25-1 s per
MP here) with a printed line. The fitted slope of ``log y = a + k log MP`` is reported for
seconds and peak RSS.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.cli import DEFAULT_OUT, resolve_tracers, vectile_build
from bench.metrics import svg_counts
from bench.runner import measure
from bench.tracers import TRACERS

DEFAULT_SIZES = "1,4,16,64,256"
QUICK_SIZES = "1,4"
DEFAULT_TRACERS = "vectile,vtracer"
PEER_MAX_MP = 64.0
PALETTE = [
    "#2e7d32",
    "#66bb6a",
    "#a5d6a7",
    "#f9a825",
    "#8d6e63",
    "#d84315",
    "#1565c0",
    "#eceff1",
    "#5d4037",
    "#9e9d24",
    "#ffffff",
    "#37474f",
]


def map_svg(seed: int = 0, shapes: int = 400) -> str:
    """The procedural map scene (deterministic for a seed), viewBox 0 0 1000 1000."""
    r = random.Random(seed)
    size = 1000
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" width="{size}" height="{size}">',
        f'<rect width="{size}" height="{size}" fill="#bcd8e8"/>',
    ]
    for _ in range(shapes):
        colour = r.choice(PALETTE)
        kind = r.random()
        x, y = r.uniform(0, size), r.uniform(0, size)
        if kind < 0.5:  # irregular polygon: a "country" or "lake"
            m = r.randint(5, 12)
            rad = r.uniform(8, 90)
            pts = []
            for j in range(m):
                a = 2 * math.pi * j / m + r.uniform(-0.2, 0.2)
                rr = rad * r.uniform(0.5, 1.2)
                pts.append(f"{x + rr * math.cos(a):.2f},{y + rr * math.sin(a):.2f}")
            parts.append(f'<polygon points="{" ".join(pts)}" fill="{colour}"/>')
        elif kind < 0.8:
            parts.append(
                f'<ellipse cx="{x:.1f}" cy="{y:.1f}" rx="{r.uniform(4, 60):.1f}" '
                f'ry="{r.uniform(4, 60):.1f}" fill="{colour}"/>'
            )
        else:  # a "road" or "river": thin strokes scale with the image
            pts = " ".join(f"{x + r.uniform(-150, 150):.1f},{y + r.uniform(-150, 150):.1f}" for _ in range(4))
            parts.append(
                f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="{r.uniform(1, 5):.1f}"/>'
            )
    parts.append("</svg>")
    return "\n".join(parts)


def render_map(path: Path, megapixels: float, seed: int = 0) -> tuple[int, int]:
    """Write the map as a PNG of about ``megapixels`` (square); returns ``(width, height)``."""
    import resvg_py

    side = max(1, round(math.sqrt(megapixels * 1e6)))
    png = bytes(resvg_py.svg_to_bytes(svg_string=map_svg(seed), width=side, height=side))
    path.write_bytes(png)
    return side, side


def parse_sizes(text: str) -> list[float]:
    sizes = [float(s) for s in text.split(",") if s.strip()]
    if not sizes or any(s <= 0 for s in sizes):
        raise ValueError(f"sizes must be positive megapixels, got {text!r}")
    return sizes


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench scaling",
        description="Time and peak RSS vs image size, on a procedural map "
        "rendered at growing sizes (generated, not stored).",
    )
    p.add_argument(
        "--sizes", default=None, help=f"comma-separated megapixels (default {DEFAULT_SIZES}; quick {QUICK_SIZES})"
    )
    p.add_argument(
        "--tracers",
        default=DEFAULT_TRACERS,
        help=f"comma-separated tracers, first = subject (default {DEFAULT_TRACERS})",
    )
    p.add_argument(
        "--peer-max-mp", type=float, default=PEER_MAX_MP, help=f"skip peers above this size (default {PEER_MAX_MP:.0f})"
    )
    p.add_argument("--repeat", type=int, default=1, help="timed runs per size (default 1)")
    p.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES}")
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder for scaling.jsonl, scaling.md, scaling.png (default bench/out)",
    )
    p.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="where the generated images go (default: a temporary folder, deleted)",
    )
    p.add_argument("--timeout", type=float, default=1200.0, help="seconds per tracer and size")
    return p


def scaling_markdown(rows: list[dict], tracers: list[str], meta: dict) -> str:
    from bench.report import fit_slope

    lines = [
        "# vectile scaling",
        "",
        f"- run: {meta['when']} on {meta['machine']}",
        f"- input: procedural map (seeded SVG scene) rendered by resvg at each size; "
        f"repeat {meta['repeat']}; fresh processes per tracer and size; vectile native "
        f"module {meta.get('build')}",
        "- peak RSS: whole process (interpreter included), 1 MB = 10^6 bytes; "
        "bytes/pixel: (peak RSS - the process's RSS before the timed runs) / pixels; "
        "SVG KB: 1 KB = 1000 bytes",
        "",
        "| tracer | MP | size | s | CPU s | s/MP | peak RSS MB | bytes/pixel | SVG KB | paths |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        head = f"| {r['tracer']} | {r['megapixels']:.1f} | {r['width']}x{r['height']} |"
        if "error" in r or "skipped" in r:
            lines.append(f"{head} {r.get('error') or r.get('skipped')} | | | | | | |")
            continue
        lines.append(
            f"{head} {r['seconds']:.3f} | {r['cpu_seconds']:.3f} | "
            f"{r['s_per_mp']:.3f} | {r['peak_rss_mb']:.0f} | "
            f"{(r['peak_rss_mb'] - r['base_rss_mb']) / r['megapixels']:.1f} | "
            f"{r['kb']:.1f} | {r['paths']} |"
        )
    lines.append("")
    lines.append("Fitted log-log slopes (y ~ MP^k; 1 = linear):")
    lines.append("")
    for t in tracers:
        ok = [r for r in rows if r["tracer"] == t and "seconds" in r]
        fs = fit_slope([r["megapixels"] for r in ok], [r["seconds"] for r in ok])
        fc = fit_slope([r["megapixels"] for r in ok], [r["cpu_seconds"] for r in ok])
        fr = fit_slope([r["megapixels"] for r in ok], [r["peak_rss_mb"] for r in ok])
        if fs is None:
            lines.append(f"- {t}: fewer than 2 sizes measured")
            continue
        sizes = f"{min(r['megapixels'] for r in ok):g}-{max(r['megapixels'] for r in ok):g} MP"
        lines.append(
            f"- {t} ({sizes}): seconds slope {fs[0]:.2f}, CPU seconds slope "
            f"{fc[0] if fc else float('nan'):.2f}, peak RSS slope "
            f"{fr[0] if fr else float('nan'):.2f}"
        )
    for note in meta.get("notes", []):
        lines.append(f"- {note}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    return cmd_scaling(build_parser().parse_args(argv))


def cmd_scaling(args: argparse.Namespace) -> int:
    from bench.report import scaling_plot  # matplotlib: imported only when plotting

    try:
        sizes = parse_sizes(args.sizes or (QUICK_SIZES if args.quick else DEFAULT_SIZES))
    except ValueError as exc:
        print(f"bench: --sizes: {exc}", file=sys.stderr)
        return 2
    if args.repeat < 1:
        print("bench: --repeat must be >= 1", file=sys.stderr)
        return 2
    requested = [t.strip() for t in args.tracers.split(",") if t.strip()]
    unknown = [t for t in requested if t not in TRACERS]
    if unknown:
        print(f"bench: unknown tracer(s) {unknown}; known: {list(TRACERS)}", file=sys.stderr)
        return 2
    tracers, messages, _versions = resolve_tracers(requested, [], ["color"])
    notes = list(messages)
    for msg in messages:
        print(msg)
    if not tracers:
        print("bench: no tracer available, nothing to do", file=sys.stderr)
        return 2
    names = [t.name for t in tracers]
    out_dir: Path = args.out or DEFAULT_OUT
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = {
        "when": _dt.datetime.now().isoformat(timespec="seconds"),
        "machine": f"{platform.node()} ({os.cpu_count()} CPUs, Python {platform.python_version()})",
        "repeat": args.repeat,
        "notes": notes,
    }
    build = vectile_build()
    meta["build"] = build
    rows: list[dict] = []
    failed = False
    print(f"bench: scaling {names} over {sizes} MP")
    with tempfile.TemporaryDirectory(prefix="bench-scaling-") as tmpdir:
        work = args.workdir or Path(tmpdir)
        work.mkdir(parents=True, exist_ok=True)
        warm = work / "warmup.png"
        render_map(warm, 0.0004)
        for mp in sizes:
            img = work / f"map-{mp:g}mp.png"
            t0 = time.perf_counter()
            w, h = render_map(img, mp)
            print(f"generated {img.name} {w}x{h} in {time.perf_counter() - t0:.1f}s", flush=True)
            real_mp = w * h / 1e6
            for i, tracer in enumerate(tracers):
                row: dict[str, Any] = {"tracer": tracer.name, "megapixels": real_mp, "width": w, "height": h}
                if i > 0 and real_mp > args.peer_max_mp:
                    row["skipped"] = f"skipped above {args.peer_max_mp:g} MP (--peer-max-mp)"
                    line = f"{tracer.name} {real_mp:g} MP: {row['skipped']}"
                    print(line)
                    notes.append(line)
                    rows.append(row)
                    continue
                try:
                    m = measure(
                        tracer,
                        {"in": str(img), "in_pbm": None},
                        args.repeat,
                        {},
                        warmup=str(warm),
                        timeout=args.timeout,
                    )
                    sec = statistics.median(m.times)
                    counts = svg_counts(m.svg)
                    row.update(
                        seconds=sec,
                        cpu_seconds=statistics.median(m.cpu_times),
                        s_per_mp=sec / real_mp,
                        times=m.times,
                        peak_rss_mb=(m.peak_rss_kb or 0) * 1024 / 1e6,
                        base_rss_mb=(m.base_rss_kb or 0) * 1024 / 1e6,
                        kb=counts["bytes"] / 1000,
                        paths=counts["paths"],
                    )
                    print(
                        f"{tracer.name} {real_mp:g} MP: {sec:.2f}s {row['peak_rss_mb']:.0f}MB {row['kb']:.0f}KB",
                        flush=True,
                    )
                except Exception as exc:  # recorded; the other sizes go on
                    row["error"] = f"{type(exc).__name__}: {exc}"[:300]
                    failed = True
                    print(f"{tracer.name} {real_mp:g} MP: ERROR {row['error']}", flush=True)
                rows.append(row)
            if args.workdir is None:
                img.unlink()
    if vectile_build() != build:
        notes.append("WARNING: vectile's native module changed during the run (rebuilt?): run again")
        print(f"bench: {notes[-1]}")
    with open(out_dir / "scaling.jsonl", "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r) + "\n")
    md = scaling_markdown(rows, names, meta)
    (out_dir / "scaling.md").write_text(md, encoding="utf-8")
    plot = scaling_plot(
        rows,
        names,
        out_dir / "scaling.png",
        "Scaling on a procedural map rendered at growing sizes (dashed: fitted power law)",
    )
    print()
    print(md)
    written = [out_dir / "scaling.jsonl", out_dir / "scaling.md"] + ([plot] if plot else [])
    print("bench: wrote " + ", ".join(str(p) for p in written))
    return 1 if failed else 0
