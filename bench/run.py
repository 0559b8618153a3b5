"""``python -m bench run``: trace the corpus with every tracer, time it, measure it, tabulate it.

See bench/README.md for the columns and the rules.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Iterable

import numpy as np
from PIL import Image

from bench.metrics import center_crop_box, fidelity, svg_counts
from bench.tracers import TRACERS

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = Path(__file__).resolve().parent / "out"
DEFAULT_TRACERS = "vectile,vtracer"
BASELINE = "vtracer"
QUICK_LIMIT = 4
EXCLUDED_BY_DEFAULT = ("large",)


def default_corpus() -> Path:
    env = os.environ.get("VECTILE_BENCH_CORPUS")
    if env:
        return Path(env)
    for cand in (REPO_ROOT / "shared" / "bench", REPO_ROOT.parent / "shared" / "bench"):
        if (cand / "manifest.json").is_file():
            return cand
    return Path("/work/shared/bench")


# ----------------------------------------------------------------------------- argument parsing


def parse_value(text: str) -> Any:
    """``--vectile-opt`` values: int, then float, then true/false/none, else the string."""
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low == "none":
        return None
    return text


def parse_opts(items: Iterable[str]) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise argparse.ArgumentTypeError(f"expected key=value, got {item!r}")
        opts[key.replace("-", "_")] = parse_value(value.strip())
    return opts


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="trace, time and measure the corpus")
    run.add_argument("--corpus", type=Path, default=None,
                     help="corpus folder with manifest.json (default: $VECTILE_BENCH_CORPUS, "
                          "shared/bench next to or inside the repo)")
    run.add_argument("--group", action="extend", nargs="+", default=None, metavar="G",
                     help="groups to run (repeatable; default: all but 'large')")
    run.add_argument("--tracers", default=DEFAULT_TRACERS,
                     help=f"comma-separated tracers (known: {', '.join(TRACERS)}; "
                          f"default {DEFAULT_TRACERS})")
    run.add_argument("--repeat", type=int, default=None,
                     help="timed runs per image and tracer; the median is kept (default 3)")
    run.add_argument("--limit", type=int, default=None, help="at most N images per group")
    run.add_argument("--out", type=Path, default=DEFAULT_OUT,
                     help="output folder for results.jsonl and summary.md (default bench/out)")
    run.add_argument("--quick", action="store_true",
                     help=f"--repeat 1 and at most {QUICK_LIMIT} images per group")
    run.add_argument("--vectile-opt", action="append", default=[], metavar="KEY=VALUE",
                     help="keyword argument for vectile.vectorize (repeatable; value parsed "
                          "as int, float, true/false/none or string)")
    return parser


# ----------------------------------------------------------------------------- helpers


def load_manifest(corpus: Path) -> list[dict]:
    with open(corpus / "manifest.json", encoding="utf-8") as fh:
        return json.load(fh)


def select_entries(manifest: list[dict], groups: list[str] | None,
                   limit: int | None) -> dict[str, list[dict]]:
    known = list(dict.fromkeys(e["group"] for e in manifest))
    if groups is None:
        groups = [g for g in known if g not in EXCLUDED_BY_DEFAULT]
    unknown = [g for g in groups if g not in known]
    if unknown:
        raise SystemExit(f"bench: unknown group(s) {unknown}; the manifest has {known}")
    selected: dict[str, list[dict]] = {}
    for g in dict.fromkeys(groups):
        entries = [e for e in manifest if e["group"] == g]
        selected[g] = entries[:limit] if limit is not None else entries
    return selected


def load_original(path: Path) -> np.ndarray:
    """Input pixels as uint8 RGB, or RGBA when the file has alpha (composited later)."""
    with Image.open(path) as im:
        has_alpha = "A" in im.getbands() or "transparency" in im.info
        im = im.convert("RGBA" if has_alpha else "RGB")
        return np.asarray(im, dtype=np.uint8)


def time_trace(trace, path: str, repeat: int) -> tuple[list[float], str]:
    times: list[float] = []
    svg = ""
    for _ in range(repeat):
        t0 = time.perf_counter()
        svg = trace(path)
        times.append(time.perf_counter() - t0)
    return times, svg


def median(values: Iterable[float]) -> float | None:
    vals = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return statistics.median(vals) if vals else None


# ----------------------------------------------------------------------------- tables

COLUMNS = [
    # header, record key, format
    ("images", None, None),
    ("s per image", "seconds", "{:.3f}"),
    ("s/MP", "s_per_mp", "{:.3f}"),
    ("SVG KB", "kb", "{:.1f}"),
    ("paths", "paths", "{:.0f}"),
    ("commands", "commands", "{:.0f}"),
    ("PSNR dB", "psnr", "{:.2f}"),
    ("SSIM", "ssim", "{:.3f}"),
    ("gaps", "gaps", "{:.0f}"),
    ("seams", "seams", "{:.0f}"),
]
RATIO_KEYS = ("seconds", "s_per_mp", "kb")


def _fmt(value: float | None, fmt: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    if fmt == "{:.0f}" and value != int(value):
        return f"{value:.1f}"  # median of an even count
    return fmt.format(value)


def group_table(group: str, records: list[dict], tracers: list[str]) -> str:
    header = "| tracer | " + " | ".join(c[0] for c in COLUMNS) + " |"
    lines = [f"### {group}", "", header, "|" + " --- |" * (len(COLUMNS) + 1)]
    ok = [r for r in records if r["group"] == group and "error" not in r]
    for t in tracers:
        rows = [r for r in ok if r["tracer"] == t]
        if not rows:
            continue
        cells = [str(len(rows))]
        for _, key, fmt in COLUMNS[1:]:
            cells.append(_fmt(median(r[key] for r in rows), fmt))
        lines.append(f"| {t} | " + " | ".join(cells) + " |")
    by_file: dict[str, dict[str, dict]] = {}
    for r in ok:
        by_file.setdefault(r["file"], {})[r["tracer"]] = r
    for t in tracers:
        if t == BASELINE or BASELINE not in tracers:
            continue
        pairs = [(d[t], d[BASELINE]) for d in by_file.values() if t in d and BASELINE in d]
        if not pairs:
            continue
        cells = [str(len(pairs))]
        for _, key, _fmt_ in COLUMNS[1:]:
            if key in RATIO_KEYS:
                ratios = [a[key] / b[key] for a, b in pairs if b[key]]
                cells.append(_fmt(median(ratios), "{:.2f}"))
            else:
                cells.append("")
        lines.append(f"| {t} / {BASELINE} | " + " | ".join(cells) + " |")
    errors = [r for r in records if r["group"] == group and "error" in r]
    if errors:
        lines.append("")
        lines.append(f"{len(errors)} failed run(s): "
                     + "; ".join(f"{r['tracer']} {r['file']}" for r in errors))
    return "\n".join(lines) + "\n"


def summary_markdown(records: list[dict], groups: list[str], tracers: list[str],
                     meta: dict) -> str:
    out = [
        "# vectile bench summary",
        "",
        f"- run: {meta['when']} on {meta['machine']}",
        f"- command: `{meta['command']}`",
        f"- tracers: {', '.join(f'{t} {v}' for t, v in meta['versions'].items())}",
        f"- timing: wall seconds, median of {meta['repeat']} run(s) per image; "
        "table cells are medians over the group's images",
        "- SVG KB: 1 KB = 1000 bytes",
        "- ratio rows: median over images of the per-image ratio tracer / vtracer",
        "- fidelity: resvg render at input size on white vs input; gaps = pixels with alpha "
        "< 0.5, seams = alpha < 0.99; images over 16 MP measured on the centred 4000x4000 crop",
        "",
    ]
    for g in groups:
        if any(r["group"] == g for r in records):
            out.append(group_table(g, records, tracers))
    return "\n".join(out)


# ----------------------------------------------------------------------------- main loop


def cmd_run(args: argparse.Namespace) -> int:
    corpus = (args.corpus or default_corpus()).resolve()
    if not (corpus / "manifest.json").is_file():
        print(f"bench: no manifest.json in {corpus}", file=sys.stderr)
        return 2
    repeat = args.repeat if args.repeat is not None else (1 if args.quick else 3)
    limit = args.limit
    if args.quick:
        limit = QUICK_LIMIT if limit is None else min(limit, QUICK_LIMIT)
    if repeat < 1 or (limit is not None and limit < 1):
        print("bench: --repeat and --limit must be >= 1", file=sys.stderr)
        return 2
    try:
        vectile_opts = parse_opts(args.vectile_opt)
    except argparse.ArgumentTypeError as exc:
        print(f"bench: --vectile-opt: {exc}", file=sys.stderr)
        return 2

    requested = [t.strip() for t in args.tracers.split(",") if t.strip()]
    unknown = [t for t in requested if t not in TRACERS]
    if unknown:
        print(f"bench: unknown tracer(s) {unknown}; known: {list(TRACERS)}", file=sys.stderr)
        return 2
    tracers: list[str] = []
    traces = {}
    versions = {}
    for name in dict.fromkeys(requested):
        spec = TRACERS[name]
        reason = spec.probe()
        if reason is not None:
            print(f"bench: skipping {name}: {reason}")
            continue
        traces[name] = spec.make(vectile_opts if name == "vectile" else {})
        versions[name] = spec.version()
        tracers.append(name)
    if not tracers:
        print("bench: no tracer available, nothing to do", file=sys.stderr)
        return 2

    Image.MAX_IMAGE_PIXELS = None  # the corpus is trusted and has 144 MP images
    selected = select_entries(load_manifest(corpus), args.group, limit)
    args.out.mkdir(parents=True, exist_ok=True)
    results_path = args.out / "results.jsonl"
    records: list[dict] = []
    meta = {
        "when": _dt.datetime.now().isoformat(timespec="seconds"),
        "machine": f"{platform.node()} ({platform.machine()}, {os.cpu_count()} CPUs, "
                   f"Python {platform.python_version()})",
        "command": " ".join(["python -m bench"] + sys.argv[1:]),
        "versions": versions,
        "repeat": repeat,
    }
    total = sum(len(v) for v in selected.values())
    print(f"bench: {total} image(s) in {list(selected)} x {tracers}, repeat {repeat}, "
          f"corpus {corpus}")
    done = 0
    with open(results_path, "w", encoding="utf-8") as out:
        for group, entries in selected.items():
            for entry in entries:
                done += 1
                path = corpus / entry["file"]
                original = load_original(path)
                h, w = original.shape[:2]
                mp = w * h / 1e6
                crop = center_crop_box(w, h)
                for name in tracers:
                    rec: dict[str, Any] = {
                        "tracer": name, "group": group, "file": entry["file"],
                        "width": w, "height": h, "megapixels": round(mp, 6),
                    }
                    try:
                        times, svg = time_trace(traces[name], str(path), repeat)
                        sec = statistics.median(times)
                        rec.update(seconds=sec, s_per_mp=sec / mp, times=times)
                        counts = svg_counts(svg)
                        rec.update(counts, kb=counts["bytes"] / 1000.0)
                        rec.update(fidelity(original, svg))
                        if crop != (0, 0, w, h):
                            rec["crop"] = list(crop)
                    except Exception as exc:  # one bad image must not stop the run
                        rec["error"] = f"{type(exc).__name__}: {exc}"
                    records.append(rec)
                    out.write(json.dumps(rec, allow_nan=True) + "\n")
                    out.flush()
                    if "error" in rec:
                        print(f"[{done}/{total}] {group} {entry['file']} {name}: "
                              f"ERROR {rec['error']}")
                    else:
                        print(f"[{done}/{total}] {group} {entry['file']} {name}: "
                              f"{rec['seconds']:.3f}s {rec['kb']:.1f}KB "
                              f"psnr {rec['psnr']:.2f} ssim {rec['ssim']:.3f} "
                              f"gaps {rec['gaps']} seams {rec['seams']}")
    summary = summary_markdown(records, list(selected), tracers, meta)
    (args.out / "summary.md").write_text(summary, encoding="utf-8")
    print()
    print(summary)
    print(f"bench: wrote {results_path} and {args.out / 'summary.md'}")
    return 1 if any("error" in r for r in records) else 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "run":
        return cmd_run(args)
    raise AssertionError(args.command)  # pragma: no cover
