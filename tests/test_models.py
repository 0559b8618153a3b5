"""The shipped edge model: loading, shapes, determinism, windows, blend, golden output.

These tests need onnxruntime (a dependency) and the committed ``vedge.onnx``; PyTorch is
needed only by the ONNX-versus-PyTorch check, which says so when it skips.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import vectile
from vectile import models
from vectile.errors import OptionError
from vectile.models.edge import runtime

REPO = Path(__file__).resolve().parent.parent


def shapes_image(h: int = 96, w: int = 128) -> np.ndarray:
    """Flat shapes on a light background, with mild deterministic noise."""
    y, x = np.mgrid[:h, :w]
    img = np.full((h, w, 3), 235, np.uint8)
    img[(x - w * 0.3) ** 2 + (y - h * 0.5) ** 2 < (h * 0.25) ** 2] = (200, 40, 40)
    img[h // 5 : h * 4 // 5, w * 3 // 5 : w * 9 // 10] = (40, 70, 190)
    noise = np.random.default_rng(7).integers(0, 9, img.shape, dtype=np.uint8)
    return img - noise


def test_model_file_is_package_data_small_and_dynamic() -> None:
    path = models.edge_model_path()
    assert path.is_file() and path.name == "vedge.onnx"
    assert path.stat().st_size <= 1_000_000
    import onnx

    model = onnx.load(str(path))
    assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= 17
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in dims] == ["n", 3, "height", "width"]
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    params = sum(int(np.prod(t.dims)) for t in model.graph.initializer)
    assert params <= 100_000


def test_the_runtime_carries_no_training_code() -> None:
    """The installed ``vectile.models`` runs the ONNX file alone: the PyTorch network and its
    training script live in ``training/`` of the repository, outside the package."""
    import importlib.util

    for name in ("vectile.models.edge.net", "vectile.models.edge.train", "vectile.models.edge.training"):
        assert importlib.util.find_spec(name) is None, name
    assert (REPO / "training" / "edge" / "train.py").is_file()
    assert sorted(
        p.name for p in (REPO / "models" / "edge").iterdir() if p.suffix != ".pyc" and p.name != "__pycache__"
    ) == ["MODEL_CARD.md", "__init__.py", "runtime.py", "vedge.onnx"]
    code = "import sys, vectile.models; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_one_session_per_process_with_bounded_threads() -> None:
    assert models.edge_session() is models.edge_session()
    info = models.session_info()
    assert info["providers"][-1] == "CPUExecutionProvider"
    code = "import json; from vectile import models; print(json.dumps(models.session_info()))"
    env = {**os.environ, "RAYON_NUM_THREADS": "1"}
    env.pop("VECTILE_ORT_THREADS", None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["threads"] == 1
    env["VECTILE_ORT_THREADS"] = "2"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["threads"] == 2


@pytest.mark.parametrize("shape", [(1, 1), (7, 13), (8, 8), (33, 65), (321, 481), (481, 321)])
def test_any_size_in_same_size_out(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(shape))
    img = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    edges = vectile.detect_edges(img, "learned")
    assert edges.shape == shape and edges.dtype == np.float32
    assert np.isfinite(edges).all() and edges.min() >= 0.0 and edges.max() <= 1.0


def test_padding_does_not_shift_the_map() -> None:
    """Padding to the stride happens at the bottom and right: the map of a crop that is a
    multiple of 8 matches the same region of a padded image away from the padded edge."""
    img = shapes_image(96, 128)
    full = vectile.detect_edges(img, "learned")
    odd = vectile.detect_edges(img[:93, :125], "learned")
    assert np.abs(full[:60, :90] - odd[:60, :90]).max() < 0.05


def test_edges_where_the_shapes_are() -> None:
    img = shapes_image()
    edges = vectile.detect_edges(img, "learned")
    h, w = img.shape[:2]
    # The square's left side (x = 3w/5) against its inside and the flat background.
    on_edge = edges[h // 3 : h * 2 // 3, w * 3 // 5 - 2 : w * 3 // 5 + 2].max(axis=1)
    inside = edges[h // 3 : h * 2 // 3, w * 3 // 4 - 3 : w * 3 // 4 + 3]
    background = edges[2:10, w // 2 - 4 : w // 2 + 4]
    assert on_edge.min() > 0.5
    assert inside.max() < 0.2 and background.max() < 0.2


def test_grey_and_transparent_inputs() -> None:
    img = shapes_image()
    grey = img[:, :, 0]
    assert np.array_equal(vectile.detect_edges(grey, "learned"), vectile.detect_edges(np.dstack([grey] * 3), "learned"))
    rgba = np.dstack([img, np.full(img.shape[:2], 255, np.uint8)])
    assert np.array_equal(vectile.detect_edges(rgba, "learned"), vectile.detect_edges(img, "learned"))


def test_deterministic_within_and_across_processes(tmp_path: Path) -> None:
    img = shapes_image()
    a = vectile.detect_edges(img, "learned")
    assert np.array_equal(a, vectile.detect_edges(img, "learned"))
    np.save(tmp_path / "img.npy", img)
    code = (
        "import sys, numpy as np, vectile; np.save(sys.argv[2], vectile.detect_edges(np.load(sys.argv[1]), 'learned'))"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "img.npy"), str(tmp_path / "out.npy")], check=True)
    assert np.array_equal(a, np.load(tmp_path / "out.npy"))


def test_golden_output_of_the_shipped_model() -> None:
    """A fixed image through the committed model gives the recorded values (to 1e-4, to allow
    for other CPUs' instruction sets); a retrained model must update these numbers."""
    edges = vectile.detect_edges(shapes_image(), "learned").astype(np.float64)
    golden = json.loads((Path(__file__).parent / "data" / "vedge_golden.json").read_text())
    assert edges.shape == tuple(golden["shape"])
    assert edges.mean() == pytest.approx(golden["mean"], abs=1e-4)
    assert edges.max() == pytest.approx(golden["max"], abs=1e-4)
    samples = np.array(golden["samples"])  # rows of (y, x, value)
    got = edges[samples[:, 0].astype(int), samples[:, 1].astype(int)]
    np.testing.assert_allclose(got, samples[:, 2], atol=1e-4)


def test_windows_on_a_fixed_grid_give_tile_independent_maps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "WINDOW_PIXELS", 80 * 80)
    monkeypatch.setattr(runtime, "WINDOW", 64)
    monkeypatch.setattr(runtime, "OVERLAP", 16)
    img = shapes_image(150, 210)
    whole = runtime.learned_edges(img)
    assert whole.shape == (150, 210) and np.isfinite(whole).all()
    # Tiles of odd sizes, computed separately, put together bit-identically.
    for th, tw in ((37, 53), (64, 64), (150, 1)):
        tiled = np.full_like(whole, -1.0)
        for y in range(0, 150, th):
            for x in range(0, 210, tw):
                box = (y, min(150, y + th), x, min(210, x + tw))
                tiled[box[0] : box[1], box[2] : box[3]] = runtime.learned_edges_tile(
                    lambda a, b, c, d: img[a:b, c:d], (150, 210), box
                )
        assert np.array_equal(tiled, whole)
    # Blended seams: close to the single pass (which this tiny window size makes coarse).
    single = runtime._run(img)
    assert np.abs(whole - single).mean() < 0.05
    with pytest.raises(ValueError, match="not inside"):
        runtime.learned_edges_tile(lambda a, b, c, d: img[a:b, c:d], (150, 210), (0, 151, 0, 10))


def test_multi_scale_averages_resized_runs() -> None:
    img = shapes_image(97, 131)
    single = vectile.detect_edges(img, "learned", scales=(1.0,))
    assert np.array_equal(single, vectile.detect_edges(img, "learned"))
    multi = vectile.detect_edges(img, "learned", scales=(0.5, 1.0, 1.5))
    assert multi.shape == img.shape[:2] and multi.min() >= 0 and multi.max() <= 1
    assert np.array_equal(multi, vectile.detect_edges(img, "learned", scales=(0.5, 1.0, 1.5)))
    half = runtime._resize(runtime._run(runtime._resize(img, 48, 66)), 97, 131)
    np.testing.assert_allclose(vectile.detect_edges(img, "learned", scales=(0.5, 1.0)), (half + single) / 2, atol=1e-6)


def test_blend_combines_learned_and_canny() -> None:
    img = shapes_image()
    learned = vectile.detect_edges(img, "learned")
    canny = vectile.detect_edges(img, "canny", low=0.4 / 1020, high=1 / 1020)
    assert np.array_equal(vectile.detect_edges(img, "blend", alpha=1.0), learned)
    assert np.array_equal(vectile.detect_edges(img, "blend", alpha=0.0), canny)
    half = vectile.detect_edges(img, "blend", alpha=0.5)
    np.testing.assert_allclose(half, 0.5 * learned + 0.5 * canny, atol=1e-6)
    default = vectile.detect_edges(img, "blend")
    a = vectile._edges.BLEND_ALPHA
    np.testing.assert_allclose(default, a * learned + (1 - a) * canny, atol=1e-6)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"method": "learned", "low": 0.1}, "low and high apply"),
        ({"method": "canny", "alpha": 0.5}, "alpha applies to method='blend'"),
        ({"method": "blend", "alpha": 1.5}, "alpha must be in"),
        ({"method": "blend", "alpha": "x"}, "alpha must be a number"),
        ({"method": "deep"}, "method must be one of"),
        ({"method": "learned", "scales": (0.0,)}, "scales must be"),
        ({"method": "learned", "scales": ()}, "scales must be"),
        ({"method": "canny", "scales": (1.0,)}, "scales apply"),
    ],
)
def test_bad_options(kwargs: dict[str, object], words: str) -> None:
    with pytest.raises(OptionError, match=words):
        vectile.detect_edges(shapes_image(), **kwargs)  # type: ignore[arg-type]


def test_missing_model_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(runtime, "_session", None)
    monkeypatch.setattr(runtime, "edge_model_path", lambda: tmp_path / "vedge.onnx")
    with pytest.raises(OptionError, match="not available here: the edge model is not installed"):
        vectile.detect_edges(shapes_image(), "learned")


def salient_detail_image() -> np.ndarray:
    """A smooth gradient (many colours) with a few small red marks: plain k-means spends its
    colours on the gradient and paints the marks in a gradient colour."""
    h, w = 120, 160
    y, x = np.mgrid[:h, :w] / np.array([h - 1, w - 1])[:, None, None]
    img = np.dstack([40 + 160 * x, 60 + 150 * y, 200 - 120 * x * y]).astype(np.uint8)
    for cy, cx in ((30, 40), (80, 120), (60, 80)):
        img[cy - 2 : cy + 2, cx - 2 : cx + 2] = (230, 20, 30)
    return img


def test_optimize_palette_keeps_small_salient_details() -> None:
    img = salient_detail_image()
    red = np.array([230, 20, 30])
    plain, _ = vectile.quantize_colors(img, k=6)
    tuned, labels = vectile.optimize_palette(img, k=6, return_labels=True)
    nearest_plain = np.abs(plain.astype(int) - red).sum(axis=1).min()
    nearest_tuned = np.abs(tuned.astype(int) - red).sum(axis=1).min()
    assert nearest_tuned < 40 < nearest_plain
    assert labels.shape == img.shape[:2]
    assert np.array_equal(tuned, vectile.optimize_palette(img, k=6))  # deterministic, palette only
    with pytest.raises(OptionError, match="gain"):
        vectile.optimize_palette(img, k=6, gain=-1)


def test_vectorize_with_learned_edges() -> None:
    img = salient_detail_image()
    for edges in ("learned", "blend"):
        svg = vectile.vectorize(img, colors=6, edges=edges)
        assert svg.stats["paths"] > 0
        assert str(svg) == str(vectile.vectorize(img, colors=6, edges=edges))
    with pytest.raises(OptionError, match="edges must be"):
        vectile.vectorize(img, edges="deep")  # type: ignore[arg-type]


def test_cli_edges_learned_and_blend(tmp_path: Path) -> None:
    from PIL import Image

    from vectile.cli import main

    src = tmp_path / "in.png"
    Image.fromarray(shapes_image()).save(src)
    assert main(["edges", str(src), "-o", str(tmp_path / "l.png"), "--method", "learned", "-q"]) == 0
    written = np.asarray(Image.open(tmp_path / "l.png"))
    expected = np.rint(vectile.detect_edges(src, "learned") * 255).astype(np.uint8)
    assert np.array_equal(written, expected)
    assert main(["edges", str(src), "-o", str(tmp_path / "b.png"), "--method", "blend", "--alpha", "0.5", "-q"]) == 0
    assert main(["edges", str(src), "-o", str(tmp_path / "x.png"), "--method", "learned", "--alpha", "0.5", "-q"]) == 2
    assert not (tmp_path / "x.png").exists()
    assert main(["convert", str(src), "-o", str(tmp_path / "o.svg"), "--edges", "learned", "-q"]) == 0
    assert (tmp_path / "o.svg").read_text() == str(vectile.vectorize(src, edges="learned"))


def test_onnx_matches_pytorch() -> None:
    """The exported graph computes what the PyTorch network computes (needs the train extra)."""
    torch = pytest.importorskip("torch", reason="the train extra (PyTorch) is not installed")
    from training.edge.net import VEdge

    state = torch.load(REPO / "training" / "edge" / "vedge.pt", map_location="cpu", weights_only=True)
    net = VEdge()
    net.load_state_dict(state)
    net.eval()
    img = shapes_image(96, 128)
    with torch.no_grad():
        expected = net(torch.from_numpy(img).permute(2, 0, 1).float()[None] / 255.0)[0, 0].numpy()
    np.testing.assert_allclose(models.learned_edges(img), expected, atol=1e-5)
