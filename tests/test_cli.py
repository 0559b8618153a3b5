"""The ``vectile`` command line: argument handling, errors, atomic output, the real tracer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import vectile
import vectile._io
import vectile.cli.convert
from vectile.cli import main
from vectile.errors import OptionError

SVG_NS = "{http://www.w3.org/2000/svg}"


def _listing(folder: Path) -> set[str]:
    return {entry.name for entry in folder.iterdir()}


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _view_box(svg_text: str) -> list[float]:
    root = ET.fromstring(svg_text)
    assert root.tag == f"{SVG_NS}svg"
    return [float(v) for v in root.attrib["viewBox"].replace(",", " ").split()]


# --- a stand-in tracer, for the command line's own plumbing ---------------------------------


@dataclass
class FakeSvg:
    width: int
    height: int
    stats: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return (
            '<svg xmlns="http://www.w3.org/2000/svg" '
            f'viewBox="0 0 {self.width} {self.height}"><path d="M0 0h1v1z"/></svg>'
        )


@dataclass
class FakeTracer:
    calls: list[tuple[np.ndarray, dict[str, Any]]] = field(default_factory=list)
    error: BaseException | None = None

    def __call__(self, image: np.ndarray, **options: Any) -> FakeSvg:
        self.calls.append((image, options))
        if self.error is not None:
            raise self.error
        stats = {"paths": np.int64(6), "colors": 6, "seconds": np.float32(0.5)}
        return FakeSvg(image.shape[1], image.shape[0], stats)


@pytest.fixture
def fake_tracer(monkeypatch: pytest.MonkeyPatch) -> FakeTracer:
    tracer = FakeTracer()
    # The command looks the tracer up in its own module: patch it there.
    monkeypatch.setattr(vectile.cli.convert, "vectorize", tracer)
    return tracer


def test_passes_the_decoded_image_and_only_given_options(
    fake_tracer: FakeTracer, png_file: Path, blocks_rgb: np.ndarray
) -> None:
    assert main(["convert", str(png_file), "-q"]) == 0
    image, options = fake_tracer.calls[-1]
    np.testing.assert_array_equal(image, blocks_rgb)
    assert options == {}

    assert main(["convert", str(png_file), "-q", "--colors", "8", "--seed", "3"]) == 0
    assert fake_tracer.calls[-1][1] == {"colors": 8, "seed": 3}


def test_every_tracer_option_is_forwarded(fake_tracer: FakeTracer, png_file: Path) -> None:
    argv = [
        "convert",
        str(png_file),
        "-q",
        "--colors",
        "256",
        "--preset",
        "pixel",
        "--mode",
        "binary",
        "--layers",
        "cutout",
        "--tolerance",
        "0.25",
        "--min-area",
        "1",
        "--precision",
        "0",
        "--seed",
        "18446744073709551615",
    ]
    assert main(argv) == 0
    assert fake_tracer.calls[-1][1] == {
        "colors": 256,
        "preset": "pixel",
        "mode": "binary",
        "layers": "cutout",
        "tolerance": 0.25,
        "min_area": 1,
        "precision": 0,
        "seed": 2**64 - 1,
    }


def test_default_output_and_report(fake_tracer: FakeTracer, png_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["convert", str(png_file)], capsys)
    assert code == 0 and out == ""
    output = png_file.with_suffix(".svg")
    assert _view_box(output.read_text(encoding="utf-8")) == [0, 0, 24, 16]
    assert "blocks.svg" in err and "bytes" in err
    assert _listing(png_file.parent) == {"blocks.png", "blocks.svg"}


def test_quiet_and_explicit_output(
    fake_tracer: FakeTracer, png_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "out").mkdir()
    output = tmp_path / "out" / "x.svg"
    code, out, err = _run(["convert", str(png_file), "-o", str(output), "-q"], capsys)
    assert (code, out, err) == (0, "", "")
    assert _listing(tmp_path / "out") == {"x.svg"}


def test_output_file_has_normal_permissions(fake_tracer: FakeTracer, png_file: Path) -> None:
    umask = os.umask(0o022)
    os.umask(umask)
    assert main(["convert", str(png_file), "-q"]) == 0
    assert png_file.with_suffix(".svg").stat().st_mode & 0o777 == 0o666 & ~umask


def test_stats_json_line(fake_tracer: FakeTracer, png_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["convert", str(png_file), "--stats", "-q"], capsys)
    assert code == 0
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0]) == {"paths": 6, "colors": 6, "seconds": 0.5}


def test_output_to_stdout(fake_tracer: FakeTracer, png_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["convert", str(png_file), "-o", "-"], capsys)
    assert code == 0 and err == ""
    assert _view_box(out) == [0, 0, 24, 16]
    assert _listing(png_file.parent) == {"blocks.png"}


def test_option_error_from_tracer_exits_2_and_names_the_file(
    fake_tracer: FakeTracer, png_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_tracer.error = OptionError("--colors 1 needs --mode binary", option="colors")
    code, _, err = _run(["convert", str(png_file), "--colors", "1"], capsys)
    assert code == 2
    assert err.startswith("vectile: error: ") and "blocks.png" in err and "--colors 1" in err
    assert _listing(png_file.parent) == {"blocks.png"}


def test_unexpected_tracer_failure_exits_1_without_output(
    fake_tracer: FakeTracer, png_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_tracer.error = RuntimeError("kernel exploded")
    code, _, err = _run(["convert", str(png_file)], capsys)
    assert code == 1
    assert "vectile: error: " in err and "blocks.png" in err and "kernel exploded" in err
    assert _listing(png_file.parent) == {"blocks.png"}


def _fail_rename(monkeypatch: pytest.MonkeyPatch, failure: BaseException) -> None:
    """Make the final rename of the atomic write fail, after the temporary file is written."""

    def broken_replace(src: Any, dst: Any) -> None:
        raise failure

    monkeypatch.setattr(vectile._io.os, "replace", broken_replace)


@pytest.mark.parametrize(("failure", "code"), [(RuntimeError("save broke"), 1), (OSError(28, "No space left"), 1)])
def test_failed_save_leaves_no_file_and_keeps_the_old_output(
    monkeypatch: pytest.MonkeyPatch,
    fake_tracer: FakeTracer,
    png_file: Path,
    capsys: pytest.CaptureFixture[str],
    failure: BaseException,
    code: int,
) -> None:
    output = png_file.with_suffix(".svg")
    output.write_text("previous result", encoding="utf-8")
    _fail_rename(monkeypatch, failure)
    result, _, err = _run(["convert", str(png_file)], capsys)
    assert result == code
    assert "vectile: error: " in err and "blocks" in err
    assert output.read_text(encoding="utf-8") == "previous result"
    assert _listing(png_file.parent) == {"blocks.png", "blocks.svg"}


def test_interrupt_during_save_leaves_no_temporary_file(
    monkeypatch: pytest.MonkeyPatch, fake_tracer: FakeTracer, png_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _fail_rename(monkeypatch, KeyboardInterrupt())
    code, _, err = _run(["convert", str(png_file)], capsys)
    assert code == 130 and "interrupted" in err
    assert _listing(png_file.parent) == {"blocks.png"}


# --- usage errors and bad inputs (no tracer involved) ---------------------------------------


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--colors", "0"),
        ("--colors", "257"),
        ("--colors", "many"),
        ("--tolerance", "0"),
        ("--tolerance", "-1"),
        ("--tolerance", "nan"),
        ("--tolerance", "101"),
        ("--min-area", "0"),
        ("--precision", "5"),
        ("--seed", "-1"),
        ("--preset", "poster"),
        ("--mode", "sketch"),
        ("--layers", "flat"),
        ("--max-pixels", "0"),
        ("--max-pixels", "lots"),
    ],
)
def test_bad_option_values_exit_2(png_file: Path, capsys: pytest.CaptureFixture[str], option: str, value: str) -> None:
    code, out, err = _run(["convert", str(png_file), option, value], capsys)
    assert code == 2 and out == ""
    assert "vectile: error: " in err and option in err and value in err
    assert _listing(png_file.parent) == {"blocks.png"}


def test_max_pixels_accepts_suffixes(png_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["convert", str(png_file), "--max-pixels", "0.1k"], capsys)
    assert code == 2  # not an integer
    code, _, err = _run(["convert", str(png_file), "--max-pixels", "300"], capsys)
    assert code == 2 and "blocks.png" in err and "over the limit of 300" in err
    assert _listing(png_file.parent) == {"blocks.png"}


def _bad_inputs(tmp_path: Path, save_image: Callable[..., Path]) -> dict[str, Path]:
    (tmp_path / "folder.png").mkdir()
    (tmp_path / "notes.png").write_text("not an image\n", encoding="utf-8")
    noise = np.random.default_rng(2).integers(0, 256, (48, 48, 3), dtype=np.uint8)
    cut = save_image("cut.jpg", noise)
    cut.write_bytes(cut.read_bytes()[:300])
    return {
        "no such file": tmp_path / "missing.png",
        "directory": tmp_path / "folder.png",
        "not an image": tmp_path / "notes.png",
        "truncated": cut,
    }


@pytest.mark.parametrize("problem", ["no such file", "directory", "not an image", "truncated"])
def test_bad_input_exits_2_naming_the_file(
    tmp_path: Path,
    save_image: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
    problem: str,
) -> None:
    path = _bad_inputs(tmp_path, save_image)[problem]
    before = _listing(tmp_path)
    code, out, err = _run(["convert", str(path)], capsys)
    assert code == 2 and out == ""
    assert err.startswith("vectile: error: ")
    assert path.name in err and problem in err
    assert _listing(tmp_path) == before


def test_output_folder_missing(png_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["convert", str(png_file), "-o", str(tmp_path / "nope" / "x.svg")], capsys)
    assert code == 2 and "x.svg" in err and "does not exist" in err
    assert _listing(tmp_path) == {"blocks.png"}


def test_output_is_a_directory(png_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "out.svg").mkdir()
    code, _, err = _run(["convert", str(png_file), "-o", str(tmp_path / "out.svg")], capsys)
    assert code == 2 and "out.svg" in err and "directory" in err


def test_output_may_not_overwrite_the_input(png_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    original = png_file.read_bytes()
    code, _, err = _run(["convert", str(png_file), "-o", str(png_file)], capsys)
    assert code == 2 and "is the input file" in err
    assert png_file.read_bytes() == original


def test_help_shows_examples(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["--help"], capsys)
    assert code == 0 and "examples:" in out and "vectile convert logo.png" in out
    code, out, _ = _run(["convert", "--help"], capsys)
    assert code == 0 and "examples:" in out and "--colors N" in out and "--max-pixels" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["--version"], capsys)
    assert code == 0 and out.strip() == f"vectile {vectile.__version__}"


@pytest.mark.parametrize("argv", [[], ["paint"], ["convert"], ["convert", "a.png", "--colour", "3"]])
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(argv, capsys)
    assert code == 2 and out == ""
    assert "usage: vectile" in err and "vectile: error: " in err


def test_python_m_vectile_reports_errors(tmp_path: Path) -> None:
    missing = tmp_path / "missing.png"
    result = subprocess.run(
        [sys.executable, "-m", "vectile", "convert", str(missing)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("vectile: error: ") and "missing.png" in result.stderr
    assert _listing(tmp_path) == set()


# --- with the real tracer -------------------------------------------------------------------


def test_real_conversion_writes_svg_of_image_size(
    png_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "traced.svg"
    code, _, err = _run(["convert", str(png_file), "-o", str(output), "--colors", "6"], capsys)
    assert code == 0, err
    assert _view_box(output.read_text(encoding="utf-8")) == [0, 0, 24, 16]
    assert _listing(tmp_path) == {"blocks.png", "traced.svg"}
    umask = os.umask(0o022)
    os.umask(umask)
    assert output.stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize("preset", ["icon", "photo", "lineart", "pixel"])
def test_real_conversion_with_every_preset_and_option(png_file: Path, preset: str) -> None:
    output = png_file.with_name(f"{preset}.svg")
    argv = [
        "convert",
        str(png_file),
        "-o",
        str(output),
        "-q",
        "--preset",
        preset,
        "--layers",
        "cutout",
        "--tolerance",
        "0.5",
        "--min-area",
        "2",
        "--precision",
        "2",
        "--seed",
        "7",
    ]
    assert main(argv) == 0
    assert _view_box(output.read_text(encoding="utf-8")) == [0, 0, 24, 16]


def test_real_conversion_default_output_and_stats(png_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["convert", str(png_file), "--stats", "-q"], capsys)
    assert code == 0, err
    svg_text = png_file.with_suffix(".svg").read_text(encoding="utf-8")
    assert _view_box(svg_text) == [0, 0, 24, 16]
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert isinstance(json.loads(lines[0]), dict)


def test_real_conversion_rgba_and_binary(
    save_image: Callable[..., Path], blocks_rgba: np.ndarray, capsys: pytest.CaptureFixture[str]
) -> None:
    path = save_image("alpha.png", blocks_rgba)
    assert main(["convert", str(path), "-q"]) == 0
    assert _view_box(path.with_suffix(".svg").read_text(encoding="utf-8")) == [0, 0, 24, 16]
    out = path.with_name("binary.svg")
    assert main(["convert", str(path), "-q", "--mode", "binary", "-o", str(out)]) == 0
    assert _view_box(out.read_text(encoding="utf-8")) == [0, 0, 24, 16]


def test_python_m_vectile_converts(png_file: Path, tmp_path: Path) -> None:
    output = tmp_path / "sub.svg"
    result = subprocess.run(
        [sys.executable, "-m", "vectile", "convert", str(png_file), "-o", str(output), "--stats"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert _view_box(output.read_text(encoding="utf-8")) == [0, 0, 24, 16]
    assert isinstance(json.loads(result.stderr.splitlines()[0]), dict)


def test_console_exit_flushes_stdout_and_keeps_the_status(png_file: Path, tmp_path: Path) -> None:
    """``python -m vectile`` leaves with os._exit (cli.run): the SVG written to a pipe must
    arrive whole, and a failure's status must survive."""
    result = subprocess.run(
        [sys.executable, "-m", "vectile", "convert", str(png_file), "-o", "-"],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    want = tmp_path / "want.svg"
    assert main(["convert", str(png_file), "-o", str(want), "-q"]) == 0
    assert result.stdout == want.read_bytes()
    bad = subprocess.run(
        [sys.executable, "-m", "vectile", "convert", str(png_file), "--colors", "0"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert bad.returncode == 2 and "colors" in bad.stderr
