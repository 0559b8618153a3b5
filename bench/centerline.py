"""``python -m bench centerline``: centerline tracing against vector ground truth (issue #16).

Traces the centerline corpus (``bench.linecorpus``: CAD symbols and Hershey text, clean and
scan-degraded) with every peer of ``bench.linepeers`` in the same run, and measures each
output against the true centerlines (``bench.linemetrics``):

* precision, recall and F1 at 1 px of points sampled every 0.25 px on both sides;
* mean chamfer distance and p95 Hausdorff (px);
* paths per ground-truth polyline (output subpaths over the truth's chains, pooled);
* junction/endpoint F1 (pooled over the corpus; kinds must agree, within max(2 px, width));
* IoU of the output rendered by resvg at its own stroke widths against the clean ink mask;
* MP/s (the corpus's megapixels over the sum of per-image trace times, file to result) and
  peak RSS (the worker process that traced the corpus: interpreter, imports and the work).

Per-image values are averaged over the images of a corpus (macro), except the pooled ones.
The speed case traces one sparse page of >= 16 MP (the corpus's drawings tiled 8 x 8) with
vectile at 1 thread (``RAYON_NUM_THREADS=1``) and by default, and AutoTrace beside it.

Writes ``results.jsonl`` (one row per image and peer), ``summary.json``, ``table.md`` and the
outputs (``svg/PEER/CORPUS/NAME.svg`` or ``.npy``) under ``--out`` (default
``bench/out/centerline``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench import linecorpus, linemetrics
from bench.cli import DEFAULT_OUT, parse_opts, vectile_build
from bench.linepeers import CENTERLINE_PEERS, CLEAN_ONLY, INSTALL_HINTS, PEERS
from bench.runner import REPO_ROOT, TraceError, probe_in_worker, spawn_and_reap, worker_env

SPEED_GRID = 8  # the speed page: 8 x 8 drawings of 512 px, 4096 x 4096 = 16.8 MP


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench centerline", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="4 images a corpus, a 4 MP speed page, 1 run")
    p.add_argument("--limit", type=int, default=None, help="images per corpus (default: all)")
    p.add_argument("--corpora", default=",".join(linecorpus.CORPORA), help="comma-separated corpora")
    p.add_argument("--peers", default=",".join(PEERS), help="comma-separated peers")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT / "centerline", help="output folder")
    p.add_argument("--corpus-dir", type=Path, default=linecorpus.CACHE, help="where the corpus is generated")
    p.add_argument("--repeat", type=int, default=3, help="speed case runs (the fastest counts)")
    p.add_argument("--no-speed", action="store_true", help="skip the speed case")
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds per worker (one peer, one corpus)")
    p.add_argument(
        "--vectile-opt",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra vectorize() option for vectile (repeatable), e.g. colors=2",
    )
    return p.parse_args(argv)


# --------------------------------------------------------------------------------- running


def run_peer(
    peer: str,
    files: list[Path],
    outputs: list[Path],
    *,
    repeat: int = 1,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Trace ``files`` with ``peer`` in one fresh worker; ``{"times", "cpu", "peak_rss_kb"}``."""
    warm = np.full((32, 32, 3), 255, np.uint8)
    warm[15:17, 4:28] = 0
    with tempfile.TemporaryDirectory(prefix="clbench-") as tmp:
        from PIL import Image

        warmup = os.path.join(tmp, "warm.png")
        Image.fromarray(warm).save(warmup)
        job: dict[str, Any] = {
            "peer": peer,
            "files": [str(f) for f in files],
            "outputs": [str(o) for o in outputs],
            "repeat": repeat,
            "options": options or {},
            "warmup": warmup,
            "result": os.path.join(tmp, "result.json"),
        }
        job_path = os.path.join(tmp, "job.json")
        Path(job_path).write_text(json.dumps(job), encoding="utf-8")
        for o in outputs:
            o.parent.mkdir(parents=True, exist_ok=True)
        code, _wall, _cpu, rss, tail = spawn_and_reap(
            [sys.executable, "-m", "bench.linepeers", job_path],
            timeout=timeout,
            cwd=REPO_ROOT,
            env={**worker_env(), **(env or {})},
        )
        res = json.loads(Path(job["result"]).read_text(encoding="utf-8")) if os.path.exists(job["result"]) else None
    if code != 0 or res is None or "error" in res:
        raise TraceError(f"{peer} worker failed (exit {code}): {(res or {}).get('error') or tail.strip()[-600:]}")
    res["peak_rss_kb"] = max(rss, int(res.get("children_rss_kb", 0)))
    return res


# ------------------------------------------------------------------------------ evaluation


def evaluate(peer: str, output: Path, entry: dict[str, Any], corpus_dir: Path) -> dict[str, Any]:
    """The metrics of one output (``.svg`` or ``.npy``) against its ground truth."""
    from PIL import Image

    from bench.metrics import composite_on_white, luma, render_svg

    truth = linecorpus.load_truth(corpus_dir / entry["truth"])
    width, size = float(truth["width"]), int(truth["size"])
    gt_pts = np.concatenate([linemetrics.sample_polyline(p) for p in truth["polylines"]])
    row: dict[str, Any] = {"peer": peer, "corpus": entry["corpus"], "name": entry["name"], "width": width}
    gt_kp = (truth["endpoints"], truth["junctions"])
    if output.suffix == ".npy":
        pts = np.load(output)
        kp = linemetrics.skeleton_keypoints(pts, width) if peer in CENTERLINE_PEERS else None
        row.update(paths=None, iou=None)
    else:
        svg = output.read_text(encoding="utf-8")
        curves = linemetrics.svg_paths(svg, size, size)
        pts = np.concatenate(curves.curves) if curves.curves else np.empty((0, 2))
        kp = linemetrics.keypoints(curves.curves, width, curves.closed) if peer in CENTERLINE_PEERS else None
        with Image.open(corpus_dir / entry["clean"]) as im:
            ink = luma(np.asarray(im.convert("RGB"))) < 127.5
        rendered = composite_on_white(render_svg(svg, size, size))
        row.update(paths=len(curves.curves), iou=linemetrics.iou(luma(rendered) < 127.5, ink))
    m = linemetrics.match(pts, gt_pts, tol=1.0, empty_distance=float(size))
    row.update(
        precision=m.precision, recall=m.recall, f1=m.f1, chamfer=m.chamfer, hausdorff95=m.hausdorff95,
        chains=int(truth["chains"]), mp=size * size / 1e6,
    )  # fmt: skip
    if kp is not None:
        km = linemetrics.keypoint_match(kp, gt_kp, width)
        row.update(kp_matched=km.matched, kp_output=km.output, kp_truth=km.truth)
    return row


def summarize(rows: list[dict[str, Any]], rss: dict[tuple[str, str], int]) -> list[dict[str, Any]]:
    """One summary per (corpus, peer), in corpus then peer order."""
    out = []
    keys = list(dict.fromkeys((r["corpus"], r["peer"]) for r in rows))
    for corpus, peer in keys:
        rs = [r for r in rows if r["corpus"] == corpus and r["peer"] == peer]

        def mean(k: str, rs: list[dict[str, Any]] = rs) -> float | None:
            vals = [r[k] for r in rs if r.get(k) is not None]
            return float(np.mean(vals)) if vals else None

        s: dict[str, Any] = {"corpus": corpus, "peer": peer, "images": len(rs)}
        for k in ("precision", "recall", "f1", "chamfer", "hausdorff95", "iou"):
            s[k] = mean(k)
        paths = [r["paths"] for r in rs if r.get("paths") is not None]
        s["paths_per_polyline"] = sum(paths) / sum(r["chains"] for r in rs) if paths else None
        if all("kp_matched" in r for r in rs):
            m, o, t = (sum(r[k] for r in rs) for k in ("kp_matched", "kp_output", "kp_truth"))
            s["junction_f1"] = 2 * m / (o + t) if o + t else 1.0
        else:
            s["junction_f1"] = None
        total_t = sum(r["time"] for r in rs)
        s["mp_per_s"] = sum(r["mp"] for r in rs) / total_t if total_t > 0 else None
        s["peak_rss_mb"] = rss.get((corpus, peer), 0) / 1024
        s["by_width"] = {
            f"{w:g}": float(np.mean([r["f1"] for r in rs if r["width"] == w])) for w in sorted({r["width"] for r in rs})
        }
        out.append(s)
    return out


# ------------------------------------------------------------------------------ speed case


def speed_page(corpus_dir: Path, grid: int) -> Path:
    """A sparse line-art page: ``grid`` x ``grid`` drawings of the corpus (its own widths),
    written once as PNG (``speed-GRID.png``)."""
    from PIL import Image

    from bench.metrics import render_svg

    path = corpus_dir / f"speed-{grid}.png"
    if path.is_file():
        return path
    drawings = linecorpus.text_drawings()
    try:
        drawings = [d for pair in zip(linecorpus.cad_drawings(), drawings, strict=False) for d in pair]
    except linecorpus.CorpusUnavailable:
        pass
    s = linecorpus.SIZE
    side = grid * s
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{side}" height="{side}" viewBox="0 0 {side} {side}">']
    parts.append(f'<rect width="{side}" height="{side}" fill="#fff"/>')
    for k in range(grid * grid):
        d = drawings[k % len(drawings)]
        body = linecorpus.drawing_svg(d).split("\n", 2)[2].rsplit("</svg>", 1)[0]
        parts.append(f'<g transform="translate({(k % grid) * s} {(k // grid) * s})">{body}</g>')
    parts.append("</svg>")
    rgb = render_svg("\n".join(parts), side, side)[..., :3]
    corpus_dir.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.ascontiguousarray(rgb)).save(path)
    return path


def speed_case(
    peers: list[str], corpus_dir: Path, out: Path, grid: int, repeat: int, timeout: float, vopts: dict[str, Any]
) -> list[dict]:
    page = speed_page(corpus_dir, grid)
    mp = (grid * linecorpus.SIZE) ** 2 / 1e6
    runs: list[tuple[str, str, dict[str, str]]] = []
    if "vectile" in peers:
        runs += [("vectile", "1 thread", {"RAYON_NUM_THREADS": "1"}), ("vectile", "default", {})]
    if "autotrace" in peers:
        runs.append(("autotrace", "1 thread", {}))
    rows = []
    for peer, threads, env in runs:
        target = out / "svg" / peer / "speed" / f"page-{threads.replace(' ', '')}"
        try:
            opts = vopts if peer == "vectile" else {}
            res = run_peer(peer, [page], [target], repeat=repeat, env=env, timeout=timeout, options=opts)
        except TraceError as exc:
            print(f"bench: speed case {peer} ({threads}) failed: {exc}", file=sys.stderr)
            continue
        t = res["times"][0]
        rows.append({"peer": peer, "threads": threads, "mp": mp, "seconds": t, "mp_per_s": mp / t,
                     "peak_rss_mb": res["peak_rss_kb"] / 1024})  # fmt: skip
        print(f"  speed {peer:<10} {threads:<9} {mp:.1f} MP  {t:.3f} s  {mp / t:.2f} MP/s", flush=True)
    return rows


# ----------------------------------------------------------------------------------- tables


def _f(v: float | None, fmt: str) -> str:
    return "—" if v is None else format(v, fmt)


def table(summary: list[dict[str, Any]], speed: list[dict[str, Any]]) -> str:
    """The run's tables as Markdown."""
    lines = [
        "| corpus | peer | images | precision | recall | F1@1px | chamfer px | p95 Hausdorff px "
        "| paths / GT polyline | junction F1 | IoU | MP/s | peak RSS MB |",
        "| --- | --- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |",
    ]
    for s in summary:
        lines.append(
            f"| {s['corpus']} | {s['peer']} | {s['images']} | {_f(s['precision'], '.3f')} | "
            f"{_f(s['recall'], '.3f')} | {_f(s['f1'], '.3f')} | {_f(s['chamfer'], '.3f')} | "
            f"{_f(s['hausdorff95'], '.2f')} | {_f(s['paths_per_polyline'], '.2f')} | "
            f"{_f(s['junction_f1'], '.3f')} | {_f(s['iou'], '.3f')} | {_f(s['mp_per_s'], '.2f')} | "
            f"{s['peak_rss_mb']:.0f} |"
        )
    widths = sorted({w for s in summary for w in s["by_width"]}, key=float)
    lines += ["", "F1@1px by stroke width (px):", ""]
    lines.append("| corpus | peer | " + " | ".join(widths) + " |")
    lines.append("| --- | --- |" + " --: |" * len(widths))
    for s in summary:
        cells = [_f(s["by_width"].get(w), ".3f") for w in widths]
        lines.append(f"| {s['corpus']} | {s['peer']} | " + " | ".join(cells) + " |")
    if speed:
        lines += ["", "Speed case (sparse line-art page, file to SVG text, the fastest run):", ""]
        lines.append("| peer | threads | MP | seconds | MP/s | peak RSS MB |")
        lines.append("| --- | --- | --: | --: | --: | --: |")
        for r in speed:
            lines.append(
                f"| {r['peer']} | {r['threads']} | {r['mp']:.1f} | {r['seconds']:.3f} | "
                f"{r['mp_per_s']:.2f} | {r['peak_rss_mb']:.0f} |"
            )
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------- main


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        vopts = parse_opts(args.vectile_opt)
    except argparse.ArgumentTypeError as exc:
        print(f"bench: --vectile-opt: {exc}", file=sys.stderr)
        return 2
    limit = args.limit if args.limit is not None else (4 if args.quick else None)
    corpora = tuple(c for c in args.corpora.split(",") if c)
    unknown = [c for c in corpora if c not in linecorpus.CORPORA]
    wanted = [p for p in args.peers.split(",") if p]
    if unknown or any(p not in PEERS for p in wanted):
        print(f"bench: corpora are {', '.join(linecorpus.CORPORA)}; peers {', '.join(PEERS)}", file=sys.stderr)
        return 2
    if not linecorpus.LIBRECAD.is_dir() and any(c.startswith("cad") for c in corpora):
        print(f"bench: skipping the cad corpora: no {linecorpus.LIBRECAD} (apt-get install -y librecad-data)")
        corpora = tuple(c for c in corpora if not c.startswith("cad"))
    t0 = time.perf_counter()
    entries = linecorpus.build(args.corpus_dir, corpora)
    print(f"corpus: {len(entries)} drawings in {args.corpus_dir} ({time.perf_counter() - t0:.1f} s)", flush=True)
    peers, versions = [], {}
    for peer in wanted:
        reason, version = probe_in_worker("bench.linepeers", peer)
        if reason is not None:
            print(f"bench: skipping {peer}: {reason} ({INSTALL_HINTS[peer]})")
            continue
        peers.append(peer)
        versions[peer] = version
    if not peers:
        print("bench: no peer available", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    rss: dict[tuple[str, str], int] = {}
    failed = False
    for corpus in corpora:
        chosen = [e for e in entries if e["corpus"] == corpus][:limit]
        files = [args.corpus_dir / e["file"] for e in chosen]
        for peer in peers:
            if peer in CLEAN_ONLY and corpus.endswith("-degraded"):
                continue
            outs = [args.out / "svg" / peer / corpus / e["name"] for e in chosen]
            try:
                opts = vopts if peer == "vectile" else {}
                res = run_peer(peer, files, outs, timeout=args.timeout, options=opts)
            except TraceError as exc:
                print(f"bench: {corpus}: {exc}", file=sys.stderr)
                failed = True
                continue
            rss[(corpus, peer)] = res["peak_rss_kb"]
            for e, o, t in zip(chosen, outs, res["times"], strict=True):
                suffix = ".npy" if o.with_suffix(".npy").is_file() and not o.with_suffix(".svg").is_file() else ".svg"
                row = evaluate(peer, o.with_name(o.name + suffix), e, args.corpus_dir)
                row["time"] = t
                rows.append(row)
            done = [r for r in rows if r["corpus"] == corpus and r["peer"] == peer]
            print(f"  {corpus:<14} {peer:<10} F1@1px {np.mean([r['f1'] for r in done]):.3f}", flush=True)
    summary = summarize(rows, rss)
    speed = []
    if not args.no_speed:
        grid = 4 if args.quick else SPEED_GRID
        repeat = 1 if args.quick else args.repeat
        speed = speed_case(peers, args.corpus_dir, args.out, grid, repeat, args.timeout, vopts)
    with open(args.out / "results.jsonl", "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r) + "\n")
    meta = {
        "versions": versions,
        "limit": limit,
        "corpora": list(corpora),
        "vectile_options": vopts,
        "cpus": os.cpu_count(),
        "vectile_build": vectile_build(),
    }
    (args.out / "summary.json").write_text(
        json.dumps({"meta": meta, "summary": summary, "speed": speed}, indent=1), encoding="utf-8"
    )
    text = table(summary, speed)
    (args.out / "table.md").write_text(text, encoding="utf-8")
    print("\n" + text)
    print(f"peers: {', '.join(f'{p} {v}' for p, v in versions.items())}; results in {args.out}")
    return 1 if failed else 0
