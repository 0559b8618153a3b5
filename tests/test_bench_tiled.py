"""The tiled benchmark's scaling run (bench/tiled.py), at a size a test can afford: the
generated map goes into a Zarr store, a fresh process traces it from the store's path, and
the row reports time, peak memory and a real SVG."""

from __future__ import annotations

import pytest

from bench import tiled


@pytest.mark.slow
def test_scaling_traces_a_generated_store(capsys: pytest.CaptureFixture[str]) -> None:
    rows = tiled.scaling([1, 2])
    assert [r["side"] for r in rows] == [1000, 1414]
    for r in rows:
        assert r["seconds"] > 0 and r["peak_mb"] > 20
        assert r["svg_kb"] > 1  # a map of many shapes, not an empty SVG
        assert r["fit_slope_s_per_mp"] == rows[0]["fit_slope_s_per_mp"]
    assert '"megapixels": 1.0' in capsys.readouterr().err


@pytest.mark.slow
def test_large_runs_both_tracers_alternately(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The large-group run on a small stand-in image: vectile (tiled CLI) and VTracer, two
    runs each, median time, highest peak, fidelity of real outputs, and the time ratio."""
    import numpy as np
    from PIL import Image

    from bench.huge import map_scene, render_window

    (tmp_path / "large").mkdir()
    Image.fromarray(render_window(map_scene(300, 200, seed=1), 0, 0, 300, 200)).save(tmp_path / "large" / "tiny.png")
    monkeypatch.setattr(tiled, "BENCH", tmp_path)
    rows = tiled.large(["tiny"], repeat=2)
    assert [r["tracer"] for r in rows] == ["vectile", "vtracer"]
    for r in rows:
        assert len(r["runs_seconds"]) == 2 and r["seconds"] == float(np.median(r["runs_seconds"]))
        assert r["peak_mb"] > 10 and r["kb"] > 1 and r["gaps"] == 0
    assert rows[0]["psnr"] > 30  # vectile on flat map colours
    monkeypatch.setattr(tiled, "OUT", tmp_path / "out")
    capsys.readouterr()
    assert tiled.main(["large", "--images", "tiny", "--repeat", "1"]) == 0
    assert "tiny: vectile / VTracer time = " in capsys.readouterr().out
