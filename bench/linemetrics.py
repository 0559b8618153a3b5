"""Centerline metrics: how close a traced set of lines lies to the true centerlines.

Both sides become dense point sets: polylines and SVG paths are sampled every
:data:`STEP` (0.25) px along their length (:func:`sample_polyline`, :func:`svg_paths`), a
skeleton is its pixel centres. Coordinates are pixel-corner coordinates (pixel ``(row, col)``
covers ``[col, col + 1] x [row, row + 1]``), the convention of vectile's SVG.

* :func:`match`: precision (share of output points within ``tol`` of the truth), recall (share
  of truth points within ``tol`` of the output), their F1, mean chamfer distance (the mean of
  both directions' mean nearest distances) and p95 Hausdorff (the larger of both directions'
  95th percentile nearest distances).
* :func:`keypoints` / :func:`polyline_keypoints`: line ends and junctions of a set of curves.
  A line drawn twice is first kept once (:func:`drop_overlaps`: CAD files often repeat a
  line, and touches running along it would merge its junctions into one candidate).
  Candidates are curve ends and places where two curves (or two far-apart parts of one) come
  within 0.35 px of each other; candidates closer than the merge distance ``max(width, 1.5)``
  are one. Each is classified by its degree, the number of separate curve pieces crossing a
  circle of radius ``max(3, 1.5 * width)`` around it: 0 or 1 is an end (0: a dot), 3 or more
  a junction, 2 is an ordinary point of a line (a corner, two strokes meeting end to end).
  The same rule on both sides, so a tracer that ends three strokes at a T gets one junction.
  A curve smaller than that circle (a dot) is a candidate at its centre, and so an end.
* :func:`keypoint_match`: greedy one-to-one matching of keypoints of the same kind within
  ``max(2, width)`` px.
* :func:`count_chains`: polylines joined where exactly two ends meet (the fewest open or closed
  strokes that draw the truth without tracing a junction twice).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np

#: Sampling step along curves, in pixels.
STEP = 0.25
#: Two curves closer than this (px) cross or touch there.
TOUCH = 0.35
#: A curve this close (px) to another one lies on it: the line is drawn twice there.
SAME = 0.02


def sample_polyline(points: np.ndarray, step: float = STEP) -> np.ndarray:
    """Points every ``step`` px (at most) along a polyline, both ends included.

    >>> sample_polyline(np.array([[0.0, 0.0], [1.0, 0.0]]), 0.5).tolist()
    [[0.0, 0.0], [0.5, 0.0], [1.0, 0.0]]
    """
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(points) < 2:
        return points.copy()
    parts = [points[:1]]
    for a, b in zip(points[:-1], points[1:], strict=True):
        n = max(1, math.ceil(float(np.hypot(*(b - a))) / step))
        t = np.arange(1, n + 1, dtype=np.float64)[:, None] / n
        parts.append(a + (b - a) * t)
    return np.concatenate(parts)


def _segment_points(seg: object, step: float) -> np.ndarray:
    """Dense points of one svgelements segment (end point included, start excluded)."""
    from svgelements import Arc, Close, CubicBezier, Line, QuadraticBezier

    if isinstance(seg, Line | Close):
        ctrl = [seg.start, seg.end]
    elif isinstance(seg, CubicBezier):
        ctrl = [seg.start, seg.control1, seg.control2, seg.end]
    elif isinstance(seg, QuadraticBezier):
        ctrl = [seg.start, seg.control, seg.end]
    elif isinstance(seg, Arc):
        ctrl = []
    else:
        return np.empty((0, 2))
    if ctrl:
        c = np.array([[p.x, p.y] for p in ctrl], dtype=np.float64)
        length = float(np.hypot(*np.diff(c, axis=0).T).sum())  # control polygon >= curve length
    else:
        length = float(seg.length(error=1e-4))
    n = max(1, math.ceil(length / step))
    t = np.arange(1, n + 1, dtype=np.float64) / n
    if not ctrl:
        return np.asarray([[p[0], p[1]] for p in (seg.point(float(x)) for x in t)], dtype=np.float64)
    # Bernstein form of the line / quadratic / cubic, evaluated at every t at once.
    from math import comb

    deg = len(c) - 1
    tt, u = t[:, None], 1.0 - t[:, None]
    return sum(comb(deg, k) * u ** (deg - k) * tt**k * c[k] for k in range(deg + 1))


@dataclass
class SvgCurves:
    """The curves of an SVG: one dense point array per subpath, its stroke width (None when
    not stroked), and whether it was closed."""

    curves: list[np.ndarray]
    widths: list[float | None]
    closed: list[bool]


def svg_paths(svg_text: str, width: int, height: int, step: float = STEP) -> SvgCurves:
    """Every visible shape of an SVG sampled densely, one array per subpath, in the SVG's
    user units with its root sized to ``width`` x ``height`` px (so Potrace's ``pt`` sizes and
    any viewBox map onto pixels). A shape covering the whole page (a background) is skipped."""
    from svgelements import SVG, Close, Move, Path, Shape

    from bench.metrics import set_root_size

    doc = SVG.parse(io.StringIO(set_root_size(svg_text, width, height)), reify=True, ppi=96.0)
    out = SvgCurves([], [], [])
    for el in doc.elements():
        if not isinstance(el, Shape):
            continue
        if (el.fill is None or el.fill.value is None) and (el.stroke is None or el.stroke.value is None):
            continue
        path = el if isinstance(el, Path) else Path(el)
        bbox = path.bbox()
        if bbox is None:
            continue
        if bbox[2] - bbox[0] >= 0.99 * width and bbox[3] - bbox[1] >= 0.99 * height:
            continue
        stroked = el.stroke is not None and el.stroke.value is not None
        sw = float(el.stroke_width) if stroked else None
        for sub in path.as_subpaths():
            pts: list[np.ndarray] = []
            closed = False
            for seg in sub:
                if isinstance(seg, Move):
                    pts.append(np.array([[seg.end.x, seg.end.y]], dtype=np.float64))
                    continue
                if not pts and seg.start is not None:
                    pts.append(np.array([[seg.start.x, seg.start.y]], dtype=np.float64))
                closed = closed or isinstance(seg, Close)
                pts.append(_segment_points(seg, step))
            if pts:
                out.curves.append(np.concatenate(pts))
                out.widths.append(sw)
                out.closed.append(closed)
    return out


@dataclass
class Match:
    precision: float
    recall: float
    f1: float
    chamfer: float
    hausdorff95: float


def match(output: np.ndarray, truth: np.ndarray, tol: float = 1.0, empty_distance: float = 512.0) -> Match:
    """Precision, recall, F1 at ``tol`` px, chamfer and p95 Hausdorff of two point sets
    (``(n, 2)``); an empty side scores 0 and ``empty_distance``."""
    from scipy.spatial import cKDTree

    output = np.asarray(output, dtype=np.float64).reshape(-1, 2)
    truth = np.asarray(truth, dtype=np.float64).reshape(-1, 2)
    if len(output) == 0 or len(truth) == 0:
        return Match(0.0, 0.0, 0.0, empty_distance, empty_distance)
    d_out, _ = cKDTree(truth).query(output)
    d_truth, _ = cKDTree(output).query(truth)
    p = float(np.mean(d_out <= tol))
    r = float(np.mean(d_truth <= tol))
    f1 = 2 * p * r / (p + r) if p + r > 0 else 0.0
    chamfer = (float(d_out.mean()) + float(d_truth.mean())) / 2
    haus = max(float(np.percentile(d_out, 95)), float(np.percentile(d_truth, 95)))
    return Match(p, r, f1, chamfer, haus)


def _components(points: np.ndarray, radius: float) -> np.ndarray:
    """Single-linkage labels of ``points`` linked within ``radius``."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    n = len(points)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    pairs = cKDTree(points).query_pairs(radius, output_type="ndarray")
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    return np.asarray(connected_components(graph, directed=False)[1])


def _segment_distance(p: np.ndarray, s0: np.ndarray, s1: np.ndarray) -> np.ndarray:
    """Distances of points ``p`` to the segments ``s0``-``s1`` (all ``(n, 2)``)."""
    d = s1 - s0
    len2 = np.maximum((d * d).sum(axis=1), 1e-18)
    t = np.clip(((p - s0) * d).sum(axis=1) / len2, 0.0, 1.0)
    return np.hypot(*(p - (s0 + d * t[:, None])).T)


def drop_overlaps(
    curves: list[np.ndarray], closed: list[bool], radius: float, spacing: float = STEP
) -> tuple[list[np.ndarray], list[bool]]:
    """The drawing without lines drawn twice: a run of a curve's samples, longer than
    ``radius``, that lies within :data:`TOUCH` of an earlier curve (or of an earlier part of
    itself more than ``2 * radius`` back along it) is cut out, so what is left covers the
    drawing once. CAD files often draw a line twice (a rectangle's side on a longer line of
    another), and such a line's touches run its whole length: left in, they merge every
    junction along it into one candidate at its middle. Crossings and touches are shorter
    than ``radius`` and stay. A cut curve becomes open pieces; a closed curve cut once is
    one open piece, re-joined across its seam."""
    from scipy.spatial import cKDTree

    pts = np.concatenate(curves)
    owner = np.concatenate([np.full(len(c), i) for i, c in enumerate(curves)])
    index = np.concatenate([np.arange(len(c)) for c in curves])
    covered = np.zeros(len(pts), dtype=bool)
    pairs = cKDTree(pts).query_pairs(TOUCH, output_type="ndarray")
    if len(pairs):
        a, b = pairs[:, 0], pairs[:, 1]  # a < b: b is later (curve order, then along it)
        earlier = (owner[a] != owner[b]) | (np.abs(index[a] - index[b]) * spacing > 2 * radius)
        a, b = a[earlier], b[earlier]
        # On the earlier curve itself (on a chord between its samples), not beside it: a
        # line tangent to a circle runs within TOUCH of it for several pixels, but it is a
        # junction of the drawing, not a line drawn twice.
        gap = np.full(len(a), np.inf)
        for step in (-1, 1):
            n = a + step
            ok = (n >= 0) & (n < len(pts))
            ok[ok] &= owner[n[ok]] == owner[a[ok]]
            gap[ok] = np.minimum(gap[ok], _segment_distance(pts[b[ok]], pts[a[ok]], pts[n[ok]]))
        covered[b[gap <= SAME]] = True
    if not covered.any():
        return curves, closed
    out, out_closed = [], []
    start = 0
    min_run = max(1, int(math.ceil(radius / spacing)))
    for c, cl in zip(curves, closed, strict=True):
        cov = covered[start : start + len(c)].copy()
        start += len(c)
        # Only long runs are overlaps; short ones are crossings and touches.
        edges = np.flatnonzero(np.diff(np.concatenate([[0], cov.astype(np.int8), [0]])))
        runs = [(s, e) for s, e in zip(edges[::2], edges[1::2], strict=True) if e - s >= min_run]
        if not runs:
            out.append(c)
            out_closed.append(cl)
            continue
        cut = np.zeros(len(c), dtype=bool)
        for s, e in runs:
            cut[s:e] = True
        pieces = np.split(np.arange(len(c)), np.flatnonzero(np.diff(cut.astype(np.int8))) + 1)
        pieces = [p for p in pieces if not cut[p[0]]]
        if cl and len(pieces) >= 2 and not cut[0] and not cut[-1]:
            pieces = [np.concatenate([pieces[-1], pieces[0]])] + pieces[1:-1]
        out += [c[p] for p in pieces if len(p) >= 2]
        out_closed += [False] * sum(len(p) >= 2 for p in pieces)
    return out, out_closed


def keypoints(
    curves: list[np.ndarray],
    width: float,
    closed: list[bool] | None = None,
    spacing: float = STEP,
    extra: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``(ends, junctions)`` (each ``(k, 2)``) of densely sampled ``curves`` (see the module
    doc); ``spacing``: the distance between neighbouring samples (1 for skeleton pixels);
    ``extra``: more candidate points (a skeleton's end and branch pixels)."""
    from scipy.spatial import cKDTree

    closed = list(closed) if closed is not None else [False] * len(curves)
    keep = [len(c) > 0 for c in curves]
    curves = [np.asarray(c, dtype=np.float64).reshape(-1, 2) for c, k in zip(curves, keep, strict=False) if k]
    closed = [cl for cl, k in zip(closed + [False] * len(keep), keep, strict=False) if k]
    if not curves:
        return np.empty((0, 2)), np.empty((0, 2))
    merge = max(width, 1.5)
    radius = max(3.0, 1.5 * width)
    # A curve smaller than the ring (a dot: Hershey's tiny closed circle, a zero-length stroke)
    # is a candidate at its centre: nothing crosses its ring, so it counts as an end.
    cand = [c.mean(axis=0, keepdims=True) for c in curves if float(np.ptp(c, axis=0).max()) < radius]
    if spacing <= STEP:
        curves, closed = drop_overlaps(curves, closed, radius, spacing)
        if not curves:
            return np.empty((0, 2)), np.empty((0, 2))
    cand += [c[[0, -1]] for c, cl in zip(curves, closed, strict=False) if not cl and len(c) > 0]
    if extra is not None:
        cand.append(np.asarray(extra, dtype=np.float64).reshape(-1, 2))
    pts = np.concatenate(curves)
    owner = np.concatenate([np.full(len(c), i) for i, c in enumerate(curves)])
    index = np.concatenate([np.arange(len(c)) for c in curves])
    pairs = cKDTree(pts).query_pairs(max(TOUCH, spacing * 1.01) if spacing > STEP else TOUCH, output_type="ndarray")
    if len(pairs):
        a, b = pairs[:, 0], pairs[:, 1]
        far = (owner[a] != owner[b]) | (np.abs(index[a] - index[b]) * spacing > 2 * radius)
        if spacing > STEP:  # pixels: neighbours touch anyway; only other curves count
            far = owner[a] != owner[b]
        cand.append((pts[a[far]] + pts[b[far]]) / 2)
    cands = np.concatenate(cand) if cand else np.empty((0, 2))
    if len(cands) == 0:
        return np.empty((0, 2)), np.empty((0, 2))
    labels = _components(cands, merge)
    centres = np.array([cands[labels == k].mean(axis=0) for k in range(labels.max() + 1)])
    tree = cKDTree(pts)
    half = max(0.5, spacing * 0.75)
    ends, junctions = [], []
    for c in centres:
        near = np.asarray(tree.query_ball_point(c, radius + half), dtype=np.int64)
        if len(near):
            d = np.hypot(*(pts[near] - c).T)
            ring = pts[near[np.abs(d - radius) <= half]]
        else:
            ring = np.empty((0, 2))
        degree = int(_components(ring, max(1.0, spacing * 1.5)).max() + 1) if len(ring) else 0
        if degree <= 1:
            ends.append(c)
        elif degree >= 3:
            junctions.append(c)
    return np.array(ends).reshape(-1, 2), np.array(junctions).reshape(-1, 2)


def polyline_keypoints(polylines: list[np.ndarray], width: float) -> tuple[np.ndarray, np.ndarray]:
    """:func:`keypoints` of polylines (sampled first); a polyline whose ends coincide is closed."""
    curves = [sample_polyline(p) for p in polylines]
    closed = [bool(np.hypot(*(p[0] - p[-1])) < 1e-6) for p in polylines]
    return keypoints(curves, width, closed)


def skeleton_keypoints(pixels: np.ndarray, width: float) -> tuple[np.ndarray, np.ndarray]:
    """:func:`keypoints` of skeleton pixel centres (one 8-connected point set); the candidates
    are its pixels with one neighbour or none (ends, dots) and with three or more (branches)."""
    pixels = np.asarray(pixels, dtype=np.float64).reshape(-1, 2)
    if len(pixels) == 0:
        return np.empty((0, 2)), np.empty((0, 2))
    cols, rows = np.floor(pixels[:, 0]).astype(np.int64), np.floor(pixels[:, 1]).astype(np.int64)
    grid = np.zeros((rows.max() + 3, cols.max() + 3), dtype=np.uint8)
    grid[rows + 1, cols + 1] = 1
    count = np.zeros((grid.shape[0] - 2, grid.shape[1] - 2), dtype=np.int64)
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            if dr or dc:
                count += grid[1 + dr : grid.shape[0] - 1 + dr, 1 + dc : grid.shape[1] - 1 + dc]
    n = count[rows, cols]
    return keypoints([pixels], width, [True], spacing=1.0, extra=pixels[(n <= 1) | (n >= 3)])


@dataclass
class KeypointMatch:
    matched: int
    output: int
    truth: int

    @property
    def f1(self) -> float:
        total = self.output + self.truth
        return 2 * self.matched / total if total else 1.0


def _greedy(a: np.ndarray, b: np.ndarray, tol: float) -> int:
    if len(a) == 0 or len(b) == 0:
        return 0
    d = np.hypot(a[:, None, 0] - b[None, :, 0], a[:, None, 1] - b[None, :, 1])
    order = np.argsort(d, axis=None, kind="stable")
    used_a, used_b, n = set(), set(), 0
    for flat in order:
        i, j = divmod(int(flat), len(b))
        if d[i, j] > tol:
            break
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            n += 1
    return n


def keypoint_match(
    out: tuple[np.ndarray, np.ndarray], truth: tuple[np.ndarray, np.ndarray], width: float
) -> KeypointMatch:
    """Ends matched to ends and junctions to junctions, one to one, within ``max(2, width)``."""
    tol = max(2.0, width)
    m = sum(_greedy(o, t, tol) for o, t in zip(out, truth, strict=True))
    return KeypointMatch(m, len(out[0]) + len(out[1]), len(truth[0]) + len(truth[1]))


def count_chains(polylines: list[np.ndarray], width: float) -> int:
    """Polylines joined through every point where exactly two ends meet (within the merge
    distance ``max(width, 1.5)``): a rectangle of four LINEs is one chain, a T three."""
    n = len(polylines)
    if n == 0:
        return 0
    ends = np.concatenate([np.asarray(p, dtype=np.float64)[[0, -1]] for p in polylines])
    labels = _components(ends, max(width, 1.5))
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for node in np.unique(labels):
        members = np.flatnonzero(labels == node)
        if len(members) == 2:
            a, b = find(int(members[0]) // 2), find(int(members[1]) // 2)
            parent[a] = b
    return len({find(i) for i in range(n)})


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boolean masks (1 when both are empty)."""
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0
