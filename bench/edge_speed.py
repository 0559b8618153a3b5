"""``python -m bench edge-speed``: edge kernels against OpenCV, timed in the same run.

Image: a 1920 x 1080 mosaic of 16 natural photos (480 x 270 crops of BSDS500 test images from
the bench corpus, or of any images found), as RGB and as grey (BT.601 luma, OpenCV's
``cvtColor``). Each kernel and its OpenCV counterpart run alternately, ``--repeat`` times after a
warm-up, in one process on the same data; the table gives median and best (minimum)
milliseconds and the ratios ours / OpenCV of each (below 1: ours is faster). On a shared
machine the best times are the steadier comparison. Both use ``--threads`` threads.

Pairs (same work on both sides):

* blur: ``gaussian_blur(sigma=1.4)`` vs ``cv2.GaussianBlur(img, (0, 0), 1.4)`` (same 9-tap
  kernel, reflect-101 border, 8-bit fixed point on both sides);
* sobel: ``sobel`` (gx and gy, int16) vs two ``cv2.Sobel(img, CV_16S, dx, dy)`` calls;
* canny, no blur: ``canny(sigma=0)`` vs ``cv2.Canny(img, lo, hi, L2gradient=True)`` (the same
  gradient norm; OpenCV's default L1 norm is timed too);
* canny: ``canny(sigma=1.4)`` vs ``cv2.GaussianBlur`` + ``cv2.Canny`` (both blur first);
* colour canny: the same on the RGB image (OpenCV also takes the strongest channel).

Then the public call against its kernel and OpenCV (``detect_edges`` table): for grey and RGB,
``vectile.detect_edges(img, sigma=1.4, low=0.1, high=0.2)`` (the strength map, input checks and
conversion included), its kernel ``_kernels.canny(img, sigma=1.4, low=0.1, high=0.2)`` (the
edge map only) and ``cv2.GaussianBlur`` + ``cv2.Canny(L2gradient=True)``, and ``detect_edges``
with automatic thresholds. They run in ``--rounds`` rounds of ``--repeat`` alternating calls;
each round gives a median per call and the ratios of those medians; the table gives the median
ratio over the rounds and its range (min - max), so a round disturbed by other processes shows.

``--threads`` (default 2) sets both rayon's pool (``RAYON_NUM_THREADS``, read when the pool
starts, so it must be the first kernel call of the process) and ``cv2.setNumThreads``.

Thresholds: low 0.1, high 0.2 in our units (1 = black-to-white step = 1020 Sobel units), that is
102 and 204 for OpenCV.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from vectile import _kernels

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = Path(__file__).resolve().parent / "out"
LOW, HIGH = 0.1, 0.2
SIGMA = 1.4


def _photo_paths() -> list[Path]:
    for base in (REPO_ROOT.parent / "shared", Path("/work/shared")):
        for folder in (base / "bench" / "photos", base / "data" / "bsds500" / "images" / "test"):
            found = sorted([*folder.glob("*.png"), *folder.glob("*.jpg")])
            if found:
                return found
    return []


def mosaic(width: int = 1920, height: int = 1080) -> np.ndarray:
    """An RGB mosaic of 4 x 4 natural photo crops (a noise image when no photo is found)."""
    paths = _photo_paths()
    tw, th = width // 4, height // 4
    if not paths:
        rng = np.random.default_rng(0)
        return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    out = np.zeros((height, width, 3), np.uint8)
    for k in range(16):
        with Image.open(paths[k % len(paths)]) as im:
            im = im.convert("RGB")
            if im.height > im.width:
                im = im.rotate(90, expand=True)
            tile = np.asarray(im.resize((max(tw, im.width), max(th, im.height))))[:th, :tw]
        y, x = divmod(k, 4)
        out[y * th : (y + 1) * th, x * tw : (x + 1) * tw] = tile
    return out


def _time(fn: Callable[[], Any], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def run(repeat: int) -> dict[str, Any]:
    import cv2

    rgb = mosaic()
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    g3 = np.ascontiguousarray(grey[:, :, None])
    lo, hi = LOW * 1020, HIGH * 1020

    def blur_cv(img: np.ndarray) -> Any:
        return cv2.GaussianBlur(img, (0, 0), SIGMA)

    pairs: list[tuple[str, Callable[[], Any], Callable[[], Any]]] = [
        ("blur grey", lambda: _kernels.gaussian_blur(g3, sigma=SIGMA), lambda: blur_cv(grey)),
        ("blur RGB", lambda: _kernels.gaussian_blur(rgb, sigma=SIGMA), lambda: blur_cv(rgb)),
        (
            "sobel grey (gx, gy)",
            lambda: _kernels.sobel(g3),
            lambda: (cv2.Sobel(grey, cv2.CV_16S, 1, 0), cv2.Sobel(grey, cv2.CV_16S, 0, 1)),
        ),
        (
            "canny grey, no blur (L2)",
            lambda: _kernels.canny(g3, sigma=0.0, low=LOW, high=HIGH),
            lambda: cv2.Canny(grey, lo, hi, L2gradient=True),
        ),
        (
            "canny grey, no blur (cv2 default L1)",
            lambda: _kernels.canny(g3, sigma=0.0, low=LOW, high=HIGH),
            lambda: cv2.Canny(grey, lo, hi),
        ),
        (
            "canny grey, blur 1.4",
            lambda: _kernels.canny(g3, sigma=SIGMA, low=LOW, high=HIGH),
            lambda: cv2.Canny(blur_cv(grey), lo, hi, L2gradient=True),
        ),
        (
            "canny RGB, blur 1.4",
            lambda: _kernels.canny(rgb, sigma=SIGMA, low=LOW, high=HIGH),
            lambda: cv2.Canny(blur_cv(rgb), lo, hi, L2gradient=True),
        ),
        (
            "canny RGB, blur 1.4, automatic thresholds + strength map",
            lambda: _kernels.canny(rgb, sigma=SIGMA, strength=True),
            lambda: cv2.Canny(blur_cv(rgb), lo, hi, L2gradient=True),
        ),
    ]
    rows = []
    for name, ours, theirs in pairs:
        ours(), theirs()  # warm-up
        t_ours: list[float] = []
        t_cv: list[float] = []
        for _ in range(repeat):  # alternate, so both see the same machine noise
            t_ours += _time(ours, 1)
            t_cv += _time(theirs, 1)
        a, b = statistics.median(t_ours) * 1e3, statistics.median(t_cv) * 1e3
        a_min, b_min = min(t_ours) * 1e3, min(t_cv) * 1e3
        rows.append(
            {
                "kernel": name,
                "ours_ms": a,
                "opencv_ms": b,
                "ratio": a / b,
                "ours_best_ms": a_min,
                "opencv_best_ms": b_min,
                "ratio_best": a_min / b_min,
            }
        )
    # Agreement check: edge pixels that differ from OpenCV's (same gradient, different NMS).
    ours_e = _kernels.canny(g3, sigma=0.0, low=LOW, high=HIGH)[0]
    cv_e = cv2.Canny(grey, lo, hi, L2gradient=True)
    agree = float(((ours_e > 0) == (cv_e > 0)).mean())
    return {
        "image": [int(rgb.shape[1]), int(rgb.shape[0])],
        "repeat": repeat,
        "opencv": cv2.__version__,
        "opencv_threads": cv2.getNumThreads(),
        "cpus": os.cpu_count(),
        "rows": rows,
        "pixel_agreement_with_cv2_canny": agree,
    }


def detect_edges_speed(rounds: int, repeat: int) -> dict[str, Any]:
    """``vectile.detect_edges`` against its Canny kernel and OpenCV (see the module docstring)."""
    import cv2

    import vectile

    rgb = mosaic()
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    lo, hi = LOW * 1020, HIGH * 1020
    out: dict[str, Any] = {"rounds": rounds, "repeat": repeat, "images": {}}
    for label, img in (("grey", grey), ("RGB", rgb)):
        kernel_input = np.ascontiguousarray(img if img.ndim == 3 else img[:, :, None])
        calls: dict[str, Callable[[], Any]] = {
            "detect_edges": lambda img=img: vectile.detect_edges(img, sigma=SIGMA, low=LOW, high=HIGH),
            "kernel": lambda k=kernel_input: _kernels.canny(k, sigma=SIGMA, low=LOW, high=HIGH),
            "cv2": lambda img=img: cv2.Canny(cv2.GaussianBlur(img, (0, 0), SIGMA), lo, hi, L2gradient=True),
            "detect_edges_auto": lambda img=img: vectile.detect_edges(img, sigma=SIGMA),
        }
        for fn in calls.values():
            fn()  # warm-up
        per_round: list[dict[str, float]] = []
        for _ in range(rounds):
            times: dict[str, list[float]] = {k: [] for k in calls}
            for _ in range(repeat):  # alternate, so all see the same machine noise
                for name, fn in calls.items():
                    times[name] += _time(fn, 1)
            per_round.append({k: statistics.median(v) * 1e3 for k, v in times.items()})
        ratios = {
            "detect_edges / kernel": [r["detect_edges"] / r["kernel"] for r in per_round],
            "kernel / cv2": [r["kernel"] / r["cv2"] for r in per_round],
            "detect_edges / cv2": [r["detect_edges"] / r["cv2"] for r in per_round],
        }
        out["images"][label] = {
            "ms": {k: statistics.median(r[k] for r in per_round) for k in calls},
            "ms_range": {k: [min(r[k] for r in per_round), max(r[k] for r in per_round)] for k in calls},
            "ratios": {k: statistics.median(v) for k, v in ratios.items()},
            "ratio_range": {k: [min(v), max(v)] for k, v in ratios.items()},
            "rounds": per_round,
        }
    return out


def learned_speed(repeat: int) -> dict[str, Any]:
    """The learned edge model on a 481x321 BSDS-sized image: whole ``detect_edges`` calls
    (input conversion, padding, ONNX Runtime, crop) for ``learned`` and ``blend``, and Canny
    in the same loop for scale. Threads: ONNX Runtime's session default (every CPU)."""
    import vectile
    from vectile import models

    img = np.ascontiguousarray(mosaic(484, 324)[:321, :481])
    calls = {
        "learned": lambda: vectile.detect_edges(img, "learned"),
        "blend": lambda: vectile.detect_edges(img, "blend"),
        "canny": lambda: vectile.detect_edges(img, "canny"),
    }
    for fn in calls.values():
        fn()  # warm-up (the session is created here)
    times: dict[str, list[float]] = {k: [] for k in calls}
    for _ in range(repeat):
        for name, fn in calls.items():
            times[name] += _time(fn, 1)
    return {
        "image": [481, 321],
        "threads": models.session_info()["threads"],
        "providers": models.session_info()["providers"],
        **{f"{k}_ms": statistics.median(v) * 1e3 for k, v in times.items()},
        **{f"{k}_best_ms": min(v) * 1e3 for k, v in times.items()},
    }


def table(result: dict[str, Any]) -> str:
    lines = [
        f"Edge kernels on {result['image'][0]}x{result['image'][1]}, median of {result['repeat']} "
        f"runs, OpenCV {result['opencv']} ({result['opencv_threads']} threads), {result['cpus']} CPUs"
        + (f", rayon threads {result['threads']}" if "threads" in result else "")
        + (f", load average {result['load_average'][0]:.2f} at the end" if "load_average" in result else ""),
        "",
        "| kernel | ours ms (median / best) | OpenCV ms (median / best) | ours / OpenCV (median / best) |",
        "| --- | --- | --- | --- |",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['kernel']} | {r['ours_ms']:.2f} / {r['ours_best_ms']:.2f} | "
            f"{r['opencv_ms']:.2f} / {r['opencv_best_ms']:.2f} | "
            f"{r['ratio']:.2f} / {r['ratio_best']:.2f} |"
        )
    lines.append("")
    lines.append(
        f"Canny (no blur, L2) edge maps agree with OpenCV's on "
        f"{100 * result['pixel_agreement_with_cv2_canny']:.2f} % of pixels."
    )
    if "detect_edges" in result:
        d = result["detect_edges"]
        lines += [
            "",
            f"detect_edges (sigma {SIGMA}, low {LOW}, high {HIGH}: strength map) vs its kernel "
            f"(edge map) vs cv2.GaussianBlur + cv2.Canny (L2), medians of {d['rounds']} rounds of "
            f"{d['repeat']} calls; ratios: median over rounds (min - max):",
            "",
            "| image | detect_edges ms | kernel ms | cv2 ms | detect_edges auto ms | detect_edges / kernel "
            "| kernel / cv2 | detect_edges / cv2 |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for label, r in d["images"].items():
            ms, rat, rng = r["ms"], r["ratios"], r["ratio_range"]
            cells = [
                f"{rat[k]:.3f} ({rng[k][0]:.3f} - {rng[k][1]:.3f})"
                for k in ("detect_edges / kernel", "kernel / cv2", "detect_edges / cv2")
            ]
            lines.append(
                f"| {label} | {ms['detect_edges']:.2f} | {ms['kernel']:.2f} | {ms['cv2']:.2f} | "
                f"{ms['detect_edges_auto']:.2f} | {' | '.join(cells)} |"
            )
    if "learned" in result:
        r = result["learned"]
        lines += [
            "",
            f"Learned edges, detect_edges on {r['image'][0]}x{r['image'][1]}, "
            f"{r['threads']} ONNX Runtime threads ({', '.join(r['providers'])}), median / best:",
            "",
            "| method | ms |",
            "| --- | --- |",
        ]
        for k in ("learned", "blend", "canny"):
            lines.append(f"| {k} | {r[k + '_ms']:.1f} / {r[k + '_best_ms']:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench edge-speed", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=50, help="timed runs per kernel (default 50)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="rounds of the detect_edges comparison (default 5; each of --repeat calls)",
    )
    parser.add_argument("--threads", type=int, default=2, help="threads for rayon and OpenCV (default 2)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for edge_speed.json")
    args = parser.parse_args(argv)
    try:
        import cv2
    except ImportError:
        print("edge-speed needs OpenCV: pip install opencv-python-headless (the bench extra)", file=sys.stderr)
        return 2
    threads = max(1, args.threads)
    os.environ["RAYON_NUM_THREADS"] = str(threads)  # read when rayon's pool starts (first kernel call)
    cv2.setNumThreads(threads)
    result = run(max(1, args.repeat))
    result["detect_edges"] = detect_edges_speed(max(1, args.rounds), max(1, args.repeat))
    result["threads"] = threads
    result["load_average"] = list(os.getloadavg())
    result["learned"] = learned_speed(max(1, args.repeat))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "edge_speed.json").write_text(json.dumps(result, indent=1))
    print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
