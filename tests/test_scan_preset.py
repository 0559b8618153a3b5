"""The scan preset's plumbing: the noise estimate, scan recognition in the automatic preset, and
the scan options at every front door. Real data: bench icons and photos, degraded like a scan."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

import vectile
from bench.corpus import default_corpus
from vectile._scan import image_noise, noise_sigma, noise_windows
from vectile.options import choose_preset, resolve
from vectile.tiling.grid import Grid
from vectile.tiling.reader import TileReader
from vectile.tiling.tasks import noise_task

BENCH = default_corpus()


def bench_image(group: str, index: int) -> np.ndarray:
    files = sorted((BENCH / group).glob("*.png"))
    assert files, f"benchmark images missing in {BENCH / group} (../shared/bench)"
    return np.asarray(Image.open(files[index]).convert("RGB"))


def scanned(clean: np.ndarray, sigma: float = 5.0, quality: int = 80, seed: int = 0) -> np.ndarray:
    """``clean`` printed on yellowed paper under a lamp, blurred, with sensor noise, as JPEG."""
    rng = np.random.default_rng(seed)
    h, w = clean.shape[:2]
    f = np.asarray(Image.fromarray(clean).filter(ImageFilter.GaussianBlur(0.8)), np.float32)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    lamp = 1 - 0.2 * ((xx - 0.2) ** 2 + (yy - 0.3) ** 2)
    f = f * np.array([0.96, 0.92, 0.80], np.float32) * lamp[..., None] + rng.normal(0, sigma, f.shape)
    buf = io.BytesIO()
    Image.fromarray(np.clip(f, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(buf).convert("RGB"))


def test_noise_of_flat_and_white_noise():
    rng = np.random.default_rng(1)
    flat = np.full((400, 300, 3), 180, np.uint8)
    assert image_noise(flat) == 0.0
    for sigma in (3.0, 8.0):
        noisy = np.clip(180 + rng.normal(0, sigma, (400, 300, 1)), 0, 255).astype(np.uint8).repeat(3, 2)
        assert abs(image_noise(noisy) - sigma) < 0.2 * sigma
    # A clean render with sharp edges measures nothing: the median ignores edge pixels.
    assert image_noise(bench_image("icons", 0)) == 0.0


def test_windows_depend_on_the_size_only_and_cover_small_images():
    assert noise_windows(2000, 1000) == noise_windows(2000, 1000)
    assert len(noise_windows(2000, 1000)) == 9
    assert noise_windows(10, 5) == [(0, 0, 10, 5)]
    assert noise_sigma([np.zeros((2, 2, 3), np.uint8)]) == 0.0


def test_scans_are_recognised_and_clean_images_are_not():
    # Icons printed on a page (the paper shows around them).
    for k in (0, 2, 7):
        icon = bench_image("icons", k)
        assert choose_preset(icon) == "icon"
        assert choose_preset(scanned(icon)) == "scan", k
    for k in range(4):
        photo = bench_image("photos", k)
        assert choose_preset(photo) == "photo", k
    # A transparent image is never a scan (the front end needs opaque pixels).
    rgba = np.dstack([scanned(icon), np.full(icon.shape[:2], 255, np.uint8)])
    rgba[:4, :4, 3] = 0
    assert choose_preset(rgba) != "scan"
    # Also when the transparent pixels lie outside every noise window (left edge of a 1024
    # image): the whole image decides, and the trace does not stop in the front end.
    big = scanned(np.asarray(Image.fromarray(icon).resize((1024, 1024))))
    rgba = np.dstack([big, np.full(big.shape[:2], 255, np.uint8)])
    rgba[:, :20, 3] = 0
    assert choose_preset(rgba) != "scan"
    assert vectile.vectorize(rgba).stats["preset"] != "scan"


def test_tiled_noise_is_the_untiled_noise():
    px = scanned(bench_image("icons", 5))
    reader = TileReader.of(px)
    for tile in (7, 64, 300, 1000):
        assert noise_task(reader, None, Grid(px.shape[1], px.shape[0], tile)) == image_noise(px)


def test_scan_preset_traces_and_reports_noise():
    svg = vectile.vectorize(scanned(bench_image("icons", 0)))
    assert svg.stats["preset"] == "scan"
    assert svg.stats["noise"] > 1.0
    assert vectile.vectorize(bench_image("icons", 0)).stats["noise"] == 0.0


@pytest.mark.parametrize(
    ("options", "name"),
    [({"denoise": -1}, "denoise"), ({"delta_e": 101}, "delta_e"), ({"background": "sepia"}, "background")],
)
def test_bad_scan_options_are_refused(options, name):
    with pytest.raises(vectile.OptionError) as err:
        resolve(options)
    assert err.value.option == name
    assert resolve({"denoise": 0, "delta_e": 0.0}).settings("scan").denoise == 0.0


def test_cli_refuses_a_bad_background(tmp_path: Path):
    src = tmp_path / "a.png"
    Image.fromarray(bench_image("icons", 0)).save(src)
    out = tmp_path / "a.svg"
    r = subprocess.run(
        [sys.executable, "-m", "vectile", "convert", str(src), "-o", str(out), "--background", "sepia"],
        capture_output=True,
        text=True,
    )
    assert r.returncode != 0
    assert "background" in r.stderr
    assert not out.exists()


def test_every_declared_option_is_a_vectorize_keyword():
    import inspect

    from vectile.options import OPTIONS

    params = inspect.signature(vectile.vectorize).parameters
    assert [o.name for o in OPTIONS if o.name not in params] == []


def test_cli_and_batch_take_the_scan_options(tmp_path: Path):
    src = tmp_path / "scan.png"
    Image.fromarray(scanned(bench_image("icons", 0))).save(src)
    out = tmp_path / "a.svg"
    args = ["--preset", "scan", "--denoise", "1.5", "--delta-e", "6", "--background", "white"]
    r = subprocess.run(
        [sys.executable, "-m", "vectile", "convert", str(src), "-o", str(out), *args], capture_output=True
    )
    assert r.returncode == 0, r.stderr
    assert 'fill="#fff"' in out.read_text()
    outdir = tmp_path / "batch"
    r = subprocess.run(
        [sys.executable, "-m", "vectile", "batch", str(src), "-o", str(outdir), "--workers", "1", *args],
        capture_output=True,
    )
    assert r.returncode == 0, r.stderr
    assert (outdir / "scan.svg").read_text() == out.read_text()
