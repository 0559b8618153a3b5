"""``python -m bench formats``: bytes and seconds of every output format (vectile.formats).

Each image is traced once (the 144 MP map by ``vectile convert`` in another process, in
tiles), then converted from that SVG file into every format; a conversion is timed alone
(best of ``--repeat``), not the trace.  Per group the table gives the total bytes of each
format and the median seconds per image; the peak RSS column is this process's (tracing the
icons and photos, and every conversion) after the group.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import vectile
from bench.corpus import default_corpus, load_manifest
from vectile import formats

GROUPS = ("icons", "photos", "map")
MAP = "large/world-map-12k.png"


def _svg_files(group: str, corpus: Path, folder: Path, limit: int | None) -> list[Path]:
    if group == "map":
        # Traced by the command line in a process of its own (tiled, as for any huge image), so
        # this process's peak RSS is the converters' alone.
        out = folder / "world-map-12k.svg"
        command = [sys.executable, "-m", "vectile", "convert", str(corpus / MAP), "-o", str(out), "-q"]
        subprocess.run(command, check=True)
        return [out]
    entries = [e for e in load_manifest(corpus) if e["group"] == group][:limit]
    paths = []
    for e in entries:
        out = folder / (Path(e["file"]).stem + ".svg")
        out.write_text(str(vectile.vectorize(corpus / e["file"])))
        paths.append(out)
    return paths


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench formats", description=__doc__)
    parser.add_argument("--corpus", type=Path, default=default_corpus())
    parser.add_argument("--group", action="append", choices=GROUPS, help="groups to run (default: all)")
    parser.add_argument("--limit", type=int, default=None, help="at most N images per group")
    parser.add_argument("--repeat", type=int, default=3, help="conversions per image and format; the best counts")
    parser.add_argument("--group-by", default="none", choices=formats.GROUP_BY)
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for group in args.group or GROUPS:
            folder = Path(tmp) / group
            folder.mkdir()
            svgs = _svg_files(group, args.corpus, folder, args.limit)
            for fmt in formats.FORMATS:
                sizes, seconds = [], []
                for svg in svgs:
                    target = folder / ("out" + formats.SUFFIXES[fmt])
                    best = float("inf")
                    for _ in range(max(1, args.repeat if group != "map" else 1)):
                        t = time.perf_counter()
                        formats.convert(svg, target, fmt, group_by=args.group_by)
                        best = min(best, time.perf_counter() - t)
                    sizes.append(target.stat().st_size)
                    seconds.append(best)
                rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                rows.append((group, len(svgs), fmt, sum(sizes), statistics.median(seconds), rss))
                print(f"{group} {fmt}: {sum(sizes):,} bytes, {statistics.median(seconds):.4f} s", flush=True)
    print(f"\n| group | images | format | KB (total) | s per image (median) | peak RSS MB | group-by {args.group_by} |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for group, n, fmt, size, sec, rss in rows:
        print(f"| {group} | {n} | {fmt} | {size / 1000:.1f} | {sec:.4f} | {rss:.0f} | |")
    return 0
