"""The scan corpus and its benchmark (bench/scans.py, bench/scan_run.py, the noise-contour
metric in bench/metrics.py, the tiled scan case in bench/tiled.py): the generator is
deterministic, clean and scan stay aligned, the flat-area metric counts what is drawn, and the
group runs end to end on one tiny scan."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("resvg_py")
pytest.importorskip("skimage")
pyvips = pytest.importorskip("pyvips")

from bench import metrics, scans  # noqa: E402
from bench import run as bench_run  # noqa: E402


def _blocks(w: int = 96, h: int = 64) -> np.ndarray:
    """A clean page: white paper, a dark blue block and a red bar (flat colours, hard edges)."""
    img = np.full((h, w, 3), 255, np.uint8)
    img[10 : h - 10, 8 : w // 2] = (20, 40, 110)
    img[h // 2 - 3 : h // 2 + 3, w // 2 + 8 : w - 8] = (200, 30, 30)
    return img


def _vips(img: np.ndarray) -> object:
    return pyvips.Image.new_from_array(img)


def test_generator_is_deterministic(tmp_path: Path) -> None:
    clean = _vips(_blocks())
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        scans.write_pair(clean, scans.STRENGTHS["heavy"], 123, tmp_path / sub, "page")
    for name in ("page.jpg", "page.clean.png"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    (tmp_path / "c").mkdir()  # another seed: other noise, same ground truth
    scans.write_pair(clean, scans.STRENGTHS["heavy"], 124, tmp_path / "c", "page")
    assert (tmp_path / "c" / "page.jpg").read_bytes() != (tmp_path / "a" / "page.jpg").read_bytes()
    assert (tmp_path / "c" / "page.clean.png").read_bytes() == (tmp_path / "a" / "page.clean.png").read_bytes()
    assert np.array_equal(scans.render_text_page(seed=2), scans.render_text_page(seed=2))


def test_scan_stays_aligned_with_its_ground_truth() -> None:
    clean = _vips(_blocks(160, 120))
    # Skew only (no paper, lamp, blur or noise): the scan is the rotated clean page, to rounding.
    skew_only = replace(
        scans.STRENGTHS["medium"], paper=(255.0, 255.0, 255.0), grain=0.0, falloff=0.0, blur=0.0, noise=0.0
    )
    truth, scan = scans.degrade(clean, skew_only, seed=5)
    t, s = truth.numpy(), scan.numpy()
    assert np.abs(t.astype(int) - s.astype(int)).max() <= 1
    assert not np.array_equal(t, _blocks(160, 120))  # the skew was applied to the ground truth too
    # The full model: the scan correlates best with the ground truth where it lies, not shifted.
    truth, scan = scans.degrade(clean, scans.STRENGTHS["medium"], seed=5)
    t, s = truth.numpy(), scan.numpy()
    here = metrics.psnr(t[4:-4, 4:-4], s[4:-4, 4:-4])
    for dy, dx in ((0, 2), (2, 0), (0, -2)):
        assert here > metrics.psnr(t[4:-4, 4:-4], np.roll(s, (dy, dx), axis=(0, 1))[4:-4, 4:-4]) + 1.0
    # Paper is yellowed (blue lowest), and the sensor noise is there.
    paper = s[t.sum(axis=2) == 765]
    assert paper[:, 2].mean() < paper[:, 0].mean() - 10 and paper.std(axis=0).max() > 2


def test_real_scans_come_from_installed_packages(tmp_path: Path) -> None:
    entries = scans.real_scans(tmp_path)
    assert [e["file"] for e in entries] == ["real-skimage-page.png"]
    assert entries[0]["clean"] is None
    with Image.open(tmp_path / "real-skimage-page.png") as im:
        assert im.mode == "RGB" and im.size == (384, 191)


def test_noise_contours_count_a_drawn_boundary_and_nothing_on_a_flat_render() -> None:
    clean = np.full((60, 80, 3), 240, np.uint8)
    clean[:, 40:] = (30, 60, 190)  # two flat areas; their edge lies outside the eroded flat mask
    flat = metrics.flat_mask(clean)
    assert not flat[:, 37:43].any() and flat[:, :37].all() and flat[:, 43:].all()
    assert metrics.noise_contours(clean, clean)["noise_px"] == 0  # the true edge is not noise
    assert metrics.noise_contours(clean, np.full_like(clean, 240))["noise_px"] == 0  # a flat render
    drawn = clean.copy()
    drawn[20, 5:25] = (200, 200, 200)  # a 20 px stroke inside the flat paper: 2 * 20 + 2 boundary px
    got = metrics.noise_contours(clean, drawn)
    assert got["noise_px"] == 42
    assert got["flat_mp"] == pytest.approx(np.count_nonzero(flat) / 1e6)
    assert got["noise_px_per_mp"] == pytest.approx(42 / got["flat_mp"])
    faint = clean.copy()
    faint[20, 5:25] = (239, 240, 240)  # under 2 ΔE: not a visible contour
    assert metrics.noise_contours(clean, faint)["noise_px"] == 0


def test_render_window_equals_the_same_window_of_the_whole_render() -> None:
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="100" height="80" viewBox="0 0 100 80">'
        '<circle cx="30" cy="30" r="20" fill="#0a0"/><rect x="50" y="40" width="30" height="9" fill="#f00"/></svg>'
    )
    whole = metrics.render_svg(svg, 100, 80)[25:55, 20:80].astype(int)
    diff = np.abs(metrics.render_window(svg, 20, 25, 60, 30).astype(int) - whole)
    # Same shapes at the same place; only resvg's anti-aliasing of a few edge pixels differs.
    assert np.count_nonzero(diff.max(axis=2)) <= 10 and diff.max() <= 32


def _tiny_corpus(folder: Path) -> list[dict]:
    folder.mkdir(parents=True, exist_ok=True)
    scan, clean = scans.write_pair(_vips(_blocks()), scans.STRENGTHS["medium"], 7, folder, "map-tiny-medium")
    return [
        {
            "group": "scans",
            "file": scan.name,
            "clean": clean.name,
            "kind": "map",
            "strength": "medium",
            "source": "map-tiny",
        }
    ]


def test_scans_group_runs_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("vtracer")  # the bench extra: the peer of every scan row
    cache = tmp_path / "cache"
    monkeypatch.setattr(scans, "CACHE", cache)
    monkeypatch.setattr(scans, "build", lambda folder=None, bench=None, strengths=None: _tiny_corpus(folder))
    out = tmp_path / "out"
    argv = ["--group", "scans", "--tracers", "vectile,vtracer", "--repeat", "1", "--in-process", "--out", str(out)]
    assert bench_run.main(argv) == 0
    records = [json.loads(line) for line in (out / "scans.jsonl").read_text().splitlines()]
    by = {r["tracer"]: r for r in records}
    assert {"vectile", "vtracer", "vectile on clean"} <= set(by)
    for label in ("vectile", "vtracer"):
        r = by[label]
        assert r["paths"] > 0 and r["bytes"] > 0 and r["seconds"] > 0
        assert 0 < r["ssim_scan"] <= 1 and 0 < r["ssim_clean"] <= 1 and r["psnr_scan"] > 15
        assert r["noise_px_per_mp"] is not None and r["noise_px"] >= 0
    assert "psnr_scan" not in by["vectile on clean"] and by["vectile on clean"]["ssim_clean"] > 0.9
    text = (out / "scans.md").read_text()
    assert "### scans (synthetic, all strengths)" in text and "| vectile / vtracer | 1 |" in text
    assert "- vectile: SSIM vs clean " in text
    with Image.open(out / "scans-before-after-map.png") as im:  # scan | vectile | vtracer, zoomed
        assert im.width > 3 * 2 * 60


@pytest.mark.slow
def test_tiled_scan_case_on_a_small_map(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import tiled

    src = tmp_path / "map.png"
    Image.fromarray(_blocks(300, 200)).save(src)
    monkeypatch.setattr(tiled, "OUT", tmp_path / "out")
    rows = tiled.scan(source=src)
    big = tmp_path / "out" / "scans-big" / "world-map-12k-medium.jpg"
    assert big.is_file()
    (row,) = rows
    assert row["tracer"] == "vectile" and row["megapixels"] == pytest.approx(0.06)
    assert row["kb"] > 0 and row["paths"] > 0 and row["peak_mb"] > 10 and row["ssim_clean"] > 0.5
    assert row["noise_px_per_mp"] is not None
