"""``python -m bench run``: trace the corpus with every tracer, time it, measure it, report it.

See bench/README.md for the columns and the rules.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from bench.cli import DEFAULT_OUT, parse_opts, resolve_tracers, vectile_build
from bench.corpus import default_corpus, load_manifest, load_original, sample_indices, select_entries
from bench.metrics import binarize, center_crop_box, fidelity_images, svg_counts
from bench.runner import measure
from bench.tables import summary_markdown, table_title
from bench.tracers import BINARY, COLOR, TRACERS, Tracer

DEFAULT_TRACERS = "vectile,vtracer,potrace"
QUICK_LIMIT = 4
DEFAULT_TIMEOUT = 1800.0  # seconds per (tracer, image), all repeats together


def build_parser() -> argparse.ArgumentParser:
    run = argparse.ArgumentParser(
        prog="python -m bench run", description="Trace, time and measure a corpus with every tracer."
    )
    run.add_argument(
        "--corpus",
        type=Path,
        default=None,
        help="folder with manifest.json, or any folder of images (one group per "
        "sub-folder) (default: $VECTILE_BENCH_CORPUS, shared/bench next to "
        "or inside the repo)",
    )
    run.add_argument(
        "--group",
        action="extend",
        nargs="+",
        default=None,
        metavar="G",
        help="groups to run (repeatable; 'all' for every group; default: all but 'large'); "
        "'scans': the generated scan corpus against its clean sources (bench/scan_run.py)",
    )
    run.add_argument(
        "--tracers",
        default=DEFAULT_TRACERS,
        help=f"comma-separated tracers, the first is compared with the others "
        f"(known: {', '.join(TRACERS)}; default {DEFAULT_TRACERS})",
    )
    run.add_argument(
        "--tracer",
        action="append",
        default=[],
        metavar="[NAME=]COMMAND",
        help="extra tracer given as a command template with {in}, {out} (and "
        "{in_pbm} in binary mode), e.g. 'mytool {in} {out}' (repeatable)",
    )
    run.add_argument(
        "--mode",
        choices=("color", "binary", "both"),
        default="both",
        help="color: the images as they are; binary: thresholded bitmaps (Potrace takes part only here); default both",
    )
    run.add_argument(
        "--repeat", type=int, default=None, help="timed runs per image and tracer; the median is kept (default 3)"
    )
    run.add_argument("--limit", type=int, default=None, help="at most N images per group")
    run.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help="output folder (default bench/out): results.jsonl, summary.md, rd.png, report.html and report/",
    )
    run.add_argument(
        "--quick", action="store_true", help=f"--repeat 1, at most {QUICK_LIMIT} images per group, 1 HTML sample"
    )
    run.add_argument(
        "--html-sample",
        type=int,
        default=None,
        metavar="N",
        help="images per group shown in report.html (default 2, quick 1; 0: none)",
    )
    run.add_argument(
        "--in-process", action="store_true", help="call Python tracers in this process (no peak RSS; for debugging)"
    )
    run.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=f"seconds per tracer and image, all runs (default {DEFAULT_TIMEOUT:.0f})",
    )
    run.add_argument(
        "--vectile-opt",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="keyword argument for vectile.vectorize (repeatable; value parsed "
        "as int, float, true/false/none or string)",
    )
    return run


def _write_warmup(folder: Path) -> str:
    img = np.full((16, 16, 3), 255, np.uint8)
    img[4:12, 4:12] = (0, 0, 0)
    path = folder / "warmup.png"
    Image.fromarray(img).save(path)
    return str(path)


def _trace_one(
    tracer: Tracer, inputs: dict, reference: np.ndarray, rec: dict, args: Any, repeat: int, options: dict, warmup: str
) -> tuple[np.ndarray, np.ndarray] | None:
    """Measure one tracer on one input into ``rec``; returns ``(ref, got)`` for the report."""
    h, w = reference.shape[:2]
    mp = w * h / 1e6
    try:
        m = measure(tracer, inputs, repeat, options, isolate=not args.in_process, warmup=warmup, timeout=args.timeout)
        sec = statistics.median(m.times)
        cpu = statistics.median(m.cpu_times)
        rec.update(seconds=sec, cpu_seconds=cpu, s_per_mp=sec / mp, times=m.times, cpu_times=m.cpu_times)
        if m.peak_rss_kb is not None:
            rec["peak_rss_mb"] = m.peak_rss_kb * 1024 / 1e6
        if m.base_rss_kb is not None:
            rec["base_rss_mb"] = m.base_rss_kb * 1024 / 1e6
        counts = svg_counts(m.svg)
        rec.update(counts, kb=counts["bytes"] / 1000.0)
        metrics, ref, got = fidelity_images(reference, m.svg)
        rec.update(metrics)
        crop = center_crop_box(w, h)
        if crop != (0, 0, w, h):
            rec["crop"] = list(crop)
        return ref, got
    except Exception as exc:  # one bad image must not stop the run (TraceError included)
        rec["error"] = f"{type(exc).__name__}: {exc}"
    return None


def _progress(done: int, total: int, rec: dict) -> str:
    head = f"[{done}/{total}] {table_title(rec['group'], rec['mode'])} {rec['file']} {rec['tracer']}"
    if "error" in rec:
        return f"{head}: ERROR {rec['error']}"
    rss = f" {rec['peak_rss_mb']:.0f}MB" if "peak_rss_mb" in rec else ""
    thin = rec.get("thin_recall")
    return (
        f"{head}: {rec['seconds']:.3f}s{rss} {rec['kb']:.1f}KB psnr {rec['psnr']:.2f} "
        f"ssim {rec['ssim']:.3f} thin {'-' if thin is None else f'{thin:.3f}'} gaps {rec['gaps']} seams {rec['seams']}"
    )


def cmd_run(args: argparse.Namespace) -> int:
    if args.group and "scans" in args.group:
        # The scan group is generated and measured against two references (bench/scan_run.py);
        # it runs only when named, and the other groups named with it run as usual.
        from bench import scan_run

        others = [g for g in args.group if g != "scans"]
        code = scan_run.run(args)
        if not others:
            return code
        args.group = others
        return max(code, cmd_run(args))
    corpus = (args.corpus or default_corpus()).resolve()
    if not corpus.is_dir():
        print(f"bench: no corpus folder {corpus}", file=sys.stderr)
        return 2
    repeat = args.repeat if args.repeat is not None else (1 if args.quick else 3)
    limit = args.limit
    if args.quick:
        limit = QUICK_LIMIT if limit is None else min(limit, QUICK_LIMIT)
    if repeat < 1 or (limit is not None and limit < 1):
        print("bench: --repeat and --limit must be >= 1", file=sys.stderr)
        return 2
    html_sample = args.html_sample if args.html_sample is not None else (1 if args.quick else 2)
    try:
        vectile_opts = parse_opts(args.vectile_opt)
    except argparse.ArgumentTypeError as exc:
        print(f"bench: --vectile-opt: {exc}", file=sys.stderr)
        return 2
    modes = [COLOR, BINARY] if args.mode == "both" else [args.mode]

    requested = [t.strip() for t in args.tracers.split(",") if t.strip()]
    unknown = [t for t in requested if t not in TRACERS]
    if unknown:
        print(
            f"bench: unknown tracer(s) {unknown}; known: {list(TRACERS)} (give other "
            "command-line tracers with --tracer 'NAME=COMMAND {in} {out}')",
            file=sys.stderr,
        )
        return 2
    try:
        tracers, messages, versions = resolve_tracers(requested, args.tracer, modes, isolate=not args.in_process)
    except ValueError as exc:
        print(f"bench: --tracer: {exc}", file=sys.stderr)
        return 2
    for msg in messages:
        print(msg)
    if not tracers:
        print("bench: no tracer available, nothing to do", file=sys.stderr)
        return 2
    names = [t.name for t in tracers]
    build = vectile_build() if "vectile" in names else None
    if build is not None:
        versions["vectile"] += f" (native module {build})"

    Image.MAX_IMAGE_PIXELS = None  # the corpus is trusted and has 144 MP images
    selected = select_entries(load_manifest(corpus), args.group, limit)
    args.out.mkdir(parents=True, exist_ok=True)
    results_path = args.out / "results.jsonl"
    records: list[dict] = []
    meta = {
        "when": _dt.datetime.now().isoformat(timespec="seconds"),
        "machine": f"{platform.node()} ({platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()})",
        "command": " ".join(["python -m bench"] + sys.argv[1:])
        if sys.argv[1:2] == ["run"]
        else "python -m bench run (API call)",
        "versions": versions,
        "repeat": repeat,
        "isolated": not args.in_process,
    }
    from bench import report  # matplotlib is imported only here

    samples = report.SampleWriter(args.out)
    total = sum(len(v) for v in selected.values())
    print(f"bench: {total} image(s) in {list(selected)} x {names}, modes {modes}, repeat {repeat}, corpus {corpus}")
    done = 0
    with tempfile.TemporaryDirectory(prefix="bench-run-") as tmpdir, open(results_path, "w", encoding="utf-8") as out:
        tmp = Path(tmpdir)
        warmup = _write_warmup(tmp)
        for group, entries in selected.items():
            shown = sample_indices(len(entries), html_sample)
            for idx, entry in enumerate(entries):
                done += 1
                path = corpus / entry["file"]
                try:
                    original = load_original(path)
                except (OSError, ValueError) as exc:
                    for name in names:
                        rec = {
                            "tracer": name,
                            "group": group,
                            "mode": modes[0],
                            "file": entry["file"],
                            "error": f"{type(exc).__name__}: {exc}",
                        }
                        records.append(rec)
                        out.write(json.dumps(rec) + "\n")
                        print(_progress(done, total, rec))
                    continue
                h, w = original.shape[:2]
                for mode in modes:
                    in_mode = [t for t in tracers if mode in t.modes]
                    if not in_mode:
                        continue
                    extra: dict[str, Any] = {}
                    if mode == COLOR:
                        inputs: dict[str, str | None] = {"in": str(path), "in_pbm": None}
                        reference = original
                    else:
                        reference, threshold = binarize(original)
                        bitmap = Image.fromarray(reference)
                        png, pbm = tmp / "bitmap.png", tmp / "bitmap.pbm"
                        bitmap.save(png, compress_level=1)
                        bitmap.convert("1").save(pbm)
                        del bitmap
                        inputs = {"in": str(png), "in_pbm": str(pbm)}
                        extra["threshold"] = threshold
                    renders: dict[str, np.ndarray] = {}
                    ref_img = None
                    for tracer in in_mode:
                        rec: dict[str, Any] = {
                            "tracer": tracer.name,
                            "group": group,
                            "mode": mode,
                            "file": entry["file"],
                            "width": w,
                            "height": h,
                            "megapixels": round(w * h / 1e6, 6),
                            **extra,
                        }
                        opts = dict(vectile_opts) if tracer.name == "vectile" else {}
                        if mode == BINARY:
                            opts.update(tracer.binary_options)
                        got = _trace_one(tracer, inputs, reference, rec, args, repeat, opts, warmup)
                        if got is not None and idx in shown:
                            ref_img = got[0]
                            renders[tracer.name] = got[1]
                        records.append(rec)
                        out.write(json.dumps(rec, allow_nan=True) + "\n")
                        out.flush()
                        print(_progress(done, total, rec), flush=True)
                    if ref_img is not None:
                        samples.add(
                            group,
                            mode,
                            entry["file"],
                            (w, h),
                            ref_img,
                            renders,
                            [r for r in records if r["file"] == entry["file"] and r["mode"] == mode],
                        )
                    del reference, renders, ref_img
    if build is not None and vectile_build() != build:
        warning = (
            "WARNING: vectile's native module changed during the run (rebuilt?): its rows mix two builds; run again"
        )
        print(f"bench: {warning}")
        meta["warning"] = warning
    summary = summary_markdown(records, list(selected), names, meta, modes)
    (args.out / "summary.md").write_text(summary, encoding="utf-8")
    print()
    print(summary)
    written = [results_path, args.out / "summary.md"]
    try:
        written += report.write_run_reports(args.out, records, list(selected), names, modes, meta, samples)
    except Exception as exc:  # the numbers are written; a plot failure must not hide them
        print(f"bench: report failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print("bench: wrote " + ", ".join(str(p) for p in written))
    return 1 if any("error" in r for r in records) else 0


def main(argv: list[str] | None = None) -> int:
    return cmd_run(build_parser().parse_args(argv))
