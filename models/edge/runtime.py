"""The edge network's runtime: its ONNX Runtime session and inference on images of any size.

The model, ``vedge.onnx`` beside this module (see ``MODEL_CARD.md`` here), is package data:
nothing is downloaded at run time, and running it needs ``onnxruntime`` alone. Its training
code (PyTorch, the ``train`` extra) lives apart, in ``training/edge/`` of the repository, and
is not installed. ``vectile.models`` re-exports the public names.

Sessions: one ONNX Runtime session per process (so one per Dask worker process), created on
first use and reused. Its intra-op thread count is, in order: ``VECTILE_ORT_THREADS``,
``RAYON_NUM_THREADS`` (which ``vectile batch`` sets per worker so that tracing does not
oversubscribe the cores), or the number of CPUs this process may use. The CUDA execution
provider is used when ONNX Runtime offers it, the CPU provider otherwise
(``VECTILE_ORT_PROVIDER=cpu`` forces the CPU).

Images of any size: the input is padded (edge replication) to a multiple of the network's
stride and the output cropped back. Images with more than :data:`WINDOW_PIXELS` pixels run
as overlapping :data:`WINDOW` x :data:`WINDOW` windows on a fixed grid anchored at the
image's top-left corner (step ``WINDOW - OVERLAP``), blended with linear ramps across each
overlap. The grid depends only on the image size, so a caller that tiles an image gets the
same values as one that does not.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "EDGE_STRIDE",
    "OVERLAP",
    "WINDOW",
    "WINDOW_PIXELS",
    "ModelUnavailable",
    "check_scales",
    "edge_model_digest",
    "edge_model_path",
    "edge_session",
    "learned_edges",
    "learned_edges_tile",
    "session_info",
]

#: The network's input height and width must be multiples of this (three 2x poolings).
EDGE_STRIDE = 8
#: Above this many pixels the image runs as overlapping windows (bounded memory).
WINDOW_PIXELS = 1536 * 1536
#: Window side and overlap (pixels) of the fixed global grid.
WINDOW = 1024
OVERLAP = 128

_lock = threading.Lock()
_session: Any = None
_session_pid: int | None = None


class ModelUnavailable(RuntimeError):
    """The edge model or ONNX Runtime is not installed."""


def edge_model_digest() -> str:
    """First 12 hex digits of the shipped model's sha256 (names benchmark caches)."""
    import hashlib

    return hashlib.sha256(edge_model_path().read_bytes()).hexdigest()[:12]


def edge_model_path() -> Path:
    """Where the shipped edge model lies (inside the installed package)."""
    return Path(str(resources.files("vectile.models.edge").joinpath("vedge.onnx")))


def _threads() -> int:
    for name in ("VECTILE_ORT_THREADS", "RAYON_NUM_THREADS"):
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _providers(ort: Any) -> list[str]:
    forced = os.environ.get("VECTILE_ORT_PROVIDER", "").strip().lower()
    available = ort.get_available_providers()
    if forced != "cpu" and "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


def edge_session() -> Any:
    """This process's ONNX Runtime session for the edge model (created once, thread-safe)."""
    global _session, _session_pid
    pid = os.getpid()
    if _session is not None and _session_pid == pid:
        return _session
    with _lock:
        if _session is not None and _session_pid == pid:
            return _session
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise ModelUnavailable("learned edges need onnxruntime (pip install onnxruntime)") from exc
        path = edge_model_path()
        if not path.is_file():
            raise ModelUnavailable(f"the edge model is not installed: {path} is missing")
        options = ort.SessionOptions()
        options.intra_op_num_threads = _threads()
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        _session = ort.InferenceSession(str(path), sess_options=options, providers=_providers(ort))
        _session_pid = pid
        return _session


def session_info() -> dict[str, Any]:
    """Model file, providers and thread count of this process's session."""
    session = edge_session()
    return {"model": str(edge_model_path()), "providers": session.get_providers(), "threads": _threads()}


def _run(rgb: np.ndarray) -> np.ndarray:
    """The network on one (H, W, 3) uint8 array of any size: (H, W) float32 in [0, 1]."""
    h, w = rgb.shape[:2]
    ph, pw = (-h) % EDGE_STRIDE, (-w) % EDGE_STRIDE
    x = rgb.astype(np.float32).transpose(2, 0, 1)[None] * np.float32(1.0 / 255.0)
    if ph or pw:
        x = np.pad(x, ((0, 0), (0, 0), (0, ph), (0, pw)), mode="edge")
    (y,) = edge_session().run(None, {"image": np.ascontiguousarray(x)})
    return np.ascontiguousarray(y[0, 0, :h, :w], dtype=np.float32)


def _resize(array: np.ndarray, h: int, w: int) -> np.ndarray:
    """Bilinear resize (Pillow) of a uint8 RGB image or a float32 map."""
    from PIL import Image

    if array.dtype == np.uint8:
        return np.asarray(Image.fromarray(array).resize((w, h), Image.Resampling.BILINEAR))
    return np.asarray(Image.fromarray(array, mode="F").resize((w, h), Image.Resampling.BILINEAR))


def _run_scales(rgb: np.ndarray, scales: tuple[float, ...]) -> np.ndarray:
    """The network at each scale (resized input, output resized back), averaged in order."""
    if scales == (1.0,):  # the default: one run, no accumulation buffer
        return _run(rgb)
    h, w = rgb.shape[:2]
    total = np.zeros((h, w), np.float32)
    for scale in scales:
        if scale == 1.0:
            total += _run(rgb)
        else:
            sh, sw = max(1, round(h * scale)), max(1, round(w * scale))
            total += _resize(_run(_resize(rgb, sh, sw)), h, w)
    return total / np.float32(len(scales))


def check_scales(scales: Any) -> tuple[float, ...]:
    """``scales`` as a tuple of floats, each in [0.25, 4]; ValueError otherwise.

    >>> check_scales([0.5, 1])
    (0.5, 1.0)
    """
    try:
        out = tuple(float(s) for s in scales)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"scales must be a sequence of numbers, got {scales!r}") from exc
    if not out or any(not (0.25 <= s <= 4.0) for s in out):
        raise ValueError(f"scales must be 1 to n numbers in [0.25, 4], got {scales!r}")
    return out


def _ramp(n: int, start_open: bool, end_open: bool) -> np.ndarray:
    """Blend weights along one window side: rising over OVERLAP pixels where a neighbour
    window overlaps, flat (1) at the image border."""
    r = np.ones(n, np.float32)
    k = min(OVERLAP, n)
    up = (np.arange(k, dtype=np.float32) + 0.5) / k
    if start_open:
        r[:k] = np.minimum(r[:k], up)
    if end_open:
        r[n - k :] = np.minimum(r[n - k :], up[::-1])
    return r


def _windows(length: int) -> list[int]:
    """Window starts along one axis: 0, step, 2 step, ... until the image is covered."""
    step = WINDOW - OVERLAP
    starts = [0]
    while starts[-1] + WINDOW < length:
        starts.append(starts[-1] + step)
    return starts


def _check_rgb(rgb: np.ndarray) -> None:
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 array, got {rgb.dtype} {rgb.shape}")


def learned_edges(rgb: np.ndarray, scales: tuple[float, ...] = (1.0,)) -> np.ndarray:
    """Edge probability of an (H, W, 3) uint8 RGB image: (H, W) float32 in [0, 1].

    ``scales``: run the network on the image resized by each factor and average the maps
    (multi-scale inference, e.g. ``(0.5, 1.0, 1.5)``: sharper ranking of edges, one network
    run per scale).
    """
    _check_rgb(rgb)
    scales = check_scales(scales)
    h, w = rgb.shape[:2]
    if h * w <= WINDOW_PIXELS:
        return _run_scales(rgb, scales)
    return learned_edges_tile(lambda y0, y1, x0, x1: rgb[y0:y1, x0:x1], (h, w), (0, h, 0, w), scales)


def learned_edges_tile(
    read: Callable[[int, int, int, int], np.ndarray],
    shape: tuple[int, int],
    box: tuple[int, int, int, int],
    scales: tuple[float, ...] = (1.0,),
) -> np.ndarray:
    """The learned edge map of part of a large image, equal to that part of the whole map.

    ``shape`` is the whole image's (H, W), with more than :data:`WINDOW_PIXELS` pixels;
    ``box`` = ``(y0, y1, x0, x1)`` the part wanted; ``read(y0, y1, x0, x1)`` returns that
    part of the image as (y1 - y0, x1 - x0, 3) uint8. Only the windows of the global grid
    that meet ``box`` are run, each on the same pixels and summed in the same order as for the
    whole image, so tiles computed separately (on other workers, say) put together are
    bit-identical to :func:`learned_edges` of the whole image.
    """
    scales = check_scales(scales)
    h, w = shape
    by0, by1, bx0, bx1 = box
    if not (0 <= by0 < by1 <= h and 0 <= bx0 < bx1 <= w):
        raise ValueError(f"box {box} is not inside an image of {h}x{w}")
    out = np.zeros((by1 - by0, bx1 - bx0), np.float32)
    total = np.zeros_like(out)
    ys, xs = _windows(h), _windows(w)
    for i, y0 in enumerate(ys):
        y1 = min(h, y0 + WINDOW)
        if y1 <= by0 or y0 >= by1:
            continue
        wy = _ramp(y1 - y0, i > 0, i + 1 < len(ys))
        for j, x0 in enumerate(xs):
            x1 = min(w, x0 + WINDOW)
            if x1 <= bx0 or x0 >= bx1:
                continue
            wx = _ramp(x1 - x0, j > 0, j + 1 < len(xs))
            tile = read(y0, y1, x0, x1)
            _check_rgb(tile)
            pred = _run_scales(tile, scales)
            # The part of this window inside the box.
            cy0, cy1, cx0, cx1 = max(y0, by0), min(y1, by1), max(x0, bx0), min(x1, bx1)
            weight = wy[cy0 - y0 : cy1 - y0, None] * wx[None, cx0 - x0 : cx1 - x0]
            out[cy0 - by0 : cy1 - by0, cx0 - bx0 : cx1 - bx0] += weight * pred[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]
            total[cy0 - by0 : cy1 - by0, cx0 - bx0 : cx1 - bx0] += weight
    return out / total
