"""The centerline bench's peers, and the worker that runs one of them over a list of images:
``python -m bench.linepeers JOB.json`` (started by ``bench.centerline`` through
``bench.runner.spawn_and_reap``, so the peak RSS it reports is this process's own) or
``python -m bench.linepeers --probe PEER`` (prints ``{"reason", "version"}``).

Every peer is ``trace(path) -> SVG text`` or, for the skeleton, ``-> (n, 2)`` pixel centres;
all the work from the file to that result is timed (reading and decoding the image included).

* ``vectile``: ``vectile.vectorize(path, mode="centerline")``, the image as it is.
* ``autotrace``: AutoTrace's centerline mode (PyPI ``pyautotrace``). AutoTrace has no scan
  front end: it gets the Otsu-thresholded image (``bench.metrics.binarize``), black on white;
  given the raw scan it traces the paper's grain as lines. It writes pixel centres at integer
  coordinates with y counted from the bottom row's top edge: its SVG is shifted by
  (+0.5, -0.5) px into pixel-corner coordinates (see ``AUTOTRACE_SHIFT``).
* ``autotrace-raw``: the same on the image as it is (anti-aliased greys): how a user calling
  AutoTrace on a drawing gets it, and the issue's pilot figures. Clean corpora only
  (:data:`CLEAN_ONLY`): on a scan it traces every grey level of the paper's grain, minutes per
  512 x 512 image.
* ``skeleton``: ``skimage.morphology.skeletonize`` of the Otsu ink mask; its pixel centres are
  the point set (the accuracy reference a pixel method reaches; no paths, no widths).
* ``vtracer``: VTracer's binary mode (outlines), ``potrace``: Potrace on the Otsu bitmap
  (outlines, run as a child process; its peak RSS is counted with the worker's). Outline
  tracers draw each line's two borders, not its centre: their F1 is low by nature; they are
  there for the re-rendered IoU and speed.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from bench.worker import serve

PEERS = ("vectile", "autotrace", "autotrace-raw", "skeleton", "vtracer", "potrace")
#: Peers whose output is a set of centerlines (F1, junctions and paths apply).
CENTERLINE_PEERS = ("vectile", "autotrace", "autotrace-raw", "skeleton")
AUTOTRACE_SHIFT = (0.5, -0.5)
#: Peers run on the clean corpora only (see the module doc).
CLEAN_ONLY = ("autotrace-raw",)
INSTALL_HINTS = {
    "autotrace": "pip install pyautotrace (the bench extra)",
    "autotrace-raw": "pip install pyautotrace (the bench extra)",
    "skeleton": "pip install scikit-image (the bench extra)",
    "vtracer": "pip install vtracer (the bench extra)",
    "potrace": "apt-get install -y potrace",
    "vectile": "vectile's centerline mode: ./dev-build.sh on a branch that has it",
}

Result = str | np.ndarray
TraceFn = Callable[[str], Result]


def _read_rgb(path: str) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def _otsu_bitmap(path: str) -> np.ndarray:
    from bench.metrics import binarize

    return binarize(_read_rgb(path))[0]


def _vectile(options: dict[str, Any]) -> TraceFn:
    import vectile

    def trace(path: str) -> Result:
        return str(vectile.vectorize(path, mode="centerline", **options))

    return trace


def _autotrace(options: dict[str, Any], threshold: bool = True) -> TraceFn:
    import autotrace

    def trace(path: str) -> Result:
        rgb = np.repeat(_otsu_bitmap(path)[..., None], 3, axis=2) if threshold else _read_rgb(path)
        vec = autotrace.Bitmap(rgb).trace(centerline=True, background_color=(255, 255, 255), **options)
        svg = vec.encode("svg").decode("utf-8")
        dx, dy = AUTOTRACE_SHIFT
        head, _, body = svg.partition("<path")
        return head + f'<g transform="translate({dx} {dy})"><path' + body.replace("</svg>", "</g></svg>")

    return trace


def _skeleton(options: dict[str, Any]) -> TraceFn:
    from skimage.morphology import skeletonize

    def trace(path: str) -> Result:
        ink = _otsu_bitmap(path) == 0
        rows, cols = np.nonzero(skeletonize(ink))
        return np.stack([cols + 0.5, rows + 0.5], axis=1).astype(np.float64)

    return trace


def _vtracer(options: dict[str, Any]) -> TraceFn:
    import vtracer

    def trace(path: str) -> Result:
        fd, out = tempfile.mkstemp(suffix=".svg", prefix="clbench-vtracer-")
        os.close(fd)
        try:
            vtracer.convert_image_to_svg_py(path, out, colormode="binary", **options)
            with open(out, encoding="utf-8") as fh:
                return fh.read()
        finally:
            os.unlink(out)

    return trace


def _potrace(options: dict[str, Any]) -> TraceFn:
    from PIL import Image

    def trace(path: str) -> Result:
        with tempfile.TemporaryDirectory(prefix="clbench-potrace-") as tmp:
            pbm, out = os.path.join(tmp, "in.pbm"), os.path.join(tmp, "out.svg")
            Image.fromarray(_otsu_bitmap(path)).convert("1").save(pbm)
            subprocess.run(["potrace", "--svg", "-o", out, pbm], check=True, capture_output=True)
            with open(out, encoding="utf-8") as fh:
                return fh.read()

    return trace


MAKERS: dict[str, Callable[[dict[str, Any]], TraceFn]] = {
    "vectile": _vectile,
    "autotrace": _autotrace,
    "autotrace-raw": lambda options: _autotrace(options, threshold=False),
    "skeleton": _skeleton,
    "vtracer": _vtracer,
    "potrace": _potrace,
}


def probe(name: str) -> dict[str, Any]:
    """``{"reason": None or why the peer cannot run, "version"}``: the peer traces a tiny
    drawing (a cross) once."""
    from importlib.metadata import PackageNotFoundError, version

    if name not in MAKERS:
        return {"reason": f"unknown peer {name!r} (one of {', '.join(PEERS)})", "version": "?"}
    dist = {"vectile": "vectile", "autotrace": "pyautotrace", "autotrace-raw": "pyautotrace"}
    dist.update(skeleton="scikit-image", vtracer="vtracer")
    try:
        with tempfile.TemporaryDirectory(prefix="clbench-probe-") as tmp:
            from PIL import Image

            img = np.full((24, 24, 3), 255, np.uint8)
            img[11:13, 3:21] = 0
            img[3:21, 11:13] = 0
            path = os.path.join(tmp, "cross.png")
            Image.fromarray(img).save(path)
            MAKERS[name]({})(path)
    except Exception as exc:  # any failure means: skip this peer, say why
        return {"reason": f"{type(exc).__name__}: {str(exc)[:200]}", "version": "?"}
    if name == "potrace":
        res = subprocess.run(["potrace", "--version"], capture_output=True, text=True, check=False)
        words = res.stdout.split()
        return {"reason": None, "version": words[1].rstrip(".") if len(words) > 1 else "?"}
    try:
        return {"reason": None, "version": version(dist[name])}
    except PackageNotFoundError:
        return {"reason": None, "version": "?"}


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Trace ``job["files"]`` one after another (each ``job["repeat"]`` times), writing each
    result next to ``job["outputs"][i]`` (``.svg``, or ``.npy`` for point sets); returns the
    times (seconds, per file: the fastest run), CPU seconds, and the RSS after warm-up."""
    trace = MAKERS[job["peer"]](dict(job.get("options") or {}))
    if job.get("warmup"):
        trace(job["warmup"])  # untimed: imports inside the call, thread pools
    base = int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    times: list[float] = []
    cpu: list[float] = []
    for path, out in zip(job["files"], job["outputs"], strict=True):
        best_t, best_c, result = float("inf"), float("inf"), None
        for _ in range(int(job.get("repeat", 1))):
            c0, t0 = time.process_time(), time.perf_counter()
            result = trace(path)
            best_t = min(best_t, time.perf_counter() - t0)
            best_c = min(best_c, time.process_time() - c0)
        times.append(best_t)
        cpu.append(best_c)
        if isinstance(result, np.ndarray):
            np.save(out + ".npy", result)
        else:
            with open(out + ".svg", "w", encoding="utf-8") as fh:
                fh.write(str(result))
    children = int(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return {"times": times, "cpu": cpu, "base_rss_kb": base, "children_rss_kb": children}


def main(argv: list[str]) -> int:
    return serve(argv, "bench.linepeers", probe, run_job)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
