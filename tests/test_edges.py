"""Edge kernels (Gaussian blur, Sobel, Canny), ``vectile.detect_edges`` and ``vectile edges``.

Map conventions checked here: pixel ``(x, y)`` of an edge map is pixel ``(x, y)`` of the image;
a step between columns ``x`` and ``x + 1`` is marked on column ``x`` (the top row for a
horizontal step); strengths are gradient magnitudes in units of a black-to-white step.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import vectile
from vectile import _kernels
from vectile.cli import main as cli_main


def _noise(h: int, w: int, c: int = 1, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, c), dtype=np.uint8)


def _step(h: int = 16, w: int = 24, at: int = 12, lo: int = 30, hi: int = 220) -> np.ndarray:
    img = np.full((h, w), lo, np.uint8)
    img[:, at:] = hi
    return img


# --- kernels ---------------------------------------------------------------------------------


@pytest.mark.parametrize("sigma", [0.7, 1.4, 2.5, 5.0])
def test_blur_preserves_mean_and_flat_images(sigma: float) -> None:
    img = _noise(40, 50, 3)
    out = _kernels.gaussian_blur(img, sigma=sigma)
    assert out.shape == img.shape and out.dtype == np.uint8
    assert abs(float(out.mean()) - float(img.mean())) < 0.5
    assert out.std() < img.std() / 2  # it does smooth
    flat = np.full((9, 7, 1), 137, np.uint8)
    assert np.array_equal(_kernels.gaussian_blur(flat, sigma=sigma), flat)


def test_blur_sigma_zero_is_a_copy() -> None:
    img = _noise(5, 6, 3)
    assert np.array_equal(_kernels.gaussian_blur(img, sigma=0.0), img)


def test_sobel_of_a_ramp() -> None:
    ramp = np.tile((np.arange(10) * 7).astype(np.uint8), (6, 1))[:, :, None]
    gx, gy, magnitude, direction = _kernels.sobel(ramp, polar=True)
    assert gx.dtype == np.int16 and gx.shape == (6, 10)
    assert (gx[:, 1:-1] == 4 * 14).all() and (gx[:, [0, -1]] == 0).all()  # reflect-101 border
    assert (gy == 0).all()
    assert np.allclose(magnitude[:, 1:-1], 56.0) and np.allclose(direction[:, 1:-1], 0.0)


def test_canny_step_edge_is_one_pixel_at_the_step() -> None:
    for lo, hi in ((30, 220), (220, 30)):
        edges, strength, low, high = _kernels.canny(_step(lo=lo, hi=hi)[:, :, None], sigma=1.4, low=0.05, high=0.1)
        assert strength is None and (low, high) == pytest.approx((0.05, 0.1))
        assert edges.dtype == np.uint8 and set(np.unique(edges)) == {0, 255}
        cols = [np.flatnonzero(row).tolist() for row in edges]
        assert cols == [[11]] * 16


def test_hysteresis_keeps_what_is_connected_to_strong_edges() -> None:
    img = np.zeros((20, 30), np.uint8)
    img[:, 5:15] = (200 - 8 * np.arange(20))[:, None]  # contrast fading from strong to weak
    img[:, 22:] = 50  # weak everywhere, not connected to anything strong
    edges = _kernels.canny(img[:, :, None], sigma=0.0, low=0.15, high=0.5)[0]
    assert (edges[:, 4:6] > 0).any(axis=1).all()
    assert not edges[:, 20:].any()
    only_strong = _kernels.canny(img[:, :, None], sigma=0.0, low=0.5, high=0.5)[0]
    assert only_strong[:3, 4:6].any() and not only_strong[15:, 4:6].any()


def test_automatic_thresholds() -> None:
    flat = np.full((20, 30, 1), 90, np.uint8)
    edges, strength, low, high = _kernels.canny(flat, sigma=1.0, strength=True)
    assert not edges.any() and not strength.any()
    assert high == pytest.approx(1 / 1020) and low == pytest.approx(0.4 * high)
    noisy = _noise(48, 64)
    _, _, low, high = _kernels.canny(noisy, sigma=1.0)
    blurred = _kernels.gaussian_blur(noisy, sigma=1.0)
    magnitude = _kernels.sobel(blurred, polar=True)[2] / 1020.0
    q = np.sort(magnitude.ravel())[int(np.ceil(0.7 * magnitude.size)) - 1]
    assert q <= high <= q + 1 / 1020 + 1e-7
    assert low == pytest.approx(0.4 * high)


def test_strength_map_thresholds_reproduce_canny() -> None:
    img = _noise(50, 60, 3, seed=4)
    img[10:35, 15:45] = img[10:35, 15:45] // 4 + 180
    strength = vectile.detect_edges(img, sigma=1.2, low=0.4e-4, high=1e-4)
    assert strength.dtype == np.float32 and 0 <= strength.min() and strength.max() <= 1
    for t in (0.0234, 0.0567, 0.1234):
        edges = _kernels.canny(img, sigma=1.2, low=0.4 * t, high=t)[0]
        assert np.array_equal(edges > 0, strength >= t)


def test_strength_map_alone_skips_the_edge_map() -> None:
    # edges=False returns no edge map and the same strength map, bit for bit, with known and
    # automatic thresholds; the edge map it skips is the strength map's nonzero pixels.
    img = _noise(300, 200, 3, seed=5)
    img[40:260, 30:170] = img[40:260, 30:170] // 4 + 170
    for low, high in ((0.02, 0.05), (None, None)):
        edges, strength, lo, hi = _kernels.canny(img, sigma=1.2, low=low, high=high, strength=True)
        none, alone, lo2, hi2 = _kernels.canny(img, sigma=1.2, low=low, high=high, strength=True, edges=False)
        assert none is None and (lo2, hi2) == (lo, hi)
        assert strength.tobytes() == alone.tobytes()
        assert np.array_equal(edges > 0, alone > 0) and (edges > 0).sum() > 1000
    nothing, no_strength, lo3, hi3 = _kernels.canny(img, sigma=1.2, low=0.02, high=0.05, edges=False)
    assert nothing is None and no_strength is None
    assert (lo3, hi3) == _kernels.canny(img, sigma=1.2, low=0.02, high=0.05)[2:]


def test_colour_canny_uses_the_strongest_channel() -> None:
    # Only the blue channel has a step: a grey conversion would nearly hide it.
    img = np.zeros((12, 20, 3), np.uint8)
    img[:, :, 0] = 120
    img[:, 10:, 2] = 90
    edges = vectile.detect_edges(img, sigma=0.0, low=0.1, high=0.2)
    assert (edges[:, 9] > 0).all() and (edges > 0).sum() == 12


def test_kernels_release_the_gil() -> None:
    img = _noise(600, 800, 3)
    done = []
    worker = threading.Thread(target=lambda: done.append(_kernels.canny(img, sigma=2.0, strength=True)))
    worker.start()
    ticks = 0
    while worker.is_alive():  # the main thread keeps running while the kernel works
        ticks += 1
    worker.join()
    assert done and ticks > 0


def test_matches_opencv() -> None:
    cv2 = pytest.importorskip("cv2")
    grey = _noise(61, 83)[:, :, 0]
    grey = cv2.GaussianBlur(grey, (0, 0), 2.0)  # some structure, not just noise
    ours = _kernels.gaussian_blur(grey[:, :, None], sigma=1.4)[:, :, 0]
    theirs = cv2.GaussianBlur(grey, (0, 0), 1.4)
    assert np.abs(ours.astype(int) - theirs.astype(int)).max() <= 1
    gx, gy = _kernels.sobel(grey[:, :, None])
    assert np.array_equal(gx, cv2.Sobel(grey, cv2.CV_16S, 1, 0))
    assert np.array_equal(gy, cv2.Sobel(grey, cv2.CV_16S, 0, 1))


# --- API -------------------------------------------------------------------------------------


def test_detect_edges_on_files_and_images(tmp_path: Path) -> None:
    img = np.zeros((16, 16, 3), np.uint8)
    img[4:12, 4:12] = (200, 40, 40)
    path = tmp_path / "square.png"
    Image.fromarray(img).save(path)
    a = vectile.detect_edges(path)
    b = vectile.detect_edges(Image.open(path))
    c = vectile.detect_edges(img)
    assert a.shape == (16, 16) and np.array_equal(a, b) and np.array_equal(a, c)
    assert (a > 0).sum() >= 28  # the square's outline
    sobel = vectile.detect_edges(img, "sobel", sigma=0)
    assert sobel.dtype == np.float32 and sobel.max() <= 1 and (sobel > 0).sum() > (a > 0).sum()


def test_grey_and_transparent_inputs() -> None:
    grey = _step()
    rgb = np.repeat(grey[:, :, None], 3, axis=2)
    assert np.array_equal(vectile.detect_edges(grey), vectile.detect_edges(rgb))
    # Grey arrays go to the kernel as they are (no RGB round trip): same maps for every layout.
    photo = _noise(40, 60, 1, seed=3)[:, :, 0]
    for kwargs in ({}, {"low": 0.05, "high": 0.1}, {"sigma": 0}):
        want = vectile.detect_edges(np.repeat(photo[:, :, None], 3, axis=2), **kwargs)
        assert (want > 0).any()
        for layout in (photo, photo[:, :, None], np.asfortranarray(photo), photo[::-1][::-1]):
            assert np.array_equal(vectile.detect_edges(layout, **kwargs), want)
        wide = np.zeros((40, 120), np.uint8)
        wide[:, ::2] = photo  # a strided view
        assert np.array_equal(vectile.detect_edges(wide[:, ::2], **kwargs), want)
    # A red square on transparent: its outline is an edge once composited on white.
    rgba = np.zeros((16, 16, 4), np.uint8)
    rgba[4:12, 4:12] = (255, 0, 0, 255)
    assert (vectile.detect_edges(rgba, sigma=0, high=0.2) > 0).sum() >= 28


@pytest.mark.parametrize(
    ("kwargs", "option"),
    [
        ({"method": "deep"}, "method"),
        ({"method": "learned", "alpha": 0.5}, "alpha"),
        ({"sigma": -1.0}, "sigma"),
        ({"sigma": float("nan")}, "sigma"),
        ({"sigma": True}, "sigma"),
        ({"low": 0.5, "high": 0.2}, "low"),
        ({"high": 0.0}, "high"),
        ({"high": 1.5}, "high"),
        ({"low": "x"}, "low"),
        ({"method": "sobel", "low": 0.1}, "low"),
    ],
)
def test_bad_options(kwargs: dict, option: str) -> None:
    with pytest.raises(vectile.OptionError) as info:
        vectile.detect_edges(np.zeros((4, 4), np.uint8), **kwargs)
    assert info.value.option == option


def test_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(vectile.InputError, match="no such file"):
        vectile.detect_edges(tmp_path / "missing.png")
    (tmp_path / "junk.png").write_bytes(b"not an image")
    with pytest.raises(vectile.InputError, match="junk.png"):
        vectile.detect_edges(tmp_path / "junk.png")
    with pytest.raises(vectile.InputError, match="shape"):
        vectile.detect_edges(np.zeros((2, 3, 5), np.uint8))
    with pytest.raises(vectile.InputError):
        vectile.detect_edges(np.zeros((0, 3), np.uint8))
    with pytest.raises(vectile.InputError, match="over the limit"):
        vectile.detect_edges(np.zeros((10, 10), np.uint8), max_pixels=50)


# --- CLI -------------------------------------------------------------------------------------


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    img = np.zeros((24, 32, 3), np.uint8)
    img[6:18, 8:24] = (30, 160, 220)
    path = tmp_path / "photo.png"
    Image.fromarray(img).save(path)
    return path


def test_cli_writes_png(photo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["edges", str(photo)]) == 0
    out = photo.with_suffix(".edges.png")
    grey = np.asarray(Image.open(out))
    assert grey.shape == (24, 32) and grey.dtype == np.uint8 and grey.max() > 0
    assert "wrote" in capsys.readouterr().err
    binary = photo.parent / "b.png"
    assert cli_main(["edges", str(photo), "-o", str(binary), "--binary", "--sigma", "0", "-q"]) == 0
    values = np.unique(np.asarray(Image.open(binary)))
    assert values.tolist() == [0, 255]
    assert not list(photo.parent.glob(".*.tmp"))


def test_cli_stdout(photo: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    assert cli_main(["edges", str(photo), "-o", "-", "--method", "sobel"]) == 0
    data = capsysbinary.readouterr().out
    assert Image.open(io.BytesIO(data)).size == (32, 24)


@pytest.mark.parametrize(
    "argv",
    [
        ["--sigma", "-1"],
        ["--high", "2"],
        ["--low", "nan"],
        ["--method", "deep"],
        ["--method", "canny", "--alpha", "0.5"],
        ["--method", "blend", "--alpha", "2"],
        ["--method", "sobel", "--low", "0.1"],
        ["--low", "0.5", "--high", "0.2"],
    ],
)
def test_cli_bad_options(photo: Path, argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    out = photo.parent / "out.png"
    assert cli_main(["edges", str(photo), "-o", str(out), *argv]) == 2
    assert "vectile: error:" in capsys.readouterr().err
    assert not out.exists()


def test_cli_bad_input_names_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    out = tmp_path / "out.png"
    assert cli_main(["edges", str(junk), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vectile: error:") and "junk.png" in err
    assert not out.exists() and not list(tmp_path.glob(".*.tmp"))
    assert cli_main(["edges", str(tmp_path / "nope.png"), "-o", str(out)]) == 2
    assert "nope.png" in capsys.readouterr().err
    assert cli_main(["edges", str(junk), "-o", str(tmp_path / "no" / "dir.png")]) == 2
    assert "does not exist" in capsys.readouterr().err


# --- edges in the tracer ---------------------------------------------------------------------


def test_vectorize_with_edges(tmp_path: Path) -> None:
    img = np.full((40, 48, 3), 235, np.uint8)
    img[8:32, 10:38] = (60, 120, 200)
    img[8:32, 10] = img[8:32, 37] = img[8, 10:38] = img[31, 10:38] = (20, 20, 20)  # thin outline
    plain = vectile.vectorize(img, colors=3)
    guided = vectile.vectorize(img, colors=3, edges="canny")
    assert str(guided) == str(vectile.vectorize(img, colors=3, edges="canny"))  # deterministic
    assert str(plain) == str(vectile.vectorize(img, colors=3, edges=None))
    assert "#141414" in str(guided)  # the outline is a shape of its own colour
    with pytest.raises(vectile.OptionError, match="edges"):
        vectile.vectorize(img, edges="sobel")  # type: ignore[arg-type]


def test_trace_kernel_edge_guidance() -> None:
    img = np.zeros((6, 8, 3), np.uint8)
    img[:, 4:] = 120
    img[2, 3] = 70  # a speckle next to the step
    options = dict(
        colors=3, seed=0, min_area=2, tolerance=0.5, corner_run=2, precision=1, layers="cutout", mode="color"
    )
    a, _ = _kernels.trace(img, **options)
    b, _ = _kernels.trace(img, **options, edges=np.zeros((6, 8), np.float32))
    assert a == b  # no edges: the unguided result
    with pytest.raises(_kernels.KernelInputError, match="edge map"):
        _kernels.trace(img, **options, edges=np.zeros((5, 8), np.float32))


def test_speed_benchmark_runs() -> None:
    pytest.importorskip("cv2")
    from bench import edge_speed

    result = edge_speed.run(repeat=1)
    assert result["image"] == [1920, 1080] and len(result["rows"]) == 8
    assert all(r["ours_ms"] > 0 and r["opencv_ms"] > 0 for r in result["rows"])
    assert result["pixel_agreement_with_cv2_canny"] > 0.95
    assert "ours / OpenCV" in edge_speed.table(result)
