"""Unit tests of the server's safety helpers, the quality levels, the CLI and the load test."""

from __future__ import annotations

import doctest
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")

import vectile  # noqa: E402
from vectile.cli import main  # noqa: E402
from vectile.server import safety, tracing  # noqa: E402
from vectile.server.safety import UnsafeSvgError, display_name, sanitize_svg, sniff_image_type  # noqa: E402
from vectile.server.tracing import quality_options  # noqa: E402

NS = 'xmlns="http://www.w3.org/2000/svg"'


def test_doctests() -> None:
    for module in (safety, tracing):
        assert doctest.testmod(module).failed == 0


def test_vectile_output_passes_unchanged() -> None:
    image = np.zeros((24, 24, 4), np.uint8)
    image[4:20, 4:20] = (200, 30, 40, 255)
    image[8:12, 8:16] = (20, 90, 200, 255)
    for layers in ("stacked", "cutout"):
        text = str(vectile.vectorize(image, layers=layers))
        assert sanitize_svg(text) is text


@pytest.mark.parametrize(
    "attack",
    [
        f'<svg {NS}><script>alert(1)</script><path d="M0 0h1v1z" fill="#000"/></svg>',
        f'<svg {NS} onload="alert(1)"><path d="M0 0h1v1z" fill="#000"/></svg>',
        f'<svg {NS}><path d="M0 0h1v1z" fill="#000" onclick="alert(1)"/></svg>',
        f'<svg {NS} xmlns:x="http://www.w3.org/1999/xlink">'
        '<path d="M0 0h1v1z" fill="#000" x:href="javascript:alert(1)"/></svg>',
        f'<svg {NS}><foreignObject><iframe xmlns="http://www.w3.org/1999/xhtml" src="javascript:alert(1)"/>'
        '</foreignObject><path d="M0 0h1v1z" fill="#000"/></svg>',
        f'<svg {NS}><style>path{{fill:url(javascript:alert(1))}}</style><path d="M0 0h1v1z" fill="#000"/></svg>',
        f'<svg {NS}><path d="M0 0h1v1z" fill="url(javascript:alert(1))" style="x"/><use href="#a"/></svg>',
        f'<?xml-stylesheet href="evil.css"?><svg {NS}><path d="M0 0h1v1z" fill="#000"/></svg>',
        f'<svg {NS}><!-- hidden --><path d="M0 0h1v1z" fill="#000"/><a href="javascript:alert(1)">x</a></svg>',
        f'<svg {NS}><path d="M0 0h1v1z" fill="#000"/>text<![CDATA[<script>alert(1)</script>]]></svg>',
    ],
)
def test_anything_executable_is_removed(attack: str) -> None:
    clean = sanitize_svg(attack)
    assert clean != attack
    lowered = clean.lower()
    for bad in ("script", "javascript", "onload", "onclick", "href", "foreignobject", "style", "<!--", "<?"):
        assert bad not in lowered, (bad, clean)
    root = ET.fromstring(clean)
    assert [child.tag.rpartition("}")[2] for child in root] == ["path"]
    assert {k for child in root for k in child.attrib} <= {"d", "fill"}


@pytest.mark.parametrize(
    "bad",
    [
        '<!DOCTYPE svg [<!ENTITY a "aaaa">]><svg xmlns="http://www.w3.org/2000/svg">&a;</svg>',
        '<svg xmlns="http://www.w3.org/2000/svg"><path',
        "<html><script>alert(1)</script></html>",
        '<svg><path d="M0 0z"/></svg>',  # no SVG namespace
    ],
)
def test_documents_that_are_refused(bad: str) -> None:
    with pytest.raises(UnsafeSvgError):
        sanitize_svg(bad)


def test_sniffing() -> None:
    assert sniff_image_type(b"\xff\xd8\xff\xe0rest") == ("jpeg", ".jpg")
    assert sniff_image_type(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == ("webp", ".webp")
    assert sniff_image_type(b"II*\x00rest") == ("tiff", ".tif")
    assert sniff_image_type(b"GIF89a") == ("gif", ".gif")
    for not_image in (b"", b"BM", b"RIFF\x00\x00\x00\x00WAVE", b"<?xml version='1.0'?><svg/>", b"%PDF"):
        assert sniff_image_type(not_image) is None


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        (None, "upload"),
        ("", "upload"),
        ("..", "upload"),
        ("logo.png", "logo.png"),
        ("/etc/passwd", "passwd"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("a\r\nb\x00c.png", "a__b_c.png"),
        ("x" * 200 + ".png", "x" * 80),
        ("ｆｕｌｌ.png", "full.png"),
    ],
)
def test_display_names(given: str | None, shown: str) -> None:
    assert display_name(given) == shown


def test_quality_levels_follow_the_preset() -> None:
    assert quality_options("balanced", "photo") == {}
    assert quality_options("fast", "lineart") == {"colors": 2, "tolerance": 1.0}
    assert quality_options("high", "pixel") == {"colors": 256, "tolerance": 0.05, "min_area": 1}
    with pytest.raises(vectile.OptionError):
        quality_options("ultra", "icon")


def test_serve_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--help"]) == 0
    assert "/v1/vectorize" in capsys.readouterr().out
    assert main(["serve", "--port", "99999"]) == 2
    assert "vectile: error: argument --port" in capsys.readouterr().err
    assert main(["serve", "--max-pixels", "lots"]) == 2


@pytest.mark.slow
def test_load_test_runs_briefly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """bench.load end to end, for one second: a server process, uploads, the report."""
    load = pytest.importorskip("bench.load")
    out = tmp_path / "load.json"
    assert load.main(["--duration", "1", "--concurrency", "2", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["errors"] == 0 and result["requests"] > 0
    assert result["server_rss_mb"]["peak"] >= result["server_rss_mb"]["before"] > 0
    assert "| requests | req/s |" in capsys.readouterr().out
    assert load.main(["--duration", "1000"]) == 2  # bounded
