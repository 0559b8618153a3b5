"""The tiled benchmark's scaling run (bench/tiled.py), at a size a test can afford: the
generated map goes into a Zarr store, a fresh process traces it from the store's path, and
the row reports time, peak memory and a real SVG."""

from __future__ import annotations

import pytest

from bench import tiled


def test_scaling_traces_a_generated_store(capsys: pytest.CaptureFixture[str]) -> None:
    rows = tiled.scaling([1, 2])
    assert [r["side"] for r in rows] == [1000, 1414]
    for r in rows:
        assert r["seconds"] > 0 and r["peak_mb"] > 20
        assert r["svg_kb"] > 1  # a map of many shapes, not an empty SVG
        assert r["fit_slope_s_per_mp"] == rows[0]["fit_slope_s_per_mp"]
    assert '"megapixels": 1.0' in capsys.readouterr().err
