"""bench.huge: generated huge map images, rendered tile by tile straight into Zarr v3.

The central property: a tile rendered on its own equals the same window of the whole image,
pixel for pixel (not merely within anti-aliasing noise), for any tile size, so the tiled
pipeline's benchmark input does not depend on how it was generated.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import zarr
from PIL import Image

from bench import huge
from bench.huge import MAX_SEGMENT, PALETTE, generate, map_scene, render_window, window_svg
from vectile.tiling.store import open_tiles

ROOT = Path(__file__).resolve().parents[1]
HEIGHT, WIDTH = 513, 700  # not a multiple of any tile size used here


def _palette() -> np.ndarray:
    return np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in PALETTE], dtype=np.uint8)


def _leftovers(path: Path) -> list[str]:
    """Temporary siblings of ``path`` (``.NAME.XXXXXXXX.tmp``) still on disk."""
    return sorted(p.name for p in path.parent.iterdir() if p.name.startswith(f".{path.name}."))


@pytest.fixture(scope="module")
def whole() -> np.ndarray:
    """The 700 x 513 image (seed 0) rendered as one window."""
    return render_window(map_scene(WIDTH, HEIGHT, 0), 0, 0, WIDTH, HEIGHT)


# --- the scene ------------------------------------------------------------------------------


def test_scene_is_deterministic_and_seeded() -> None:
    first, again = map_scene(WIDTH, HEIGHT, 0), map_scene(WIDTH, HEIGHT, 0)
    assert first.elements == again.elements
    np.testing.assert_array_equal(first.boxes, again.boxes)
    assert map_scene(WIDTH, HEIGHT, 1).elements != first.elements
    assert first.source == "generated:map:seed=0:700x513"
    assert set(first.counts) == {"land", "island", "lake", "river", "road", "grid", "label"}
    assert 100 <= len(first.elements) <= 400


def test_scene_grows_with_the_area_at_a_fixed_detail_per_pixel() -> None:
    """From 16 MP up, the feature scale is fixed (~1000 px), so the shape count grows with
    the area: a few hundred shapes at 16 MP, four times as many at 64 MP."""
    small, large = map_scene(4000, 4000, 0), map_scene(8000, 8000, 0)
    assert 150 <= len(small.elements) <= 600
    assert 2.5 < len(large.elements) / len(small.elements) < 6
    assert small.feature_scale == 1000 and large.feature_scale == 1024


@pytest.mark.parametrize("size", [(WIDTH, HEIGHT), (3000, 1000)])
def test_every_slanted_edge_is_short(size: tuple[int, int]) -> None:
    """The tiling rule needs every edge that is not axis-aligned to be at most MAX_SEGMENT
    long, and no strokes at all (resvg strokes depend on the canvas origin); rectangles
    are axis-aligned."""
    scene = map_scene(*size, seed=3)
    for element in scene.elements:
        assert "stroke" not in element
        for match in re.finditer(r'<polygon points="([^"]*)"', element):
            points = np.array([[float(v) for v in p.split(",")] for p in match[1].split()])
            ends = np.roll(points, -1, axis=0)
            slanted = (ends[:, 0] != points[:, 0]) & (ends[:, 1] != points[:, 1])
            assert np.hypot(*(ends - points)[slanted].T).max() <= MAX_SEGMENT


def test_window_svg_holds_only_the_shapes_near_the_window() -> None:
    """A tile's SVG keeps global coordinates and lists only the shapes whose box meets the
    window plus the margin, so its size does not grow with the image."""
    scene = map_scene(8000, 8000, 0)
    svg = window_svg(scene, 3072, 2048, 1024, 1024)
    assert 'viewBox="3040 2016 1088 1088"' in svg and 'width="1088" height="1088"' in svg
    shapes = svg.count("<polygon") + svg.count("<rect") - 1  # minus the sea
    assert 0 < shapes < len(scene.elements) / 8
    assert len(svg) < 400_000


# --- tiles equal the whole image -----------------------------------------------------------


@pytest.mark.parametrize("tile_size", [64, 37, 256])
def test_tiles_equal_the_whole_image_exactly(tmp_path: Path, whole: np.ndarray, tile_size: int) -> None:
    image = generate(tmp_path / "map.zarr", WIDTH, HEIGHT, tile_size=tile_size)
    tiled = np.asarray(image.values)
    differing = int(np.any(tiled != whole, axis=2).sum())
    assert differing == 0, f"{differing} pixels differ from the whole image"


def test_overlapping_windows_agree_far_from_the_origin() -> None:
    """Exact at big coordinates too (float32 has 1/512 px steps near 12000): two windows of
    a 144 MP scene, offset by odd amounts, agree on the pixels they share."""
    scene = map_scene(12000, 12000, 5)
    first = render_window(scene, 10_900, 11_050, 300, 300)
    second = render_window(scene, 10_987, 11_113, 300, 300)
    np.testing.assert_array_equal(first[63:, 87:], second[:237, :213])
    assert len(np.unique(first.reshape(-1, 3), axis=0)) > 3  # not an empty stretch of sea


def test_big_windows_render_in_blocks(monkeypatch: pytest.MonkeyPatch, whole: np.ndarray) -> None:
    monkeypatch.setattr(huge, "MAX_BLOCK", 150)
    np.testing.assert_array_equal(render_window(map_scene(WIDTH, HEIGHT, 0), 0, 0, WIDTH, HEIGHT), whole)


def test_workers_write_the_same_image(tmp_path: Path, whole: np.ndarray) -> None:
    image = generate(tmp_path / "map.zarr", WIDTH, HEIGHT, tile_size=128, workers=2)
    np.testing.assert_array_equal(image.values, whole)
    assert _leftovers(tmp_path / "map.zarr") == []


# --- determinism, layout, look --------------------------------------------------------------


def test_generate_is_deterministic(tmp_path: Path) -> None:
    first = generate(tmp_path / "a.zarr", 300, 200, tile_size=128, seed=0).values
    again = generate(tmp_path / "b.zarr", 300, 200, tile_size=128, seed=0).values
    other = generate(tmp_path / "c.zarr", 300, 200, tile_size=128, seed=1).values
    np.testing.assert_array_equal(first, again)
    assert np.any(first != other)


def test_store_layout_and_attrs(tmp_path: Path) -> None:
    store = tmp_path / "map.zarr"
    image = generate(store, WIDTH, HEIGHT, tile_size=512, seed=2)
    array = zarr.open_array(store, mode="r")
    assert array.shape == (HEIGHT, WIDTH, 3) and array.dtype == np.uint8
    assert array.shards == (512, 512, 3)
    assert array.chunks == (512, 512, 3)  # inner chunks, as tiling.store chooses them (the tile up to 1024)
    assert array.metadata.zarr_format == 3
    assert getattr(array.metadata, "dimension_names", None) == ("y", "x", "band")
    attrs = array.attrs.asdict()
    assert attrs["vectile_tiles"] == 1
    assert {k: attrs[k] for k in ("tile_size", "source", "format", "width", "height")} == {
        "tile_size": 512,
        "source": "generated:map:seed=2:700x513",
        "format": "generated",
        "width": WIDTH,
        "height": HEIGHT,
    }
    assert isinstance(image, xr.DataArray)
    assert image.dims == ("y", "x", "band") and list(image.band.values) == ["R", "G", "B"]
    assert image.chunks == ((512, 1), (512, 188), (3,))
    assert image.attrs["store"] == os.path.abspath(store)
    assert image.attrs["format"] == "generated" and image.attrs["tile_size"] == 512
    np.testing.assert_array_equal(open_tiles(store).values, image.values)
    assert _leftovers(store) == []


def test_small_tiles_have_whole_tile_shards(tmp_path: Path) -> None:
    array_path = tmp_path / "map.zarr"
    generate(array_path, WIDTH, HEIGHT, tile_size=37)
    array = zarr.open_array(array_path, mode="r")
    assert array.shards == (37, 37, 3) and array.chunks == (37, 37, 3)
    assert open_tiles(array_path).chunks[0][:2] == (37, 37)


def test_a_handful_of_flat_colours_plus_anti_aliasing(whole: np.ndarray) -> None:
    """Like a rendered map: most pixels carry one of the scene's flat colours, the rest are
    anti-aliased edge pixels between them."""
    pixels = whole.reshape(-1, 3)
    flat = (pixels[:, None, :] == _palette()[None, :, :]).all(axis=2)
    assert flat.any(axis=1).mean() > 0.9
    assert flat.any(axis=0).sum() >= 10  # colours present
    distinct = len(np.unique(pixels, axis=0))
    assert 50 < distinct < 5000
    # At benchmark scale the flat areas dominate even more.
    tile = render_window(map_scene(4000, 4000, 0), 1024, 1024, 1024, 1024).reshape(-1, 3)
    assert (tile[:, None, :] == _palette()[None, :, :]).all(axis=2).any(axis=1).mean() > 0.97


# --- memory ---------------------------------------------------------------------------------

_MEMORY_SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, sys.argv[2])
    from peak_rss import peak_growth
    from bench.huge import generate

    folder = sys.argv[1]
    print(peak_growth(lambda: generate(folder + "/warm.zarr", 600, 600, tile_size=512),
                      lambda: generate(folder + "/big.zarr", 4000, 4000, tile_size=512)))
    """
)


@pytest.mark.slow
def test_memory_stays_far_below_the_decoded_image(tmp_path: Path) -> None:
    """A 4000 x 4000 image (48 MB decoded) is generated in 512 px tiles: the peak RSS grows
    by a small fraction of the decoded size (one tile canvas and one shard's buffers)."""
    done = subprocess.run(
        [sys.executable, "-c", _MEMORY_SCRIPT, str(tmp_path), str(Path(__file__).parent)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    growth = int(done.stdout.split()[-1])
    assert growth < 4000 * 4000 * 3 // 4, f"peak RSS grew by {growth / 1e6:.1f} MB"
    assert zarr.open_array(tmp_path / "big.zarr", mode="r").shape == (4000, 4000, 3)


# --- errors and atomicity -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("width", "height", "tile_size", "message"),
    [
        (0, 10, 8, "width must be a positive int, got 0"),
        (-5, 10, 8, "width must be a positive int, got -5"),
        (10, 0, 8, "height must be a positive int, got 0"),
        (10, 10, 0, "tile_size must be a positive int, got 0"),
        (10, 10, -1, "tile_size must be a positive int, got -1"),
        (10.5, 10, 8, "width must be a positive int, got 10.5"),
        (True, 10, 8, "width must be a positive int, got True"),
    ],
)
def test_bad_sizes_raise_value_error(tmp_path: Path, width: int, height: int, tile_size: int, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        generate(tmp_path / "map.zarr", width, height, tile_size=tile_size)
    assert list(tmp_path.iterdir()) == []


def test_bad_seed_and_workers_raise_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="seed must be an int, got '1'"):
        generate(tmp_path / "map.zarr", 10, 10, seed="1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="workers must be a positive int, got 0"):
        generate(tmp_path / "map.zarr", 10, 10, workers=0)
    with pytest.raises(ValueError, match="width must be a positive int"):
        map_scene(0, 10)
    assert list(tmp_path.iterdir()) == []


def test_existing_paths_are_kept_unless_overwrite_a_store(tmp_path: Path) -> None:
    store = tmp_path / "map.zarr"
    generate(store, 60, 40, tile_size=32, seed=0)
    with pytest.raises(FileExistsError, match="already exists"):
        generate(store, 60, 40, tile_size=32, seed=1)
    replaced = generate(store, 60, 40, tile_size=32, seed=1, overwrite=True)
    assert replaced.attrs["source"] == "generated:map:seed=1:60x40"
    other = tmp_path / "folder"
    other.mkdir()
    with pytest.raises(FileExistsError, match="not a vectile tile store"):
        generate(other, 60, 40, overwrite=True)
    assert _leftovers(store) == [] and _leftovers(other) == []


def test_an_error_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def failing(*args: object) -> np.ndarray:
        calls.append(args)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return np.zeros((32, 32, 3), dtype=np.uint8)

    monkeypatch.setattr(huge, "render_window", failing)
    store = tmp_path / "map.zarr"
    with pytest.raises(RuntimeError, match="disk full"):
        generate(store, 128, 64, tile_size=32)
    assert list(tmp_path.iterdir()) == []


# --- command line ---------------------------------------------------------------------------


def test_cli_writes_store_and_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store, png = tmp_path / "map.zarr", tmp_path / "map.png"
    assert huge.main([str(store), "--megapixels", "0.04", "--tile-size", "64", "--seed", "4", "--png", str(png)]) == 0
    out = capsys.readouterr().out
    assert "200x200 (0.0 MP), 16 tiles of 64, seed 4" in out
    assert re.search(r"time \d+\.\d s, peak RSS \d+ MB", out)
    with Image.open(png) as image:
        np.testing.assert_array_equal(np.asarray(image), open_tiles(store).values)
    assert huge.main([str(store), "--size", "20x10"]) == 2  # exists
    assert "already exists" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args",
    [["--size", "20by10"], ["--megapixels", "0"], ["--megapixels", "100", "--png", "x.png"], []],
)
def test_cli_usage_errors(tmp_path: Path, args: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        huge.main([str(tmp_path / "map.zarr"), *args])
    assert exc.value.code == 2
    assert list(tmp_path.iterdir()) == []


def test_python_m_bench_huge(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "huge",
            str(tmp_path / "map.zarr"),
            "--size",
            "90x50",
            "--tile-size",
            "32",
            "--workers",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert "90x50" in done.stdout and "6 tiles of 32" in done.stdout
    assert open_tiles(tmp_path / "map.zarr").shape == (50, 90, 3)
