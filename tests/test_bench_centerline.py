"""The centerline bench: its metrics on cases with known answers, its corpus generator (DXF
reading, Hershey text, determinism) and a tiny end-to-end run with the skeleton peer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bench import centerline, linecorpus
from bench import linemetrics as lm


def _dense(polylines: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([lm.sample_polyline(p) for p in polylines])


T_SHAPE = [np.array([[20.0, 20.0], [120.0, 20.0]]), np.array([[70.0, 20.0], [70.0, 100.0]])]
X_SHAPE = [np.array([[10.0, 10.0], [90.0, 90.0]]), np.array([[10.0, 90.0], [90.0, 10.0]])]
SQUARE = [
    np.array([[10.0, 10.0], [60.0, 10.0]]),
    np.array([[60.0, 10.0], [60.0, 60.0]]),
    np.array([[60.0, 60.0], [10.0, 60.0]]),
    np.array([[10.0, 60.0], [10.0, 10.0]]),
]


def test_sampling_is_dense_and_keeps_the_ends():
    pts = lm.sample_polyline(np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 3.3]]))
    steps = np.hypot(*np.diff(pts, axis=0).T)
    assert steps.max() <= lm.STEP + 1e-12
    assert pts[0].tolist() == [0.0, 0.0] and pts[-1].tolist() == [10.0, 3.3]


def test_identical_output_scores_one():
    truth = _dense(T_SHAPE + X_SHAPE)
    m = lm.match(truth.copy(), truth)
    assert (m.precision, m.recall, m.f1) == (1.0, 1.0, 1.0)
    assert m.chamfer == 0.0 and m.hausdorff95 == 0.0
    kp = lm.polyline_keypoints(T_SHAPE, 2.0)
    assert lm.keypoint_match(kp, kp, 2.0).f1 == 1.0


def test_output_shifted_two_pixels_scores_zero():
    line = [np.array([[10.0, 50.0], [200.0, 50.0]])]
    shifted = [p + [0.0, 2.0] for p in line]
    m = lm.match(_dense(shifted), _dense(line))
    assert m.f1 == 0.0
    assert m.chamfer == pytest.approx(2.0)


def test_missing_half_halves_recall():
    line = np.array([[0.0, 0.0], [400.0, 0.0]])
    half = np.array([[0.0, 0.0], [200.0, 0.0]])
    m = lm.match(lm.sample_polyline(half), lm.sample_polyline(line))
    assert m.precision == 1.0
    # the truth within 1 px of the half: 201 of 400 px
    assert m.recall == pytest.approx(0.5, abs=0.005)


def test_keypoints_of_a_t_an_x_and_a_square():
    ends, junctions = lm.polyline_keypoints(T_SHAPE, 2.0)
    assert len(ends) == 3 and len(junctions) == 1
    assert np.allclose(junctions[0], [70.0, 20.0], atol=0.5)
    ends, junctions = lm.polyline_keypoints(X_SHAPE, 2.0)
    assert len(ends) == 4 and len(junctions) == 1
    assert np.allclose(junctions[0], [50.0, 50.0], atol=0.5)
    ends, junctions = lm.polyline_keypoints(SQUARE, 2.0)  # corners are not junctions
    assert len(ends) == 0 and len(junctions) == 0


def test_keypoints_a_t_cut_into_three_strokes_is_still_one_junction():
    cut = [np.array([[20.0, 20.0], [70.0, 20.0]]), np.array([[70.0, 20.0], [120.0, 20.0]]), T_SHAPE[1]]
    truth = lm.polyline_keypoints(T_SHAPE, 2.0)
    out = lm.keypoints([lm.sample_polyline(p) for p in cut], 2.0)
    assert lm.keypoint_match(out, truth, 2.0).f1 == 1.0
    # a stroke stopping 6 px short of the bar: the junction becomes an end
    short = [T_SHAPE[0], np.array([[70.0, 26.0], [70.0, 100.0]])]
    out = lm.keypoints([lm.sample_polyline(p) for p in short], 2.0)
    assert lm.keypoint_match(out, truth, 2.0).f1 < 1.0


def test_keypoints_see_a_t_whose_bar_is_drawn_twice():
    # CAD files draw lines twice (a rectangle's side on a longer line): the T at (70, 20) is
    # still one junction, not lost in the touches that run along the doubled bar.
    doubled = [*T_SHAPE, np.array([[40.0, 20.0], [120.0, 20.0]])]
    ends, junctions = lm.polyline_keypoints(doubled, 2.0)
    assert len(junctions) == 1 and np.allclose(junctions[0], [70.0, 20.0], atol=0.5)
    assert len(ends) == 3
    # an exact duplicate of the whole drawing changes nothing
    assert [len(k) for k in lm.polyline_keypoints(T_SHAPE + T_SHAPE, 2.0)] == [3, 1]


def test_keypoints_keep_a_line_tangent_to_a_circle():
    # A line ending on a circle, tangent to it, runs within 0.35 px of it for pixels: that is
    # a touch of two lines, not a line drawn twice, so nothing is cut from either.
    t = np.linspace(0, 2 * np.pi, 400)
    circle = np.stack([100 + 40 * np.cos(t), 100 + 40 * np.sin(t)], axis=1)
    line = np.array([[100.0, 60.0], [20.0, 60.0]])
    curves = [lm.sample_polyline(p) for p in (circle, line)]
    kept, closed = lm.drop_overlaps(curves, [True, False], 3.0)
    assert len(kept) == 2 and closed == [True, False]


def test_count_chains_joins_where_two_ends_meet():
    assert lm.count_chains(SQUARE, 2.0) == 1
    assert lm.count_chains(T_SHAPE, 2.0) == 2
    assert lm.count_chains(X_SHAPE, 2.0) == 2


def test_skeleton_keypoints_of_a_pixel_t():
    ink = np.zeros((60, 60), bool)
    ink[10, 5:55] = True
    ink[10:50, 30] = True
    rows, cols = np.nonzero(ink)
    ends, junctions = lm.skeleton_keypoints(np.stack([cols + 0.5, rows + 0.5], axis=1), 1.0)
    assert len(ends) == 3 and len(junctions) == 1


def test_svg_paths_samples_curves_in_pixels():
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="100pt" height="50pt" viewBox="0 0 100 50">'
        '<path fill="none" stroke="#000" stroke-width="3" d="M10 10 C 30 0 50 20 70 10 M5 40 L95 40"/>'
        '<rect width="100" height="50" fill="#fff"/></svg>'
    )
    got = lm.svg_paths(svg, 100, 50)
    assert len(got.curves) == 2  # the page-sized background is skipped
    assert got.widths == [3.0, 3.0]
    line = got.curves[1]
    assert np.allclose(line[0], [5, 40]) and np.allclose(line[-1], [95, 40])
    assert np.hypot(*np.diff(got.curves[0], axis=0).T).max() <= lm.STEP


def test_read_dxf_flattens_entities_and_blocks(tmp_path: Path):
    import ezdxf

    doc = ezdxf.new()
    block = doc.blocks.new("PIN")
    block.add_line((0, 0), (0, 10))
    msp = doc.modelspace()
    msp.add_line((0, 0), (100, 0))
    msp.add_circle((50, 50), 20)
    msp.add_arc((50, 50), 30, 0, 90)
    msp.add_lwpolyline([(0, 100), (100, 100), (100, 80)])
    msp.add_text("ignored")
    msp.add_blockref("PIN", (100, 0))
    path = tmp_path / "symbol.dxf"
    doc.saveas(path)
    polys = linecorpus.read_dxf(path, size=256, margin=16)
    assert len(polys) == 5
    allp = np.concatenate(polys)
    assert allp.min() >= 16 - 1e-6 and allp.max() <= 256 - 16 + 1e-6
    circle = max(polys, key=len)
    assert np.allclose(circle[0], circle[-1])  # closed
    radius = np.hypot(*(circle - (circle.min(axis=0) + circle.max(axis=0)) / 2).T)
    assert radius.max() - radius.min() < 0.2  # flattened within a fraction of a pixel


def test_hershey_text_is_single_strokes_on_the_page():
    polys = linecorpus.hershey_polylines("futural", ("Hi 7",), 40.0)
    allp = np.concatenate(polys)
    assert 0 < allp.min() and allp.max() < linecorpus.SIZE
    assert [len(p) for p in polys] == [2, 2, 2, 5, 2, 2, 2]  # H: 3 lines; i: dot, stem; 7: 2 lines
    # the height spans cap line to descender line: capitals are 3/4 of it in futural
    h = np.concatenate(polys[:3])
    assert h[:, 1].max() - h[:, 1].min() == pytest.approx(30.0)


def test_corpus_files_are_deterministic(tmp_path: Path):
    drawing = linecorpus.text_drawings()[1]
    digests = []
    for run in ("a", "b"):
        entry = linecorpus._write_drawing(drawing, tmp_path / run / "text-degraded", degraded=True)
        folder = tmp_path / run
        digests.append({k: (folder / entry[k]).read_bytes() for k in ("file", "truth", "clean")})
    assert digests[0] == digests[1]
    truth = linecorpus.load_truth(tmp_path / "a" / "text-degraded" / f"{drawing.name}.json")
    assert truth["width"] == drawing.width and len(truth["polylines"]) == len(drawing.polylines)


def test_quick_run_end_to_end_with_the_skeleton(tmp_path: Path):
    out = tmp_path / "out"
    argv = ["--quick", "--limit", "2", "--corpora", "text-clean", "--peers", "skeleton", "--no-speed"]
    code = centerline.main(argv + ["--out", str(out), "--corpus-dir", str(tmp_path / "corpus")])
    assert code == 0
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [r["peer"] for r in rows] == ["skeleton", "skeleton"]
    summary = json.loads((out / "summary.json").read_text())["summary"]
    (s,) = summary
    assert s["corpus"] == "text-clean" and s["images"] == 2
    assert s["f1"] > 0.9 and s["junction_f1"] > 0.5  # the pixel skeleton of clean text
    assert s["peak_rss_mb"] > 0 and s["mp_per_s"] > 0
    assert "| text-clean | skeleton | 2 |" in (out / "table.md").read_text()


def test_a_dot_is_an_end():
    t = np.linspace(0, 2 * np.pi, 9)
    dot = np.stack([100 + 0.8 * np.cos(t), 100 + 0.8 * np.sin(t)], axis=1)  # a closed tiny circle
    ends, junctions = lm.polyline_keypoints([dot], 2.0)
    assert len(ends) == 1 and len(junctions) == 0
    assert np.allclose(ends[0], [100, 100], atol=0.2)
    # a zero-length stroke (an SVG "h0") at the same place matches it
    out = lm.keypoints([np.array([[100.1, 100.0], [100.1, 100.0]])], 2.0)
    assert lm.keypoint_match(out, (ends, junctions), 2.0).f1 == 1.0
