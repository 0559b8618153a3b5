"""The BSDS500 boundary evaluator (bench/bsds.py) on hand-made cases and a tiny real subset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench import bsds


def _line(h: int = 300, w: int = 400, x: int = 200) -> np.ndarray:
    m = np.zeros((h, w), bool)
    m[20:280, x] = True
    return m


def test_thresholds_are_the_benchmarks() -> None:
    t = bsds.thresholds(99)
    assert t[0] == pytest.approx(0.01) and t[-1] == pytest.approx(0.99) and len(t) == 99


def test_perfect_prediction_matches_everything() -> None:
    gt = _line()
    matched, n = bsds.correspond(gt, gt)
    assert n == gt.sum() and np.array_equal(matched, gt)


def test_shift_within_tolerance_matches_and_beyond_does_not() -> None:
    gt = _line()
    radius = bsds.MAX_DIST * np.hypot(*gt.shape)  # 3.75 pixels for 400 x 300
    assert 3 < radius < 4
    _, n = bsds.correspond(_line(x=203), gt)
    assert n == gt.sum()
    _, n = bsds.correspond(_line(x=204), gt)
    assert n == 0


def test_each_pixel_is_matched_once() -> None:
    # Two predicted lines next to one human line: only one of them can be matched.
    gt = _line()
    pred = _line(x=199) | _line(x=201)
    matched, n = bsds.correspond(pred, gt)
    assert n == gt.sum() and matched.sum() == gt.sum()


def test_assignment_prefers_the_nearest_pixels() -> None:
    # One predicted line on the human one, one 3 pixels off: the exact one is matched.
    gt = _line()
    pred = _line(x=200) | _line(x=203)
    matched, _ = bsds.correspond(pred, gt)
    assert matched[:, 200].sum() == gt.sum() and not matched[:, 203].any()


def test_scores_of_a_perfect_and_a_half_prediction() -> None:
    gt = _line()
    levels = bsds.thresholds(9)
    perfect = bsds.evaluate_image(gt.astype(float), [gt, gt], levels)
    s = bsds.scores(levels, [perfect])
    assert s["ods"] == pytest.approx(1.0) and s["ois"] == pytest.approx(1.0)
    # Half the line at strength 0.8, the other half at 0.3: recall 1/2 above 0.3.
    soft = np.zeros(gt.shape)
    soft[20:150, 200] = 0.8
    soft[150:280, 200] = 0.3
    counts = bsds.evaluate_image(soft, [gt], levels)
    s = bsds.scores(levels, [counts])
    assert s["ods"] == pytest.approx(1.0) and s["ods_threshold"] <= 0.3 + 1e-9
    r = np.asarray(counts["cntR"]) / np.asarray(counts["sumR"])
    assert r[levels > 0.3].max() == pytest.approx(0.5) and r[levels > 0.8].max() == 0


def test_precision_counts_a_pixel_matched_by_any_annotator() -> None:
    a, b = _line(x=100), _line(x=300)
    pred = a | b
    counts = bsds.evaluate_image(pred.astype(float), [a, b], bsds.thresholds(3))
    assert counts["cntP"][0] == counts["sumP"][0] == pred.sum()  # precision 1
    assert counts["cntR"][0] == counts["sumR"][0] == a.sum() + b.sum()  # recall 1
    alone = bsds.evaluate_image(pred.astype(float), [a], bsds.thresholds(3))
    assert alone["cntP"][0] / alone["sumP"][0] == pytest.approx(0.5)


def test_ap_of_a_known_curve() -> None:
    # Two images' worth of counts giving recall 0.2..1.0 at precision 1 - recall / 2.
    levels = np.array([0.2, 0.4, 0.6, 0.8])
    rec = np.array([1.0, 0.8, 0.5, 0.2])
    prec = 1 - rec / 2
    counts = {"cntR": list(rec * 100), "sumR": [100.0] * 4, "cntP": list(prec * 100), "sumP": [100.0] * 4}
    s = bsds.scores(levels, [counts])
    # Precision interpolated at recall 0.20, 0.21, ..., 1.00 (81 points), times 0.01.
    grid = np.arange(20, 101) / 100
    assert s["ap"] == pytest.approx(np.interp(grid, rec[::-1], prec[::-1]).sum() * 0.01)
    assert s["ois"] == pytest.approx(max(2 * p * r / (p + r) for p, r in zip(prec, rec, strict=True)))


def test_edge_nms_thins_a_soft_line() -> None:
    soft = np.zeros((40, 40))
    for dx, v in ((-2, 0.2), (-1, 0.6), (0, 1.0), (1, 0.6), (2, 0.2)):
        soft[:, 20 + dx] = v
    thin = bsds.edge_nms(soft)
    inner = thin[8:-8]
    assert (inner[:, 20] > 0.9).all() and not inner[:, [18, 19, 21, 22]].any()


def test_tiny_real_subset() -> None:
    data = bsds.default_data()
    try:
        ids = bsds.image_ids(data, "test")
    except bsds.DataMissing as exc:
        pytest.fail(f"the BSDS500 data is needed for this test: {exc}")
    assert len(ids) == 200
    result, used = bsds.evaluate(
        bsds.Detector("canny", 2.0), data, "test", limit=1, n_levels=5, workers=1, cache=None, progress=False
    )
    assert used == ids[:1]
    assert 0.3 < result["ods"] < 0.95 and 0.3 < result["ois"] < 0.95


def test_learned_detector_on_a_held_out_image(tmp_path: Path) -> None:
    """The learned model on one held-out val image: better than chance, cached under a key
    that names the model file's digest (a retrained model never reuses old counts)."""
    from vectile.models import edge_model_digest, held_out_ids

    data = bsds.default_data()
    only = held_out_ids(bsds.image_ids(data, "val"))[:1]
    detector = bsds.Detector("learned", 0.0, model=edge_model_digest())
    assert detector.apply_nms
    result, used = bsds.evaluate(
        detector, data, "val", n_levels=5, workers=1, cache=tmp_path, progress=False, only=only
    )
    assert used == only and 0.4 < result["ods"] < 0.95
    key = bsds._cache_key(detector, "val", 5, bsds.MAX_DIST)
    assert (tmp_path / key / f"{only[0]}.json").is_file()
    assert key != bsds._cache_key(bsds.Detector("learned", 0.0, model="0" * 12), "val", 5, bsds.MAX_DIST)
    # Fields added for learned maps leave the keys of older detectors unchanged.
    assert bsds._cache_key(bsds.Detector("canny", 2.8), "test", 99, bsds.MAX_DIST) == "canny-test-efea6810c578"


def test_main_writes_what_it_evaluated(tmp_path: Path) -> None:
    """``bench bsds --held-out`` reports the split and the library's blend settings it used."""
    import json

    from vectile._edges import BLEND_ALPHA, LEARNED_SCALES

    rc = bsds.main(
        [
            "--method",
            "blend",
            "--held-out",
            "--limit",
            "1",
            "--thresholds",
            "5",
            "--workers",
            "1",
            "--no-cache",
            "--out",
            str(tmp_path),
        ]
    )
    assert rc == 0
    report = json.loads((tmp_path / "bsds.json").read_text())
    assert report["split"] == "val" and report["images"] == 1
    assert report["detector"]["alpha"] == BLEND_ALPHA
    assert tuple(report["detector"]["scales"]) == tuple(LEARNED_SCALES)
