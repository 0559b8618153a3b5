"""Output formats (vectile.formats), checked by real readers: poppler renders every PDF,
Ghostscript every EPS, ezdxf reads (audit) and renders every DXF, each compared with resvg's
render of the SVG it came from; grouping must leave the picture pixel-identical."""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import subprocess
from functools import cache
from pathlib import Path

import ezdxf
import numpy as np
import pikepdf
import pytest
import resvg_py
from PIL import Image

import vectile
from vectile import formats
from vectile.cli import main
from vectile.errors import InputError, OptionError

BENCH = Path(os.environ.get("VECTILE_BENCH_CORPUS", "/work/shared/bench"))
ICONS = sorted((BENCH / "icons").glob("*.png"))

needs_icons = pytest.mark.skipif(not ICONS, reason=f"bench icons not found under {BENCH}")


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:  # never skip silently: the set-up in the README installs these
        pytest.fail(f"{name} is not installed (apt-get install -y poppler-utils ghostscript)")
    return path


@cache
def _svg(icon: Path, mode: str = "color", layers: str = "stacked") -> str:
    return str(vectile.vectorize(icon, mode=mode, layers=layers))


def _on_white(rgba: np.ndarray) -> np.ndarray:
    a = rgba.astype(np.float64)
    alpha = a[..., 3:4] / 255
    return a[..., :3] * alpha + 255 * (1 - alpha)


def _resvg(svg: str) -> np.ndarray:
    png = bytes(resvg_py.svg_to_bytes(svg_string=svg))
    return np.array(Image.open(io.BytesIO(png)).convert("RGBA"))


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255**2 / mse)


def _pdftoppm(pdf: bytes, tmp: Path) -> np.ndarray:
    (tmp / "a.pdf").write_bytes(pdf)
    subprocess.run([_tool("pdftoppm"), "-r", "72", "-png", "-singlefile", tmp / "a.pdf", tmp / "p"], check=True)
    return np.array(Image.open(tmp / "p.png").convert("RGB"))


def _ghostscript(eps: bytes, tmp: Path) -> np.ndarray:
    (tmp / "a.eps").write_bytes(eps)
    subprocess.run(
        [_tool("gs"), "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-dEPSCrop", "-sDEVICE=png16m", "-r72",
         "-dGraphicsAlphaBits=4", f"-sOutputFile={tmp / 'e.png'}", tmp / "a.eps"],
        check=True,
    )  # fmt: skip
    return np.array(Image.open(tmp / "e.png").convert("RGB"))


def _render_dxf(data: bytes, width: int, height: int) -> np.ndarray:
    """ezdxf's drawing add-on (matplotlib) at one pixel per image pixel (72 dpi), as 8-bit gray."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from ezdxf.addons.drawing import Frontend, RenderContext
    from ezdxf.addons.drawing.config import Configuration
    from ezdxf.addons.drawing.matplotlib import MatplotlibBackend

    doc = ezdxf.read(io.StringIO(data.decode("utf-8")))
    fig = plt.figure()
    ax = fig.add_axes((0, 0, 1, 1))
    # The add-on draws every line at least 0.24 mm wide by default (0.7 px here), which fattens
    # each filled shape by its outline; outlines are geometry for cutters, drawn as hairlines.
    config = Configuration(min_lineweight=0.1)
    Frontend(RenderContext(doc), MatplotlibBackend(ax), config=config).draw_layout(doc.modelspace(), finalize=True)
    fig.set_size_inches(width / 100, height / 100)
    ax.set_position((0, 0, 1, 1))
    k = 25.4 / 72
    ax.set_xlim(0, width * k)
    ax.set_ylim(0, height * k)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, facecolor="white")
    plt.close(fig)
    return np.array(Image.open(buf).convert("L"))


# --- real readers on the bench icons ----------------------------------------------------------


@needs_icons
def test_pdf_and_eps_render_like_the_svg(tmp_path: Path) -> None:
    """Every bench icon: poppler's render of the PDF and Ghostscript's of the EPS against
    resvg's of the SVG, same page size; median PSNR >= 35 dB (the issue's bar) and none low."""
    pdf_db, eps_db = [], []
    for icon in ICONS:
        svg = _svg(icon)
        ref = _on_white(_resvg(svg))
        pdf = _pdftoppm(formats.to_bytes(svg, "pdf"), tmp_path)
        eps = _ghostscript(formats.to_bytes(svg, "eps"), tmp_path)
        assert pdf.shape == ref.shape and eps.shape == ref.shape, icon.name
        pdf_db.append(_psnr(ref, pdf))
        eps_db.append(_psnr(ref, eps))
    assert float(np.median(pdf_db)) >= 35, sorted(pdf_db)
    assert float(np.median(eps_db)) >= 35, sorted(eps_db)
    assert min(pdf_db) >= 28 and min(eps_db) >= 28, (min(pdf_db), min(eps_db))


@needs_icons
def test_dxf_reads_back_audits_clean_and_renders_like_the_svg() -> None:
    """Every bench icon in binary mode: ezdxf's audit finds no error, there is a layer per SVG
    colour with that true colour, a HATCH per outer boundary, and the drawing add-on's render
    covers the SVG's dark pixels (IoU >= 0.95)."""
    ious = []
    for icon in ICONS:
        svg = _svg(icon, "binary")
        data = formats.to_bytes(svg, "dxf")
        doc = ezdxf.read(io.StringIO(data.decode("utf-8")))
        auditor = doc.audit()
        assert not auditor.has_errors, (icon.name, [str(e) for e in auditor.errors])
        colors = {p.color for p in formats.reader.open_svg(svg).paths()}
        layers = {layer.dxf.name: layer.rgb for layer in doc.layers if layer.dxf.name.startswith("color-")}
        assert layers == {"color-{:02x}{:02x}{:02x}".format(*c): c for c in colors}
        msp = doc.modelspace()
        hatches = msp.query("HATCH")
        assert len(hatches) >= len(colors) and all(h.dxf.solid_fill for h in hatches)
        assert len(msp.query("LWPOLYLINE SPLINE")) >= len(hatches)  # the outlines
        assert doc.header["$INSUNITS"] == 4
        ref = _on_white(_resvg(svg)).mean(axis=2)
        drawn = _render_dxf(data, ref.shape[1], ref.shape[0])
        a, b = ref < 128, drawn < 128
        ious.append((a & b).sum() / max(1, (a | b).sum()))
    assert min(ious) >= 0.95, sorted(zip(ious, [p.name for p in ICONS], strict=True))[:5]


def test_dxf_draws_a_centerline_dot_as_a_donut() -> None:
    # A dot traced in the centerline mode is a zero-length round-capped stroke: a polyline of
    # no length would draw nothing in CAD, so it is a DONUT (a closed two-arc polyline whose
    # width is its radius), a filled disc the stroke's width across, at the dot's place.
    from PIL import ImageDraw

    img = Image.new("RGB", (120, 80), "white")
    draw = ImageDraw.Draw(img)
    draw.line([(10, 20), (100, 20)], fill="black", width=3)
    draw.ellipse([50, 50, 55, 55], fill="black")
    svg = vectile.vectorize(np.asarray(img), mode="centerline")
    assert "h0" in str(svg)  # the dot is a zero-length stroke in the SVG
    doc = ezdxf.read(io.StringIO(svg.to_bytes("dxf").decode()))
    assert not doc.audit().has_errors
    dots = [e for e in doc.modelspace().query("LWPOLYLINE") if e.closed and len(e) == 2]
    assert len(dots) == 1
    (x0, y0, b0), (x1, y1, b1) = dots[0].get_points("xyb")
    mm = 25.4 / 72  # one pixel at the default 72 dpi
    centre = ((x0 + x1) / 2 / mm, 80 - (y0 + y1) / 2 / mm)
    assert b0 == b1 == 1.0 and abs(centre[0] - 53) < 1.5 and abs(centre[1] - 53) < 1.5
    radius = abs(x1 - x0) / 2 + dots[0].dxf.const_width / 2
    assert 1.5 < radius / mm < 4.5


@needs_icons
@pytest.mark.parametrize("layers", ["stacked", "cutout"])
@pytest.mark.parametrize("group_by", ["color", "layer"])
def test_grouping_keeps_the_picture(layers: str, group_by: str) -> None:
    """Grouped SVGs render pixel-identical to the ungrouped one (resvg), in both layer styles;
    cutout traces get exactly one group per colour."""
    for icon in ICONS[::4]:
        svg = _svg(icon, "color", layers)
        grouped = formats.to_bytes(svg, "svg", group_by=group_by).decode()
        assert np.array_equal(_resvg(svg), _resvg(grouped)), icon.name
        ids = [p.group[0] for p in formats.reader.open_svg(grouped).paths() if p.group]
        if group_by == "color" and layers == "cutout":
            assert all(not gid[-2:-1] == "-" for gid in ids)  # no "-2" groups
            assert len(set(ids)) == len({p.color for p in formats.reader.open_svg(svg).paths()})


def test_grouping_keeps_stroke_order_in_centerline_mode(tmp_path: Path) -> None:
    """Strokes over a canvas (centerline mode) keep their picture when grouped by colour, and
    PDF and EPS draw them (widths, round caps, order) where resvg draws the SVG's."""
    image = np.full((60, 80, 3), 255, np.uint8)
    image[10:13, 5:75] = (200, 0, 0)
    image[5:55, 38:41] = (0, 0, 160)
    image[40:43, 5:75] = (200, 0, 0)
    svg = str(vectile.vectorize(image, mode="centerline"))
    assert 'stroke="' in svg
    grouped = formats.to_bytes(svg, "svg", group_by="color").decode()
    assert "<g " in grouped
    assert np.array_equal(_resvg(svg), _resvg(grouped))
    # Three-pixel lines at 80 x 60: anti-aliasing is most of the picture, so compare the ink.
    ink = _on_white(_resvg(svg)).mean(axis=2) < 160
    for drawn in (
        _pdftoppm(formats.to_bytes(svg, "pdf", group_by="color"), tmp_path),
        _ghostscript(formats.to_bytes(svg, "eps"), tmp_path),
    ):
        mask = drawn.mean(axis=2) < 160
        assert (ink & mask).sum() / (ink | mask).sum() >= 0.9
    doc = ezdxf.read(io.StringIO(formats.to_bytes(svg, "dxf").decode()))
    assert not doc.audit().has_errors
    polylines = doc.modelspace().query("LWPOLYLINE")
    assert polylines and all(p.dxf.const_width > 0 for p in polylines if p.dxf.layer != "color-ffffff")


# --- format details ---------------------------------------------------------------------------


_SQUARE = (
    '<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{w}" height="{h}" viewBox="0 0 {w} {h}">\n'
    '<path d="M0 0v{h}h{w}v-{h}z" fill="#fff"/>\n<path d="M10 10h20v20h-20zm5 5v10h10v-10z" fill="#123456"/>\n'
    '<path fill="none" stroke="#f00" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" '
    'd="M5 5c10 0 20 10 30 0"/>\n'
    "</svg>\n"
)


def test_every_format_is_deterministic_and_well_formed() -> None:
    svg = _SQUARE.format(w=40, h=40)
    for fmt in formats.FORMATS:
        for group_by in formats.GROUP_BY:
            one = formats.to_bytes(svg, fmt, group_by=group_by)
            assert one == formats.to_bytes(svg, fmt, group_by=group_by), (fmt, group_by)
            assert formats.looks_whole(one[:256], one[-16:], fmt)
    assert formats.to_bytes(svg, "svg") == svg.encode()  # group_by none: the SVG as traced
    z = formats.to_bytes(svg, "svgz")
    assert z[4:8] == b"\0\0\0\0" and z[3] & 0x08 == 0  # mtime 0, no file name
    assert gzip.decompress(z) == svg.encode()


def test_pdf_page_size_follows_dpi_and_groups_become_optional_content() -> None:
    """A 300 dpi A4 scan (2480 x 3508 px) becomes an A4 page (595.2 x 841.92 pt)."""
    svg = _SQUARE.format(w=2480, h=3508)
    pdf = pikepdf.open(io.BytesIO(formats.to_bytes(svg, "pdf", dpi=300)))
    assert [float(v) for v in pdf.pages[0].MediaBox] == [0, 0, 595.2, 841.92]
    assert "/OCProperties" not in pdf.Root
    assert pdf.pages[0].Contents.Filter == pikepdf.Name.FlateDecode
    grouped = pikepdf.open(io.BytesIO(formats.to_bytes(svg, "pdf", group_by="color")))
    names = [str(ocg.Name) for ocg in grouped.Root.OCProperties.OCGs]
    assert names == ["#ffffff", "#123456", "#ff0000"]
    default = pikepdf.open(io.BytesIO(formats.to_bytes(svg, "pdf")))
    assert [float(v) for v in default.pages[0].MediaBox] == [0, 0, 2480, 3508]  # 72 dpi: 1 px = 1 pt


def test_eps_header_and_dxf_units_follow_dpi() -> None:
    svg = _SQUARE.format(w=2480, h=3508)
    eps = formats.to_bytes(svg, "eps", dpi=300).decode()
    assert "%%BoundingBox: 0 0 596 842\n" in eps and "%%HiResBoundingBox: 0 0 595.2 841.92\n" in eps
    assert "CreationDate" not in eps
    doc = ezdxf.read(io.StringIO(formats.to_bytes(svg, "dxf", dpi=300).decode()))
    assert doc.header["$EXTMAX"] == pytest.approx((2480 * 25.4 / 300, 3508 * 25.4 / 300, 0.0))  # 209.97 x 297.01 mm
    # y up: the square at SVG y 10..30 px sits at 3478..3498 px from the bottom.
    square = doc.modelspace().query("HATCH[layer=='color-123456']")
    ys = [v[1] for h in square for p in h.paths for v in p.vertices]
    assert (min(ys), max(ys)) == pytest.approx(((3508 - 30) * 25.4 / 300, (3508 - 10) * 25.4 / 300))
    assert len(square) == 1 and len(square[0].paths) == 2  # the square and its hole, one HATCH


def test_bad_input_and_options_are_typed_errors(tmp_path: Path) -> None:
    svg = _SQUARE.format(w=4, h=4)
    with pytest.raises(OptionError, match="format must be one of"):
        formats.to_bytes(svg, "png")
    with pytest.raises(OptionError, match="dpi"):
        formats.to_bytes(svg, "pdf", dpi=0)
    with pytest.raises(OptionError, match="group_by"):
        formats.to_bytes(svg, "pdf", group_by="size")
    with pytest.raises(OptionError, match="does not match the output name"):
        formats.convert(svg, tmp_path / "x.svg", "dxf")
    with pytest.raises(InputError, match="circle"):
        formats.to_bytes(svg.replace("</svg>", '<circle r="2"/></svg>'), "pdf")
    with pytest.raises(InputError, match="unsupported path command"):
        formats.to_bytes(svg.replace("M10 10h20", "M10 10a1 1 0 0 0 2 2h20"), "pdf")
    with pytest.raises(InputError, match="not an SVG"):
        formats.to_bytes("<html/>", "pdf")
    assert list(tmp_path.iterdir()) == []  # no half-written output


# --- front doors ------------------------------------------------------------------------------


def test_api_save_and_to_bytes(tmp_path: Path) -> None:
    image = np.zeros((8, 8, 3), np.uint8)
    image[2:6, 2:6] = (255, 0, 0)
    svg = vectile.vectorize(image)
    assert svg.save(tmp_path / "a.pdf").read_bytes() == svg.to_bytes("pdf")
    assert svg.save(tmp_path / "a.out", format="dxf").read_bytes() == svg.to_bytes("dxf")
    assert svg.save(tmp_path / "a.svg").read_text() == str(svg)
    assert b'<g id="fills"' in svg.save(tmp_path / "b.svg", group_by="layer").read_bytes()
    with pytest.raises(OptionError):
        svg.save(tmp_path / "c.svg", format="eps")
    assert not (tmp_path / "c.svg").exists()


def test_cli_convert_formats(tmp_path: Path, png_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["convert", str(png_file), "-o", str(tmp_path / "a.dxf"), "-q"]) == 0
    assert (tmp_path / "a.dxf").read_bytes().rstrip().endswith(b"EOF")
    assert main(["convert", str(png_file), "--format", "pdf", "-q"]) == 0
    assert png_file.with_suffix(".pdf").read_bytes().startswith(b"%PDF-")
    assert main(["convert", str(png_file), "--format", "dxf", "-o", str(tmp_path / "x.svg")]) == 2
    assert "does not match" in capsys.readouterr().err and not (tmp_path / "x.svg").exists()
    assert main(["convert", str(png_file), "--format", "svg", "--group-by", "color", "-o", "-"]) == 0
    assert "inkscape:label=" in capsys.readouterr().out
    # Tiled (forced, tiny tiles) and grouped: the SVG is staged beside the output and converted;
    # the same PDF as untiled, no temporary left behind.
    grouped = ["--group-by", "color", "-q"]
    assert main(["convert", str(png_file), "-o", str(tmp_path / "t.pdf"), "--tile-size", "8", *grouped]) == 0
    assert main(["convert", str(png_file), "-o", str(tmp_path / "u.pdf"), *grouped]) == 0
    assert (tmp_path / "t.pdf").read_bytes() == (tmp_path / "u.pdf").read_bytes()
    with pikepdf.open(tmp_path / "t.pdf") as pdf:
        assert "/OCProperties" in pdf.Root
    names = ["a.dxf", "blocks.pdf", "blocks.png", "t.pdf", "u.pdf"]
    assert sorted(p.name for p in tmp_path.iterdir()) == names


def test_batch_writes_the_format_and_resume_honours_it(tmp_path: Path, png_file: Path) -> None:
    from vectile.flows import batch

    out = tmp_path / "out"
    report = batch([png_file], out, workers=1, threads_per_worker=1, quiet=True, format="eps", dpi=150)
    assert report.ok == 1
    assert (out / "blocks.eps").read_bytes().startswith(b"%!PS-Adobe-3.0 EPSF-3.0")
    record = json.loads((out / "manifest.jsonl").read_text().splitlines()[-1])
    assert (record["output"], record["format"], record["dpi"], record["group_by"]) == (
        "blocks.eps",
        "eps",
        150.0,
        "none",
    )
    again = batch([png_file], out, resume=True, workers=1, quiet=True, format="eps", dpi=150)
    assert again.already_done == 1
    other = batch([png_file], out, resume=True, workers=1, quiet=True, format="eps", dpi=300)
    assert other.already_done == 0 and other.ok == 1


@needs_icons
@pytest.mark.skipif(shutil.which("librecad") is None, reason="Debian's librecad is not installed (optional reader)")
def test_librecad_opens_the_dxf_headless(tmp_path: Path) -> None:
    """LibreCAD's command-line converter (dxf2pdf, Qt offscreen) reads our DXF and fills its
    hatches: the icon's largest colours appear in its PDF as poppler renders it."""
    icon = next(p for p in ICONS if p.stem == "clion")
    svg = _svg(icon)
    (tmp_path / "a.dxf").write_bytes(formats.to_bytes(svg, "dxf"))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(tmp_path)}
    subprocess.run(
        ["librecad", "dxf2pdf", "-a", str(tmp_path / "a.dxf")], check=True, env=env, capture_output=True, timeout=120
    )
    drawn = _pdftoppm((tmp_path / "a.pdf").read_bytes(), tmp_path).reshape(-1, 3)
    ref = _resvg(svg)[..., :3].reshape(-1, 3)
    colors, counts = np.unique(ref, axis=0, return_counts=True)
    big = [
        tuple(c) for c, n in zip(colors, counts, strict=True) if n > ref.shape[0] // 50 and tuple(c) != (255, 255, 255)
    ]
    assert big
    for color in big:  # white is left out: LibreCAD prints it black, like colour 7
        assert (np.abs(drawn.astype(int) - np.array(color)).max(axis=1) <= 2).mean() > 0.005, color
