"""The Python API (vectile._api): quantize_colors, generate_paths, vectorize options, Svg."""

from __future__ import annotations

import doctest
import math
import os
import stat
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import vectile
from vectile import InputError, OptionError, VectileError, _api

RGB3 = np.array([[255, 0, 0], [0, 128, 255], [20, 20, 20]], np.uint8)


def _three_colour_image() -> np.ndarray:
    """8 x 8 with the colours of ``RGB3`` on 40 / 15 / 9 pixels (most frequent first)."""
    labels = np.zeros((8, 8), np.int32)
    labels[5:, :] = 1  # 24 pixels ...
    labels[5:, :3] = 2  # ... of which 9 become colour 2
    return np.ascontiguousarray(RGB3[labels])


def _noise(h: int = 32, w: int = 32, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


# --------------------------------------------------------------------------- quantize_colors


def test_quantize_exact_palette_when_few_colours() -> None:
    img = _three_colour_image()
    palette, labels = vectile.quantize_colors(img, k=16)
    assert palette.dtype == np.uint8 and palette.shape == (3, 3)
    assert labels.dtype == np.int32 and labels.shape == (8, 8)
    assert palette.tolist() == RGB3.tolist()  # the colours themselves, most frequent first
    np.testing.assert_array_equal(palette[labels], img)


def test_quantize_exact_when_colours_equal_k() -> None:
    img = _three_colour_image()
    palette, labels = vectile.quantize_colors(img, k=3)
    np.testing.assert_array_equal(palette[labels], img)


@pytest.mark.parametrize("k", [1, 2, 5, 16])
def test_quantize_kmeans_palette(k: int) -> None:
    img = _noise()
    palette, labels = vectile.quantize_colors(img, k=k)
    assert palette.dtype == np.uint8 and palette.ndim == 2 and palette.shape[1] == 3
    assert 1 <= palette.shape[0] <= k
    assert labels.dtype == np.int32 and labels.shape == img.shape[:2]
    assert labels.min() >= 0 and labels.max() < palette.shape[0]
    counts = np.bincount(labels.ravel(), minlength=palette.shape[0])
    assert (counts > 0).all()  # no empty palette entries
    assert (np.diff(counts) <= 0).all(), counts  # most frequent colour first
    # Each entry is the mean sRGB of its pixels (rounded).
    for j in range(palette.shape[0]):
        mean = img[labels == j].reshape(-1, 3).mean(axis=0)
        assert np.abs(palette[j].astype(float) - mean).max() <= 1.0, (j, palette[j], mean)


def test_quantize_is_deterministic_for_a_seed() -> None:
    img = _noise(seed=5)
    a = vectile.quantize_colors(img, k=6, seed=7)
    b = vectile.quantize_colors(img.copy(), k=6, seed=7)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_quantize_transparent_pixels_get_minus_one() -> None:
    rgba = np.dstack([_three_colour_image(), np.full((8, 8), 255, np.uint8)])
    rgba[:2, :2, 3] = 0
    rgba[6, 6, 3] = 0
    palette, labels = vectile.quantize_colors(rgba, k=16)
    transparent = rgba[..., 3] == 0
    assert (labels[transparent] == -1).all()
    assert (labels[~transparent] >= 0).all()
    np.testing.assert_array_equal(palette[labels[~transparent]], rgba[..., :3][~transparent])


def test_quantize_fully_transparent_image() -> None:
    palette, labels = vectile.quantize_colors(np.zeros((4, 5, 4), np.uint8), k=3)
    assert palette.shape == (0, 3) and palette.dtype == np.uint8
    assert labels.shape == (4, 5) and (labels == -1).all()


def test_quantize_weights_change_the_palette() -> None:
    # Random greys with a small reddish-brown patch: unweighted, k-means spends all four
    # colours on the greys; a heavy weight on the patch buys it its own palette entry.
    img = np.random.default_rng(0).integers(0, 256, (64, 64, 1), dtype=np.uint8).repeat(3, axis=2)
    target = np.array([150, 110, 100])
    img[:4, :4] = target
    weights = np.ones((64, 64), np.float32)
    weights[:4, :4] = 1000.0
    plain, _ = vectile.quantize_colors(img, k=4)
    weighted, labels = vectile.quantize_colors(img, k=4, weights=weights)
    assert plain.tolist() != weighted.tolist()
    distance = lambda p: int(np.abs(p.astype(int) - target).max(axis=1).min())  # noqa: E731
    assert distance(weighted) <= 2 < distance(plain), (plain.tolist(), weighted.tolist())
    assert (weighted[labels[:4, :4]] == target).all()


def test_quantize_uniform_weights_change_nothing() -> None:
    img = _noise(seed=3)
    a = vectile.quantize_colors(img, k=5)
    b = vectile.quantize_colors(img, k=5, weights=np.full((32, 32), 3.0, np.float32))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


@pytest.mark.parametrize("k", [0, -1, 4097, "x", True, 2.5, None])
def test_quantize_bad_k(k: Any) -> None:
    with pytest.raises(OptionError) as info:
        vectile.quantize_colors(_noise(4, 4), k=k)
    assert info.value.option == "k"
    assert "k" in str(info.value)


@pytest.mark.parametrize(
    "weights",
    [np.ones((3, 3)), np.ones((32, 32, 1)), np.ones(32 * 32), "x", np.full((32, 32), np.nan), -np.ones((32, 32))],
    ids=["shape-3x3", "shape-3d", "flat", "str", "nan", "negative"],
)
def test_quantize_bad_weights(weights: Any) -> None:
    with pytest.raises(OptionError) as info:
        vectile.quantize_colors(_noise(), k=4, weights=weights)
    assert info.value.option == "weights"


# ---------------------------------------------------------------------------- generate_paths

PAL2 = np.array([[255, 0, 0], [0, 0, 255]], np.uint8)


@pytest.mark.parametrize(
    ("labels", "palette"),
    [
        (np.zeros(4, np.int32), PAL2),  # 1-D
        (np.zeros((2, 2, 1), np.int32), PAL2),  # 3-D
        (np.zeros((0, 3), np.int32), PAL2),  # empty
        (np.zeros((2, 2), np.float32), PAL2),  # not integers
        (np.zeros((2, 2), np.int32), np.zeros((2, 4), np.uint8)),  # palette (n, 4)
        (np.zeros((2, 2), np.int32), np.zeros(3, np.uint8)),  # palette 1-D
        (np.zeros((2, 2), np.int32), np.zeros((0, 3), np.uint8)),  # empty palette
        (np.zeros((2, 2), np.int32), np.full((1, 3), 256)),  # palette value > 255
        (np.zeros((2, 2), np.int32), np.full((1, 3), -1)),  # palette value < 0
        (np.zeros((2, 2), np.int32), np.full((1, 3), 0.5)),  # palette not integers
        (np.array([[0, 2]], np.int32), PAL2),  # label 2 has no colour
        (np.array([[0, 1 << 40]], np.int64), PAL2),  # far out of range
    ],
    ids=[
        "labels-1d",
        "labels-3d",
        "labels-empty",
        "labels-float",
        "palette-n4",
        "palette-1d",
        "palette-empty",
        "palette-256",
        "palette-negative",
        "palette-float",
        "label-2",
        "label-2**40",
    ],
)
def test_generate_paths_bad_inputs(labels: np.ndarray, palette: np.ndarray) -> None:
    with pytest.raises(InputError):
        vectile.generate_paths(labels, palette)


def test_generate_paths_label_error_names_the_label() -> None:
    with pytest.raises(InputError, match="label 5"):
        vectile.generate_paths(np.array([[0, 5]], np.int32), PAL2)


def test_generate_paths_negative_labels_below_int32_do_not_wrap() -> None:
    """Labels < 0 are transparent; an int64 label such as -2**32 must not become label 0 when
    narrowed to int32 (it may be rejected instead)."""
    labels = np.array([[1, -(1 << 32)]], np.int64)
    try:
        svg = vectile.generate_paths(labels, PAL2, min_area=1)
    except InputError:
        return
    assert "#f00" not in str(svg), str(svg)  # label 0's colour must not appear


def test_generate_paths_accepts_other_integer_dtypes() -> None:
    labels = np.array([[0, 0, 1], [0, 0, 1]])
    expected = str(vectile.generate_paths(labels.astype(np.int32), PAL2, layers="cutout"))
    for dtype in (np.int8, np.uint8, np.int16, np.int64, np.uint16):
        assert str(vectile.generate_paths(labels.astype(dtype), PAL2, layers="cutout")) == expected
    from_lists = vectile.generate_paths(labels.tolist(), PAL2.tolist(), layers="cutout")  # type: ignore[arg-type]
    assert str(from_lists) == expected


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("tolerance", 0),
        ("tolerance", -1.0),
        ("tolerance", math.nan),
        ("tolerance", "x"),
        ("min_area", 0),
        ("min_area", 1.5),
        ("corner_run", 0),
        ("precision", 5),
        ("precision", -1),
        ("layers", "x"),
    ],
)
def test_generate_paths_bad_options(option: str, value: Any) -> None:
    with pytest.raises(OptionError) as info:
        vectile.generate_paths(np.zeros((2, 2), np.int32), PAL2, **{option: value})
    assert info.value.option == option


def test_generate_paths_stats() -> None:
    svg = vectile.generate_paths(np.array([[0, 0, 1], [0, 0, 1]], np.int32), PAL2, layers="cutout")
    s = svg.stats
    assert (s["width"], s["height"], s["paths"], s["layers"]) == (3, 2, 2, "cutout")
    assert s["bytes"] == len(str(svg).encode())
    assert s["regions"] == 2 and s["palette"] == 2


# ------------------------------------------------------------------------ vectorize: options

VECTORIZE_BAD_OPTIONS = [
    ("colors", 0),
    ("colors", 257),
    ("colors", -1),
    ("colors", "x"),
    ("colors", True),
    ("colors", 2.5),
    ("tolerance", 0),
    ("tolerance", -1),
    ("tolerance", math.nan),
    ("tolerance", math.inf),
    ("tolerance", 101),
    ("tolerance", "x"),
    ("tolerance", True),
    ("precision", 5),
    ("precision", -1),
    ("precision", 1.0),
    ("layers", "x"),
    ("layers", None),
    ("layers", "STACKED"),
    ("mode", "x"),
    ("mode", None),
    ("preset", "x"),
    ("preset", 3),
    ("preset", "Icon"),
    ("min_area", 0),
    ("min_area", -3),
    ("min_area", 1.5),
    ("corner_run", 0),
    ("corner_run", "2"),
    ("seed", -1),
    ("seed", 1 << 64),
    ("seed", "x"),
    ("threshold", -1),
    ("threshold", 256),
    ("threshold", 1.5),
    ("weights", np.ones((3, 3))),
    ("weights", np.ones((8, 8, 1))),
    ("weights", np.ones(64)),
    ("weights", "x"),
    ("weights", np.full((8, 8), np.nan)),
    ("weights", -np.ones((8, 8))),
]


def _option_id(case: tuple[str, Any]) -> str:
    option, value = case
    if not isinstance(value, np.ndarray):
        text = repr(value)
    elif np.isnan(value).any():
        text = "nan"
    elif (value < 0).any():
        text = "negative"
    else:
        text = "x".join(map(str, value.shape))
    return f"{option}={text}"


@pytest.mark.parametrize(("option", "value"), VECTORIZE_BAD_OPTIONS, ids=[_option_id(c) for c in VECTORIZE_BAD_OPTIONS])
def test_vectorize_bad_option_names_the_option(option: str, value: Any) -> None:
    img = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(OptionError) as info:
        vectile.vectorize(img, **{option: value})
    assert info.value.option == option, info.value
    assert option in str(info.value)
    assert isinstance(info.value, VectileError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("colors", 1),
        ("colors", 256),
        ("colors", np.int64(4)),
        ("tolerance", 100),
        ("tolerance", np.float32(0.3)),
        ("precision", 0),
        ("precision", 4),
        ("min_area", 1),
        ("corner_run", 1),
        ("seed", (1 << 64) - 1),
        ("threshold", 0),
        ("threshold", 255),
        ("weights", np.ones((8, 8), np.float64)),
        ("weights", np.zeros((8, 8), np.float32)),
    ],
)
def test_vectorize_accepts_boundary_values(option: str, value: Any) -> None:
    img = _noise(8, 8)
    mode = "binary" if option == "threshold" else "color"
    assert str(vectile.vectorize(img, mode=mode, **{option: value})).startswith("<svg")


def test_vectorize_precision_bounds_the_decimals() -> None:
    img = np.kron(_noise(6, 6, seed=2), np.ones((5, 5, 1), np.uint8))
    for precision in range(5):
        svg = str(vectile.vectorize(img, preset="photo", precision=precision))
        for d in (part.split('"')[0] for part in svg.split(' d="')[1:]):
            decimals = [len(n.split(".")[1]) for n in d.replace("-", " ").split() if "." in n]
            assert max(decimals, default=0) <= precision, (precision, d[:80])


# ------------------------------------------------------------------------------------- Svg


def test_svg_text_and_stats() -> None:
    from bench.metrics import svg_counts

    img = np.kron(_noise(6, 8), np.ones((4, 4, 1), np.uint8))
    svg = vectile.vectorize(img, preset="icon")
    text = str(svg)
    assert text.startswith("<svg ") and text.endswith("</svg>\n")
    assert svg._repr_svg_() == text
    s = svg.stats
    assert {"width", "height", "preset", "paths", "commands", "bytes", "seconds"} <= set(s)
    assert (s["width"], s["height"], s["preset"]) == (32, 24, "icon")
    counts = svg_counts(text)
    assert s["bytes"] == counts["bytes"] == len(text.encode("utf-8"))
    assert s["paths"] == counts["paths"]
    assert s["commands"] == counts["commands"]
    assert isinstance(s["seconds"], float) and s["seconds"] >= 0
    assert repr(svg) == f"<Svg 32x24 paths={s['paths']} bytes={s['bytes']}>"


def test_svg_preset_is_chosen_when_omitted() -> None:
    flat = np.kron(_noise(4, 4), np.ones((8, 8, 1), np.uint8))
    assert vectile.vectorize(flat).stats["preset"] == "icon"
    assert vectile.vectorize(_noise(64, 64)).stats["preset"] == "photo"
    assert vectile.vectorize(flat, mode="binary").stats["preset"] == "lineart"


def _files(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


def test_save_writes_the_text(tmp_path: Path) -> None:
    svg = vectile.vectorize(np.kron(_noise(4, 4), np.ones((4, 4, 1), np.uint8)))
    target = tmp_path / "out.svg"
    assert svg.save(target) == target
    assert target.read_text(encoding="utf-8") == str(svg)
    assert target.read_bytes() == str(svg).encode("utf-8")
    assert _files(tmp_path) == ["out.svg"]  # no temporary files left
    # A str path, overwriting the existing file.
    other = vectile.vectorize(np.zeros((3, 3, 3), np.uint8))
    assert Path(other.save(str(target))) == target
    assert target.read_text(encoding="utf-8") == str(other)
    assert _files(tmp_path) == ["out.svg"]


def test_save_relative_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    svg = vectile.vectorize(np.zeros((3, 3, 3), np.uint8))
    svg.save("plain.svg")
    assert (tmp_path / "plain.svg").read_text(encoding="utf-8") == str(svg)
    assert _files(tmp_path) == ["plain.svg"]


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600)])
def test_save_uses_normal_file_permissions(tmp_path: Path, umask: int, mode: int) -> None:
    """A saved SVG gets the permissions of any new file (0o666 minus the umask), not the
    owner-only 0o600 of a mkstemp temporary."""
    svg = vectile.vectorize(np.zeros((3, 3, 3), np.uint8))
    old = os.umask(umask)
    try:
        svg.save(tmp_path / "out.svg")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out.svg").stat().st_mode) == mode


def test_save_is_atomic_on_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.svg"
    target.write_text("old contents", encoding="utf-8")
    svg = vectile.vectorize(np.zeros((3, 3, 3), np.uint8))

    def fail(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    monkeypatch.setattr(os, "rename", fail)
    with pytest.raises(OSError, match="disk full"):
        svg.save(target)
    assert target.read_text(encoding="utf-8") == "old contents"
    assert _files(tmp_path) == ["out.svg"]  # the temporary file was removed


def test_save_into_missing_folder_fails_cleanly(tmp_path: Path) -> None:
    svg = vectile.vectorize(np.zeros((3, 3, 3), np.uint8))
    with pytest.raises(FileNotFoundError):
        svg.save(tmp_path / "missing" / "out.svg")
    assert _files(tmp_path) == []


# --------------------------------------------------------------------------------- doctests


def test_api_doctests() -> None:
    result = doctest.testmod(_api, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.attempted >= 10  # Svg, vectorize, quantize_colors and generate_paths examples
    assert result.failed == 0
