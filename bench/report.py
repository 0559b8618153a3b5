"""Pictures and the HTML page: rate-distortion plot, scaling plot, sample renders with
difference heat maps. Matplotlib (Agg backend) draws every chart and colour map.

Files under the output folder:

* ``rd.png``: PSNR vs SVG KB (log) per group and mode, one marker shape per tracer, small
  markers per image, a large marker at the group's medians;
* ``scaling.png`` (``python -m bench scaling``): seconds and peak RSS vs megapixels, log-log, with
  the fitted slope of ``log y = a + k log MP`` per tracer in the legend;
* ``report.html`` with ``report/*.png`` beside it: the summary tables, the plots, and for a
  sample of images per group the input | each tracer's render | each tracer's difference heat
  map (mean absolute RGB difference per pixel, 0 = black .. >= 128 = white-yellow, the same
  scale everywhere). Images over 16 MP show the centred 4000x4000 crop the metrics use; every
  picture is scaled down to at most 640 px a side.
"""

from __future__ import annotations

import html
import math
import re
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # before pyplot: files only, no display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib import cm, colors  # noqa: E402
from PIL import Image  # noqa: E402

from bench.metrics import diff_map  # noqa: E402
from bench.tables import group_rows, table_title  # noqa: E402

THUMB_SIDE = 640
DIFF_VMAX = 128.0
DIFF_CMAP = "inferno"
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
REPORT_DIR = "report"


def tracer_styles(tracers: Iterable[str]) -> dict[str, tuple[str, Any]]:
    """A fixed (marker, colour) per tracer, in order."""
    cmap = plt.get_cmap("tab10")
    return {t: (MARKERS[i % len(MARKERS)], cmap(i % 10)) for i, t in enumerate(tracers)}


def fit_slope(xs: Iterable[float], ys: Iterable[float]) -> tuple[float, float] | None:
    """Least-squares fit of ``log10 y = a + k log10 x``: ``(k, a)``, or None under 2 points.

    >>> k, a = fit_slope([1, 4, 16], [2, 8, 32]); round(k, 6), round(a, 6)
    (1.0, 0.30103)
    """
    pts = [
        (math.log10(x), math.log10(y))
        for x, y in zip(xs, ys, strict=True)
        if x and y and x > 0 and y > 0 and math.isfinite(x) and math.isfinite(y)
    ]
    if len(pts) < 2 or len({p[0] for p in pts}) < 2:
        return None
    lx, ly = np.array(pts).T
    k, a = np.polyfit(lx, ly, 1)
    return float(k), float(a)


# ----------------------------------------------------------------------------- plots


def _log_ticks(axis: Any) -> None:
    """Log scale with plain numbers: every decade labelled, and 2 and 5 in between."""
    from matplotlib.ticker import FuncFormatter

    def minor(v: float, _pos: Any) -> str:
        if v <= 0:
            return ""
        lead = round(v / 10 ** math.floor(math.log10(v) + 1e-9))
        return f"{v:g}" if lead in (2, 5) else ""

    if axis.axis_name == "x":
        axis.axes.set_xscale("log")
    else:
        axis.axes.set_yscale("log")
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    axis.set_minor_formatter(FuncFormatter(minor))


def _median(values: list[float]) -> float | None:
    vals = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.median(vals)) if vals else None


def rd_plot(records: list[dict], panels: list[tuple[str, str]], tracers: list[str], path: Path) -> Path | None:
    """Rate-distortion plot: one panel per ``(group, mode)``; returns the path or None."""
    panels = [
        p for p in panels if any(r["group"] == p[0] and r.get("mode") == p[1] and "error" not in r for r in records)
    ]
    if not panels:
        return None
    styles = tracer_styles(tracers)
    ncols = min(3, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.4 * ncols, 4.2 * nrows), squeeze=False)
    handles: dict[str, Any] = {}
    for ax, (group, mode) in zip(axes.flat, panels, strict=False):  # the grid may have spare cells
        hidden = 0
        for t in tracers:
            rs = [
                r
                for r in records
                if r["group"] == group and r.get("mode") == mode and r["tracer"] == t and "error" not in r
            ]
            if not rs:
                continue
            marker, colour = styles[t]
            pts = [(r["kb"], r["psnr"]) for r in rs if math.isfinite(r["psnr"]) and r["kb"] > 0]
            hidden += len(rs) - len(pts)
            if pts:
                x, y = zip(*pts, strict=True)
                ax.scatter(x, y, marker=marker, color=colour, s=18, alpha=0.45, linewidths=0)
            mx, my = _median([r["kb"] for r in rs]), _median([r["psnr"] for r in rs])
            if mx is not None and my is not None and mx > 0:
                handles[t] = ax.scatter(
                    [mx],
                    [my],
                    marker=marker,
                    color=colour,
                    s=130,
                    edgecolors="black",
                    linewidths=1.2,
                    zorder=3,
                    label=t,
                )
        _log_ticks(ax.xaxis)
        title = group if mode == "color" else f"{group} ({mode})"
        ax.set_title(title + (f"  [{hidden} identical, PSNR inf, not shown]" if hidden else ""), fontsize=11)
        ax.set_xlabel("SVG size, KB (log scale)")
        ax.set_ylabel("PSNR, dB (higher is better)")
        ax.grid(True, which="both", alpha=0.3)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    fig.suptitle(
        "Rate-distortion: fidelity vs SVG size (small: each image; large: group median; up and left is better)",
        fontsize=12,
    )
    if handles:
        fig.legend(handles.values(), handles.keys(), loc="lower center", ncol=len(handles), frameon=False, fontsize=11)
    fig.tight_layout(rect=(0, 0.05, 1, 0.95))
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def scaling_plot(rows: list[dict], tracers: list[str], path: Path, title: str) -> Path | None:
    """Seconds and peak RSS vs megapixels (log-log), fitted slope per tracer in the legend."""
    ok = [r for r in rows if "error" not in r]
    if not ok:
        return None
    styles = tracer_styles(tracers)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    for ax, key, label in ((axes[0], "seconds", "wall seconds"), (axes[1], "peak_rss_mb", "peak RSS, MB")):
        for t in tracers:
            rs = sorted((r for r in ok if r["tracer"] == t and r.get(key)), key=lambda r: r["megapixels"])
            if not rs:
                continue
            marker, colour = styles[t]
            xs = [r["megapixels"] for r in rs]
            ys = [r[key] for r in rs]
            fit = fit_slope(xs, ys)
            name = t if fit is None else f"{t} (slope {fit[0]:.2f})"
            ax.plot(xs, ys, marker=marker, color=colour, label=name, linewidth=1.5)
            if fit is not None:
                k, a = fit
                fx = np.array([min(xs), max(xs)])
                ax.plot(fx, 10 ** (a + k * np.log10(fx)), linestyle="--", color=colour, alpha=0.6, linewidth=1)
        _log_ticks(ax.xaxis)
        _log_ticks(ax.yaxis)
        sizes = sorted({r["megapixels"] for r in ok})
        ax.set_xticks(sizes, [f"{v:.3g}" for v in sizes])
        ax.set_xticks([], minor=True)
        ax.set_xlabel("image size, megapixels (log)")
        ax.set_ylabel(label + " (log)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=10)
    axes[0].set_title("time vs pixels (slope 1 = linear)")
    axes[1].set_title("peak memory vs pixels")
    fig.suptitle(title, fontsize=12)
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def colorbar_png(path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(5, 0.9))
    norm = colors.Normalize(vmin=0, vmax=DIFF_VMAX)
    cb = fig.colorbar(cm.ScalarMappable(norm=norm, cmap=DIFF_CMAP), cax=ax, orientation="horizontal")
    cb.set_label("mean |RGB difference| per pixel (0-255; clipped at 128)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# ----------------------------------------------------------------------------- samples


def _thumb_size(w: int, h: int) -> tuple[int, int]:
    s = min(1.0, THUMB_SIDE / max(w, h))
    return max(1, round(w * s)), max(1, round(h * s))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")


class SampleWriter:
    """Collects the sample images of a run into ``OUT/report/`` for ``report.html``."""

    def __init__(self, out: Path) -> None:
        self.dir = Path(out) / REPORT_DIR
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        self.entries: list[dict] = []

    def _save_rgb(self, name: str, rgb: np.ndarray) -> str:
        im = Image.fromarray(rgb)
        size = _thumb_size(*im.size)
        if size != im.size:
            im = im.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
        im.save(self.dir / name)
        return f"{REPORT_DIR}/{name}"

    def _save_diff(self, name: str, ref: np.ndarray, got: np.ndarray) -> str:
        d = diff_map(ref, got)
        size = _thumb_size(d.shape[1], d.shape[0])
        if size != (d.shape[1], d.shape[0]):  # area average keeps thin errors visible as tint
            d = np.asarray(Image.fromarray(d).resize(size, Image.Resampling.BOX))
        plt.imsave(self.dir / name, d, cmap=DIFF_CMAP, vmin=0, vmax=DIFF_VMAX)
        return f"{REPORT_DIR}/{name}"

    def add(
        self,
        group: str,
        mode: str,
        file: str,
        size: tuple[int, int],
        ref: np.ndarray,
        renders: dict[str, np.ndarray],
        records: list[dict],
    ) -> None:
        base = _slug(f"{group}-{Path(file).stem}-{mode}")
        cells = [("input" if mode == "color" else "thresholded bitmap", self._save_rgb(f"{base}-input.png", ref), "")]
        by_tracer = {r["tracer"]: r for r in records}
        for t, got in renders.items():
            r = by_tracer.get(t, {})
            cap = (
                f"PSNR {r['psnr']:.2f} dB, SSIM {r['ssim']:.3f}, {r['kb']:.1f} KB, {r['seconds']:.3f} s"
                if "psnr" in r
                else ""
            )
            cells.append((t, self._save_rgb(f"{base}-{_slug(t)}.png", got), cap))
        cells.append(("", "", ""))  # second row: nothing under the input
        for t, got in renders.items():
            cells.append((f"{t}: difference", self._save_diff(f"{base}-{_slug(t)}-diff.png", ref, got), ""))
        w, h = size
        crop = next((r.get("crop") for r in records if r.get("crop")), None)
        note = f"{w} x {h}" + (f", centred crop {crop} shown (as measured)" if crop else "")
        self.entries.append({"group": group, "mode": mode, "file": file, "note": note, "cells": cells})


# ----------------------------------------------------------------------------- HTML

CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.2em; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
tr.ratio td { background: #f3f6fa; font-style: italic; }
.sample { display: grid; gap: 8px; margin-bottom: 1.5em; }
figure { margin: 0; }
figure img { width: 300px; border: 1px solid #bbb; background: #fff; }
figcaption { font-size: 12px; }
img.plot { max-width: 100%; border: 1px solid #ddd; }
"""


def html_table(header: list[str], rows: list[list[str]]) -> str:
    out = ["<table>", "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>"]
    for row in rows:
        cls = ' class="ratio"' if " / " in row[0] else ""
        out.append(f"<tr{cls}>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def write_html(
    path: Path,
    title: str,
    meta: dict,
    tables: list[tuple[str, str]],
    plots: list[tuple[str, str]],
    samples: list[dict],
    legend: str | None,
) -> Path:
    e = html.escape
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{e(title)}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>{e(title)}</h1>",
        "<ul>",
    ]
    for key in ("when", "machine", "command", "warning"):
        if key in meta:
            parts.append(f"<li>{e(key)}: {e(str(meta[key]))}</li>")
    if meta.get("versions"):
        parts.append("<li>tracers: " + e(", ".join(f"{k} {v}" for k, v in meta["versions"].items())) + "</li>")
    parts.append("</ul><h2>Summary (medians per group)</h2>")
    for heading, table in tables:
        parts.append(f"<h3>{e(heading)}</h3>{table}")
    for caption, src in plots:
        parts.append(f"<h2>{e(caption)}</h2><img class='plot' src='{e(src)}' alt='{e(caption)}'>")
    if samples:
        parts.append("<h2>Samples: input, renders of each SVG, difference heat maps</h2>")
        if legend:
            parts.append(f"<img src='{e(legend)}' alt='heat map scale'>")
        for s in samples:
            mode = "" if s["mode"] == "color" else f" ({s['mode']})"
            columns = (len(s["cells"]) + 1) // 2  # input + tracers; diffs on the 2nd row
            parts.append(
                f"<h3>{e(s['group'])}{e(mode)}: {e(s['file'])} "
                f"<small>{e(s['note'])}</small></h3><div class='sample' "
                f"style='grid-template-columns: repeat({columns}, 310px)'>"
            )
            for label, src, cap in s["cells"]:
                if not src:
                    parts.append("<figure></figure>")
                    continue
                parts.append(
                    f"<figure><img src='{e(src)}' alt='{e(label)}'><figcaption>"
                    f"<b>{e(label)}</b><br>{e(cap)}</figcaption></figure>"
                )
            parts.append("</div>")
    parts.append("</body></html>")
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def write_run_reports(
    out: Path,
    records: list[dict],
    groups: list[str],
    tracers: list[str],
    modes: list[str],
    meta: dict,
    samples: SampleWriter,
) -> list[Path]:
    """``rd.png`` and ``report.html`` (with ``report/``) for a corpus run."""
    written: list[Path] = []
    panels = [(g, m) for m in modes for g in groups]
    rd = rd_plot(records, panels, tracers, out / "rd.png")
    if rd is not None:
        written.append(rd)
    tables = []
    for g, m in panels:
        header, rows, notes = group_rows(g, m, records, tracers)
        if rows:
            tables.append(
                (table_title(g, m), html_table(header, rows) + "".join(f"<p>{html.escape(n)}</p>" for n in notes))
            )
    plots = [("Rate-distortion", "rd.png")] if rd is not None else []
    if (out / "scaling.png").exists():
        plots.append(("Scaling (from python -m bench scaling)", "scaling.png"))
    legend = None
    if samples.entries:
        colorbar_png(samples.dir / "diff-scale.png")
        legend = f"{REPORT_DIR}/diff-scale.png"
    written.append(
        write_html(out / "report.html", "vectile bench report", meta, tables, plots, samples.entries, legend)
    )
    return written
