"""Tests for the benchmark suite: subprocess runner, command tracers, binary mode, reports,
kernel and scaling helpers, and a smoke run of ``python -m bench run`` on two tiny images."""

from __future__ import annotations

import json
import math
import shutil
import sys

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("resvg_py")
pytest.importorskip("skimage")
pytest.importorskip("matplotlib")

import vectile  # noqa: E402
from bench import corpus as bench_corpus  # noqa: E402
from bench import kernels, metrics, report, scaling  # noqa: E402
from bench import run as bench_run  # noqa: E402
from bench.runner import measure, spawn_and_reap  # noqa: E402
from bench.tracers import (  # noqa: E402
    TRACERS,
    command_args,
    command_tracer,
    parse_tracer_spec,
)

SVG_NS = 'xmlns="http://www.w3.org/2000/svg"'

# A fake command-line tracer: reads the PNG's size from its header, writes a white SVG of it.
FAKE_TRACER = (
    f'{sys.executable} -c \'import sys, struct; w, h = struct.unpack(">II", '
    'open(sys.argv[1], "rb").read(24)[16:24]); open(sys.argv[2], "w").write('
    'f"<svg xmlns=\\"http://www.w3.org/2000/svg\\" width=\\"{w}\\" height=\\"{h}\\">'
    '<rect width=\\"{w}\\" height=\\"{h}\\" fill=\\"#fff\\"/></svg>")\' {in} {out}'
)


def svg_doc(width: int, height: int, body: str, **attrs: str) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    return f'<svg {SVG_NS} width="{width}" height="{height}"{extra}>{body}</svg>'


@pytest.fixture
def tiny_png(tmp_path):
    img = np.full((12, 16, 3), 255, np.uint8)
    img[3:9, 4:12] = (20, 40, 200)
    path = tmp_path / "tiny.png"
    Image.fromarray(img).save(path)
    return path


# ----------------------------------------------------------------------------- metrics: known cases


def test_identical_render_gives_infinite_psnr_and_ssim_one():
    svg = svg_doc(
        20, 10, '<rect width="20" height="10" fill="#fff"/><rect x="5" y="2" width="6" height="6" fill="#c02020"/>'
    )
    original = metrics.render_svg(svg, 20, 10)[..., :3]
    f = metrics.fidelity(original, svg)
    assert f["psnr"] == math.inf
    assert f["ssim"] == pytest.approx(1.0)
    assert f["gaps"] == 0 and f["gaps_frac"] == 0.0


def test_blank_svg_is_all_gaps():
    f = metrics.fidelity(np.zeros((10, 20, 3), np.uint8), svg_doc(20, 10, ""))
    assert f["gaps_frac"] == 1.0 and f["seams_frac"] == 1.0
    assert f["gaps"] == f["seams"] == 200


def test_shifted_render_lowers_psnr():
    def shape(dx: int) -> str:
        return svg_doc(
            32,
            32,
            '<rect width="32" height="32" fill="#fff"/>'
            f'<rect x="{8 + dx}" y="8" width="12" height="14" fill="#203080"/>',
        )

    original = metrics.render_svg(shape(0), 32, 32)[..., :3]
    p0 = metrics.fidelity(original, shape(0))["psnr"]
    p1 = metrics.fidelity(original, shape(1))["psnr"]
    p3 = metrics.fidelity(original, shape(3))["psnr"]
    assert p0 == math.inf
    assert math.isfinite(p1) and p3 < p1


def test_render_svg_in_points_and_off_by_one_size():
    # Potrace writes sizes in pt; 481pt x 321pt at 96 dpi rounds to a 481 x 322 fit.
    body = '<rect width="481" height="321" fill="#000"/>'
    svg = svg_doc("481.000000pt", "321.000000pt", body, viewBox="0 0 481 321")
    rgba = metrics.render_svg(svg, 481, 321)
    assert rgba.shape == (321, 481, 4) and np.all(rgba[..., 3] == 255)
    assert 'width="9"' in metrics.set_root_size(svg, 9, 6)
    with pytest.raises(ValueError, match="aspect"):
        metrics.render_svg(svg, 481, 400)


def test_diff_map():
    a = np.zeros((2, 2, 3), np.uint8)
    b = a.copy()
    b[0, 0] = (30, 0, 0)
    np.testing.assert_allclose(metrics.diff_map(a, b), [[10, 0], [0, 0]])


# ----------------------------------------------------------------------------- binary mode


def test_binarize_matches_vectile_otsu():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    img[:12] //= 3  # two populations
    bitmap, t = metrics.binarize(img)
    assert set(np.unique(bitmap).tolist()) <= {0, 255}
    luma = metrics.luma_u8(img)
    np.testing.assert_array_equal(bitmap == 0, luma <= t)
    # vectile's own Otsu picks the same threshold: same SVG with and without it given.
    auto = str(vectile.vectorize(img, mode="binary"))
    assert auto == str(vectile.vectorize(img, mode="binary", threshold=t))


def test_otsu_on_two_levels():
    gray = np.array([[10, 10, 200, 200]], np.uint8)
    t = metrics.otsu_threshold(gray)
    assert 10 <= t < 200


# ----------------------------------------------------------------------------- runner


def test_spawn_and_reap_reports_child_rss_not_ours():
    ballast = np.ones(60_000_000, np.uint8)  # 60 MB in this process
    code, wall, cpu, rss_kb, _ = spawn_and_reap([sys.executable, "-S", "-c", "pass"])
    assert code == 0 and wall > 0 and cpu >= 0
    assert 0 < rss_kb < 40_000  # the bare interpreter, not this process's 60 MB ballast
    del ballast


def test_subprocess_runner_measures_peak_rss(tiny_png, tmp_path):
    m = measure(TRACERS["vectile"], {"in": str(tiny_png), "in_pbm": None}, 2, {}, warmup=str(tiny_png))
    assert len(m.times) == 2 and len(m.cpu_times) == 2
    assert m.peak_rss_kb is not None and m.peak_rss_kb > 0
    assert m.base_rss_kb is not None and 0 < m.base_rss_kb <= m.peak_rss_kb
    assert m.svg.startswith("<svg") or "<svg" in m.svg[:200]


def test_worker_failure_is_reported(tmp_path):
    with pytest.raises(Exception, match="worker failed"):
        measure(TRACERS["vectile"], {"in": str(tmp_path / "missing.png"), "in_pbm": None}, 1, {})


def test_template_tracer_with_fake_command(tiny_png):
    tracer = parse_tracer_spec("fake=" + FAKE_TRACER)
    assert tracer.name == "fake" and tracer.is_command
    assert tracer.probe() is None
    m = measure(tracer, {"in": str(tiny_png), "in_pbm": None}, 2)
    assert len(m.times) == 2 and m.peak_rss_kb and m.peak_rss_kb > 0
    assert 'width="16" height="12"' in m.svg
    assert metrics.fidelity(np.full((12, 16, 3), 255, np.uint8), m.svg)["psnr"] == math.inf


def test_command_tracer_errors(tiny_png):
    assert "command not found" in command_tracer("no-such-tool-xyz {in} {out}").probe()
    assert "{out}" in command_tracer("true {in}").probe()
    with pytest.raises(ValueError, match="binary mode"):
        command_args("potrace -o {out} {in_pbm}", {"in": "a.png", "in_pbm": None}, "o.svg")
    failing = command_tracer(f"{sys.executable} -c 'import sys; sys.exit(3)' {{in}} {{out}}")
    with pytest.raises(Exception, match="exited with 3"):
        measure(failing, {"in": str(tiny_png), "in_pbm": None}, 1)


def test_parse_tracer_spec_names():
    assert parse_tracer_spec("mytool {in} {out}").name == "mytool"
    assert parse_tracer_spec("/usr/bin/mytool {in} {out}").name == "mytool"
    t = parse_tracer_spec("fast=mytool --fast {in} {out}")
    assert t.name == "fast" and t.command == "mytool --fast {in} {out}"


# ----------------------------------------------------------------------------- smoke run


def _tiny_corpus(tmp_path):
    corpus = tmp_path / "corpus"
    (corpus / "g").mkdir(parents=True)
    manifest = []
    for i, colour in enumerate([(250, 250, 250), (0, 90, 200)]):
        img = np.full((16, 24, 3), colour, np.uint8)
        img[4:12, 6:18] = (20, 20, 20) if i == 0 else (240, 200, 40)
        Image.fromarray(img).save(corpus / "g" / f"{i}.png")
        manifest.append({"group": "g", "file": f"g/{i}.png", "size": [24, 16]})
    (corpus / "manifest.json").write_text(json.dumps(manifest))
    return corpus


def test_smoke_run_subprocess_tracers(tmp_path, capsys):
    corpus = _tiny_corpus(tmp_path)
    out = tmp_path / "out"
    rc = bench_run.main(
        [
            "--corpus",
            str(corpus),
            "--tracers",
            "vectile,potrace",
            "--tracer",
            "fake=" + FAKE_TRACER,
            "--out",
            str(out),
            "--repeat",
            "1",
        ]
    )
    printed = capsys.readouterr().out
    assert rc == 0, printed
    rows = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    have_potrace = shutil.which("potrace") is not None
    if not have_potrace:
        assert "skipping potrace: command not found: potrace (apt-get install -y potrace)" in printed
    expected = {("color", "vectile"), ("color", "fake"), ("binary", "vectile"), ("binary", "fake")}
    if have_potrace:
        expected.add(("binary", "potrace"))
    assert {(r["mode"], r["tracer"]) for r in rows} == expected
    for r in rows:
        assert "error" not in r, r
        assert r["peak_rss_mb"] > 0 and r["seconds"] > 0 and r["cpu_seconds"] >= 0
        assert r["paths"] >= (0 if r["tracer"] == "fake" else 1)
        if r["tracer"] == "vectile":
            assert r["psnr"] > 30 and r["gaps"] == 0 and r["base_rss_mb"] > 0
        if r["mode"] == "binary":
            assert "threshold" in r
    summary = (out / "summary.md").read_text()
    assert "### g\n" in summary and "### g (binary)" in summary
    assert "| vectile / fake | 2 |" in summary
    for name in ("rd.png", "report.html", "report/diff-scale.png"):
        assert (out / name).is_file(), name
    page = (out / "report.html").read_text()
    assert "report/g-0-color-vectile-diff.png" in page and "vectile / fake" in page


def test_skipped_tracer_mode_line(tmp_path, capsys):
    corpus = _tiny_corpus(tmp_path)
    rc = bench_run.main(
        ["--corpus", str(corpus), "--tracers", "potrace", "--mode", "color", "--out", str(tmp_path / "o")]
    )
    assert rc == 2
    assert "skipping potrace" in capsys.readouterr().out


def test_folder_without_manifest_and_sampling(tmp_path):
    (tmp_path / "a").mkdir()
    Image.new("RGB", (4, 4)).save(tmp_path / "a" / "x.png")
    Image.new("RGB", (4, 4)).save(tmp_path / "top.png")
    entries = bench_corpus.load_manifest(tmp_path)
    assert {(e["group"], e["file"]) for e in entries} == {("a", "a/x.png"), (".", "top.png")}
    assert bench_corpus.sample_indices(48, 2) == {0, 47}
    assert bench_corpus.sample_indices(3, 5) == {0, 1, 2}
    assert bench_corpus.sample_indices(5, 0) == set()


# ----------------------------------------------------------------------------- report helpers


def test_fit_slope():
    k, a = report.fit_slope([1, 4, 16, 64], [0.5, 2, 8, 32])
    assert k == pytest.approx(1.0) and a == pytest.approx(math.log10(0.5))
    assert report.fit_slope([1], [1]) is None


def test_scaling_plot_and_markdown(tmp_path):
    rows = [
        {
            "tracer": t,
            "megapixels": mp,
            "width": 1,
            "height": 1,
            "seconds": s * mp,
            "cpu_seconds": s * mp,
            "s_per_mp": s,
            "peak_rss_mb": 20 + mp,
            "base_rss_mb": 20,
            "kb": 1.0,
            "paths": 3,
        }
        for t, s in (("a", 0.1), ("b", 0.3))
        for mp in (1, 4)
    ]
    rows.append({"tracer": "b", "megapixels": 16, "width": 4000, "height": 4000, "skipped": "skipped above 4 MP"})
    assert report.scaling_plot(rows, ["a", "b"], tmp_path / "s.png", "t") == tmp_path / "s.png"
    md = scaling.scaling_markdown(rows, ["a", "b"], {"when": "now", "machine": "m", "repeat": 1})
    assert "- a (1-4 MP): seconds slope 1.00, CPU seconds slope 1.00" in md
    assert "skipped above 4 MP" in md


# ----------------------------------------------------------------------------- kernels, scaling data


def test_lattice_contour_is_a_closed_axis_aligned_path():
    pts = kernels.lattice_contour(25)
    nxt = np.roll(pts, -1, axis=0)
    moved = (pts != nxt).sum(axis=1)
    assert np.all(moved == 1)  # each step changes exactly one coordinate, closing step too
    # turn points only: consecutive steps change direction
    steps = np.sign(nxt - pts)
    assert not np.any(np.all(steps == np.roll(steps, -1, axis=0), axis=1))
    segs, _start = vectile._kernels.fit_polyline(pts, closed=True, tolerance=1.0)
    assert segs.shape[1] == 7 and len(segs) >= 4


def test_time_calls_batches_fast_calls():
    times, cpus, out = kernels.time_calls(lambda: 7, 3)
    assert out == 7 and len(times) == 5 and all(t < 0.01 for t in times)


def test_kernel_job_in_process(tmp_path):
    data = tmp_path / "d.npz"
    pts = kernels.lattice_contour(20)
    np.savez(data, points=pts, warm_points=pts)
    res = kernels.run_kernel_job({"kernel": "fit", "impl": "vectile", "data": str(data), "repeat": 1})
    assert res["result"]["segments"] >= 4 and res["base_rss_kb"] > 0


def test_map_scene_is_deterministic(tmp_path):
    assert scaling.map_svg(3) == scaling.map_svg(3) != scaling.map_svg(4)
    w, h = scaling.render_map(tmp_path / "m.png", 0.01)
    assert (w, h) == (100, 100)
    with Image.open(tmp_path / "m.png") as im:
        assert im.size == (100, 100)


def test_tracer_edges_variants_pass_settings_instead_of_patching() -> None:
    """``bench tracer-edges`` variants: with no settings of its own the learned trace equals the
    library's ``vectorize(edges=...)``; a setting changes the output without touching vectile."""
    from bench import tracer_edges
    from vectile import _edges

    img = np.full((48, 64, 3), 235, np.uint8)
    img[10:38, 8:30] = (200, 40, 40)
    img[20:44, 36:60] = (40, 70, 190)
    img = img - np.random.default_rng(3).integers(0, 12, img.shape, dtype=np.uint8)
    for method in ("learned", "blend"):
        assert tracer_edges.trace_learned(img, method) == str(vectile.vectorize(img, edges=method))
    assert tracer_edges.trace_variant(img, "learned") == str(vectile.vectorize(img, edges="learned"))
    before = (_edges.LEARNED_PALETTE_GAIN, _edges.LEARNED_GUIDE_MERGING, _edges.LEARNED_GUIDE_SCALE)
    palette_only = tracer_edges.trace_variant(img, "learned, palette only")
    assert palette_only == tracer_edges.trace_learned(img, "learned", merging=False)
    assert (_edges.LEARNED_PALETTE_GAIN, _edges.LEARNED_GUIDE_MERGING, _edges.LEARNED_GUIDE_SCALE) == before
