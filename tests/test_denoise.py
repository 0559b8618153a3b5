"""The scan front end's denoise through the binding (``_kernels.denoise``, ``tile_prepare``,
``scan_reach``): it removes the noise of a scan, keeps what the clean source draws, and a tile
cleaned from its halo window is exactly that rectangle of the whole image. Real data: a bench
icon and the huge benchmark's map, degraded like a scan."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageFilter

from bench.corpus import default_corpus
from vectile import _kernels
from vectile._scan import image_noise

BENCH = default_corpus()


def _degraded(clean: np.ndarray, sigma: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(the clean source blurred on yellowed paper, that page with sensor noise as JPEG q80)."""
    rng = np.random.default_rng(seed)
    page = np.asarray(Image.fromarray(clean).filter(ImageFilter.GaussianBlur(0.8)), np.float32)
    page = page * np.array([0.97, 0.93, 0.82], np.float32)
    noisy = np.clip(page + rng.normal(0, sigma, page.shape), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noisy).save(buf, "JPEG", quality=80)
    return np.clip(page + 0.5, 0, 255).astype(np.uint8), np.asarray(Image.open(buf).convert("RGB"))


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * np.log10(255.0**2 / mse)


@pytest.fixture(scope="module")
def sources() -> dict[str, np.ndarray]:
    from bench.huge import map_scene, render_window

    icon = BENCH / "icons" / "clementine.png"
    assert icon.is_file(), f"benchmark image {icon} is missing (../shared/bench)"
    return {
        "icon": np.asarray(Image.open(icon).convert("RGB")),
        "map": render_window(map_scene(400, 300, seed=3), 0, 0, 400, 300),
    }


@pytest.mark.parametrize("name", ["icon", "map"])
def test_noise_goes_and_the_drawing_stays(sources, name):
    page, scan = _degraded(sources[name], sigma=7.0)
    noise = image_noise(scan)
    assert noise > 2.0
    out = _kernels.denoise(scan, strength=1.5, noise=noise)
    assert out.shape == scan.shape and out.dtype == np.uint8
    before, after = _psnr(scan, page), _psnr(out, page)
    assert after > before + 2.0, (before, after)
    # Edges stay: the gradient energy along the clean page's edges keeps most of its size,
    # where a blur of the same noise reduction would flatten it.
    gy = lambda a: np.abs(np.diff(a.astype(np.float64).mean(axis=2), axis=0))  # noqa: E731
    edges = gy(page) > 40
    assert edges.sum() > 100
    assert gy(out)[edges].mean() > 0.85 * gy(page)[edges].mean()


def test_off_and_clean_images_are_unchanged(sources):
    icon = sources["icon"]
    assert np.array_equal(_kernels.denoise(icon, strength=0.0, noise=6.0), icon)
    assert np.array_equal(_kernels.denoise(icon, strength=2.0, noise=0.0), icon)
    rgba = np.dstack([icon, np.full(icon.shape[:2], 255, np.uint8)])
    assert np.array_equal(
        _kernels.denoise(rgba, strength=2.0, noise=5.0), _kernels.denoise(icon, strength=2.0, noise=5.0)
    )
    assert _kernels.scan_reach(denoise=0.0, noise=5.0) == 0
    assert _kernels.scan_reach(denoise=1.0, noise=5.0) == 8


def test_tiles_cleaned_from_their_halo_equal_the_whole_image(sources):
    _, scan = _degraded(sources["map"], sigma=6.0, seed=4)
    h, w = scan.shape[:2]
    whole = _kernels.denoise(scan, strength=2.0, noise=5.0)
    halo = _kernels.scan_reach(denoise=2.0, noise=5.0)
    rng = np.random.default_rng(0)
    for _ in range(40):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        cw, ch = int(rng.integers(1, min(60, w - x0) + 1)), int(rng.integers(1, min(60, h - y0) + 1))
        wx0, wy0 = max(0, x0 - halo), max(0, y0 - halo)
        wx1, wy1 = min(w, x0 + cw + halo), min(h, y0 + ch + halo)
        core = _kernels.tile_prepare(
            np.ascontiguousarray(scan[wy0:wy1, wx0:wx1]),
            x0=wx0,
            y0=wy0,
            width=w,
            height=h,
            core_x0=x0,
            core_y0=y0,
            core_width=cw,
            core_height=ch,
            denoise=2.0,
            noise=5.0,
        )
        assert np.array_equal(core, whole[y0 : y0 + ch, x0 : x0 + cw]), (x0, y0, cw, ch)


def test_bad_input_is_refused(sources):
    icon = np.ascontiguousarray(sources["icon"][:40, :40])
    with pytest.raises(_kernels.KernelOptionError, match="denoise"):
        _kernels.denoise(icon, strength=-1.0, noise=5.0)
    with pytest.raises(_kernels.KernelOptionError, match="noise"):
        _kernels.denoise(icon, strength=1.0, noise=float("nan"))
    rgba = np.dstack([icon, np.full((40, 40), 255, np.uint8)])
    rgba[0, 0, 3] = 0
    with pytest.raises(_kernels.KernelInputError, match="opaque"):
        _kernels.denoise(rgba, strength=1.0, noise=5.0)
    # A window that does not hold the core's halo.
    with pytest.raises(_kernels.KernelInputError, match="halo"):
        _kernels.tile_prepare(
            np.ascontiguousarray(icon[10:30, 10:30]),
            x0=10,
            y0=10,
            width=40,
            height=40,
            core_x0=12,
            core_y0=12,
            core_width=4,
            core_height=4,
            denoise=1.0,
            noise=5.0,
        )
