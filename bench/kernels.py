"""``python -m bench kernels``: vectile's kernels against the best Python-world peer, same data,
same run.

Cases (each implementation in its own fresh worker process, so peak RSS is its own):

* ``quantize``: k = 16 colours of a picture at 800x600, 1920x1080 and 3840x2160: a 1920x1080
  mosaic of 16 crops of the corpus's photos at their own resolution (a procedural picture when
  no corpus is found), Lanczos-resized (cropped to 4:3 first for 800x600). vectile:
  ``vectile.quantize_colors(image, k=16, seed=0)`` (k-means++ and Lloyd in CIELAB over the
  colour histogram). Peers on every pixel as float32 RGB: scikit-learn
  ``KMeans(16, n_init=1, random_state=0)`` (its defaults: up to 300 Lloyd iterations, tol 1e-4)
  and OpenCV ``cv2.kmeans`` (k-means++ centres, 1 attempt, stop after 10 iterations or a shift
  under 1.0, the OpenCV tutorial's criteria). Result: PSNR of the image redrawn with the
  palette (higher is better), so speed is not bought with quality.
* ``canny``: edges of the same mosaic as 8-bit luma at 1920x1080, Gaussian sigma 1.4, thresholds
  0.1 / 0.2 of a full black-to-white step, L2 gradient norm, on every side. vectile:
  ``vectile.detect_edges(gray, method="canny", sigma=1.4, low=0.1, high=0.2)`` (skipped with a
  line while the function does not exist). Peers: ``cv2.GaussianBlur(sigma 1.4)`` +
  ``cv2.Canny(102, 204, L2gradient=True)`` and ``skimage.feature.canny(gray, sigma=1.4,
  low_threshold=102, high_threshold=204)`` (same scale as OpenCV). Result: share of edge
  pixels.
* ``fit``: a closed contour of about 10,000 lattice points (the crack boundary of a wobbly
  disc, turn points only). vectile: ``vectile._kernels.fit_polyline(points, closed=True,
  tolerance=1.0)`` (corners, then least-squares cubic Beziers). Peers simplify to polygons
  at the same tolerance: ``cv2.approxPolyDP(contour, 1.0, True)`` and
  ``skimage.measure.approximate_polygon(contour, 1.0)``. Result: output segments.
* ``learned``: ``vectile.detect_edges(image, method="learned")`` at 1920x1080, vectile alone
  (no peer runs offline without downloading weights); skipped while that method is refused.

Timing: median of ``--repeat`` calls after one untimed warm-up call on small data; calls
under 20 ms are batched (per-call time = batch time / calls). ``/ best peer`` = seconds
divided by the fastest peer's seconds on that case (below 1: faster than every peer).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib.util
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench.cli import DEFAULT_OUT, vectile_build
from bench.corpus import default_corpus
from bench.runner import REPO_ROOT, spawn_and_reap, worker_env

QUANTIZE_SIZES = ((800, 600), (1920, 1080), (3840, 2160))
CANNY_SIZE = (1920, 1080)
LEARNED_SIZE = (1920, 1080)
MOSAIC_SIZE = (1920, 1080)
FIT_POINTS = 10_000
FIT_TOLERANCE = 1.0
# Canny: Gaussian sigma 1.4, thresholds 0.1 / 0.2 of a full black-to-white step, L2 gradient
# (the settings of bench/edge_speed.py), the same on every side.
CANNY_SIGMA, CANNY_LOW, CANNY_HIGH = 1.4, 0.1, 0.2
K = 16
BATCH_UNDER = 0.02  # seconds: calls faster than this are timed in batches
BATCH_TARGET = 0.05  # seconds per batch


# ----------------------------------------------------------------------------- data


def lattice_contour(radius: float, wobble: float = 0.15, lobes: int = 7) -> np.ndarray:
    """Closed crack boundary (pixel corners, y down) of a wobbly disc: (N, 2) int32 turn points,
    each differing from the next (cyclically) in exactly one coordinate; counter-clockwise on
    screen is not guaranteed (the fitters do not care)."""
    r_max = radius * (1 + 1.6 * wobble)
    side = int(2 * math.ceil(r_max) + 4)
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float64)
    c = side / 2
    theta = np.arctan2(yy + 0.5 - c, xx + 0.5 - c)
    rr = np.hypot(yy + 0.5 - c, xx + 0.5 - c)
    bound = radius * (1 + wobble * np.sin(lobes * theta) + 0.6 * wobble * np.sin(3 * theta + 1))
    mask = np.zeros((side + 2, side + 2), bool)  # padded: index (y+1, x+1)
    mask[1:-1, 1:-1] = rr <= bound

    def inside(x: int, y: int) -> bool:
        return bool(mask[y + 1, x + 1])

    # Direction d = (dx, dy); the inside stays on the right (y down: E -> S is a right turn).
    dirs = [(1, 0), (0, 1), (-1, 0), (0, -1)]  # E S W N: index + 1 = right turn

    def edge_ok(vx: int, vy: int, k: int) -> bool:
        dx, dy = dirs[k]
        if (dx, dy) == (1, 0):
            right, left = (vx, vy), (vx, vy - 1)
        elif (dx, dy) == (0, 1):
            right, left = (vx - 1, vy), (vx, vy)
        elif (dx, dy) == (-1, 0):
            right, left = (vx - 1, vy - 1), (vx - 1, vy)
        else:
            right, left = (vx, vy - 1), (vx - 1, vy - 1)
        return inside(*right) and not inside(*left)

    ys, xs = np.nonzero(mask[1:-1, 1:-1])
    y0 = int(ys.min())
    x0 = int(xs[ys == y0].min())
    start = (x0, y0)
    v, k = start, 0
    turns = [start]
    while True:
        for nk in ((k + 1) % 4, k, (k + 3) % 4):  # right, straight, left
            if edge_ok(v[0], v[1], nk):
                break
        else:  # pragma: no cover - cannot happen on a boundary
            raise RuntimeError("lost the boundary")
        if nk != k and v != start:
            turns.append(v)
        k = nk
        v = (v[0] + dirs[k][0], v[1] + dirs[k][1])
        if v == start:
            break
    return np.ascontiguousarray(np.array(turns, dtype=np.int32))


def contour_points(n: int = FIT_POINTS) -> np.ndarray:
    """A :func:`lattice_contour` with about ``n`` points (the radius is searched)."""
    radius = n / 8.0
    pts = lattice_contour(radius)
    for _ in range(4):
        if abs(len(pts) - n) <= n * 0.01:
            break
        radius *= n / len(pts)
        pts = lattice_contour(radius)
    return pts


def _photo_paths(corpus: Path | None) -> list[Path]:
    if corpus is None or not (corpus / "manifest.json").is_file():
        return []
    with open(corpus / "manifest.json", encoding="utf-8") as fh:
        manifest = json.load(fh)
    return [corpus / e["file"] for e in manifest if e["group"] == "photos"]


def source_image(corpus: Path | None, size: tuple[int, int] = MOSAIC_SIZE) -> tuple[np.ndarray, str]:
    """The picture the image kernels use, RGB uint8 ``size`` (w, h), and what it is: a 4 x 4
    mosaic of the corpus's photos at their own resolution (centre crops, the 13th to 16th tile
    mirrored copies of the first ones), so edges and colours are those of natural photos; a
    procedural picture when the corpus has no photos."""
    from PIL import Image

    w, h = size
    tw, th = w // 4, h // 4
    paths = _photo_paths(corpus)
    if paths:
        out = np.zeros((h, w, 3), np.uint8)
        for k in range(16):
            with Image.open(paths[k % len(paths)]) as im:
                tile = np.asarray(im.convert("RGB"))
            if tile.shape[0] > tile.shape[1]:
                tile = np.rot90(tile)
            if tile.shape[0] < th or tile.shape[1] < tw:
                tile = np.asarray(
                    Image.fromarray(tile).resize(
                        (max(tw, tile.shape[1]), max(th, tile.shape[0])), Image.Resampling.LANCZOS
                    )
                )
            y0, x0 = (tile.shape[0] - th) // 2, (tile.shape[1] - tw) // 2
            tile = tile[y0 : y0 + th, x0 : x0 + tw]
            if k >= len(paths):
                tile = tile[:, ::-1]
            y, x = divmod(k, 4)
            out[y * th : (y + 1) * th, x * tw : (x + 1) * tw] = tile
        return out, f"mosaic of {min(16, len(paths))} corpus photos, {w}x{h}"
    # Procedural stand-in: smooth colour field plus a few hard-edged discs.
    yy, xx = np.mgrid[0:h, 0:w] / np.array([h, w]).reshape(2, 1, 1)
    img = np.stack([np.sin(6 * xx) * 0.5 + 0.5, np.cos(5 * yy + 2 * xx) * 0.5 + 0.5, xx * yy], axis=-1)
    for cx, cy, r, col in ((0.3, 0.4, 0.15, (0.9, 0.1, 0.1)), (0.7, 0.6, 0.2, (0.1, 0.2, 0.8))):
        img[(xx - cx) ** 2 + (yy - cy) ** 2 < r * r] = col
    return (img * 255).round().astype(np.uint8), f"procedural picture, {w}x{h}"


def resized(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Centre-crop ``image`` to the aspect ratio of ``size`` (w, h), then Lanczos-resize."""
    from PIL import Image

    h, w = image.shape[:2]
    tw, th = size
    if (w, h) == (tw, th):
        return np.ascontiguousarray(image)
    if w * th > h * tw:  # too wide
        cw = round(h * tw / th)
        image = image[:, (w - cw) // 2 : (w - cw) // 2 + cw]
    else:
        ch = round(w * th / tw)
        image = image[(h - ch) // 2 : (h - ch) // 2 + ch]
    return np.ascontiguousarray(np.asarray(Image.fromarray(image).resize(size, Image.Resampling.LANCZOS)))


def gray_of(rgb: np.ndarray) -> np.ndarray:
    from bench.metrics import luma_u8

    return np.ascontiguousarray(luma_u8(rgb))


# ----------------------------------------------------------------------------- implementations
# Each prepare(data) returns (call, result) : call() is timed, result(output) -> dict.


def _psnr_result(image: np.ndarray, redraw: Callable[[Any], np.ndarray]) -> Callable[[Any], dict]:
    from bench.metrics import psnr

    def result(out: Any) -> dict:
        approx = redraw(out)
        return {"psnr": round(psnr(image, approx), 3), "colors": int(len(np.unique(approx.reshape(-1, 3), axis=0)))}

    return result


def q_vectile(data: dict) -> tuple[Callable[[], Any], Callable[[Any], dict]]:
    import vectile

    image = data["image"]
    return (lambda: vectile.quantize_colors(image, k=K, seed=0), _psnr_result(image, lambda out: out[0][out[1]]))


def q_sklearn(data: dict) -> tuple[Callable[[], Any], Callable[[Any], dict]]:
    from sklearn.cluster import KMeans

    image = data["image"]
    pixels = image.reshape(-1, 3).astype(np.float32)

    def call() -> Any:
        km = KMeans(n_clusters=K, n_init=1, random_state=0).fit(pixels)
        return np.clip(np.rint(km.cluster_centers_), 0, 255).astype(np.uint8), km.labels_

    return call, _psnr_result(image, lambda out: out[0][out[1]].reshape(image.shape))


def q_cv2(data: dict) -> tuple[Callable[[], Any], Callable[[Any], dict]]:
    import cv2

    image = data["image"]
    pixels = image.reshape(-1, 3).astype(np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 10, 1.0)

    def call() -> Any:
        cv2.setRNGSeed(0)
        _, labels, centres = cv2.kmeans(pixels, K, None, criteria, 1, cv2.KMEANS_PP_CENTERS)
        return np.clip(np.rint(centres), 0, 255).astype(np.uint8), labels.ravel()

    return call, _psnr_result(image, lambda out: out[0][out[1]].reshape(image.shape))


def _edge_result(out: Any) -> dict:
    e = np.asarray(out)
    return {"edge_share": round(float(np.count_nonzero(e)) / e.size, 5)}


def c_vectile(data: dict) -> tuple[Callable[[], Any], Callable[[Any], dict]]:
    import vectile

    gray = data["gray"]
    return (
        (lambda: vectile.detect_edges(gray, method="canny", sigma=CANNY_SIGMA, low=CANNY_LOW, high=CANNY_HIGH)),
        _edge_result,
    )


def c_cv2(data: dict) -> tuple[Callable[[], Any], Callable[[Any], dict]]:
    import cv2

    gray = data["gray"]
    lo, hi = CANNY_LOW * 1020, CANNY_HIGH * 1020  # 8-bit Sobel units: a full step is 1020
    return ((lambda: cv2.Canny(cv2.GaussianBlur(gray, (0, 0), CANNY_SIGMA), lo, hi, L2gradient=True)), _edge_result)


def c_skimage(data: dict) -> tuple[Callable[[], Any], Callable[[Any], dict]]:
    from skimage.feature import canny

    gray = data["gray"]
    # skimage keeps uint8 values (0-255) and the same Sobel scale as OpenCV: a step is 1020.
    return (
        (lambda: canny(gray, sigma=CANNY_SIGMA, low_threshold=CANNY_LOW * 1020, high_threshold=CANNY_HIGH * 1020)),
        _edge_result,
    )


def l_vectile(data: dict) -> tuple[Callable[[], Any], Callable[[Any], dict]]:
    import vectile

    image = data["image"]

    def result(out: Any) -> dict:
        e = np.asarray(out, dtype=np.float64)
        return {"mean": round(float(e.mean()), 5)}

    return (lambda: vectile.detect_edges(image, method="learned")), result


def f_vectile(data: dict) -> tuple[Callable[[], Any], Callable[[Any], dict]]:
    from vectile import _kernels

    pts = data["points"]
    return (
        (lambda: _kernels.fit_polyline(pts, closed=True, tolerance=FIT_TOLERANCE, corner_run=2)),
        lambda out: {"segments": int(out[0].shape[0]), "cubics": int(np.count_nonzero(out[0][:, 0] == 1))},
    )


def f_cv2(data: dict) -> tuple[Callable[[], Any], Callable[[Any], dict]]:
    import cv2

    contour = np.ascontiguousarray(data["points"].reshape(-1, 1, 2))
    return ((lambda: cv2.approxPolyDP(contour, FIT_TOLERANCE, True)), lambda out: {"segments": int(len(out))})


def f_skimage(data: dict) -> tuple[Callable[[], Any], Callable[[Any], dict]]:
    from skimage.measure import approximate_polygon

    pts = data["points"].astype(np.float64)
    closed = np.ascontiguousarray(np.vstack([pts, pts[:1]]))  # closed: first == last

    return ((lambda: approximate_polygon(closed, FIT_TOLERANCE)), lambda out: {"segments": int(len(out) - 1)})


def _has(module: str) -> Callable[[], str | None]:
    def probe() -> str | None:
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed (pip install -e '.[bench]')"
        return None

    return probe


def _vectile_probe(code: str, what: str) -> Callable[[], str | None]:
    """Probe running ``code`` (with ``vectile`` and ``np`` imported) in a fresh process: the
    bench process never maps vectile's native module (a rebuild during a long run would crash
    it). Any exception means: skipped, ``what`` not available yet."""

    def probe() -> str | None:
        import subprocess

        proc = subprocess.run(
            [sys.executable, "-c", "import numpy as np, vectile\n" + code],
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            env=worker_env(),
            check=False,
        )
        if proc.returncode == 0:
            return None
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        if "ModuleNotFoundError: No module named 'vectile'" in last:
            return f"vectile is not importable ({last})"
        return f"{what} not available yet ({last[:160]})"

    return probe


def _vectile_attr(attr: str, what: str) -> Callable[[], str | None]:
    return _vectile_probe(f"vectile.{attr}", what)


# kernel -> impl -> (prepare, probe); the first impl is vectile's, the rest are peers.
IMPLS: dict[str, dict[str, tuple[Callable, Callable[[], str | None]]]] = {
    "quantize": {
        "vectile": (q_vectile, _vectile_attr("quantize_colors", "vectile.quantize_colors")),
        "sklearn KMeans": (q_sklearn, _has("sklearn")),
        "cv2.kmeans": (q_cv2, _has("cv2")),
    },
    "canny": {
        "vectile": (c_vectile, _vectile_attr("detect_edges", "vectile.detect_edges")),
        "cv2.Canny": (c_cv2, _has("cv2")),
        "skimage canny": (c_skimage, _has("skimage")),
    },
    "fit": {
        "vectile": (f_vectile, _vectile_attr("_kernels.fit_polyline", "vectile._kernels.fit_polyline")),
        "cv2.approxPolyDP": (f_cv2, _has("cv2")),
        "skimage approximate_polygon": (f_skimage, _has("skimage")),
    },
    "learned": {
        "vectile": (
            l_vectile,
            _vectile_probe(
                "vectile.detect_edges(np.zeros((8, 8, 3), np.uint8), method='learned')",
                "vectile.detect_edges(method='learned')",
            ),
        ),
    },
}
KERNELS = tuple(IMPLS)


# ----------------------------------------------------------------------------- worker side


def time_calls(call: Callable[[], Any], repeat: int) -> tuple[list[float], list[float], Any]:
    """``(wall per call, CPU per call, last output)``; fast calls are timed in batches."""
    c0, t0 = time.process_time(), time.perf_counter()
    out = call()
    first, first_cpu = time.perf_counter() - t0, time.process_time() - c0
    if first >= BATCH_UNDER:
        times, cpus = [first], [first_cpu]
        for _ in range(repeat - 1):
            c0, t0 = time.process_time(), time.perf_counter()
            out = call()
            times.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
        return times, cpus, out
    n = max(1, math.ceil(BATCH_TARGET / max(first, 1e-7)))
    times, cpus = [], []
    for _ in range(max(repeat, 5)):
        c0, t0 = time.process_time(), time.perf_counter()
        for _ in range(n):
            out = call()
        times.append((time.perf_counter() - t0) / n)
        cpus.append((time.process_time() - c0) / n)
    return times, cpus, out


def run_kernel_job(job: dict) -> dict:
    """Worker side of one (kernel, impl, data) measurement (see ``bench.worker``)."""
    import resource

    prepare, _probe = IMPLS[job["kernel"]][job["impl"]]
    with np.load(job["data"]) as npz:
        data = {k: npz[k] for k in npz.files}
    warm = {k[len("warm_") :]: v for k, v in data.items() if k.startswith("warm_")}
    if warm:
        call, _ = prepare(warm)
        call()  # untimed warm-up on small data: imports, thread pools, caches
    base = int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    call, result = prepare(data)
    times, cpus, out = time_calls(call, int(job["repeat"]))
    return {"times": times, "cpu_times": cpus, "base_rss_kb": base, "result": result(out)}


# ----------------------------------------------------------------------------- parent side


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench kernels",
        description="vectile's kernels vs scikit-learn, OpenCV and scikit-image on the same data in the same run.",
    )
    p.add_argument("--only", default=",".join(KERNELS), help=f"comma-separated kernels (default: {','.join(KERNELS)})")
    p.add_argument("--repeat", type=int, default=None, help="timed calls per case, median kept (default 3, quick 1)")
    p.add_argument("--quick", action="store_true", help="800x600 quantize only among the sizes, --repeat 1")
    p.add_argument("--corpus", type=Path, default=None, help="corpus for the source photo")
    p.add_argument(
        "--out", type=Path, default=None, help="output folder for kernels.jsonl and kernels.md (default bench/out)"
    )
    p.add_argument("--timeout", type=float, default=900.0, help="seconds per case and impl")
    return p


def cases(kernels: list[str], quick: bool, image: np.ndarray) -> list[tuple[str, str, dict]]:
    """``(kernel, data label, arrays)`` for every case."""
    out = []
    warm_image = np.ascontiguousarray(resized(image, (64, 48)))
    if "quantize" in kernels:
        for size in QUANTIZE_SIZES[:1] if quick else QUANTIZE_SIZES:
            out.append(
                ("quantize", f"{size[0]}x{size[1]} k={K}", {"image": resized(image, size), "warm_image": warm_image})
            )
    if "canny" in kernels:
        g = gray_of(resized(image, CANNY_SIZE))
        out.append(("canny", f"{CANNY_SIZE[0]}x{CANNY_SIZE[1]} gray", {"gray": g, "warm_gray": gray_of(warm_image)}))
    if "fit" in kernels:
        pts = contour_points(FIT_POINTS)
        out.append(("fit", f"{len(pts)} points, tol {FIT_TOLERANCE}", {"points": pts, "warm_points": pts}))
    if "learned" in kernels:
        out.append(
            (
                "learned",
                f"{LEARNED_SIZE[0]}x{LEARNED_SIZE[1]}",
                {"image": resized(image, LEARNED_SIZE), "warm_image": warm_image},
            )
        )
    return out


def _fmt_result(res: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in res.items())


def kernels_markdown(rows: list[dict], meta: dict) -> str:
    lines = [
        "# vectile kernel benchmarks",
        "",
        f"- run: {meta['when']} on {meta['machine']}",
        f"- picture: {meta['source']}",
        f"- vectile native module: {meta.get('build')}",
        f"- timing: median of {meta['repeat']} call(s) (fast calls batched), each "
        "implementation in a fresh process after a warm-up call on small data; "
        "dRSS = peak RSS minus the process's RSS before the timed calls (the kernel's "
        "working memory); 1 MB = 10^6 bytes",
        "- / best peer: seconds divided by the fastest peer's on the same case (below 1: vectile is faster)",
        "",
        "| kernel | data | implementation | s per call | CPU s | dRSS MB | peak RSS MB | result | / best peer |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['kernel']} | {r['data']} | {r['impl']} | error: {r['error'][:120]} | | | | | |")
            continue
        ratio = "-" if r.get("vs_best_peer") is None else f"{r['vs_best_peer']:.3f}"
        lines.append(
            f"| {r['kernel']} | {r['data']} | {r['impl']} | {r['seconds']:.5f} "
            f"| {r['cpu_seconds']:.5f} | {r['delta_rss_mb']:.0f} | "
            f"{r['peak_rss_mb']:.0f} | {_fmt_result(r['result'])} | {ratio} |"
        )
    lines.append("")
    for note in meta.get("notes", []):
        lines.append(f"- {note}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    return cmd_kernels(build_parser().parse_args(argv))


def cmd_kernels(args: argparse.Namespace) -> int:
    kernels = [k.strip() for k in args.only.split(",") if k.strip()]
    unknown = [k for k in kernels if k not in IMPLS]
    if unknown:
        print(f"bench: unknown kernel(s) {unknown}; known: {list(KERNELS)}", file=sys.stderr)
        return 2
    repeat = args.repeat if args.repeat is not None else (1 if args.quick else 3)
    if repeat < 1:
        print("bench: --repeat must be >= 1", file=sys.stderr)
        return 2
    out_dir: Path = args.out or DEFAULT_OUT
    out_dir.mkdir(parents=True, exist_ok=True)
    corpus = args.corpus or default_corpus()
    image, source = source_image(corpus if corpus.is_dir() else None)
    notes: list[str] = []
    meta = {
        "when": _dt.datetime.now().isoformat(timespec="seconds"),
        "machine": f"{platform.node()} ({os.cpu_count()} CPUs, Python {platform.python_version()})",
        "source": source,
        "repeat": repeat,
        "notes": notes,
    }
    build = vectile_build()
    meta["build"] = build
    rows: list[dict] = []
    failed = False
    with tempfile.TemporaryDirectory(prefix="bench-kernels-") as tmp:
        for n_case, (kernel, label, arrays) in enumerate(cases(kernels, args.quick, image)):
            impls = IMPLS[kernel]
            vectile_reason = impls["vectile"][1]()
            if vectile_reason is not None:
                line = f"{kernel}: skipped: {vectile_reason}"
                print(line)
                notes.append(line)
                continue
            data_path = os.path.join(tmp, f"case{n_case}.npz")
            np.savez(data_path, **arrays)
            case_rows = []
            for impl, (_prep, probe) in impls.items():
                reason = probe()
                if reason is not None:
                    line = f"{kernel} {label}: skipping {impl}: {reason}"
                    print(line)
                    notes.append(line)
                    continue
                row: dict[str, Any] = {"kernel": kernel, "data": label, "impl": impl}
                result_path = os.path.join(tmp, "result.json")
                job = {
                    "kind": "kernel",
                    "kernel": kernel,
                    "impl": impl,
                    "data": data_path,
                    "repeat": repeat,
                    "result": result_path,
                }
                job_path = os.path.join(tmp, "job.json")
                with open(job_path, "w", encoding="utf-8") as fh:
                    json.dump(job, fh)
                if os.path.exists(result_path):
                    os.unlink(result_path)
                code, _w, _c, rss, tail = spawn_and_reap(
                    [sys.executable, "-m", "bench.worker", job_path],
                    timeout=args.timeout,
                    cwd=REPO_ROOT,
                    env=worker_env(),
                )
                res = None
                if os.path.exists(result_path):
                    with open(result_path, encoding="utf-8") as fh:
                        res = json.load(fh)
                if res is None or "error" in res or code != 0:
                    why = (res or {}).get("error") or tail.strip()[-300:] or f"exit {code}"
                    row["error"] = f"exit {code}: {why}"
                    failed = True
                else:
                    sec = statistics.median(res["times"])
                    row.update(
                        seconds=sec,
                        cpu_seconds=statistics.median(res["cpu_times"]),
                        times=res["times"],
                        peak_rss_mb=rss * 1024 / 1e6,
                        delta_rss_mb=max(0, rss - res["base_rss_kb"]) * 1024 / 1e6,
                        result=res["result"],
                    )
                case_rows.append(row)
                shown = (
                    f"{row['seconds']:.5f}s {_fmt_result(row['result'])}"
                    if "error" not in row
                    else "ERROR " + row["error"]
                )
                print(f"{kernel} {label} {impl}: {shown}", flush=True)
            peers = [r for r in case_rows if r["impl"] != "vectile" and "error" not in r]
            best = min(peers, key=lambda r: r["seconds"]) if peers else None
            for r in case_rows:
                if best is not None and "error" not in r:
                    r["vs_best_peer"] = r["seconds"] / best["seconds"]
                    r["best_peer"] = best["impl"]
            vec = next((r for r in case_rows if r["impl"] == "vectile" and "error" not in r), None)
            if vec is not None and best is not None:
                line = f"{kernel} {label}: vectile / best peer ({best['impl']}) = {vec['vs_best_peer']:.3f}"
                notes.append(line)
            elif vec is not None:
                notes.append(f"{kernel} {label}: no peer measured")
            rows.extend(case_rows)
    notes.append("criterion benches (cargo bench) for the Rust kernels: not part of this suite")
    if vectile_build() != build:
        notes.append("WARNING: vectile's native module changed during the run (rebuilt?): run again")
        print(f"bench: {notes[-1]}")
    md = kernels_markdown(rows, meta)
    with open(out_dir / "kernels.jsonl", "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r) + "\n")
    (out_dir / "kernels.md").write_text(md, encoding="utf-8")
    print()
    print(md)
    print(f"bench: wrote {out_dir / 'kernels.jsonl'} and {out_dir / 'kernels.md'}")
    return 1 if failed else 0
