"""Tests for the benchmark harness (bench/metrics.py, bench/run.py)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("resvg_py")
pytest.importorskip("skimage")

from bench import metrics  # noqa: E402
from bench.metrics import (  # noqa: E402
    center_crop_box,
    composite_on_white,
    count_path_commands,
    fidelity,
    psnr,
    render_svg,
    svg_counts,
)

SVG_NS = 'xmlns="http://www.w3.org/2000/svg"'


def svg_doc(width: int, height: int, body: str) -> str:
    return f'<svg {SVG_NS} width="{width}" height="{height}">{body}</svg>'


# ----------------------------------------------------------------------------- rendering


def test_render_rectangle_exact_pixels():
    svg = svg_doc(10, 8, '<rect x="2" y="1" width="3" height="4" fill="#ff0000"/>')
    rgba = render_svg(svg, 10, 8)
    assert rgba.shape == (8, 10, 4)
    assert rgba.dtype == np.uint8
    expected = np.zeros((8, 10, 4), np.uint8)  # transparent canvas
    expected[1:5, 2:5] = (255, 0, 0, 255)
    np.testing.assert_array_equal(rgba, expected)


def test_render_uses_requested_size_for_viewbox_svg():
    # Same drawing, declared at half size via viewBox only: scaled 2x to the requested size.
    svg = f'<svg {SVG_NS} viewBox="0 0 5 4"><rect x="1" y="1" width="2" height="1" fill="#00f"/></svg>'
    rgba = render_svg(svg, 10, 8)
    expected = np.zeros((8, 10, 4), np.uint8)
    expected[2:4, 2:6] = (0, 0, 255, 255)
    np.testing.assert_array_equal(rgba, expected)


def test_render_rejects_wrong_aspect():
    svg = svg_doc(10, 8, '<rect width="10" height="8"/>')
    with pytest.raises(ValueError, match="aspect"):
        render_svg(svg, 20, 8)


def test_composite_on_white_hand_values():
    rgba = np.array([[[255, 0, 0, 128], [10, 20, 30, 0], [10, 20, 30, 255]]], np.uint8)
    # 255*128/255 + 255*127/255 = 255 ; 0 + 127 = 127
    np.testing.assert_array_equal(
        composite_on_white(rgba),
        np.array([[[255, 127, 127], [255, 255, 255], [10, 20, 30]]], np.uint8),
    )


def test_render_semi_transparent_then_composite():
    svg = svg_doc(4, 4, '<rect width="4" height="4" fill="#ff0000" fill-opacity="0.5"/>')
    rgba = render_svg(svg, 4, 4)
    assert set(np.unique(rgba[..., 3]).tolist()) <= {127, 128}
    rgb = composite_on_white(rgba)
    assert np.all(rgb[..., 0] == 255)
    assert np.all(np.abs(rgb[..., 1].astype(int) - 127) <= 1)


# ----------------------------------------------------------------------------- fidelity


def test_psnr_identical_is_inf_and_ssim_one():
    svg = svg_doc(16, 16, '<rect width="16" height="16" fill="#646464"/>')
    original = np.full((16, 16, 3), 100, np.uint8)
    f = fidelity(original, svg)
    assert f["psnr"] == math.inf
    assert f["ssim"] == pytest.approx(1.0)
    assert f["gaps"] == 0 and f["seams"] == 0


def test_psnr_matches_hand_computation():
    svg = svg_doc(16, 16, '<rect width="16" height="16" fill="#646464"/>')
    original = np.full((16, 16, 3), 100, np.uint8)
    original[4:8, 4:8, 0] = 110  # 16 pixels, red channel off by 10
    mse = 16 * 10**2 / (16 * 16 * 3)  # = 2.0833...
    expected = 10 * math.log10(255**2 / mse)
    assert expected == pytest.approx(44.94322, abs=1e-5)
    f = fidelity(original, svg)
    assert f["psnr"] == pytest.approx(expected, abs=1e-9)
    assert psnr(original, np.full((16, 16, 3), 100, np.uint8)) == pytest.approx(expected, abs=1e-9)
    assert 0.0 < f["ssim"] < 1.0
    assert f["gaps"] == 0 and f["seams"] == 0


def test_gaps_and_seams_on_known_uncovered_area():
    # 20x10: x 0..10 opaque, x 10..15 at 90 % opacity (seam, not gap), x 15..20 uncovered.
    svg = svg_doc(
        20,
        10,
        '<rect x="0" y="0" width="10" height="10" fill="#000"/>'
        '<rect x="10" y="0" width="5" height="10" fill="#000" fill-opacity="0.9"/>',
    )
    rgba = render_svg(svg, 20, 10)
    assert np.all(rgba[:, :10, 3] == 255)
    assert np.all((rgba[:, 10:15, 3] >= 229) & (rgba[:, 10:15, 3] <= 230))
    assert np.all(rgba[:, 15:, 3] == 0)
    original = np.zeros((10, 20, 3), np.uint8)
    f = fidelity(original, svg)
    assert f["gaps"] == 5 * 10
    assert f["seams"] == 10 * 10  # seams include the gaps
    assert f["psnr"] < 10.0


def test_original_with_alpha_is_composited_on_white():
    svg = svg_doc(
        8,
        8,
        '<rect width="8" height="4" fill="#204080"/><rect y="4" width="8" height="4" '
        'fill="#204080" fill-opacity="0.5"/>',
    )
    original_rgba = render_svg(svg, 8, 8)  # same pixels, with alpha
    assert fidelity(original_rgba, svg)["psnr"] == math.inf
    # Compositing matters: treating the RGBA original's colour channels as-is would differ.
    assert psnr(original_rgba[..., :3], composite_on_white(original_rgba)) < 40


def test_crop_box_rule():
    assert center_crop_box(4000, 4000) == (0, 0, 4000, 4000)  # exactly 16 MP: no crop
    assert center_crop_box(7680, 4320) == (1840, 160, 5840, 4160)
    assert center_crop_box(12000, 12000) == (4000, 4000, 8000, 8000)
    assert center_crop_box(20000, 900) == (8000, 0, 12000, 900)


def test_fidelity_uses_centre_crop_over_threshold(monkeypatch):
    # Scale the rule down (threshold 100 px, 8 px crop) to exercise it on a 14x14 image:
    # the crop is x,y in 3..11; the uncovered 2-pixel border lies outside it.
    monkeypatch.setattr(metrics, "CROP_THRESHOLD_PIXELS", 100)
    monkeypatch.setattr(metrics, "CROP_SIDE", 8)
    assert center_crop_box(14, 14) == (3, 3, 11, 11)
    svg = svg_doc(14, 14, '<rect x="2" y="2" width="10" height="10" fill="#fff"/>')
    original = np.full((14, 14, 3), 255, np.uint8)
    original[0, 0] = 0  # outside the crop: ignored
    f = fidelity(original, svg)
    assert f == {
        "psnr": math.inf,
        "ssim": pytest.approx(1.0),
        "gaps": 0,
        "seams": 0,
        "gaps_frac": 0.0,
        "seams_frac": 0.0,
        "thin_recall": None,  # the black pixel outside the crop is the only thin structure
    }
    monkeypatch.setattr(metrics, "CROP_THRESHOLD_PIXELS", 10_000)
    f = fidelity(original, svg)
    assert f["gaps"] == f["seams"] == 14 * 14 - 10 * 10
    assert f["psnr"] < math.inf


def test_ssim_on_images_smaller_than_window():
    svg = svg_doc(5, 3, '<rect width="5" height="3" fill="#808080"/>')
    assert fidelity(np.full((3, 5, 3), 128, np.uint8), svg)["ssim"] == pytest.approx(1.0)


# ----------------------------------------------------------------------------- compactness


@pytest.mark.parametrize(
    ("d", "n"),
    [
        ("M0 0 10 0 10 10 Z", 4),  # moveto + 2 implicit linetos + closepath
        ("M1,2L3,4 5,6 7,8", 4),
        ("m0 0l1 1-1-1z", 4),  # negative numbers without separators
        ("c1 2 3 4 5 6 7 8 9 10 11 12", 2),
        ("h1 2 3v4", 4),
        ("M0 0Q1 1 2 2T3 3 4 4", 4),
        ("M0 0S1 1 2 2 3 3 4 4", 3),
        ("M0 0A5 5 0 1 0 10 10 5 5 0 0 1 20 20", 3),
        ("M0 0a5 5 0 1010 10", 2),  # compact arc flags "10" + "10" -> flags 1,0 then x=10
        ("M1.5.5L1e-3-2e+1", 2),  # "1.5.5" is 1.5 and .5
        ("M0 0zM5 5z", 4),
        ("", 0),
        ("M0 0 L1", 1),  # incomplete trailing group: not counted
        ("M0 0 Z 5 5", 2),  # numbers after Z are an error: counting stops
    ],
)
def test_count_path_commands(d, n):
    assert count_path_commands(d) == n


def test_svg_counts():
    svg = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg {SVG_NS} width="4" height="4">\n'
        '<path d="M0 0 4 0 4 4 0 4Z" fill="#fff"/>\n'
        "<path fill='#000' d='M1 1h2v2h-2z'/>\n"
        '<rect width="1" height="1"/>\n'
        "<path/>\n"
        "</svg>\n"
    )
    counts = svg_counts(svg)
    assert counts == {"bytes": len(svg.encode("utf-8")), "paths": 3, "commands": 5 + 5}


# ----------------------------------------------------------------------------- runner


def test_run_end_to_end_with_stub_tracer(tmp_path, monkeypatch, capsys):
    from bench import run as bench_run
    from bench import tracers

    corpus = tmp_path / "corpus"
    (corpus / "g").mkdir(parents=True)
    manifest = []
    for i, colour in enumerate([(255, 255, 255), (0, 128, 255)]):
        Image.new("RGB", (24, 16), colour).save(corpus / "g" / f"{i}.png")
        manifest.append({"group": "g", "file": f"g/{i}.png", "size": [24, 16]})
    manifest.append({"group": "large", "file": "large/x.png", "size": [1, 1]})
    (corpus / "manifest.json").write_text(json.dumps(manifest))

    def stub_make(options):
        def trace(path):
            with Image.open(path) as im:
                w, h = im.size
                r, g, b = im.convert("RGB").getpixel((0, 0))
            return svg_doc(w, h, f'<path d="M0 0H{w}V{h}H0Z" fill="rgb({r},{g},{b})"/>')

        return trace

    monkeypatch.setitem(tracers.TRACERS, "stub", tracers.Tracer("stub", lambda: None, stub_make, lambda: "0"))
    monkeypatch.setitem(
        tracers.TRACERS,
        "missing",
        tracers.Tracer("missing", lambda: "not installed", stub_make, lambda: "0"),
    )
    out = tmp_path / "out"
    rc = bench_run.main(
        [
            "--corpus",
            str(corpus),
            "--tracers",
            "missing,stub",
            "--out",
            str(out),
            "--repeat",
            "2",
            "--mode",
            "color",
            "--in-process",
        ]
    )
    assert rc == 0
    printed = capsys.readouterr().out
    assert "skipping missing: not installed" in printed
    lines = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert [r["file"] for r in lines] == ["g/0.png", "g/1.png"]  # 'large' skipped by default
    for r in lines:
        assert r["tracer"] == "stub" and r["group"] == "g"
        assert (r["width"], r["height"]) == (24, 16)
        assert r["megapixels"] == pytest.approx(24 * 16 / 1e6)
        assert len(r["times"]) == 2 and r["seconds"] >= 0
        assert r["paths"] == 1 and r["commands"] == 5
        assert r["psnr"] == math.inf and r["gaps"] == 0 and r["seams"] == 0
    summary = (out / "summary.md").read_text()
    assert "| stub | 2 |" in summary
    assert "SVG KB: 1 KB = 1000 bytes" in summary


def test_parse_opts():
    from bench.cli import parse_opts

    assert parse_opts(["colors=16", "tolerance=0.5", "preset=photo", "fast=true"]) == {
        "colors": 16,
        "tolerance": 0.5,
        "preset": "photo",
        "fast": True,
    }
