"""Summary tables of a corpus run (``python -m bench run``): medians per tracer and group,
ratio rows against the first tracer, and the Markdown summary; ``bench.report`` draws the same
rows as HTML.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable

from bench.tracers import BINARY, COLOR


def median(values: Iterable[float | None]) -> float | None:
    """Median of the values that are numbers (None and NaN left out); None when none is.

    >>> median([3.0, None, 1.0, float(\"nan\"), 2.0])
    2.0
    """
    vals = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return statistics.median(vals) if vals else None


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
    ("thin recall", "thin_recall", "{:.3f}"),
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


def group_rows(
    group: str, mode: str, records: list[dict], tracers: list[str]
) -> tuple[list[str], list[list[str]], list[str]]:
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
                    ratios = [a[key] / b[key] for a, b in pairs if a.get(key) is not None and b.get(key)]
                    cells.append(_fmt(median(ratios), "{:.2f}"))
                else:
                    cells.append("")
            rows.append(cells)
    notes = []
    if mode == BINARY and any(r.get("gaps") for r in ok):
        notes.append(
            "binary mode: a tracer that draws only the black shapes leaves the white "
            "background transparent, so its gaps and seams count that background, "
            "not defects"
        )
    errors = [r for r in mine if "error" in r]
    if errors:
        notes.append(
            f"{len(errors)} failed run(s): "
            + "; ".join(f"{r['tracer']} {r['file']}: {r['error'][:160]}" for r in errors)
        )
    return header, rows, notes


def group_table(group: str, records: list[dict], tracers: list[str], mode: str = COLOR) -> str:
    header, rows, notes = group_rows(group, mode, records, tracers)
    lines = [f"### {table_title(group, mode)}", "", "| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    if notes:
        lines += [""] + notes
    return "\n".join(lines) + "\n"


def summary_markdown(
    records: list[dict], groups: list[str], tracers: list[str], meta: dict, modes: Iterable[str] = (COLOR, BINARY)
) -> str:
    out = (
        [
            "# vectile bench summary",
            "",
            f"- run: {meta['when']} on {meta['machine']}",
            f"- command: `{meta['command']}`",
            f"- tracers: {', '.join(f'{t} {v}' for t, v in meta['versions'].items())}",
            f"- timing: wall and CPU seconds from file path to SVG text, median of {meta['repeat']} "
            "run(s) per image, "
            + (
                "each tracer and image in fresh processes (peak RSS: the whole process)"
                if meta.get("isolated", True)
                else "Python tracers in the bench process (no RSS)"
            )
            + "; table cells are medians over the group's images",
            "- SVG KB: 1 KB = 1000 bytes; peak RSS MB: 1 MB = 10^6 bytes",
        ]
        + ([f"- **{meta['warning']}**"] if meta.get("warning") else [])
        + [
            "- ratio rows: median over images of the per-image ratio (below 1: the first tracer is faster / smaller)",
            "- fidelity: resvg render at input size on white vs input (binary mode: vs the "
            "thresholded bitmap); gaps = pixels with alpha < 0.5, seams = alpha < 0.99; thin recall = share of the "
            "input's thin-line pixels (5x5 black-/white-hat of luma > 48) whose render response is at "
            "least half the input's (bench/metrics.py); images "
            "over 16 MP measured on the centred 4000x4000 crop",
            "",
        ]
    )
    for mode in modes:
        for g in groups:
            if any(r["group"] == g and r.get("mode", COLOR) == mode for r in records):
                out.append(group_table(g, records, tracers, mode))
    return "\n".join(out)
