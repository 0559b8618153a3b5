"""``python -m bench bsds``: the BSDS500 boundary benchmark (ODS, OIS, AP).

The standard protocol of the Berkeley benchmark (Arbelaez et al., TPAMI 2011;
``evaluation_bdry_image.m`` / ``collect_eval_bdry.m``), reimplemented in numpy and scipy:

1. The detector's soft map ``E`` (float, [0, 1]) is thresholded at 99 levels
   ``t_k = k / 100`` (``linspace(1/(n+1), 1 - 1/(n+1), n)`` for ``n`` thresholds).
2. Soft maps that are not thin already get edge non-maximum suppression first (``--nms``;
   Dollar's ``edgesNms``: orientation from second derivatives of the triangle-smoothed map,
   radius 1, 5 border pixels faded out, multiplier 1.01). Canny's map is thin: no NMS.
3. Each binary map ``E >= t`` is thinned to one-pixel width (``skimage.morphology.thin``, the
   same iteration as MATLAB's ``bwmorph(..., 'thin', inf)``).
4. It is matched against every annotator's boundary map separately: predicted and human
   boundary pixels within ``0.0075 x`` the image diagonal of each other may be paired, and a
   minimum-cost bipartite assignment (``scipy.sparse.csgraph.min_weight_full_bipartite_matching``,
   sparse Jonker-Volgenant) picks the pairs: every predicted pixel has a private outlier
   node of cost 100 x the radius, so the assignment first maximises the number of pairs and
   then minimises their total distance (the role of the outlier nodes in ``correspondPixels``).
5. Recall: matched human pixels / all human pixels, summed over annotators. Precision:
   predicted pixels matched to *any* annotator / all predicted pixels.
6. ODS: F of the dataset-wide recall and precision at the best single threshold, searched
   with linear interpolation between thresholds (100 steps) as ``collect_eval_bdry.m``
   does. OIS: counts summed over images, each at its own best threshold (the last one on
   ties). AP: area under the dataset-wide precision/recall curve, precision interpolated at
   recall 0, 0.01, ..., 1 over the unique recalls (``interp1``, out of range = 0), times 0.01.

Per-image counts are cached (``OUT/bsds-cache/<key>/<id>.json``, key = method, parameters,
split and protocol), so reruns and larger ``--limit`` runs only evaluate what is new. Images
are evaluated in a process pool (``--workers``, default 2) with one Rayon thread each.

``--crosscheck`` evaluates the same (8-bit quantised) predictions with the independent PyPI
package ``pyEdgeEval`` (dev-time only, not a dependency; it wraps the original
``correspondPixels`` C++ code) and prints both results side by side.

Data: ``--data DIR`` (default: ``shared/data/bsds500`` next to or inside the repository), as
described in its ``SOURCE.md``: ``images/<split>/<id>.jpg`` and ``groundTruth/<split>/<id>.mat``.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import hashlib
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.cli import DEFAULT_OUT

REPO_ROOT = Path(__file__).resolve().parent.parent
PROTOCOL_VERSION = 1
MAX_DIST = 0.0075
OUTLIER_COST = 100.0
#: Published Canny on the BSDS500 test split (as tabulated by HED, RCF, PiDiNet and others).
PUBLISHED_CANNY = {"ods": 0.611, "ois": 0.676, "ap": 0.520}


class DataMissing(RuntimeError):
    """The BSDS500 data folder is missing or incomplete."""


def default_data() -> Path:
    env = os.environ.get("VECTILE_BSDS500")
    if env:
        return Path(env)
    for cand in (REPO_ROOT / "shared" / "data" / "bsds500", REPO_ROOT.parent / "shared" / "data" / "bsds500"):
        if cand.is_dir():
            return cand
    return Path("/work/shared/data/bsds500")


def image_ids(data: Path, split: str) -> list[str]:
    images, truth = data / "images" / split, data / "groundTruth" / split
    if not images.is_dir() or not truth.is_dir():
        raise DataMissing(
            f"BSDS500 data not found: expected {images} and {truth} (see shared/data/bsds500/"
            "SOURCE.md; pass --data DIR or set VECTILE_BSDS500)"
        )
    ids = sorted(p.stem for p in truth.glob("*.mat"))
    missing = [i for i in ids if not (images / f"{i}.jpg").is_file()]
    if not ids or missing:
        raise DataMissing(
            f"BSDS500 split {split!r} in {data} is incomplete "
            f"({len(ids)} ground-truth files, images missing for {missing[:3]})"
        )
    return ids


def load_ground_truth(path: Path) -> list[np.ndarray]:
    """Every annotator's boundary map (bool, H x W) from a BSDS ``.mat`` file."""
    from scipy.io import loadmat

    gt = loadmat(str(path))["groundTruth"]
    return [np.asarray(gt[0, k]["Boundaries"][0, 0], dtype=bool) for k in range(gt.shape[1])]


def thresholds(n: int) -> np.ndarray:
    """The benchmark's thresholds: ``n`` levels strictly inside (0, 1), evenly spaced."""
    return np.linspace(1.0 / (n + 1), 1.0 - 1.0 / (n + 1), n)


# --------------------------------------------------------------------------- detectors


@dataclass(frozen=True)
class Detector:
    method: str = "canny"
    sigma: float = 1.4
    #: Quantise the soft map to 8 bits (as a PNG would store it), for the cross-check.
    quantize: bool = False
    #: Apply edge NMS to the soft map (None: only for maps that are not thin already).
    nms: bool | None = None
    #: Divide each map by its maximum (per-image thresholds, as MATLAB's ``edge`` scales
    #: gradients by their maximum).
    normalize: bool = False
    #: ``blend``: weight of the learned map (None: the library's default).
    alpha: float | None = None
    #: ``learned`` / ``blend``: digest of the model file, so a new model gets a new cache.
    model: str = ""
    #: ``learned`` / ``blend``: network scales (None: the library's default).
    scales: tuple[float, ...] | None = None

    @property
    def apply_nms(self) -> bool:
        return self.nms if self.nms is not None else self.method != "canny"

    def soft_map(self, image_path: Path) -> np.ndarray:
        import vectile

        if self.method == "canny":
            # The lowest thresholds (one Sobel unit): every suppressed maximum is present with
            # its hysteresis strength, so E >= t is Canny at (0.4 t, t).
            eps = 1.0 / 1020.0
            edge_map = vectile.detect_edges(image_path, "canny", sigma=self.sigma, low=0.4 * eps, high=eps)
        elif self.method == "sobel":
            edge_map = vectile.detect_edges(image_path, "sobel", sigma=self.sigma)
        elif self.method == "learned":
            edge_map = vectile.detect_edges(image_path, "learned", scales=self.scales)
        elif self.method == "blend":
            edge_map = vectile.detect_edges(image_path, "blend", sigma=self.sigma, alpha=self.alpha, scales=self.scales)
        else:
            raise ValueError(f"unknown method {self.method!r}")
        edge_map = np.clip(edge_map.astype(np.float64), 0.0, 1.0)
        if self.normalize and edge_map.max() > 0:
            edge_map = edge_map / edge_map.max()
        if self.apply_nms:
            edge_map = edge_nms(edge_map)
        if self.quantize:
            edge_map = np.rint(edge_map * 255.0) / 255.0
        return edge_map


def _conv_tri(image: np.ndarray, r: float) -> np.ndarray:
    """Dollar's ``convTri``: separable triangle filter of radius ``r`` (reflect border)."""
    from scipy.ndimage import convolve1d

    if r <= 1:
        p = 12.0 / r / (r + 2.0) - 2.0
        kernel = np.array([1.0, p, 1.0]) / (2.0 + p)
    else:
        ri = int(round(r))
        kernel = np.concatenate([np.arange(1, ri + 2), np.arange(ri, 0, -1)]).astype(float)
        kernel /= kernel.sum()
    out = convolve1d(image, kernel, axis=0, mode="reflect")
    return convolve1d(out, kernel, axis=1, mode="reflect")


def edge_nms(edge: np.ndarray, r: int = 1, s: int = 5, m: float = 1.01) -> np.ndarray:
    """Edge non-maximum suppression of a soft map (Dollar's ``edgesNms``): a pixel survives
    if ``m x`` its value is at least the bilinearly interpolated values at distances 1..r
    along the edge normal; ``s`` pixels at the border are faded out."""
    from scipy.ndimage import map_coordinates

    smooth = _conv_tri(edge, 4)
    oy, ox = np.gradient(smooth)
    oxy, oxx = np.gradient(ox)
    oyy, _ = np.gradient(oy)
    orientation = np.mod(np.arctan(oyy * np.sign(-oxy) / (oxx + 1e-5)), np.pi)
    h, w = edge.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(float)
    cos, sin = np.cos(orientation), np.sin(orientation)
    keep = np.ones_like(edge, dtype=bool)
    scaled = edge * m
    for d in range(-r, r + 1):
        if d == 0:
            continue
        sample = map_coordinates(
            edge, [np.clip(yy + d * sin, 0, h - 1), np.clip(xx + d * cos, 0, w - 1)], order=1, mode="nearest"
        )
        keep &= scaled >= sample
    out = np.where(keep, edge, 0.0)
    s = min(s, w // 2, h // 2)
    for k in range(s):
        f = k / s
        out[k, :] *= f
        out[-1 - k, :] *= f
        out[:, k] *= f
        out[:, -1 - k] *= f
    return out


# --------------------------------------------------------------------------- matching


def _offsets(radius: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r = int(np.floor(radius))
    dy, dx = np.mgrid[-r : r + 1, -r : r + 1]
    dist = np.hypot(dy, dx)
    inside = dist <= radius
    return dy[inside], dx[inside], dist[inside]


def correspond(
    pred: np.ndarray, gt: np.ndarray, max_dist: float = MAX_DIST, outlier_cost: float = OUTLIER_COST
) -> tuple[np.ndarray, int]:
    """Match predicted and human boundary pixels (bool maps of one shape).

    Returns ``(matched_pred, n_matched)``: a bool map of the predicted pixels that found a
    partner, and the number of pairs (= matched human pixels). Pairs are at most
    ``max_dist x diagonal`` apart; the assignment has the most pairs possible and, among
    those, the smallest total distance.
    """
    from scipy.sparse import csr_array
    from scipy.sparse.csgraph import min_weight_full_bipartite_matching

    h, w = pred.shape
    radius = max_dist * float(np.hypot(h, w))
    matched = np.zeros(pred.shape, dtype=bool)
    py, px = np.nonzero(pred)
    gy, gx = np.nonzero(gt)
    if py.size == 0 or gy.size == 0:
        return matched, 0
    gt_index = np.full(pred.shape, -1, dtype=np.int64)
    gt_index[gy, gx] = np.arange(gy.size)
    rows, cols, costs = [], [], []
    for dy, dx, d in zip(*_offsets(radius), strict=True):
        qy, qx = py + dy, px + dx
        ok = (qy >= 0) & (qy < h) & (qx >= 0) & (qx < w)
        idx = np.flatnonzero(ok)
        j = gt_index[qy[idx], qx[idx]]
        hit = j >= 0
        rows.append(idx[hit])
        cols.append(j[hit])
        costs.append(np.full(int(hit.sum()), d))
    row = np.concatenate(rows)
    col = np.concatenate(cols)
    cost = np.concatenate(costs)
    if row.size == 0:
        return matched, 0
    # Only pixels with a candidate partner take part; the others are outliers anyway.
    pred_ids, row = np.unique(row, return_inverse=True)
    gt_ids, col = np.unique(col, return_inverse=True)
    n_pred, n_gt = pred_ids.size, gt_ids.size
    # Rows: the smaller side (the solver's work grows with the rows). Columns: the other
    # side, then one private outlier node per row, so that a full matching of the rows always
    # exists. Costs are distances + 1 (the solver takes weight 0 for no edge); the outlier
    # cost (100 x the radius) dwarfs any distance, so the assignment has the most pairs
    # possible and, among those, the smallest total distance.
    outlier = outlier_cost * radius
    pred_rows = n_pred <= n_gt
    rows_, cols_, n_rows, n_cols = (row, col, n_pred, n_gt) if pred_rows else (col, row, n_gt, n_pred)
    graph = csr_array(
        (
            np.concatenate([cost + 1.0, np.full(n_rows, outlier)]),
            (np.concatenate([rows_, np.arange(n_rows)]), np.concatenate([cols_, n_cols + np.arange(n_rows)])),
        ),
        shape=(n_rows, n_cols + n_rows),
    )
    r_ind, c_ind = min_weight_full_bipartite_matching(graph)
    real = c_ind < n_cols
    n_pairs = int(real.sum())
    hits = pred_ids[r_ind[real] if pred_rows else c_ind[real]]
    matched[py[hits], px[hits]] = True
    return matched, n_pairs


def evaluate_image(
    pred: np.ndarray, gts: list[np.ndarray], levels: np.ndarray, max_dist: float = MAX_DIST
) -> dict[str, list[float]]:
    """Counts at every threshold: ``cntR, sumR, cntP, sumP`` (lists, one value per level)."""
    from skimage.morphology import thin

    cnt_r, sum_r, cnt_p, sum_p = [], [], [], []
    gt_total = float(sum(int(g.sum()) for g in gts))
    for t in levels:
        bmap = pred >= t
        if bmap.any():
            bmap = thin(bmap)
        any_match = np.zeros(pred.shape, dtype=bool)
        matched_gt = 0
        if bmap.any():
            for gt in gts:
                m1, n = correspond(bmap, gt, max_dist)
                any_match |= m1
                matched_gt += n
        cnt_r.append(float(matched_gt))
        sum_r.append(gt_total)
        cnt_p.append(float(any_match.sum()))
        sum_p.append(float(bmap.sum()))
    return {"cntR": cnt_r, "sumR": sum_r, "cntP": cnt_p, "sumP": sum_p}


# --------------------------------------------------------------------------- scores


def _f(p: np.ndarray | float, r: np.ndarray | float) -> Any:
    return np.where(
        np.asarray(p) + np.asarray(r) > 0,
        2 * np.asarray(p) * np.asarray(r) / np.maximum(np.asarray(p) + np.asarray(r), 1e-12),
        0.0,
    )


def _rp(cnt_r: np.ndarray, sum_r: np.ndarray, cnt_p: np.ndarray, sum_p: np.ndarray) -> tuple[Any, Any]:
    return cnt_r / np.where(sum_r == 0, 1, sum_r), cnt_p / np.where(sum_p == 0, 1, sum_p)


def _max_f(levels: np.ndarray, r: np.ndarray, p: np.ndarray) -> tuple[float, float, float, float]:
    """Best F along the curve, interpolating linearly between thresholds (``maxF`` in
    ``collect_eval_bdry.m``)."""
    best = (float(levels[0]), float(r[0]), float(p[0]), float(_f(p[0], r[0])))
    d = np.linspace(0.0, 1.0, 100)
    for i in range(1, len(levels)):
        t = levels[i] * d + levels[i - 1] * (1 - d)
        rr = r[i] * d + r[i - 1] * (1 - d)
        pp = p[i] * d + p[i - 1] * (1 - d)
        f = _f(pp, rr)
        k = int(np.argmax(f))
        if f[k] > best[3]:
            best = (float(t[k]), float(rr[k]), float(pp[k]), float(f[k]))
    return best


def scores(levels: np.ndarray, per_image: list[dict[str, list[float]]]) -> dict[str, float]:
    """ODS, OIS and AP (with their recall, precision and threshold) from per-image counts."""
    arrays = [{k: np.asarray(v, dtype=float) for k, v in c.items()} for c in per_image]
    total = {k: sum(a[k] for a in arrays) for k in ("cntR", "sumR", "cntP", "sumP")}
    r, p = _rp(total["cntR"], total["sumR"], total["cntP"], total["sumP"])
    ods_t, ods_r, ods_p, ods_f = _max_f(levels, r, p)
    ois = np.zeros(4)
    for a in arrays:
        ri, pi = _rp(a["cntR"], a["sumR"], a["cntP"], a["sumP"])
        f = _f(pi, ri)
        k = int(np.flatnonzero(f == f.max())[-1])  # the last best, as collect_eval_bdry.m
        ois += [a["cntR"][k], a["sumR"][k], a["cntP"][k], a["sumP"][k]]
    ois_r, ois_p = _rp(*ois)
    ru, idx = np.unique(r, return_index=True)
    ap = 0.0
    if ru.size > 1:
        grid = np.linspace(0.0, 1.0, 101)
        pi = np.interp(grid, ru, p[idx], left=np.nan, right=np.nan)
        ap = float(np.nansum(pi) * 0.01)
    return {
        "ods": ods_f,
        "ods_recall": ods_r,
        "ods_precision": ods_p,
        "ods_threshold": ods_t,
        "ois": float(_f(ois_p, ois_r)),
        "ois_recall": float(ois_r),
        "ois_precision": float(ois_p),
        "ap": ap,
        "images": len(arrays),
    }


# --------------------------------------------------------------------------- running


def _cache_key(detector: Detector, split: str, n_levels: int, max_dist: float) -> str:
    fields = asdict(detector)
    for name in ("alpha", "model", "scales"):  # added later: absent at their defaults, so old keys stay
        if fields[name] in (None, ""):
            del fields[name]
    spec = {
        "detector": fields,
        "nms": detector.apply_nms,
        "split": split,
        "thresholds": n_levels,
        "max_dist": max_dist,
        "protocol": PROTOCOL_VERSION,
    }
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]
    return f"{detector.method}-{split}-{digest}"


def _work(args: tuple[Detector, str, str, str, int, float]) -> tuple[str, dict[str, list[float]]]:
    detector, image, truth, image_id, n_levels, max_dist = args
    pred = detector.soft_map(Path(image))
    gts = load_ground_truth(Path(truth))
    return image_id, evaluate_image(pred, gts, thresholds(n_levels), max_dist)


def _init_worker() -> None:
    # One Rayon thread per worker process: the pool already uses every core.
    os.environ["RAYON_NUM_THREADS"] = "1"


def evaluate(
    detector: Detector,
    data: Path,
    split: str,
    *,
    limit: int | None = None,
    n_levels: int = 99,
    max_dist: float = MAX_DIST,
    workers: int = 2,
    cache: Path | None = None,
    progress: bool = True,
    only: list[str] | None = None,
) -> tuple[dict[str, float], list[str]]:
    """Evaluate ``detector`` on a split (or the images ``only`` of it); returns (scores, image ids)."""
    ids = only if only is not None else image_ids(data, split)
    ids = ids[:limit] if limit else ids
    folder = cache / _cache_key(detector, split, n_levels, max_dist) if cache else None
    if folder:
        folder.mkdir(parents=True, exist_ok=True)
    counts: dict[str, dict[str, list[float]]] = {}
    todo = []
    for i in ids:
        hit = folder / f"{i}.json" if folder else None
        if hit and hit.is_file():
            counts[i] = json.loads(hit.read_text())
        else:
            todo.append(
                (
                    detector,
                    str(data / "images" / split / f"{i}.jpg"),
                    str(data / "groundTruth" / split / f"{i}.mat"),
                    i,
                    n_levels,
                    max_dist,
                )
            )
    started = time.perf_counter()

    def store(image_id: str, c: dict[str, list[float]]) -> None:
        counts[image_id] = c
        if folder:
            tmp = folder / f".{image_id}.json.tmp"
            tmp.write_text(json.dumps(c))
            tmp.replace(folder / f"{image_id}.json")
        if progress:
            done = len(counts)
            print(f"\r[{done}/{len(ids)}] {time.perf_counter() - started:.0f} s", end="", file=sys.stderr, flush=True)

    if workers > 1 and len(todo) > 1:
        with cf.ProcessPoolExecutor(workers, initializer=_init_worker) as pool:
            for image_id, c in pool.map(_work, todo, chunksize=1):
                store(image_id, c)
    else:
        for job in todo:
            store(*_work(job))
    if progress and todo:
        print(file=sys.stderr)
    return scores(thresholds(n_levels), [counts[i] for i in ids]), ids


def crosscheck(
    detector: Detector, data: Path, split: str, ids: list[str], n_levels: int, workers: int
) -> dict[str, float]:
    """Evaluate the same 8-bit predictions with pyEdgeEval (dev-time only)."""
    from PIL import Image
    from pyEdgeEval.common.binary_label import calculate_metrics
    from pyEdgeEval.datasets import bsds_eval_single

    with tempfile.TemporaryDirectory() as tmp:
        samples = []
        for i in ids:
            soft = detector.soft_map(data / "images" / split / f"{i}.jpg")
            path = Path(tmp) / f"{i}.png"
            Image.fromarray(np.rint(soft * 255).astype(np.uint8)).save(path)
            samples.append(
                dict(
                    name=i,
                    thresholds=n_levels,
                    gt_path=str(data / "groundTruth" / split / f"{i}.mat"),
                    pred_path=str(path),
                    scale=1.0,
                    apply_thinning=True,
                    apply_nms=False,
                    max_dist=MAX_DIST,
                )
            )
        _, _, overall = calculate_metrics(
            eval_single=bsds_eval_single, thresholds=n_levels, samples=samples, nproc=workers
        )
    return {
        "ods": float(overall["ODS_f1"]),
        "ois": float(overall["OIS_f1"]),
        "ap": float(overall["AUC"]),
        "ap_pyedgeeval": float(overall["AP"]),
    }


def _table(rows: list[tuple[str, dict[str, float]]]) -> str:
    lines = ["| | ODS | OIS | AP |", "| --- | --- | --- | --- |"]
    for name, s in rows:
        cells = ["n/a" if s[k] != s[k] else f"{s[k]:.3f}" for k in ("ods", "ois", "ap")]  # nan: n/a
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench bsds", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--method", choices=("canny", "sobel", "learned", "blend"), default="canny")
    parser.add_argument(
        "--sigma",
        type=float,
        default=None,
        help="blur sigma in pixels (default: canny 2.8, chosen on 24 val images; sobel 1.0; blend: the library's 1.4)",
    )
    parser.add_argument(
        "--alpha",
        type=float,
        default=None,
        help="blend: weight of the learned map (default: the library's BLEND_ALPHA)",
    )
    parser.add_argument(
        "--scales",
        type=lambda t: tuple(float(v) for v in t.split(",")),
        default=None,
        help="learned/blend: network scales, e.g. 0.5,1,1.5 (default: the library's)",
    )
    parser.add_argument("--split", choices=("train", "val", "test"), default="test")
    parser.add_argument(
        "--held-out",
        action="store_true",
        help="only the val images kept out of the edge model's training (implies --split val)",
    )
    parser.add_argument(
        "--choose-alpha",
        action="store_true",
        help="evaluate blend for each of --alphas on the held-out val images and print the best",
    )
    parser.add_argument(
        "--alphas",
        type=lambda t: [float(v) for v in t.split(",")],
        default=[round(a * 0.1, 1) for a in range(11)],
        help="--choose-alpha candidates (default 0,0.1,...,1)",
    )
    parser.add_argument("--limit", type=int, default=None, help="only the first N images")
    parser.add_argument("--thresholds", type=int, default=99, help="number of thresholds (99)")
    parser.add_argument(
        "--nms",
        choices=("auto", "on", "off"),
        default="auto",
        help="edge NMS of the soft map (auto: for every method but canny)",
    )
    parser.add_argument(
        "--normalize", action="store_true", help="divide each soft map by its maximum (per-image threshold scale)"
    )
    parser.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    parser.add_argument("--data", type=Path, default=None, help="BSDS500 folder")
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="folder for bsds.json and the per-image cache (bench/out)"
    )
    parser.add_argument("--no-cache", action="store_true", help="recompute every image")
    parser.add_argument(
        "--crosscheck", action="store_true", help="also evaluate with pyEdgeEval (8-bit maps on both sides)"
    )
    return parser


DEFAULT_SIGMA = {"canny": 2.8, "sobel": 1.0, "learned": 0.0, "blend": 1.4}
#: Published BSDS500 test ODS / OIS / AP of reference detectors (as the issue lists them).
PUBLISHED = {
    "Canny": PUBLISHED_CANNY,
    "HED": {"ods": 0.788, "ois": 0.808, "ap": 0.840},
    "PiDiNet-Tiny (84K params)": {"ods": 0.789, "ois": 0.803, "ap": float("nan")},
    "human": {"ods": 0.803, "ois": 0.803, "ap": float("nan")},
}


def _choose_alpha(args: argparse.Namespace, data: Path, cache: Path | None) -> int:
    from vectile._edges import LEARNED_SCALES
    from vectile.models import edge_model_digest, held_out_ids

    ids = held_out_ids(image_ids(data, "val"))
    sigma = args.sigma if args.sigma is not None else DEFAULT_SIGMA["blend"]
    rows, best = [], (-1.0, 0.0)
    for alpha in args.alphas:
        detector = Detector(
            "blend", sigma, alpha=alpha, model=edge_model_digest(), scales=args.scales or LEARNED_SCALES
        )
        result, _ = evaluate(
            detector, data, "val", n_levels=args.thresholds, workers=args.workers, cache=cache, only=ids
        )
        rows.append((f"blend alpha {alpha:.1f}", result))
        best = max(best, (result["ods"], alpha))
    print(_table(rows))
    print(f"\nbest alpha on {len(ids)} held-out val images: {best[1]:.1f} (ODS {best[0]:.3f})")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    data = args.data or default_data()
    cache = None if args.no_cache else args.out / "bsds-cache"
    if args.choose_alpha:
        return _choose_alpha(args, data, cache)
    sigma = args.sigma if args.sigma is not None else DEFAULT_SIGMA[args.method]
    nms = {"auto": None, "on": True, "off": False}[args.nms]
    model, scales, alpha = "", args.scales, args.alpha
    if args.method in ("learned", "blend"):
        from vectile._edges import BLEND_ALPHA, LEARNED_SCALES
        from vectile.models import edge_model_digest

        model = edge_model_digest()
        if scales is None:
            scales = LEARNED_SCALES
        if args.method == "blend" and alpha is None:
            alpha = BLEND_ALPHA
    detector = Detector(
        args.method,
        sigma,
        quantize=args.crosscheck,
        nms=nms,
        normalize=args.normalize,
        alpha=alpha,
        model=model,
        scales=scales,
    )
    split = "val" if args.held_out else args.split
    only = None
    if args.held_out:
        from vectile.models import held_out_ids

        only = held_out_ids(image_ids(data, "val"))
    started = time.perf_counter()
    try:
        result, ids = evaluate(
            detector,
            data,
            split,
            limit=args.limit,
            n_levels=args.thresholds,
            workers=args.workers,
            cache=cache,
            only=only,
        )
    except DataMissing as exc:
        print(f"bsds: {exc}", file=sys.stderr)
        return 2
    seconds = time.perf_counter() - started
    label = f"sigma {sigma:g}" if args.method != "learned" else f"model {model}"
    if scales:
        label += f", scales {','.join(f'{v:g}' for v in scales)}"
    if args.method == "blend":
        label += f", alpha {alpha:g}"
    rows = [(f"vectile {args.method} ({label}), {split}, {len(ids)} images", result)]
    if split == "test" and len(ids) == 200:
        rows += [(f"{name}, published (BSDS500 test)", s) for name, s in PUBLISHED.items()]
    report: dict[str, Any] = {
        "detector": asdict(detector),
        "split": split,
        "images": len(ids),
        "thresholds": args.thresholds,
        "seconds": seconds,
        "scores": result,
    }
    if args.crosscheck:
        check = crosscheck(detector, data, split, ids, args.thresholds, args.workers)
        rows.append(("same maps, pyEdgeEval", check))
        report["pyedgeeval"] = check
        report["ods_difference"] = result["ods"] - check["ods"]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bsds.json").write_text(json.dumps(report, indent=1))
    print(_table(rows))
    print(
        f"\nODS at threshold {result['ods_threshold']:.3f} (recall {result['ods_recall']:.3f}, "
        f"precision {result['ods_precision']:.3f}); {seconds:.0f} s"
    )
    if args.crosscheck:
        print(f"ODS difference vectile - pyEdgeEval: {report['ods_difference']:+.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
