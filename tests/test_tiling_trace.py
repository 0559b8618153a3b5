"""Tiled tracing (vectile.tiling): the SVG must be byte-identical to the untiled one for
every tile size, on a multi-process LocalCluster, through worker loss, and failures must name
the tile. Real images: a bench icon (flat art), a bench photo and a map rendered by the huge
benchmark's generator (Zarr store, the way huge scans arrive)."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import uuid
from pathlib import Path

import cloudpickle
import numpy as np
import pytest
from distributed import Client, LocalCluster
from PIL import Image

import vectile
from bench.corpus import default_corpus
from vectile.cli import main as cli_main
from vectile.errors import InputError, OptionError
from vectile.flows import _route
from vectile.tiling import NotTileable, TileError, trace_tiled
from vectile.tiling.grid import UntileableOption

BENCH = default_corpus()  # ../shared/bench beside the checkout (as CI lays it out)
TILES = (37, 64, 100, 256)

# Workers unpickle the test's helper classes by value (they cannot import this module).
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def _bench(name: str) -> np.ndarray:
    path = BENCH / name
    assert path.is_file(), f"benchmark image {path} is missing (../shared/bench)"
    return np.asarray(Image.open(path).convert("RGB"))


@pytest.fixture(scope="module")
def images() -> dict[str, np.ndarray]:
    from bench.huge import map_scene, render_window

    return {
        "flat-art": _bench("icons/qprompt.png"),
        "photo": _bench("photos/100007.png"),
        "map": render_window(map_scene(520, 410, seed=3), 0, 0, 520, 410),
    }


@pytest.mark.slow
@pytest.mark.parametrize("layers", ["stacked", "cutout"])
@pytest.mark.parametrize("name", ["flat-art", "photo", "map"])
def test_tiled_equals_untiled_on_a_cluster(images, cluster_client, name, layers):
    image = images[name]
    want = vectile.vectorize(image, layers=layers)
    for tile in TILES:
        got = vectile.vectorize(image, layers=layers, tile_size=tile, client=cluster_client)
        assert str(got) == str(want), f"{name} {layers} tile {tile}: tiled SVG differs"
        assert got.stats["tiles"] == -(-image.shape[0] // tile) * -(-image.shape[1] // tile)
        for k in ("preset", "palette", "regions", "edges", "paths", "commands", "bytes"):
            assert got.stats[k] == want.stats[k], (k, tile)


@pytest.mark.parametrize(
    "options",
    [
        {"mode": "binary"},
        {"preset": "pixel", "colors": 40},
        {"colors": 5, "min_area": 30, "tolerance": 2.0, "precision": 2, "seed": 7},
    ],
)
def test_tiled_options_in_process(images, options):
    image = images["map"]
    want = str(vectile.vectorize(image, **options))
    for tile in (1 if options.get("mode") == "binary" else 19, 128):
        got = vectile.vectorize(image[:90, :120] if tile == 1 else image, tile_size=tile, **options)
        ref = want if tile != 1 else str(vectile.vectorize(image[:90, :120], **options))
        assert str(got) == ref, (options, tile)


def test_zarr_store_input_matches(tmp_path, images):
    from bench.huge import generate
    from vectile.tiling.store import open_tiles

    store = tmp_path / "map.zarr"
    generate(store, 700, 500, tile_size=256, seed=5)
    tiles = open_tiles(store)
    whole = np.asarray(tiles.data.compute())
    want = str(vectile.vectorize(whole))
    for tile in (100, 256):
        text, stats = trace_tiled(tiles, tile_size=tile, options={})
        assert text == want, tile
        assert stats["width"] == 700 and stats["height"] == 500


def test_store_path_input_matches_and_the_cli_path_imports_no_xarray(tmp_path, images):
    """open_source streams a huge PNG into a store and hands the tracer its path: same SVG,
    and neither xarray nor dask.array is imported on the way (they cost ~1 s per run)."""
    import subprocess

    source = tmp_path / "map.png"
    Image.fromarray(images["map"]).save(source)
    want = str(vectile.vectorize(images["map"]))
    script = (
        "import sys\n"
        "from vectile.tiling import open_source, trace_tiled\n"
        f"with open_source({str(source)!r}, max_pixels=10**9, threshold_pixels=0) as px:\n"
        "    text, stats = trace_tiled(px, tile_size=128, options={})\n"
        "assert type(px).__name__ == 'TileReader' and px.store, px\n"
        "print(sorted(m for m in ('xarray', 'dask.array', 'pandas') if m in sys.modules))\n"
        "sys.stdout.write(text)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    imported, text = done.stdout.split("\n", 1)
    assert imported == "[]"
    assert text == want


@pytest.fixture(scope="module")
def wide_map() -> np.ndarray:
    """A map two ingest shards wide (the store's tiles are 2048 pixels)."""
    from bench.huge import map_scene, render_window

    return render_window(map_scene(2300, 180, seed=4), 0, 0, 2300, 180)


@pytest.mark.parametrize("options", [{}, {"mode": "binary"}, {"preset": "pixel", "layers": "cutout"}])
def test_prepass_replaces_the_histogram_pass(tmp_path, wide_map, options):
    """The histograms taken while the PNG streams into Zarr (one per 2048-pixel shard) give
    the SVG of the tile-by-tile pass, whatever the trace's tile size."""
    from vectile.tiling import Prepass, open_source

    source = tmp_path / "wide.png"
    Image.fromarray(wide_map).save(source)
    want = str(vectile.vectorize(wide_map, **options))
    prepass = Prepass(options)
    with open_source(source, max_pixels=10**8, threshold_pixels=0, prepass=prepass) as pixels:
        assert prepass.complete(2300, 180) and len(prepass.hists) == 2
        for tile in (100, 2048):
            text, stats = trace_tiled(pixels, tile_size=tile, options=options, prepass=prepass)
            assert stats["prepass"] is True
            assert text == want, tile
        _, stats = trace_tiled(pixels, tile_size=256, options=options)
        assert stats["prepass"] is False


def test_prepass_on_a_cluster(tmp_path, wide_map, cluster_client):
    """On worker processes the prepass histograms are scattered to the cluster once."""
    from vectile.tiling import Prepass, open_source

    source = tmp_path / "wide.png"
    Image.fromarray(wide_map).save(source)
    prepass = Prepass({})
    with open_source(source, max_pixels=10**8, threshold_pixels=0, prepass=prepass) as pixels:
        text, stats = trace_tiled(pixels, tile_size=300, options={}, client=cluster_client, prepass=prepass)
    assert stats["prepass"] is True
    assert text == str(vectile.vectorize(wide_map))


def test_prepass_is_skipped_when_it_cannot_serve(tmp_path, wide_map):
    """Rotated by EXIF (streamed in stored order), or traced with other options than it was
    made for: the tiles' own histogram pass runs, and the SVG is the same."""
    from vectile.tiling import Prepass, open_source

    rotated = tmp_path / "rotated.png"
    with Image.fromarray(wide_map) as image:
        exif = image.getexif()
        exif[0x0112] = 6
        image.save(rotated, exif=exif)
    prepass = Prepass({})
    with open_source(rotated, max_pixels=10**8, threshold_pixels=0, prepass=prepass) as pixels:
        assert not prepass.hists and not prepass.complete(180, 2300)
        text, stats = trace_tiled(pixels, tile_size=512, options={}, prepass=prepass)
    assert stats["prepass"] is False and (stats["width"], stats["height"]) == (180, 2300)
    assert text == str(vectile.vectorize(vectile.load_image(rotated)))

    source = tmp_path / "wide.png"
    Image.fromarray(wide_map).save(source)
    colour = Prepass({})
    with open_source(source, max_pixels=10**8, threshold_pixels=0, prepass=colour) as pixels:
        text, stats = trace_tiled(pixels, tile_size=512, options={"mode": "binary"}, prepass=colour)
        assert stats["prepass"] is False and text == str(vectile.vectorize(wide_map, mode="binary"))
    # A mode the tracer refuses is reported by the tracer, not by the ingest.
    bogus = Prepass({"mode": "sepia"})
    with open_source(source, max_pixels=10**8, threshold_pixels=0, prepass=bogus) as pixels:
        with pytest.raises(OptionError, match="mode"):
            trace_tiled(pixels, tile_size=512, options={"mode": "sepia"}, prepass=bogus)


def _scanned(clean: np.ndarray, sigma: float = 6.0, seed: int = 0) -> np.ndarray:
    """``clean`` as a scan: blurred, on yellowed paper, with sensor noise, saved as JPEG q80."""
    import io

    from PIL import ImageFilter

    rng = np.random.default_rng(seed)
    f = np.asarray(Image.fromarray(clean).filter(ImageFilter.GaussianBlur(0.8)), np.float32)
    f = f * np.array([0.96, 0.92, 0.80], np.float32) + rng.normal(0, sigma, f.shape)
    buf = io.BytesIO()
    Image.fromarray(np.clip(f, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=80)
    return np.asarray(Image.open(buf).convert("RGB"))


@pytest.fixture(scope="module")
def scans(images) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(2)
    photo = np.clip(images["photo"][:120, :160] + rng.normal(0, 5, (120, 160, 3)), 0, 255).astype(np.uint8)
    return {
        "art": _scanned(images["flat-art"][:150, :170]),
        "map": _scanned(images["map"][:140, :230], seed=1),
        "noisy-photo": photo,  # no paper: the automatic preset picks photo, not scan
    }


def _untiled(image: np.ndarray, options: dict) -> tuple[str, dict]:
    from vectile._whole import trace_whole

    svg = trace_whole(image, options)
    return str(svg), svg.stats


@pytest.mark.parametrize(
    ("options", "names"),
    [
        ({"preset": "photo", "denoise": 1.5}, ("art", "map")),
        ({"preset": "icon", "denoise": 2.0, "layers": "cutout"}, ("art", "map")),
        ({"preset": "lineart", "denoise": 1.0, "mode": "binary"}, ("art", "map")),
        # The preset chosen from the image (one round trip), then the cleaning pass.
        ({"denoise": 1.0}, ("noisy-photo",)),
        # The whole scan front end: denoise, palette merge and paper; chosen for the scans.
        ({"preset": "scan", "background": "white"}, ("art", "map")),
        ({}, ("art",)),
    ],
)
def test_tiled_equals_untiled_with_denoise(tmp_path, scans, options, names):
    """The scan front end per tile, from the tile and its halo: the cleaned pixels, and so the
    SVG, are the untiled ones for every tile size, down to tiny tiles; the cleaned store is
    removed after."""
    for name in names:
        image = scans[name]
        want, wstats = _untiled(image, options)
        plain, pstats = _untiled(image, {**options, "denoise": 0.0})
        assert wstats["noise"] > 1.0 and wstats["preset"] == options.get("preset", wstats["preset"]), name
        if not options:
            assert wstats["preset"] == "scan"
        # Two colours, or the scan palette's merged colours: the cleaning may change nothing.
        if options.get("mode") != "binary" and wstats["preset"] != "scan":
            assert wstats["regions"] < pstats["regions"], (name, wstats["regions"], pstats["regions"])
        for tile in (23, 64, 512):
            text, stats = trace_tiled(image, tile_size=tile, options=options, scratch=tmp_path)
            assert text == want, (name, options, tile)
            assert stats["noise"] == wstats["noise"] and stats["preset"] == wstats["preset"]
            assert list(tmp_path.iterdir()) == [], "the cleaned store is left behind"
        # Tiles smaller than the halo (8 pixels), on a corner of the image (fewer tiles).
        small = np.ascontiguousarray(image[:41, :53])
        text, _ = trace_tiled(small, tile_size=3, options=options, scratch=tmp_path)
        assert text == _untiled(small, options)[0], (name, options, 3)


def test_denoise_reads_halos_from_a_streamed_store_on_a_cluster(tmp_path, scans, cluster_client):
    """A PNG streamed into Zarr (its raw histograms taken while it streams, which the cleaned
    tiles' histograms replace), cleaned per tile on worker processes: the untiled SVG."""
    from vectile.tiling import Prepass, open_source

    image = np.concatenate([scans["map"]] * 3, axis=1)  # 690 x 140
    source = tmp_path / "scan.png"
    Image.fromarray(image).save(source)
    options = {"preset": "photo", "denoise": 1.5}
    want, wstats = _untiled(image, options)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    prepass = Prepass(options)
    with open_source(source, max_pixels=10**8, threshold_pixels=0, prepass=prepass) as pixels:
        assert prepass.complete(690, 140)
        for tile in (100, 256):
            text, stats = trace_tiled(
                pixels, tile_size=tile, options=options, client=cluster_client, prepass=prepass, scratch=scratch
            )
            assert stats["prepass"] is False and stats["noise"] == wstats["noise"]
            assert text == want, tile
    assert list(scratch.iterdir()) == []


def test_denoise_needs_an_opaque_image(images):
    rgba = np.dstack([images["flat-art"][:60, :60], np.full((60, 60), 255, np.uint8)])
    rgba[10:20, 10:20, 3] = 0
    with pytest.raises(NotTileable, match="opaque"):
        trace_tiled(rgba, tile_size=32, options={"preset": "photo", "denoise": 1.0})


@pytest.mark.slow
def test_killed_worker_still_gives_identical_output(tmp_path, images):
    image = np.concatenate([images["map"]] * 2, axis=1)  # 1040 x 410
    want = str(vectile.vectorize(image))
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0"
        ) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        pids = list(client.run(os.getpid).values())
        out = tmp_path / "out.svg"
        result: dict = {}

        def run() -> None:
            try:
                result["value"] = trace_tiled(image, tile_size=20, options={}, client=client, output=out)
            except BaseException as exc:  # noqa: BLE001 - reported below
                result["error"] = exc

        def regions_done(dask_scheduler) -> int:
            return sum(
                1
                for key, ts in dask_scheduler.tasks.items()
                if str(key).startswith("vectile-regions-") and ts.state == "memory"
            )

        worker = threading.Thread(target=run)
        worker.start()
        # Kill when the run is mid-way (the palette is done, the region pass has begun),
        # however fast the machine: not after a fixed sleep.
        deadline = time.monotonic() + 120
        while client.run_on_scheduler(regions_done) == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert worker.is_alive(), "the run ended before a worker could be killed: make it longer"
        os.kill(pids[0], signal.SIGKILL)
        worker.join(timeout=300)
        assert not worker.is_alive()
        assert "error" not in result, result.get("error")
        assert result["value"][0] is None  # written by the worker, not returned
        assert out.read_text() == want


class BrokenStore:
    """A lazy (H, W, 3) array whose reads fail for the tile at rows 64.., columns 0..; every
    read leaves a file named by its corner in ``log`` (from worker processes too)."""

    def __init__(self, image: np.ndarray, log: Path) -> None:
        self.image = image
        self.shape = image.shape
        self.log = log

    def __getitem__(self, key):
        rows, cols = key[0], key[1]
        (self.log / f"{rows.start}-{cols.start}-{uuid.uuid4().hex}").touch()
        if rows.start == 64 and cols.start == 0:
            raise OSError("read error on the storage device")
        return self.image[key]


def _tile_reads(log: Path) -> list[str]:
    """The corners ("row-column" of pixels) of the tiles a BrokenStore was read at."""
    return sorted(p.name.rsplit("-", 1)[0] for p in log.iterdir())


def test_failing_tile_is_named_in_process(tmp_path, images):
    with pytest.raises(TileError, match=r"tile \d+ \(row 1, column 0: x 0\.\.64, y 64\.\.128\).*storage device"):
        trace_tiled(BrokenStore(images["map"], tmp_path), tile_size=64, options={})
    # In order, in this process: the histogram pass stopped at the failing tile (tile 9).
    assert _tile_reads(tmp_path) == sorted(f"{y}-{x}" for y in (0, 64) for x in range(0, 520, 64) if y == 0 or x == 0)


def test_failing_tile_is_named_on_a_cluster(tmp_path, images, cluster_client):
    """The run stops at the failure: the failing tile is read once (a task error is not
    retried) and no tile is read twice (no later pass starts after the histogram pass)."""
    with pytest.raises(TileError, match=r"row 1, column 0.*storage device"):
        trace_tiled(BrokenStore(images["map"], tmp_path), tile_size=64, options={}, client=cluster_client)
    reads = _tile_reads(tmp_path)
    assert reads.count("64-0") == 1
    assert len(reads) == len(set(reads)), reads


def test_bad_options_and_inputs(images):
    image = images["map"]
    for bad in (0, -3, 1.5, "64", True):
        with pytest.raises(OptionError, match="tile_size"):
            vectile.vectorize(image, tile_size=bad)
    with pytest.raises(OptionError, match="edges"):
        vectile.vectorize(image, tile_size=64, edges="canny")
    with pytest.raises(OptionError, match="weights"):
        vectile.vectorize(image, tile_size=64, weights=np.ones(image.shape[:2], np.float32))
    with pytest.raises(OptionError, match="colors"):
        vectile.vectorize(image, tile_size=64, colors=0)
    # Colour mode's stroke layer is not traced in tiles yet: asking for it is refused, naming it
    # (the centerline mode is traced in tiles: tests/test_tiling_lines.py).
    with pytest.raises(UntileableOption, match="strokes"):
        vectile.vectorize(image, tile_size=64, strokes="on")
    with pytest.raises(UntileableOption, match="strokes"):
        vectile.vectorize(image, tile_size=64, strokes="auto")
    rgba = np.dstack([image, np.full(image.shape[:2], 255, np.uint8)])
    rgba[5, 5, 3] = 0
    with pytest.raises(NotTileable, match="opaque"):
        vectile.vectorize(rgba, tile_size=64)
    # Fully opaque RGBA is fine.
    rgba[5, 5, 3] = 255
    assert str(vectile.vectorize(rgba, tile_size=64)) == str(vectile.vectorize(rgba))


def test_huge_route_traces_in_tiles_and_falls_back(tmp_path, images, monkeypatch):
    path = tmp_path / "map.png"
    Image.fromarray(images["map"]).save(path)
    got = _route.trace_huge(str(path), {"colors": 8}, 1 << 30)
    assert str(got) == str(vectile.vectorize(str(path), colors=8))
    assert got.stats["tiles"] >= 1 and got.stats["tiled"]
    rgba = np.dstack([images["map"], np.full(images["map"].shape[:2], 255, np.uint8)])
    rgba[:3, :3, 3] = 0
    Image.fromarray(rgba).save(tmp_path / "alpha.png")
    got = _route.trace_huge(str(tmp_path / "alpha.png"), {}, 1 << 30)
    assert not got.stats["tiled"] and "opaque" in got.stats["untiled_because"]
    assert str(got) == str(vectile.vectorize(str(tmp_path / "alpha.png")))


def test_cli_tiles_forced_and_automatic(tmp_path, images, capsys):
    src = tmp_path / "map.png"
    Image.fromarray(images["map"]).save(src)
    assert cli_main(["convert", str(src), "-o", str(tmp_path / "whole.svg"), "-q"]) == 0
    assert (
        cli_main(["convert", str(src), "-o", str(tmp_path / "forced.svg"), "-q", "--tile-size", "100", "--stats"]) == 0
    )
    err = capsys.readouterr().err
    assert '"tiles": 30' in err and '"tile_size": 100' in err
    assert '"prepass": true' in err  # histograms taken while the PNG streamed into Zarr
    assert cli_main(["convert", str(src), "-o", str(tmp_path / "auto.svg"), "-q", "--tile-above", "100k"]) == 0
    err = capsys.readouterr().err
    whole = (tmp_path / "whole.svg").read_bytes()
    assert (tmp_path / "forced.svg").read_bytes() == whole
    assert (tmp_path / "auto.svg").read_bytes() == whole
    # Bad option combination: clear error, exit 2, no output.
    assert (
        cli_main(["convert", str(src), "-o", str(tmp_path / "bad.svg"), "--tile-size", "64", "--edges", "canny"]) == 2
    )
    assert "edges cannot be combined with tiled tracing" in capsys.readouterr().err
    assert not (tmp_path / "bad.svg").exists()
    assert cli_main(["convert", str(src), "--tile-size", "0"]) == 2


def test_cli_tiled_transparent_image_fails_cleanly(tmp_path, images, capsys):
    rgba = np.dstack([images["map"], np.full(images["map"].shape[:2], 255, np.uint8)])
    rgba[:3, :3, 3] = 0
    src = tmp_path / "alpha.png"
    Image.fromarray(rgba).save(src)
    out = tmp_path / "alpha.svg"
    assert cli_main(["convert", str(src), "-o", str(out), "--tile-size", "64"]) != 0
    assert "opaque" in capsys.readouterr().err
    assert not out.exists()
    assert not list(tmp_path.glob("*.tmp*"))


def test_input_error_type_is_kept():
    assert issubclass(NotTileable, InputError)
