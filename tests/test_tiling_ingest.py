"""vectile.tiling's ingest (``load_or_store``): header probe, streaming into Zarr v3 tile
stores, tiled TIFF in place, small images whole.

Most tests ask ``load_or_store`` to tile every image (``threshold_pixels=0``) and look at
the result as :func:`~vectile.tiling.store.open_tiles` shows it.  Every image is generated
here, small (700 x 513: not a multiple of any tile size used), and the tiled result must
equal :func:`vectile.load_image` pixel for pixel.
"""

from __future__ import annotations

import json
import os
import pickle
import struct
import subprocess
import sys
import textwrap
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import pytest
import pyvips  # type: ignore[import-untyped]
import tifffile
import xarray as xr
import zarr
from PIL import Image

from vectile import load_image
from vectile.errors import InputError, OptionError, PixelLimitError
from vectile.options import DEFAULT_TILE_SIZE
from vectile.tiling import ingest as ig
from vectile.tiling import stream, tiff
from vectile.tiling.header import ImageInfo, probe
from vectile.tiling.ingest import load_or_store
from vectile.tiling.store import open_store, open_tiles, store_name

HEIGHT, WIDTH = 513, 700
ATTRS = ("tile_size", "source", "format", "width", "height")


def _ingest(source: Path, folder: Path, tile_size: int = DEFAULT_TILE_SIZE, **options: Any) -> xr.DataArray:
    """``source`` tiled by the production entry (every image over the threshold of 0 pixels):
    a streamed image's store in ``folder`` opened as a DataArray, or the tiled TIFF in place."""
    found = load_or_store(source, folder, tile_size=tile_size, threshold_pixels=0, **options)
    return open_tiles(found) if isinstance(found, Path) else found


def _noise(shape: tuple[int, ...], dtype: type = np.uint8, seed: int = 7) -> np.ndarray:
    high = np.iinfo(dtype).max + 1
    return np.random.default_rng(seed).integers(0, high, shape, dtype=dtype)


def _alpha(seed: int = 8) -> np.ndarray:
    """Alpha with fully transparent, half and opaque pixels."""
    alpha = _noise((HEIGHT, WIDTH), seed=seed)
    alpha[:100] = 255
    alpha[100:150, :200] = 0
    return alpha


def _save_pil(path: Path, array: np.ndarray, mode: str | None = None, **options: Any) -> Path:
    with Image.fromarray(array) as image:
        if mode is None or image.mode == mode:
            image.save(path, **options)
        else:
            with image.convert(mode) as converted:
                converted.save(path, **options)
    return path


def _with_orientation(path: Path, array: np.ndarray, orientation: int, **options: Any) -> Path:
    with Image.fromarray(array) as image:
        exif = image.getexif()
        exif[0x0112] = orientation
        image.save(path, exif=exif, **options)
    return path


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG claiming ``width x height`` RGB pixels with a tiny IDAT: its header is valid,
    its pixels cannot be decoded (100 bytes of data for billions of samples)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 100))
        + _png_chunk(b"IEND", b"")
    )
    return path


# --- image makers: name -> (tmp_path -> path) ---------------------------------------------


def _rgb() -> np.ndarray:
    return _noise((HEIGHT, WIDTH, 3))


def _png_trns(path: Path) -> Path:
    rgb = _rgb()
    key = (10, 20, 30)
    rgb[200:260, 300:400] = key
    return _save_pil(path, rgb, transparency=key)


def _png_rgb16(path: Path) -> Path:
    image = pyvips.Image.new_from_array(_noise((HEIGHT, WIDTH, 3), np.uint16), interpretation="rgb16")
    image.pngsave(str(path))
    return path


def _tiled(array: np.ndarray, **options: object) -> Callable[[Path], Path]:
    def make(path: Path) -> Path:
        tifffile.imwrite(path, array, tile=(64, 64), **options)  # type: ignore[arg-type]
        return path

    return make


def _strip_tiff(path: Path, array: np.ndarray) -> Path:
    tifffile.imwrite(path, array, rowsperstrip=16)
    return path


def _tiled_lzw(path: Path) -> Path:
    # LZW tiles: tifffile needs imagecodecs to decode them, so they are streamed by libvips.
    pyvips.Image.new_from_array(_rgb()).tiffsave(str(path), tile=True, tile_width=64, tile_height=64, compression="lzw")
    return path


STREAMED: dict[str, Callable[[Path], Path]] = {
    "png_rgb.png": lambda p: _save_pil(p, _rgb()),
    "png_rgba.png": lambda p: _save_pil(p, np.dstack([_rgb(), _alpha()])),
    "png_rgba_opaque.png": lambda p: _save_pil(p, np.dstack([_rgb(), np.full((HEIGHT, WIDTH), 255, np.uint8)])),
    "png_l.png": lambda p: _save_pil(p, _noise((HEIGHT, WIDTH))),
    "png_la.png": lambda p: _save_pil(p, np.dstack([_noise((HEIGHT, WIDTH)), _alpha()]), "LA"),
    "png_i16.png": lambda p: _save_pil(p, _noise((HEIGHT, WIDTH), np.uint16)),
    "png_rgb16.png": _png_rgb16,
    "png_palette.png": lambda p: _save_pil(p, _rgb(), "P"),
    "png_trns.png": _png_trns,
    "png_orient6.png": lambda p: _with_orientation(p, _rgb(), 6),
    "tiff_strip_rgb.tif": lambda p: _save_pil(p, _rgb()),
    "tiff_strip_cmyk.tif": lambda p: _save_pil(p, _rgb(), "CMYK"),
    "tiff_strip_i16.tif": lambda p: _strip_tiff(p, _noise((HEIGHT, WIDTH), np.uint16)),
    "tiff_strip_orient3.tif": lambda p: _with_orientation(p, _rgb(), 3),
    "tiff_tiled_lzw.tif": _tiled_lzw,
    "webp_lossless.webp": lambda p: _save_pil(p, np.dstack([_rgb(), _alpha()]), lossless=True),
}
IN_PLACE: dict[str, Callable[[Path], Path]] = {
    "tiled_rgb.tif": _tiled(_rgb(), photometric="rgb"),
    "tiled_rgba.tif": _tiled(np.dstack([_rgb(), _alpha()]), photometric="rgb", extrasamples=["unassalpha"]),
    "tiled_i16.tif": _tiled(_noise((HEIGHT, WIDTH), np.uint16), photometric="minisblack"),
    "tiled_la.tif": _tiled(
        np.dstack([_noise((HEIGHT, WIDTH)), _alpha()]),
        photometric="minisblack",
        extrasamples=["unassalpha"],
    ),
    "tiled_planar.tif": _tiled(_noise((3, HEIGHT, WIDTH)), photometric="rgb", planarconfig="separate"),
    "tiled_cmyk.tif": _tiled(_noise((HEIGHT, WIDTH, 4)), photometric="separated"),
    "tiled_orient8.tif": _tiled(_rgb(), photometric="rgb", extratags=[(274, 3, 1, 8, True)]),
}
JPEG: dict[str, Callable[[Path], Path]] = {
    "jpeg_rgb.jpg": lambda p: _save_pil(p, _rgb(), quality=90),
    "jpeg_l.jpg": lambda p: _save_pil(p, _noise((HEIGHT, WIDTH)), quality=90),
    "jpeg_cmyk.jpg": lambda p: _save_pil(p, _rgb(), "CMYK", quality=90),
    "jpeg_orient6.jpg": lambda p: _with_orientation(p, _rgb(), 6, quality=90),
}
ALL = {**STREAMED, **IN_PLACE, **JPEG}


def _grid(length: int, tile: int) -> tuple[int, ...]:
    return (tile,) * (length // tile) + ((length % tile,) if length % tile else ())


def _check_tiles(result: xr.DataArray, source: Path, tile: int, fmt: str) -> None:
    """Dims, attrs and the processing-tile chunk grid of an ingest result."""
    assert isinstance(result, xr.DataArray)
    assert isinstance(result.data, da.Array), "pixels must stay lazy"
    assert result.dims == ("y", "x", "band")
    assert result.dtype == np.uint8
    height, width, bands = result.shape
    assert bands in (3, 4)
    assert list(result["band"].values) == ["R", "G", "B", "A"][:bands]
    assert {key: result.attrs[key] for key in ATTRS} == {
        "tile_size": tile,
        "source": os.path.abspath(source),
        "format": fmt,
        "width": width,
        "height": height,
    }
    assert result.chunks == (_grid(height, tile), _grid(width, tile), (bands,))


def _check_store(store: Path, result: xr.DataArray, tile: int) -> None:
    """The Zarr v3 layout: one shard per processing tile, smaller inner chunks, zstd."""
    array = zarr.open_array(store, mode="r")
    bands = result.shape[2]
    assert array.metadata.zarr_format == 3
    assert array.shape == result.shape and array.dtype == np.uint8
    assert array.shards == (tile, tile, bands)
    inner = array.chunks
    assert inner[2] == bands and inner[0] == inner[1] <= min(tile, 1024) and tile % inner[0] == 0
    assert array.metadata.dimension_names == ("y", "x", "band")
    codecs = json.dumps(array.metadata.to_dict()["codecs"])
    assert "sharding_indexed" in codecs and "zstd" in codecs
    assert result.attrs["store"] == os.path.abspath(store)


def _leftovers(folder: Path) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name.endswith((".zarr", ".tmp")))


# --- pixels: every kind of source equals load_image ----------------------------------------


CASES = [(name, 64) for name in ALL] + [
    (name, tile)
    for tile in (37, 256)
    for name in (
        "png_rgb.png",
        "png_la.png",
        "png_i16.png",
        "tiff_strip_rgb.tif",
        "png_orient6.png",
        "tiled_rgb.tif",
        "tiled_orient8.tif",
    )
]


@pytest.mark.parametrize(("name", "tile"), CASES, ids=[f"{n}-{t}" for n, t in CASES])
def test_ingest_equals_load_image(tmp_path: Path, name: str, tile: int) -> None:
    source = ALL[name](tmp_path / name)
    result = _ingest(source, tmp_path, tile)
    fmt = {"jpg": "jpeg", "tif": "tiff"}.get(source.suffix[1:], source.suffix[1:])
    _check_tiles(result, source, tile, fmt)
    expected = load_image(source)
    if name in IN_PLACE:
        assert _leftovers(tmp_path) == [], "tiled TIFFs are read in place, not copied"
        assert result.attrs["store"] == os.path.abspath(source)
    else:
        assert _leftovers(tmp_path) == [store_name(str(source), tile)]
        _check_store(tmp_path / store_name(str(source), tile), result, tile)
    pixels = result.values
    assert pixels.shape == expected.shape
    if name in JPEG:
        # Pillow and libvips each bundle their own libjpeg-turbo; identically built ones
        # decode identically (max difference 0 here), but builds may differ by a level or two.
        assert np.abs(pixels.astype(int) - expected.astype(int)).max() <= 2
    else:
        np.testing.assert_array_equal(pixels, expected)


def test_jpeg_equals_libvips_full_decode(tmp_path: Path) -> None:
    """Streaming in strips changes nothing: same pixels as libvips decoding the whole file."""
    source = JPEG["jpeg_orient6.jpg"](tmp_path / "photo.jpg")
    result = _ingest(source, tmp_path, 100)
    whole = pyvips.Image.new_from_file(str(source)).autorot().numpy()
    np.testing.assert_array_equal(result.values, whole)


def test_opaque_alpha_is_dropped_like_load_image(tmp_path: Path) -> None:
    source = STREAMED["png_rgba_opaque.png"](tmp_path / "opaque.png")
    assert probe(source).bands == 4  # the header says RGBA ...
    result = _ingest(source, tmp_path, 64)
    assert result.shape == (HEIGHT, WIDTH, 3)  # ... but no pixel is transparent
    assert zarr.open_array(result.attrs["store"], mode="r").shards == (64, 64, 3)


def test_tiled_tiff_in_place_keeps_an_opaque_alpha_band(tmp_path: Path) -> None:
    """Documented difference: finding out that alpha is all opaque would read every tile."""
    rgba = np.dstack([_rgb(), np.full((HEIGHT, WIDTH), 255, np.uint8)])
    source = _tiled(rgba, photometric="rgb", extrasamples=["unassalpha"])(tmp_path / "a.tif")
    result = _ingest(source, tmp_path, 64)
    assert result.shape == (HEIGHT, WIDTH, 4)
    np.testing.assert_array_equal(result.values[:, :, :3], load_image(source))


@pytest.mark.slow
def test_every_exif_orientation_streamed_and_in_place(tmp_path: Path) -> None:
    rgb = _rgb()
    for orientation in range(1, 9):
        png = _with_orientation(tmp_path / f"o{orientation}.png", rgb, orientation)
        tif = _tiled(rgb, photometric="rgb", extratags=[(274, 3, 1, orientation, True)])(
            tmp_path / f"o{orientation}.tif"
        )
        expected = load_image(png)
        assert probe(png).orientation == orientation
        assert (probe(png).width, probe(png).height) == expected.shape[1::-1]
        streamed = _ingest(png, tmp_path, 256)
        in_place = _ingest(tif, tmp_path, 100)
        np.testing.assert_array_equal(streamed.values, expected)
        np.testing.assert_array_equal(in_place.values, load_image(tif))
        np.testing.assert_array_equal(in_place.values, expected)
        assert streamed.chunks is not None and in_place.chunks is not None
        assert streamed.chunks[:2] == (_grid(expected.shape[0], 256), _grid(expected.shape[1], 256))
        assert in_place.chunks[:2] == (_grid(expected.shape[0], 100), _grid(expected.shape[1], 100))


# --- laziness and transport ------------------------------------------------------------------


def test_tiled_tiff_reads_no_tile_until_computed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = IN_PLACE["tiled_rgb.tif"](tmp_path / "t.tif")
    reads: list[object] = []
    original = tiff.TiffPage.__getitem__

    def counting(self: tiff.TiffPage, key: object) -> np.ndarray:
        reads.append(key)
        return original(self, key)

    monkeypatch.setattr(tiff.TiffPage, "__getitem__", counting)
    result = _ingest(source, tmp_path, 128)
    assert reads == []
    block = result[:128, :128].values
    assert len(reads) == 1  # one processing tile, one read
    np.testing.assert_array_equal(block, load_image(source)[:128, :128])


def test_open_tiles_reopens_a_store(tmp_path: Path) -> None:
    source = STREAMED["png_la.png"](tmp_path / "la.png")
    store = load_or_store(source, tmp_path, tile_size=100, threshold_pixels=0)
    assert isinstance(store, Path)
    first, again = open_tiles(store), open_tiles(str(store))
    _check_tiles(again, source, 100, "png")
    assert again.attrs == first.attrs
    assert again.chunks == first.chunks
    np.testing.assert_array_equal(again.values, load_image(source))


@pytest.mark.parametrize("name", ["png_rgba.png", "tiled_planar.tif"])
def test_results_pickle_for_other_processes(tmp_path: Path, name: str) -> None:
    source = ALL[name](tmp_path / name)
    result = _ingest(source, tmp_path, 128)
    copy = pickle.loads(pickle.dumps(result))
    np.testing.assert_array_equal(copy.values, load_image(source))


# --- probe --------------------------------------------------------------------------------


def test_probe_reports_header_fields(tmp_path: Path) -> None:
    rgba = STREAMED["png_rgba.png"](tmp_path / "a.png")
    assert probe(rgba) == ImageInfo(path=str(rgba), format="png", width=WIDTH, height=HEIGHT, bands=4)
    grey = STREAMED["png_l.png"](tmp_path / "l.png")
    assert probe(grey).bands == 3
    assert probe(JPEG["jpeg_cmyk.jpg"](tmp_path / "c.jpg")).bands == 3
    tiled = probe(IN_PLACE["tiled_rgb.tif"](tmp_path / "t.tif"))
    assert (tiled.format, tiled.tiled_tiff, tiled.tile_shape) == ("tiff", True, (64, 64))
    strip = probe(STREAMED["tiff_strip_rgb.tif"](tmp_path / "s.tif"))
    assert (strip.tiled_tiff, strip.tile_shape) == (False, None)
    turned = probe(STREAMED["png_orient6.png"](tmp_path / "o.png"))
    assert (turned.width, turned.height, turned.orientation) == (HEIGHT, WIDTH, 6)


def test_probe_reads_the_header_only(tmp_path: Path) -> None:
    """The file's pixels cannot be decoded (100 bytes of data for 2.7 GB of samples), so a
    probe that succeeds read the header only; decoding them fails, as the ingest shows."""
    source = _png_header_only(tmp_path / "huge.png", 30_000, 30_000)
    info = probe(source)
    assert (info.width, info.height, info.bands, info.format) == (30_000, 30_000, 3, "png")
    with pytest.raises(InputError, match="truncated or corrupt"):
        load_or_store(source, tmp_path, tile_size=256, threshold_pixels=0)
    assert _leftovers(tmp_path) == []


def test_pixel_limit_is_checked_before_decoding(tmp_path: Path) -> None:
    bomb = _png_header_only(tmp_path / "bomb.png", 65_535, 65_535)
    with pytest.raises(PixelLimitError, match="bomb.png") as caught:
        probe(bomb)
    assert caught.value.pixels == 65_535 * 65_535 and caught.value.path == str(bomb)
    small = STREAMED["png_rgb.png"](tmp_path / "small.png")
    with pytest.raises(PixelLimitError) as caught:
        load_or_store(small, tmp_path, threshold_pixels=0, max_pixels=1000)
    assert (caught.value.pixels, caught.value.limit) == (WIDTH * HEIGHT, 1000)
    with pytest.raises(PixelLimitError):
        load_or_store(bomb, tmp_path / "stores", threshold_pixels=10)
    assert _leftovers(tmp_path) == []


# --- bad input ------------------------------------------------------------------------------


def test_bad_files_raise_input_error_naming_them(tmp_path: Path) -> None:
    missing = tmp_path / "missing.png"
    with pytest.raises(InputError, match="missing.png.*no such file") as caught:
        probe(missing)
    assert caught.value.path == str(missing)
    with pytest.raises(InputError, match="directory"):
        probe(tmp_path)
    text = tmp_path / "notes.png"
    text.write_text("not an image\n")
    with pytest.raises(InputError, match="notes.png.*not a PNG, JPEG, WebP or TIFF"):
        probe(text)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    with pytest.raises(InputError, match="broken.png.*corrupt"):
        probe(broken)
    for bad in (missing, text, broken):
        with pytest.raises(InputError):
            load_or_store(bad, tmp_path, threshold_pixels=0)
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("name", ["png_rgb.png", "png_rgba_opaque.png", "png_orient6.png"])
def test_truncated_file_leaves_no_store(tmp_path: Path, name: str) -> None:
    """Decoding fails halfway, after several strips were written: nothing is left behind."""
    whole = STREAMED[name](tmp_path / "whole.png").read_bytes()
    truncated = tmp_path / "cut.png"
    truncated.write_bytes(whole[: len(whole) * 2 // 3])
    assert probe(truncated).width in (WIDTH, HEIGHT)  # the header is intact
    with pytest.raises(InputError, match="cut.png.*truncated or corrupt"):
        load_or_store(truncated, tmp_path, tile_size=64, threshold_pixels=0)
    assert _leftovers(tmp_path) == []


def test_failure_while_writing_is_raised_and_cleaned_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = STREAMED["png_l.png"](tmp_path / "l.png")
    calls = 0
    original = stream.normalise

    def failing(samples: np.ndarray, kind: str) -> np.ndarray:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise OSError(28, "No space left on device")
        return original(samples, kind)  # type: ignore[arg-type]

    monkeypatch.setattr(stream, "normalise", failing)
    with pytest.raises(OSError, match="No space left"):
        load_or_store(source, tmp_path, tile_size=64, threshold_pixels=0)
    assert _leftovers(tmp_path) == []


def test_tile_size_must_be_positive_int(tmp_path: Path) -> None:
    source = STREAMED["png_rgb.png"](tmp_path / "a.png")
    for bad in (0, -64, True, 64.0):
        with pytest.raises(OptionError) as caught:
            load_or_store(source, tmp_path, tile_size=bad, threshold_pixels=0)  # type: ignore[arg-type]
        assert caught.value.option == "tile_size"


def test_unstreamable_sample_format_is_an_input_error(tmp_path: Path) -> None:
    source = tmp_path / "float.tif"
    tifffile.imwrite(source, np.random.default_rng(0).random((64, 80), dtype=np.float32))
    with pytest.raises(InputError, match="float.tif.*float samples"):
        load_or_store(source, tmp_path, threshold_pixels=0)
    assert _leftovers(tmp_path) == []


# --- store replacement ------------------------------------------------------------------------


def test_a_directory_that_is_not_a_store_is_never_replaced(tmp_path: Path) -> None:
    source = STREAMED["png_rgb.png"](tmp_path / "a.png")
    precious = tmp_path / store_name(str(source), 64)  # where the store would go
    precious.mkdir()
    (precious / "thesis.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not a vectile tile store"):
        load_or_store(source, tmp_path, tile_size=64, threshold_pixels=0)
    assert (precious / "thesis.txt").read_text() == "keep me"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_open_tiles_rejects_what_is_not_a_store(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a vectile tile store"):
        open_tiles(tmp_path / "nothing.zarr")
    with pytest.raises(InputError, match="not a vectile tile store"):
        open_tiles(tmp_path)


# --- load_or_store: which images are tiled, store reuse -------------------------------------


def test_small_images_stay_in_memory(tmp_path: Path) -> None:
    source = STREAMED["png_la.png"](tmp_path / "a.png")
    stores = tmp_path / "stores"
    result = load_or_store(source, stores, tile_size=64, threshold_pixels=WIDTH * HEIGHT)
    assert isinstance(result, np.ndarray)
    np.testing.assert_array_equal(result, load_image(source))
    assert not stores.exists()


def test_big_images_are_ingested_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = STREAMED["png_rgb.png"](tmp_path / "a.png")
    stores = tmp_path / "stores"
    found = load_or_store(source, stores, tile_size=64, threshold_pixels=WIDTH * HEIGHT - 1)
    assert isinstance(found, Path)
    result = open_tiles(found)
    _check_tiles(result, source, 64, "png")
    (store,) = stores.iterdir()
    assert store.name.startswith("a-") and store.name.endswith("-t64.zarr")
    _check_store(store, result, 64)
    np.testing.assert_array_equal(result.values, load_image(source))

    def no_decoding(*args: object, **kwargs: object) -> None:
        raise AssertionError("a current store must be reused, not rebuilt")

    with monkeypatch.context() as patch:
        patch.setattr(ig, "stream", no_decoding)
        again = load_or_store(source, stores, tile_size=64, threshold_pixels=1000)
    assert again == found and open_tiles(again).attrs == result.attrs

    # The source changes: the stale store is replaced with the new pixels.
    newer = np.asarray(load_image(source))[::-1].copy()
    _save_pil(source, newer)
    st = os.stat(source)
    os.utime(source, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    fresh = load_or_store(source, stores, tile_size=64, threshold_pixels=1000)
    assert fresh == found
    np.testing.assert_array_equal(open_tiles(fresh).values, newer)
    assert [p.name for p in stores.iterdir()] == [store.name]


def test_load_or_store_gives_the_store_path(tmp_path: Path) -> None:
    """The tracer's entry: a streamed image comes back as its store's path, opened with the
    Rust (zarrs) codec pipeline, same pixels as the DataArray; small images stay arrays."""
    source = STREAMED["png_rgb.png"](tmp_path / "a.png")
    stores = tmp_path / "stores"
    small = load_or_store(source, stores, tile_size=64, threshold_pixels=WIDTH * HEIGHT)
    assert isinstance(small, np.ndarray)
    found = load_or_store(source, stores, tile_size=64, threshold_pixels=1000)
    assert isinstance(found, Path) and found.parent == stores and found.name.endswith("-t64.zarr")
    array = open_store(found, threads=1)
    assert type(array._async_array.codec_pipeline).__name__ == "ZarrsCodecPipeline"
    np.testing.assert_array_equal(array[:], load_image(source))
    assert load_or_store(source, stores, tile_size=64, threshold_pixels=1000) == found  # reused


def test_big_tiled_tiff_is_read_in_place(tmp_path: Path) -> None:
    source = IN_PLACE["tiled_rgba.tif"](tmp_path / "t.tif")
    stores = tmp_path / "stores"
    result = load_or_store(source, stores, tile_size=128, threshold_pixels=1000)
    assert isinstance(result, xr.DataArray)
    assert result.attrs["store"] == os.path.abspath(source)
    assert not stores.exists()
    np.testing.assert_array_equal(result.values, load_image(source))


def test_formats_libvips_does_not_stream_load_whole_when_small(tmp_path: Path) -> None:
    source = _save_pil(tmp_path / "a.bmp", _rgb())
    result = load_or_store(source, tmp_path / "stores", threshold_pixels=WIDTH * HEIGHT)
    assert isinstance(result, np.ndarray)
    np.testing.assert_array_equal(result, load_image(source))
    with pytest.raises(InputError, match="a.bmp.*cannot be read in tiles"):
        load_or_store(source, tmp_path / "stores", threshold_pixels=1000)
    with pytest.raises(PixelLimitError):
        load_or_store(source, tmp_path / "stores", threshold_pixels=1000, max_pixels=2000)


# --- memory ---------------------------------------------------------------------------------

_MEMORY_SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, sys.argv[2])
    from peak_rss import peak_growth
    from vectile.tiling.ingest import load_or_store

    folder = sys.argv[1]
    print(peak_growth(lambda: load_or_store(folder + "/warm.png", folder, tile_size=256, threshold_pixels=0),
                      lambda: load_or_store(folder + "/big.png", folder, tile_size=256, threshold_pixels=0)))
    """
)


def test_streaming_memory_stays_well_below_the_decoded_image(tmp_path: Path) -> None:
    """A 4000 x 4000 RGB PNG (48 MB decoded) streams in 256-row strips: the peak RSS grows
    by well under half the decoded size (measured about 15 MB here).  Measured in a fresh
    process after a warm-up ingest, as the rise of the kernel's peak RSS (VmHWM, reset
    after the warm-up) over the RSS before the ingest."""
    xy = pyvips.Image.xyz(4000, 4000)
    pattern = (xy[0] * 255 / 3999).bandjoin([xy[1] * 255 / 3999, (xy[0] + xy[1]) % 256])
    pattern.cast("uchar").pngsave(str(tmp_path / "big.png"), compression=1)
    pattern.crop(0, 0, 300, 200).cast("uchar").pngsave(str(tmp_path / "warm.png"))
    done = subprocess.run(
        [sys.executable, "-c", _MEMORY_SCRIPT, str(tmp_path), str(Path(__file__).parent)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    growth = int(done.stdout.split()[-1])
    decoded = 4000 * 4000 * 3
    assert growth < decoded // 2, f"peak RSS grew by {growth / 1e6:.1f} MB"
    store = tmp_path / store_name(str(tmp_path / "big.png"), 256)
    result = open_tiles(store)
    assert result.shape == (4000, 4000, 3)
    assert zarr.open_array(store, mode="r").shards == (256, 256, 3)
