"""vectile._io.load_image: formats, Pillow modes, numpy arrays, orientation and bad inputs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vectile import _io
from vectile._io import load_image
from vectile.errors import InputError, OptionError, PixelLimitError, VectileError


def _gray3(gray: np.ndarray) -> np.ndarray:
    return np.repeat(np.asarray(gray, dtype=np.uint8)[:, :, None], 3, axis=2)


def _assert_output_array(array: np.ndarray, channels: int) -> None:
    assert array.dtype == np.uint8
    assert array.ndim == 3 and array.shape[2] == channels
    assert array.flags.c_contiguous


# --- errors ---------------------------------------------------------------------------------


def test_error_hierarchy() -> None:
    assert issubclass(InputError, VectileError) and issubclass(InputError, ValueError)
    assert issubclass(OptionError, VectileError) and issubclass(OptionError, ValueError)
    assert InputError("x", path="a.png").path == "a.png"
    assert OptionError("x", option="colors").option == "colors"
    assert InputError("x").path is None


# --- formats --------------------------------------------------------------------------------

LOSSLESS_RGB = [
    ("png", {}),
    ("tif", {}),
    ("tif", {"compression": "tiff_lzw"}),
    ("webp", {"lossless": True}),
    ("bmp", {}),
    ("gif", {}),
]


@pytest.mark.parametrize(("ext", "options"), LOSSLESS_RGB, ids=lambda v: str(v))
def test_lossless_formats_round_trip_rgb(
    save_image: Callable[..., Path], blocks_rgb: np.ndarray, ext: str, options: dict
) -> None:
    path = save_image(f"img.{ext}", blocks_rgb, **options)
    loaded = load_image(path)
    _assert_output_array(loaded, 3)
    np.testing.assert_array_equal(loaded, blocks_rgb)


def test_jpeg_round_trip_close(save_image: Callable[..., Path], blocks_rgb: np.ndarray) -> None:
    loaded = load_image(save_image("img.jpg", blocks_rgb, quality=95))
    _assert_output_array(loaded, 3)
    assert loaded.shape == blocks_rgb.shape
    centres = loaded[4::8, 4::8].astype(int)  # block centres, away from the 8x8 DCT edges
    assert np.abs(centres - blocks_rgb[4::8, 4::8]).max() <= 8


@pytest.mark.parametrize(("ext", "options"), [("png", {}), ("tif", {}), ("webp", {"lossless": True, "exact": True})])
def test_rgba_formats_keep_alpha(
    save_image: Callable[..., Path], blocks_rgba: np.ndarray, ext: str, options: dict
) -> None:
    loaded = load_image(save_image(f"img.{ext}", blocks_rgba, **options))
    _assert_output_array(loaded, 4)
    np.testing.assert_array_equal(loaded, blocks_rgba)


def test_opaque_rgba_file_becomes_rgb(save_image: Callable[..., Path], blocks_rgb: np.ndarray) -> None:
    rgba = np.dstack([blocks_rgb, np.full(blocks_rgb.shape[:2], 255, np.uint8)])
    loaded = load_image(save_image("opaque.png", rgba))
    _assert_output_array(loaded, 3)
    np.testing.assert_array_equal(loaded, blocks_rgb)


def test_gif_first_frame(save_image: Callable[..., Path]) -> None:
    first = Image.new("RGB", (6, 4), (200, 10, 10))
    second = Image.new("RGB", (6, 4), (10, 10, 200))
    path = save_image("anim.gif", first, save_all=True, append_images=[second], duration=50)
    with Image.open(path) as check:
        assert check.n_frames == 2
    np.testing.assert_array_equal(load_image(path), np.full((4, 6, 3), (200, 10, 10), np.uint8))


def test_gif_transparency_becomes_alpha(save_image: Callable[..., Path]) -> None:
    image = Image.new("P", (4, 2), 1)
    image.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * (256 - 3) * 3)
    image.putpixel((0, 0), 2)
    loaded = load_image(save_image("t.gif", image, transparency=2))
    _assert_output_array(loaded, 4)
    assert loaded[0, 0, 3] == 0
    assert (loaded[1, :, 3] == 255).all()
    np.testing.assert_array_equal(loaded[1, 1], [255, 0, 0, 255])


def test_tiff_cmyk_file(save_image: Callable[..., Path]) -> None:
    cmyk = np.zeros((2, 3, 4), np.uint8)
    cmyk[0, 0] = (255, 0, 0, 0)  # cyan
    cmyk[0, 1] = (0, 255, 0, 0)  # magenta
    cmyk[0, 2] = (0, 0, 255, 0)  # yellow
    cmyk[1, :] = (0, 0, 0, 255)  # black
    loaded = load_image(save_image("cmyk.tif", Image.fromarray(cmyk, mode="CMYK")))
    expected = np.array([[[0, 255, 255], [255, 0, 255], [255, 255, 0]], [[0, 0, 0]] * 3], dtype=np.uint8)
    np.testing.assert_array_equal(loaded, expected)


def test_jpeg_cmyk_file(save_image: Callable[..., Path]) -> None:
    image = Image.new("CMYK", (16, 16), (255, 0, 0, 0))
    loaded = load_image(save_image("cmyk.jpg", image, quality=95))
    _assert_output_array(loaded, 3)
    assert np.abs(loaded.astype(int) - (0, 255, 255)).max() <= 6


def test_sixteen_bit_png_and_tiff(save_image: Callable[..., Path]) -> None:
    values = np.array([[0, 255, 256, 511], [32768, 65280, 65534, 65535]], dtype=np.uint16)
    expected = _gray3(values >> 8)
    for name in ("g16.png", "g16.tif"):
        path = save_image(name, values)
        with Image.open(path) as check:
            assert check.mode.startswith("I;16")
        np.testing.assert_array_equal(load_image(path), expected)


# --- Pillow modes (in-memory images) -----------------------------------------------------------


def test_mode_1() -> None:
    bits = np.array([[True, False, True], [False, False, True]])
    np.testing.assert_array_equal(load_image(Image.fromarray(bits)), _gray3(bits * 255))


def test_mode_l() -> None:
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    np.testing.assert_array_equal(load_image(Image.fromarray(gray)), _gray3(gray))


def test_mode_la_and_la_premultiplied() -> None:
    gray = np.array([[10, 200], [90, 255]], np.uint8)
    alpha = np.array([[0, 255], [255, 255]], np.uint8)
    image = Image.fromarray(np.dstack([gray, alpha]), mode="LA")
    expected = np.dstack([_gray3(gray), alpha])
    np.testing.assert_array_equal(load_image(image), expected)
    opaque = Image.fromarray(np.dstack([gray, np.full_like(gray, 255)]), mode="LA")
    np.testing.assert_array_equal(load_image(opaque), _gray3(gray))
    np.testing.assert_array_equal(load_image(opaque.convert("La")), _gray3(gray))


def test_mode_p_without_and_with_transparency() -> None:
    image = Image.new("P", (3, 2), 0)
    image.putpalette([10, 20, 30, 200, 100, 0, 1, 2, 3] + [0] * (256 - 3) * 3)
    image.putpixel((1, 0), 1)
    plain = load_image(image)
    _assert_output_array(plain, 3)
    np.testing.assert_array_equal(plain[0], [[10, 20, 30], [200, 100, 0], [10, 20, 30]])

    image.info["transparency"] = 1
    with_alpha = load_image(image)
    _assert_output_array(with_alpha, 4)
    np.testing.assert_array_equal(with_alpha[:, :, 3], [[255, 0, 255], [255, 255, 255]])
    np.testing.assert_array_equal(with_alpha[1, 0], [10, 20, 30, 255])

    image.info["transparency"] = 2  # a transparent index no pixel uses: fully opaque
    _assert_output_array(load_image(image), 3)


def test_mode_p_with_transparency_from_png_file(save_image: Callable[..., Path]) -> None:
    image = Image.new("P", (4, 4), 0)
    image.putpalette([255, 255, 255, 0, 0, 0] + [0] * (256 - 2) * 3)
    image.paste(1, (1, 1, 3, 3))
    loaded = load_image(save_image("p.png", image, transparency=0))
    _assert_output_array(loaded, 4)
    expected_alpha = np.zeros((4, 4), np.uint8)
    expected_alpha[1:3, 1:3] = 255
    np.testing.assert_array_equal(loaded[:, :, 3], expected_alpha)
    np.testing.assert_array_equal(loaded[1:3, 1:3, :3], np.zeros((2, 2, 3), np.uint8))


def test_mode_pa() -> None:
    image = Image.new("PA", (2, 1))
    image.putpalette([255, 0, 0, 0, 0, 255] + [0] * (256 - 2) * 3)
    image.putpixel((0, 0), (0, 255))
    image.putpixel((1, 0), (1, 0))
    loaded = load_image(image)
    np.testing.assert_array_equal(loaded[0, 0], [255, 0, 0, 255])
    assert loaded[0, 1, 3] == 0


def test_modes_rgb_rgba_rgbx(blocks_rgb: np.ndarray, blocks_rgba: np.ndarray) -> None:
    np.testing.assert_array_equal(load_image(Image.fromarray(blocks_rgb)), blocks_rgb)
    np.testing.assert_array_equal(load_image(Image.fromarray(blocks_rgba)), blocks_rgba)
    rgbx = Image.fromarray(blocks_rgb).convert("RGBX")
    assert rgbx.mode == "RGBX"
    np.testing.assert_array_equal(load_image(rgbx), blocks_rgb)


def test_mode_rgba_premultiplied(blocks_rgba: np.ndarray) -> None:
    loaded = load_image(Image.fromarray(blocks_rgba).convert("RGBa"))
    _assert_output_array(loaded, 4)
    np.testing.assert_array_equal(loaded[:, :, 3], blocks_rgba[:, :, 3])
    opaque = blocks_rgba[:, :, 3] == 255
    np.testing.assert_array_equal(loaded[opaque], blocks_rgba[opaque])
    half = blocks_rgba[:, :, 3] == 128  # un-premultiplied, within rounding
    assert np.abs(loaded[half].astype(int) - blocks_rgba[half]).max() <= 2


# 8-bit LAB quantises a and b coarsely: saturated blues come back a few levels off.
@pytest.mark.parametrize(("mode", "tolerance"), [("CMYK", 0), ("YCbCr", 4), ("HSV", 4), ("LAB", 12)])
def test_colour_space_modes_convert_back_to_rgb(blocks_rgb: np.ndarray, mode: str, tolerance: int) -> None:
    converted = Image.fromarray(blocks_rgb).convert(mode)
    assert converted.mode == mode
    loaded = load_image(converted)
    _assert_output_array(loaded, 3)
    assert np.abs(loaded.astype(int) - blocks_rgb).max() <= tolerance


def test_mode_i16_is_top_byte_of_full_range() -> None:
    values = np.array([[0, 255, 256, 32768, 65535]], dtype=np.uint16)
    image = Image.fromarray(values)
    assert image.mode == "I;16"
    np.testing.assert_array_equal(load_image(image), _gray3([[0, 0, 1, 128, 255]]))
    big_endian = Image.frombytes("I;16B", (5, 1), values.astype(">u2").tobytes())
    np.testing.assert_array_equal(load_image(big_endian), _gray3([[0, 0, 1, 128, 255]]))


def test_mode_i16_transparency_key() -> None:
    image = Image.fromarray(np.array([[0, 1000, 65535]], dtype=np.uint16))
    image.info["transparency"] = 1000
    loaded = load_image(image)
    _assert_output_array(loaded, 4)
    np.testing.assert_array_equal(loaded[0, :, 3], [255, 0, 255])


def test_mode_i_is_clipped_then_treated_as_16_bit() -> None:
    values = np.array([[-5, 0, 256, 65535, 70000]], dtype=np.int32)
    image = Image.fromarray(values)
    assert image.mode == "I"
    np.testing.assert_array_equal(load_image(image), _gray3([[0, 0, 1, 255, 255]]))


def test_mode_f_unit_range_and_byte_range() -> None:
    unit = Image.fromarray(np.array([[0.0, 0.2, 0.5, 1.0]], dtype=np.float32))
    assert unit.mode == "F"
    np.testing.assert_array_equal(load_image(unit), _gray3([[0, 51, 128, 255]]))
    byte_scale = Image.fromarray(np.array([[0.0, 100.4, 254.6, 300.0, -3.0]], dtype=np.float32))
    np.testing.assert_array_equal(load_image(byte_scale), _gray3([[0, 100, 255, 255, 0]]))


def test_mode_f_nan_is_rejected() -> None:
    image = Image.fromarray(np.array([[0.0, np.nan]], dtype=np.float32))
    with pytest.raises(InputError, match="NaN"):
        load_image(image)


def test_mode_f_tiff_file(save_image: Callable[..., Path]) -> None:
    values = np.array([[0.0, 0.2, 1.0]], dtype=np.float32)
    np.testing.assert_array_equal(load_image(save_image("f.tif", values)), _gray3([[0, 51, 255]]))


def test_pil_input_is_not_modified(blocks_rgb: np.ndarray) -> None:
    image = Image.fromarray(blocks_rgb).convert("P")
    exif = image.getexif()
    exif[0x0112] = 6
    image.info["exif"] = exif.tobytes()
    before = image.copy()
    load_image(image)
    assert image.mode == "P" and image.size == before.size
    assert image.tobytes() == before.tobytes()


# --- EXIF orientation -----------------------------------------------------------------------

# What a viewer shows for each EXIF orientation of the stored pixels `a` (numpy, rows first).
ORIENTED = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, -1),  # rotate 90 degrees clockwise
    7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
    8: lambda a: np.rot90(a, 1),  # rotate 90 degrees counter-clockwise
}


def _exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


@pytest.mark.parametrize("orientation", sorted(ORIENTED))
def test_exif_orientation_png(save_image: Callable[..., Path], blocks_rgb: np.ndarray, orientation: int) -> None:
    path = save_image(f"o{orientation}.png", blocks_rgb, exif=_exif(orientation))
    np.testing.assert_array_equal(load_image(path), ORIENTED[orientation](blocks_rgb))


def test_exif_orientation_jpeg(save_image: Callable[..., Path], blocks_rgb: np.ndarray) -> None:
    path = save_image("o6.jpg", blocks_rgb, quality=95, exif=_exif(6))
    loaded = load_image(path)
    expected = ORIENTED[6](blocks_rgb)
    assert loaded.shape == expected.shape == (24, 16, 3)
    centres = loaded[4::8, 4::8].astype(int)
    assert np.abs(centres - expected[4::8, 4::8]).max() <= 8


# --- numpy arrays ---------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [3, 4])
def test_uint8_array_passes_through_without_copy(channels: int) -> None:
    array = np.full((5, 7, channels), 255, dtype=np.uint8)  # RGBA with all alpha 255 included
    loaded = load_image(array)
    assert loaded is array
    assert np.shares_memory(loaded, array)


def test_non_contiguous_uint8_array_is_copied(blocks_rgb: np.ndarray) -> None:
    view = blocks_rgb[:, ::2]
    loaded = load_image(view)
    _assert_output_array(loaded, 3)
    assert not np.shares_memory(loaded, blocks_rgb)
    np.testing.assert_array_equal(loaded, view)


def test_gray_arrays() -> None:
    gray = np.arange(6, dtype=np.uint8).reshape(2, 3) * 40
    np.testing.assert_array_equal(load_image(gray), _gray3(gray))
    np.testing.assert_array_equal(load_image(gray[:, :, None]), _gray3(gray))


def test_gray_alpha_array() -> None:
    gray = np.array([[10, 20], [30, 40]], np.uint8)
    alpha = np.array([[255, 0], [255, 255]], np.uint8)
    loaded = load_image(np.dstack([gray, alpha]))
    _assert_output_array(loaded, 4)
    np.testing.assert_array_equal(loaded, np.dstack([_gray3(gray), alpha]))
    opaque = load_image(np.dstack([gray, np.full_like(gray, 255)]))
    np.testing.assert_array_equal(opaque, _gray3(gray))


def test_bool_array() -> None:
    mask = np.array([[True, False], [False, True]])
    np.testing.assert_array_equal(load_image(mask), _gray3(mask * 255))


@pytest.mark.parametrize("dtype", [np.uint16, ">u2"])
def test_uint16_array_shifts_by_eight(dtype: object) -> None:
    values = np.array([[0, 255, 256, 65535]], dtype=dtype)
    np.testing.assert_array_equal(load_image(values), _gray3([[0, 0, 1, 255]]))
    rgba = np.zeros((1, 2, 4), dtype=dtype)
    rgba[..., 3] = 65535
    _assert_output_array(load_image(rgba), 3)  # fully opaque after conversion


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_float_array_scales_unit_range(dtype: type) -> None:
    values = np.array([[0.0, 0.2, 0.5, 1.0]], dtype=dtype)
    np.testing.assert_array_equal(load_image(values), _gray3([[0, 51, 128, 255]]))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -0.01, 1.5])
def test_float_array_out_of_range_is_rejected(bad: float) -> None:
    values = np.array([[0.0, bad]], dtype=np.float32)
    with pytest.raises(InputError, match="input array"):
        load_image(values)


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64, np.uint32, np.complex64, object])
def test_unsupported_dtype_is_rejected(dtype: object) -> None:
    array = np.zeros((2, 2, 3), dtype=dtype)
    with pytest.raises(InputError, match="dtype") as info:
        load_image(array)
    assert str(np.dtype(dtype)) in str(info.value)
    assert "(2, 2, 3)" in str(info.value)


@pytest.mark.parametrize("shape", [(5,), (2, 2, 5), (2, 2, 3, 1), ()])
def test_unsupported_shape_is_rejected(shape: tuple[int, ...]) -> None:
    with pytest.raises(InputError, match="shape"):
        load_image(np.zeros(shape, dtype=np.uint8))


@pytest.mark.parametrize("shape", [(0, 5, 3), (5, 0), (0, 0, 4)])
def test_zero_sized_array_is_rejected(shape: tuple[int, ...]) -> None:
    with pytest.raises(InputError, match="no pixels"):
        load_image(np.zeros(shape, dtype=np.uint8))


def test_array_over_max_pixels_is_rejected() -> None:
    with pytest.raises(InputError, match="over the limit of 11 pixels") as info:
        load_image(np.zeros((3, 4, 3), np.uint8), max_pixels=11)
    assert isinstance(info.value, PixelLimitError)
    assert (info.value.pixels, info.value.limit) == (12, 11)
    assert load_image(np.zeros((3, 4, 3), np.uint8), max_pixels=12).shape == (3, 4, 3)


def test_unsupported_input_type_is_rejected() -> None:
    with pytest.raises(InputError, match="list"):
        load_image([[0, 1], [2, 3]])  # type: ignore[arg-type]


# --- bad files ------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.png"
    with pytest.raises(InputError, match="no such file") as info:
        load_image(path)
    assert "missing.png" in str(info.value)
    assert info.value.path == str(path)


def test_directory(tmp_path: Path) -> None:
    folder = tmp_path / "folder.png"
    folder.mkdir()
    with pytest.raises(InputError, match="directory") as info:
        load_image(folder)
    assert "folder.png" in str(info.value)


@pytest.mark.parametrize("content", [b"", b"hello, not an image\n"])
def test_not_an_image(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "notes.png"
    path.write_bytes(content)
    with pytest.raises(InputError, match="not an image") as info:
        load_image(str(path))
    assert "notes.png" in str(info.value)


@pytest.mark.parametrize("ext", ["png", "jpg"])
def test_truncated_file(save_image: Callable[..., Path], ext: str) -> None:
    noise = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    path = save_image(f"cut.{ext}", noise)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated or corrupt") as info:
        load_image(path)
    assert f"cut.{ext}" in str(info.value)


def test_over_max_pixels_is_checked_on_the_header(png_header_file: Callable[..., Path]) -> None:
    # 100000 x 100000 with no pixel data: only a header check can report the size.
    path = png_header_file(100_000, 100_000)
    with pytest.raises(InputError, match="over the limit") as info:
        load_image(path)
    assert "huge.png" in str(info.value) and "100000 x 100000" in str(info.value)
    # Raising the limit gets past the size check to decoding, which then fails.
    with pytest.raises(InputError, match="truncated or corrupt"):
        load_image(path, max_pixels=10**10)


def test_max_pixels_zero_rejects_a_real_file(png_file: Path) -> None:
    with pytest.raises(InputError, match="blocks.png"):
        load_image(png_file, max_pixels=0)


def test_max_pixels_type_is_checked(png_file: Path) -> None:
    with pytest.raises(TypeError):
        load_image(png_file, max_pixels=1.5)  # type: ignore[arg-type]


def test_open_binary_file(png_file: Path, blocks_rgb: np.ndarray) -> None:
    with open(png_file, "rb") as stream:
        np.testing.assert_array_equal(load_image(stream), blocks_rgb)


# --- Pillow's decompression-bomb limit ------------------------------------------------------


def test_pillow_limit_is_replaced_only_inside_load_image(
    monkeypatch: pytest.MonkeyPatch, png_file: Path, blocks_rgb: np.ndarray
) -> None:
    # Warnings are errors in this suite: a DecompressionBombWarning would fail the test.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    np.testing.assert_array_equal(load_image(png_file), blocks_rgb)  # 384 pixels > 2 * 100
    assert Image.MAX_IMAGE_PIXELS == 100
    with pytest.raises(Image.DecompressionBombError):
        Image.open(png_file)  # Pillow's own rule still holds outside load_image


def test_pillow_limit_override_is_per_thread(monkeypatch: pytest.MonkeyPatch, png_file: Path) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    outcome: list[BaseException | None] = []

    def open_in_other_thread() -> None:
        try:
            Image.open(png_file).close()
            outcome.append(None)
        except Image.DecompressionBombError as exc:
            outcome.append(exc)

    with _io._pixel_limit("'blocks.png'", 1 << 30, str(png_file)):
        with Image.open(png_file) as image:  # this thread: our limit, no error
            assert image.size == (24, 16)
        other = threading.Thread(target=open_in_other_thread)
        other.start()
        other.join()
    assert isinstance(outcome[0], Image.DecompressionBombError)
