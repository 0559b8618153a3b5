"""``python -m bench tracer-edges``: what edge guidance does to the tracer, side by side.

For each image of the chosen corpus groups (default: photos and icons), traces it in one
process with the plain tracer and with ``vectorize(edges=...)`` for each method asked
(default: canny, learned, blend), and measures every SVG the same way ``bench run`` does
(resvg render on white: PSNR, SSIM; SVG bytes). Also runs variants of the learned guidance
(palette weighting only, merge guidance only) so each part is measured on its own.

Reported per group: medians of PSNR / SSIM / KB, and the median of per-image differences
against the plain tracer (dB, and KB ratio), plus on how many images each variant wins.
Results go to ``bench/out/tracer_edges.json`` and ``tracer_edges.md``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.cli import DEFAULT_OUT
from bench.corpus import default_corpus
from bench.metrics import fidelity


def trace_learned(
    pixels: np.ndarray,
    method: str,
    *,
    gain: float | None = None,
    merging: bool | None = None,
    guide_scale: float | None = None,
) -> str:
    """:func:`vectile.vectorize` ``(pixels, edges=method)`` for ``learned`` or ``blend``, with the
    guidance's settings given here instead of the library's (None: the library's,
    ``vectile._edges.LEARNED_*``): ``gain`` weights the palette by ``1 + gain x map`` (0: no
    weighting), ``merging`` lets the map guide speckle merging, scaled by ``guide_scale``.

    With every setting None the SVG equals ``vectorize(pixels, edges=method)`` (tested), so each
    variant differs from the shipped tracer in the settings it names and in nothing else.
    """
    from vectile import _edges
    from vectile._whole import trace_pixels
    from vectile.options import resolve

    gain = _edges.LEARNED_PALETTE_GAIN if gain is None else gain
    merging = _edges.LEARNED_GUIDE_MERGING if merging is None else merging
    guide_scale = _edges.LEARNED_GUIDE_SCALE if guide_scale is None else guide_scale
    importance = _edges.edge_importance(pixels, method)
    guide = np.ascontiguousarray(importance * np.float32(guide_scale), dtype=np.float32) if merging else None
    weights = _edges.palette_weights(importance, gain, None) if gain > 0 else None
    text, _stats = trace_pixels(pixels, resolve({}), weights=weights, guide=guide)
    return str(text)


#: Variant name -> (``edges`` method or None, settings for :func:`trace_learned`). A variant
#: without settings is the library as shipped (``vectorize(edges=...)``).
VARIANTS: dict[str, tuple[str | None, dict[str, Any]]] = {
    "plain": (None, {}),
    "canny": ("canny", {}),
    "learned": ("learned", {}),
    "learned, palette only": ("learned", {"merging": False}),
    "learned, merging only": ("learned", {"gain": 0.0}),
    "learned, merge scale 0.25": ("learned", {"guide_scale": 0.25}),
    "learned, palette gain 8": ("learned", {"gain": 8.0}),
    "blend": ("blend", {}),
}


def trace_variant(pixels: np.ndarray, name: str) -> str:
    """The SVG text of one variant of :data:`VARIANTS` for ``pixels``."""
    import vectile

    edges, settings = VARIANTS[name]
    if settings:
        assert edges is not None
        return trace_learned(pixels, edges, **settings)
    return str(vectile.vectorize(pixels, edges=edges))  # type: ignore[arg-type]


def run(groups: list[str], variants: list[str], limit: int | None) -> dict[str, Any]:
    import vectile

    corpus = default_corpus()
    manifest = json.loads((corpus / "manifest.json").read_text())
    rows: list[dict[str, Any]] = []
    for group in groups:
        items = [m for m in manifest if m["group"] == group][:limit]
        for item in items:
            path = corpus / item["file"]
            pixels = vectile.load_image(path)
            for name in variants:
                t0 = time.perf_counter()
                text = trace_variant(pixels, name)
                seconds = time.perf_counter() - t0
                metrics = fidelity(pixels, text)
                rows.append(
                    {
                        "group": group,
                        "file": item["file"],
                        "variant": name,
                        "psnr": metrics["psnr"],
                        "ssim": metrics["ssim"],
                        "kb": len(text.encode()) / 1000.0,
                        "seconds": seconds,
                    }
                )
            print(f"\r{group}: {items.index(item) + 1}/{len(items)}", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
    return {"groups": groups, "variants": variants, "rows": rows}


def summarise(result: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    rows = result["rows"]
    for group in result["groups"]:
        plain = {r["file"]: r for r in rows if r["group"] == group and r["variant"] == "plain"}
        for name in result["variants"]:
            mine = [r for r in rows if r["group"] == group and r["variant"] == name]
            if not mine:
                continue
            d_psnr = [r["psnr"] - plain[r["file"]]["psnr"] for r in mine if r["file"] in plain]
            d_kb = [r["kb"] / plain[r["file"]]["kb"] for r in mine if r["file"] in plain]
            out.append(
                {
                    "group": group,
                    "variant": name,
                    "images": len(mine),
                    "psnr": statistics.median(r["psnr"] for r in mine),
                    "ssim": statistics.median(r["ssim"] for r in mine),
                    "kb": statistics.median(r["kb"] for r in mine),
                    "seconds": statistics.median(r["seconds"] for r in mine),
                    "d_psnr_median": statistics.median(d_psnr) if d_psnr else float("nan"),
                    "d_psnr_mean": float(np.mean(d_psnr)) if d_psnr else float("nan"),
                    "kb_ratio": statistics.median(d_kb) if d_kb else float("nan"),
                    "better": sum(d > 1e-9 for d in d_psnr),
                    "worse": sum(d < -1e-9 for d in d_psnr),
                }
            )
    return out


def table(summary: list[dict[str, Any]]) -> str:
    lines = [
        "| group | variant | PSNR dB | SSIM | KB | s | dB vs plain (median / mean) | KB vs plain | better / worse |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for s in summary:
        lines.append(
            f"| {s['group']} ({s['images']}) | {s['variant']} | {s['psnr']:.2f} | {s['ssim']:.3f} | "
            f"{s['kb']:.1f} | {s['seconds']:.3f} | {s['d_psnr_median']:+.3f} / {s['d_psnr_mean']:+.3f} | "
            f"x{s['kb_ratio']:.3f} | {s['better']} / {s['worse']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench tracer-edges", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--group", action="append", default=None, help="corpus group (photos, icons)")
    parser.add_argument(
        "--variant",
        action="append",
        default=None,
        choices=tuple(VARIANTS),
        help="variants to run (default: all); 'plain' always runs",
    )
    parser.add_argument("--limit", type=int, default=None, help="first N images per group")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    groups = args.group or ["photos", "icons"]
    variants = ["plain"] + [v for v in (args.variant or list(VARIANTS)) if v != "plain"]
    result = run(groups, variants, args.limit)
    summary = summarise(result)
    result["summary"] = summary
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "tracer_edges.json").write_text(json.dumps(result, indent=1))
    text = table(summary)
    (args.out / "tracer_edges.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
