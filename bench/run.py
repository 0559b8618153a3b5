"""``python -m bench run``: trace the corpus with every tracer, time it, measure it, report it.

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
import tempfile
from pathlib import Path
from typing import Any, Iterable

import numpy as np
from PIL import Image

from bench.metrics import binarize, center_crop_box, fidelity_images, svg_counts
from bench.runner import measure, probe_isolated
from bench.tracers import BINARY, COLOR, INSTALL_HINTS, TRACERS, Tracer, parse_tracer_spec

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = Path(__file__).resolve().parent / "out"
DEFAULT_TRACERS = "vectile,vtracer,potrace"
QUICK_LIMIT = 4
EXCLUDED_BY_DEFAULT = ("large",)
DEFAULT_TIMEOUT = 1800.0  # seconds per (tracer, image), all repeats together


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


def add_parser(sub: Any) -> None:
    run = sub.add_parser("run", help="trace, time and measure the corpus",
                         description="Trace, time and measure a corpus with every tracer.")
    run.add_argument("--corpus", type=Path, default=None,
                     help="folder with manifest.json, or any folder of images (one group per "
                          "sub-folder) (default: $VECTILE_BENCH_CORPUS, shared/bench next to "
                          "or inside the repo)")
    run.add_argument("--group", action="extend", nargs="+", default=None, metavar="G",
                     help="groups to run (repeatable; 'all' for every group; default: all but "
                          "'large')")
    run.add_argument("--tracers", default=DEFAULT_TRACERS,
                     help=f"comma-separated tracers, the first is compared with the others "
                          f"(known: {', '.join(TRACERS)}; default {DEFAULT_TRACERS})")
    run.add_argument("--tracer", action="append", default=[], metavar="[NAME=]COMMAND",
                     help="extra tracer given as a command template with {in}, {out} (and "
                          "{in_pbm} in binary mode), e.g. 'mytool {in} {out}' (repeatable)")
    run.add_argument("--mode", choices=("color", "binary", "both"), default="both",
                     help="color: the images as they are; binary: thresholded bitmaps (Potrace "
                          "takes part only here); default both")
    run.add_argument("--repeat", type=int, default=None,
                     help="timed runs per image and tracer; the median is kept (default 3)")
    run.add_argument("--limit", type=int, default=None, help="at most N images per group")
    run.add_argument("--out", type=Path, default=DEFAULT_OUT,
                     help="output folder (default bench/out): results.jsonl, summary.md, "
                          "rd.png, report.html and report/")
    run.add_argument("--quick", action="store_true",
                     help=f"--repeat 1, at most {QUICK_LIMIT} images per group, 1 HTML sample")
    run.add_argument("--html-sample", type=int, default=None, metavar="N",
                     help="images per group shown in report.html (default 2, quick 1; 0: none)")
    run.add_argument("--in-process", action="store_true",
                     help="call Python tracers in this process (no peak RSS; for debugging)")
    run.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                     help=f"seconds per tracer and image, all runs (default {DEFAULT_TIMEOUT:.0f})")
    run.add_argument("--vectile-opt", action="append", default=[], metavar="KEY=VALUE",
                     help="keyword argument for vectile.vectorize (repeatable; value parsed "
                          "as int, float, true/false/none or string)")


# ----------------------------------------------------------------------------- corpus

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp", ".gif", ".ppm",
                  ".pgm", ".pbm"}


def load_manifest(corpus: Path) -> list[dict]:
    """The corpus's ``manifest.json``; a folder without one is scanned: every image file, the
    group being its sub-folder (``.`` for files at the top)."""
    manifest = corpus / "manifest.json"
    if manifest.is_file():
        with open(manifest, encoding="utf-8") as fh:
            return json.load(fh)
    entries = []
    for p in sorted(corpus.rglob("*")):
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES:
            rel = p.relative_to(corpus)
            group = rel.parts[0] if len(rel.parts) > 1 else "."
            entries.append({"group": group, "file": rel.as_posix()})
    return entries


def select_entries(manifest: list[dict], groups: list[str] | None,
                   limit: int | None) -> dict[str, list[dict]]:
    known = list(dict.fromkeys(e["group"] for e in manifest))
    if groups is None:
        groups = [g for g in known if g not in EXCLUDED_BY_DEFAULT]
    elif "all" in groups:
        groups = known
    unknown = [g for g in groups if g not in known]
    if unknown:
        raise SystemExit(f"bench: unknown group(s) {unknown}; the corpus has {known}")
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


def sample_indices(n: int, k: int) -> set[int]:
    """``k`` indices spread evenly over ``range(n)`` (first and last included)."""
    if k <= 0 or n <= 0:
        return set()
    if k >= n:
        return set(range(n))
    if k == 1:
        return {0}
    return {round(i * (n - 1) / (k - 1)) for i in range(k)}


def median(values: Iterable[float | None]) -> float | None:
    vals = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return statistics.median(vals) if vals else None


# ----------------------------------------------------------------------------- tables

COLUMNS = [
    # header, record key, format
    ("images", None, None),
    ("s per image", "seconds", "{:.3f}"),
    ("CPU s", "cpu_seconds", "{:.3f}"),
    ("s/MP", "s_per_mp", "{:.3f}"),
    ("peak RSS MB", "peak_rss_mb", "{:.0f}"),
    ("SVG KB", "kb", "{:.1f}"),
    ("paths", "paths", "{:.0f}"),
    ("commands", "commands", "{:.0f}"),
    ("PSNR dB", "psnr", "{:.2f}"),
    ("SSIM", "ssim", "{:.3f}"),
    ("gaps", "gaps", "{:.0f}"),
    ("seams", "seams", "{:.0f}"),
]
RATIO_KEYS = ("seconds", "cpu_seconds", "s_per_mp", "peak_rss_mb", "kb", "paths", "commands")


def _fmt(value: float | None, fmt: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    if fmt == "{:.0f}" and value != int(value) and abs(value) < 100:
        return f"{value:.1f}"  # median of an even count
    return fmt.format(value)


def table_title(group: str, mode: str) -> str:
    return group if mode == COLOR else f"{group} ({mode})"


def group_rows(group: str, mode: str, records: list[dict],
               tracers: list[str]) -> tuple[list[str], list[list[str]], list[str]]:
    """``(header, rows, notes)`` of one group's table: a row of medians per tracer, then
    ``subject / peer`` rows of per-image ratio medians (the subject is the first tracer)."""
    header = ["tracer"] + [c[0] for c in COLUMNS]
    mine = [r for r in records if r["group"] == group and r.get("mode", COLOR) == mode]
    ok = [r for r in mine if "error" not in r]
    present = [t for t in tracers if any(r["tracer"] == t for r in ok)]
    rows: list[list[str]] = []
    for t in present:
        rs = [r for r in ok if r["tracer"] == t]
        cells = [t, str(len(rs))]
        for _, key, fmt in COLUMNS[1:]:
            cells.append(_fmt(median(r.get(key) for r in rs), fmt))
        rows.append(cells)
    by_file: dict[str, dict[str, dict]] = {}
    for r in ok:
        by_file.setdefault(r["file"], {})[r["tracer"]] = r
    if present:
        subject = present[0]
        for peer in present[1:]:
            pairs = [(d[subject], d[peer]) for d in by_file.values() if subject in d and peer in d]
            if not pairs:
                continue
            cells = [f"{subject} / {peer}", str(len(pairs))]
            for _, key, _f in COLUMNS[1:]:
                if key in RATIO_KEYS:
                    ratios = [a[key] / b[key] for a, b in pairs
                              if a.get(key) is not None and b.get(key)]
                    cells.append(_fmt(median(ratios), "{:.2f}"))
                else:
                    cells.append("")
            rows.append(cells)
    notes = []
    if mode == BINARY and any(r.get("gaps") for r in ok):
        notes.append("binary mode: a tracer that draws only the black shapes leaves the white "
                     "background transparent, so its gaps and seams count that background, "
                     "not defects")
    errors = [r for r in mine if "error" in r]
    if errors:
        notes.append(f"{len(errors)} failed run(s): "
                     + "; ".join(f"{r['tracer']} {r['file']}: {r['error'][:160]}" for r in errors))
    return header, rows, notes


def group_table(group: str, records: list[dict], tracers: list[str], mode: str = COLOR) -> str:
    header, rows, notes = group_rows(group, mode, records, tracers)
    lines = [f"### {table_title(group, mode)}", "", "| " + " | ".join(header) + " |",
             "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    if notes:
        lines += [""] + notes
    return "\n".join(lines) + "\n"


def summary_markdown(records: list[dict], groups: list[str], tracers: list[str],
                     meta: dict, modes: Iterable[str] = (COLOR, BINARY)) -> str:
    out = [
        "# vectile bench summary",
        "",
        f"- run: {meta['when']} on {meta['machine']}",
        f"- command: `{meta['command']}`",
        f"- tracers: {', '.join(f'{t} {v}' for t, v in meta['versions'].items())}",
        f"- timing: wall and CPU seconds from file path to SVG text, median of {meta['repeat']} "
        "run(s) per image, "
        + ("each tracer and image in fresh processes (peak RSS: the whole process)"
           if meta.get("isolated", True) else "Python tracers in the bench process (no RSS)")
        + "; table cells are medians over the group's images",
        "- SVG KB: 1 KB = 1000 bytes; peak RSS MB: 1 MB = 10^6 bytes",
    ] + ([f"- **{meta['warning']}**"] if meta.get("warning") else []) + [
        "- ratio rows: median over images of the per-image ratio (below 1: the first tracer is "
        "faster / smaller)",
        "- fidelity: resvg render at input size on white vs input (binary mode: vs the "
        "thresholded bitmap); gaps = pixels with alpha < 0.5, seams = alpha < 0.99; images "
        "over 16 MP measured on the centred 4000x4000 crop",
        "",
    ]
    for mode in modes:
        for g in groups:
            if any(r["group"] == g and r.get("mode", COLOR) == mode for r in records):
                out.append(group_table(g, records, tracers, mode))
    return "\n".join(out)


# ----------------------------------------------------------------------------- tracers


def resolve_tracers(names: list[str], specs: list[str], modes: list[str],
                    isolate: bool = True) -> tuple[list[Tracer], list[str], dict[str, str]]:
    """Probe the requested tracers: ``(usable, messages, versions)``; a missing one is a
    message. Python tracers are probed in a worker process when ``isolate``."""
    tracers: list[Tracer] = []
    messages = []
    versions: dict[str, str] = {}
    registry = dict(TRACERS)  # command tracers from --tracer need no worker: kept local
    names = list(names)
    for spec in specs:
        t = parse_tracer_spec(spec)
        registry[t.name] = t
        names.append(t.name)
    for name in dict.fromkeys(names):
        spec_t = registry[name]
        if not any(m in spec_t.modes for m in modes):
            messages.append(f"bench: skipping {name}: it traces {'/'.join(spec_t.modes)} images "
                            f"only (use --mode {spec_t.modes[0]} or both)")
            continue
        if isolate and not spec_t.is_command:
            reason, version = probe_isolated(spec_t)
            if reason is not None and reason.startswith("unknown tracer"):
                reason = "registered at run time, not in bench.tracers: use --in-process"
        else:
            reason = spec_t.probe()
            version = spec_t.version() if reason is None else "?"
        if reason is not None:
            hint = INSTALL_HINTS.get(name)
            messages.append(f"bench: skipping {name}: {reason}" + (f" ({hint})" if hint else ""))
            continue
        tracers.append(spec_t)
        versions[name] = version
    return tracers, messages, versions


def vectile_build() -> str | None:
    """First 12 hex digits of the sha256 of vectile's native module file (found without
    importing it), to notice a rebuild during a run; None when not found."""
    import hashlib
    import importlib.util

    spec = importlib.util.find_spec("vectile")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        for so in sorted(Path(folder).glob("_kernels*.so")) + sorted(Path(folder).glob("_kernels*.pyd")):
            return hashlib.sha256(so.read_bytes()).hexdigest()[:12]
    return None


# ----------------------------------------------------------------------------- main loop


def _write_warmup(folder: Path) -> str:
    img = np.full((16, 16, 3), 255, np.uint8)
    img[4:12, 4:12] = (0, 0, 0)
    path = folder / "warmup.png"
    Image.fromarray(img).save(path)
    return str(path)


def _trace_one(tracer: Tracer, inputs: dict, reference: np.ndarray, rec: dict, args: Any,
               repeat: int, options: dict, warmup: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Measure one tracer on one input into ``rec``; returns ``(ref, got)`` for the report."""
    h, w = reference.shape[:2]
    mp = w * h / 1e6
    try:
        m = measure(tracer, inputs, repeat, options, isolate=not args.in_process,
                    warmup=warmup, timeout=args.timeout)
        sec = statistics.median(m.times)
        cpu = statistics.median(m.cpu_times)
        rec.update(seconds=sec, cpu_seconds=cpu, s_per_mp=sec / mp, times=m.times,
                   cpu_times=m.cpu_times)
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
    return (f"{head}: {rec['seconds']:.3f}s{rss} {rec['kb']:.1f}KB psnr {rec['psnr']:.2f} "
            f"ssim {rec['ssim']:.3f} gaps {rec['gaps']} seams {rec['seams']}")


def cmd_run(args: argparse.Namespace) -> int:
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
        print(f"bench: unknown tracer(s) {unknown}; known: {list(TRACERS)} (give other "
              "command-line tracers with --tracer 'NAME=COMMAND {in} {out}')", file=sys.stderr)
        return 2
    try:
        tracers, messages, versions = resolve_tracers(requested, args.tracer, modes,
                                                      isolate=not args.in_process)
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
        "command": " ".join(["python -m bench"] + sys.argv[1:]) if sys.argv[1:2] == ["run"]
                   else "python -m bench run (API call)",
        "versions": versions,
        "repeat": repeat,
        "isolated": not args.in_process,
    }
    from bench import report  # matplotlib is imported only here

    samples = report.SampleWriter(args.out)
    total = sum(len(v) for v in selected.values())
    print(f"bench: {total} image(s) in {list(selected)} x {names}, modes {modes}, "
          f"repeat {repeat}, corpus {corpus}")
    done = 0
    with tempfile.TemporaryDirectory(prefix="bench-run-") as tmpdir, \
            open(results_path, "w", encoding="utf-8") as out:
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
                        rec = {"tracer": name, "group": group, "mode": modes[0],
                               "file": entry["file"], "error": f"{type(exc).__name__}: {exc}"}
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
                            "tracer": tracer.name, "group": group, "mode": mode,
                            "file": entry["file"], "width": w, "height": h,
                            "megapixels": round(w * h / 1e6, 6), **extra,
                        }
                        opts = dict(vectile_opts) if tracer.name == "vectile" else {}
                        if mode == BINARY:
                            opts.update(tracer.binary_options)
                        got = _trace_one(tracer, inputs, reference, rec, args, repeat, opts,
                                         warmup)
                        if got is not None and idx in shown:
                            ref_img = got[0]
                            renders[tracer.name] = got[1]
                        records.append(rec)
                        out.write(json.dumps(rec, allow_nan=True) + "\n")
                        out.flush()
                        print(_progress(done, total, rec), flush=True)
                    if ref_img is not None:
                        samples.add(group, mode, entry["file"], (w, h), ref_img, renders,
                                    [r for r in records if r["file"] == entry["file"]
                                     and r["mode"] == mode])
                    del reference, renders, ref_img
    if build is not None and vectile_build() != build:
        warning = ("WARNING: vectile's native module changed during the run (rebuilt?): "
                   "its rows mix two builds; run again")
        print(f"bench: {warning}")
        meta["warning"] = warning
    summary = summary_markdown(records, list(selected), names, meta, modes)
    (args.out / "summary.md").write_text(summary, encoding="utf-8")
    print()
    print(summary)
    written = [results_path, args.out / "summary.md"]
    try:
        written += report.write_run_reports(args.out, records, list(selected), names, modes,
                                            meta, samples)
    except Exception as exc:  # the numbers are written; a plot failure must not hide them
        print(f"bench: report failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print("bench: wrote " + ", ".join(str(p) for p in written))
    return 1 if any("error" in r for r in records) else 0


def build_parser() -> argparse.ArgumentParser:
    from bench import kernels, scaling

    parser = argparse.ArgumentParser(prog="python -m bench",
                                     description="vectile benchmark suite (bench/README.md)")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    kernels.add_parser(sub)
    scaling.add_parser(sub)
    return parser


# Other bench commands that live in their own modules, each with ``main(argv) -> int``.
EXTRA_COMMANDS = {"edge-speed": "bench.edge_speed", "batch": "bench.batch"}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in EXTRA_COMMANDS:
        import importlib

        return int(importlib.import_module(EXTRA_COMMANDS[argv[0]]).main(argv[1:]))
    args = build_parser().parse_args(argv)
    if args.command == "run":
        return cmd_run(args)
    if args.command == "kernels":
        from bench import kernels

        return kernels.cmd_kernels(args)
    if args.command == "scaling":
        from bench import scaling

        return scaling.cmd_scaling(args)
    raise AssertionError(args.command)  # pragma: no cover
