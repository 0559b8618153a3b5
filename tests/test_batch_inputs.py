"""Batch planning and resume decisions, without Dask: inputs -> jobs, manifest -> done set."""

from __future__ import annotations

import io
import json
import os
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vectile.errors import InputError, OptionError
from vectile.flows import Job, plan, read_manifest
from vectile.flows._batch import check_options
from vectile.flows._inputs import STAGING_DIR
from vectile.flows._manifest import Manifest, done_outputs
from vectile.flows._task import trace_job


def _png_bytes(seed: int = 0, size: int = 16) -> bytes:
    rng = np.random.default_rng(seed)
    image = np.repeat(np.repeat(rng.integers(0, 255, (4, 4, 3), dtype=np.uint8), size // 4, 0), size // 4, 1)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _tar(path: Path, members: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def _by_label(jobs: list[Job]) -> dict[str, Job]:
    return {job.label: job for job in jobs}


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """in/a.png, in/deep/b.png, in/notes.txt, in/.hidden.png, in/deep/box.zip (c.png and
    inner.zip holding d.png), in/pack.tgz (e.png); cwd is tmp_path."""
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "in"
    _write(root / "a.png", _png_bytes(1))
    _write(root / "deep" / "b.png", _png_bytes(2))
    _write(root / "notes.txt", b"hello")
    _write(root / ".hidden.png", _png_bytes(3))
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("d.png", _png_bytes(4))
    _zip(
        root / "deep" / "box.zip", {"c.png": _png_bytes(5), "inner.zip": inner.getvalue(), "__MACOSX/._c.png": b"junk"}
    )
    _tar(root / "pack.tgz", {"sub/e.png": _png_bytes(6)})
    return tmp_path


def test_directory_is_walked_and_mirrored(tree: Path) -> None:
    jobs = _by_label(plan(["in"], "out"))
    assert {label: job.output for label, job in jobs.items()} == {
        "in/a.png": "a.svg",
        "in/deep/b.png": "deep/b.svg",
        "in/notes.txt": None,
        "in/deep/box.zip!c.png": "deep/box.zip/c.svg",
        "in/deep/box.zip!inner.zip/d.png": "deep/box.zip/inner.zip/d.svg",
        "in/pack.tgz!sub/e.png": "pack.tgz/sub/e.svg",
    }
    assert jobs["in/notes.txt"].skip and jobs["in/notes.txt"].reader is None
    assert jobs["in/a.png"].reader is not None and jobs["in/a.png"].reader.kind == "file"
    assert jobs["in/deep/box.zip!c.png"].reader.kind == "zip"  # type: ignore[union-attr]
    # The compressed tar and the nested zip are staged decompressed under OUTDIR.
    tar_reader = jobs["in/pack.tgz!sub/e.png"].reader
    assert tar_reader is not None and tar_reader.kind == "tar"
    assert Path(tar_reader.path).parent == (tree / "out" / STAGING_DIR).resolve()
    with open(tar_reader.path, "rb") as f:
        f.seek(tar_reader.offset)
        assert f.read(tar_reader.size) == _png_bytes(6)


def test_every_reader_gives_the_original_bytes(tree: Path) -> None:
    out = tree / "out"
    for job in plan(["in"], out):
        if job.reader is None:
            continue
        result = trace_job(job, str(out), {}, 1 << 30)
        assert result["status"] == "ok", result
        assert (out / job.output).read_text().startswith("<svg")  # type: ignore[operator]
    assert not any(p.name.endswith(".tmp") for p in out.rglob("*"))


def test_common_folder_and_explicit_files(tree: Path) -> None:
    jobs = _by_label(plan(["in/a.png", "in/deep"], "out"))
    assert jobs["in/a.png"].output == "a.svg"
    assert jobs["in/deep/b.png"].output == "deep/b.svg"
    # A file named explicitly is traced whatever its suffix.
    (tree / "in" / "image.dat").write_bytes(_png_bytes(7))
    assert _by_label(plan(["in/image.dat"], "out"))["in/image.dat"].output == "image.svg"
    # A hidden file is left out of walks but traced when named.
    assert "in/.hidden.png" not in _by_label(plan(["in"], "out"))
    assert _by_label(plan(["in/.hidden.png"], "out"))["in/.hidden.png"].output == ".hidden.svg"


def test_globs_and_list_files(tree: Path) -> None:
    jobs = _by_label(plan(["in/**/*.png"], "out"))
    assert set(jobs) == {"in/a.png", "in/deep/b.png"}
    assert jobs["in/deep/b.png"].output == "deep/b.svg"  # relative to the glob's fixed folder
    (tree / "list.txt").write_text("# todo\nin/a.png\n\nin/deep/*.zip\nin/gone.png\n")
    jobs = _by_label(plan(["@list.txt"], "out"))
    assert set(jobs) == {"in/a.png", "in/deep/box.zip!c.png", "in/deep/box.zip!inner.zip/d.png", "in/gone.png"}
    # A stale list entry is recorded as failed, not fatal.
    assert "no such file" in (jobs["in/gone.png"].error or "")
    assert "list.txt" in (jobs["in/gone.png"].error or "")


def test_arguments_that_name_nothing_are_errors(tree: Path) -> None:
    with pytest.raises(InputError, match="'in/missing.png': no such file"):
        plan(["in/missing.png"], "out")
    with pytest.raises(InputError, match="no file matches"):
        plan(["in/*.gif"], "out")
    with pytest.raises(InputError, match="list file 'nolist.txt'"):
        plan(["@nolist.txt"], "out")
    (tree / "loop.txt").write_text("@loop.txt\n")
    with pytest.raises(InputError, match="includes itself"):
        plan(["@loop.txt"], "out")


def test_colliding_outputs_keep_full_names(tree: Path) -> None:
    _write(tree / "in" / "a.jpg", _png_bytes(8))
    jobs = _by_label(plan(["in/a.png", "in/a.jpg"], "out"))
    assert jobs["in/a.png"].output == "a.png.svg"
    assert jobs["in/a.jpg"].output == "a.jpg.svg"
    assert len({job.output for job in jobs.values()}) == 2


def test_outdir_inside_the_input_is_not_walked(tree: Path) -> None:
    _write(tree / "in" / "svg" / "old.png", _png_bytes(9))
    labels = set(_by_label(plan(["in"], "in/svg")))
    assert "in/svg/old.png" not in labels and "in/a.png" in labels


def test_bad_archives_and_unsafe_members_are_recorded(tree: Path) -> None:
    _write(tree / "in" / "broken.zip", b"PK\x03\x04 not really a zip")
    _zip(tree / "in" / "evil.zip", {"../escape.png": _png_bytes(10), "ok.png": _png_bytes(11)})
    jobs = _by_label(plan(["in/broken.zip", "in/evil.zip"], "out"))
    assert "not a readable archive" in (jobs["in/broken.zip"].error or "")
    assert "leaves the archive" in (jobs["in/evil.zip!../escape.png"].error or "")
    assert jobs["in/evil.zip!ok.png"].output == "evil.zip/ok.svg"


def test_job_keys_depend_on_file_output_and_options(tree: Path) -> None:
    a, b = (job for job in plan(["in/a.png", "in/deep/b.png"], "out"))
    assert a.key("/o", "{}") == a.key("/o", "{}")
    assert len({a.key("/o", "{}"), b.key("/o", "{}"), a.key("/o", '{"colors": 8}'), a.key("/p", "{}")}) == 4


def test_options_are_checked_before_any_work() -> None:
    assert check_options({"colors": np.int64(8), "preset": None}) == {"colors": 8}
    with pytest.raises(OptionError, match="colors"):
        check_options({"colors": 0})
    with pytest.raises(OptionError, match="unknown tracer option colours"):
        check_options({"colours": 8})


def _done_after_run(tree: Path, options: dict[str, object]) -> tuple[list[Job], Path]:
    out = tree / "out"
    jobs = [job for job in plan(["in"], out) if job.reader is not None]
    out.mkdir(exist_ok=True)
    with Manifest(out / "manifest.jsonl") as manifest:
        for job in jobs:
            result = trace_job(job, str(out), options, 1 << 30)
            manifest.write(
                {
                    "input": job.input,
                    "member": job.member,
                    "output": job.output,
                    "input_stat": list(job.stat or ()),
                    "options": options,
                    **result,
                }
            )
    return jobs, out


def test_resume_redoes_only_what_is_missing_invalid_or_different(tree: Path) -> None:
    jobs, out = _done_after_run(tree, {"colors": 4})
    manifest = out / "manifest.jsonl"
    outputs = {job.output for job in jobs}
    assert done_outputs(jobs, manifest, out, {"colors": 4}) == outputs
    assert done_outputs(jobs, manifest, out, {"colors": 5}) == set()  # other options
    (out / "a.svg").unlink()  # missing
    (out / "deep" / "b.svg").write_text((out / "deep" / "b.svg").read_text()[:-10])  # truncated
    a_png = tree / "in" / "a.png"
    os.utime(a_png, ns=(1, 1))  # touched, same bytes: still done
    assert done_outputs(jobs, manifest, out, {"colors": 4}) == outputs - {"a.svg", "deep/b.svg"}
    jobs, out = _done_after_run(tree, {"colors": 4})
    a_png.write_bytes(_png_bytes(99))  # changed input: redo
    jobs = [job for job in plan(["in"], out) if job.reader is not None]
    assert done_outputs(jobs, manifest, out, {"colors": 4}) == outputs - {"a.svg"}


def test_manifest_survives_a_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "manifest.jsonl"
    with Manifest(path) as manifest:
        manifest.write({"output": "a.svg", "status": "ok"})
    with open(path, "a") as f:
        f.write('{"output": "b.svg", "sta')  # the client died mid-write
    with Manifest(path, append=True) as manifest:
        manifest.write({"output": "c.svg", "status": "ok"})
    assert [r["output"] for r in read_manifest(path)] == ["a.svg", "c.svg"]
    assert all(json.loads(line) for line in path.read_text().splitlines()[-1:])


def test_huge_images_take_the_routing_point(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vectile.flows import _route

    out = tree / "out"
    [job] = [j for j in plan(["in/a.png"], out)]
    whole = trace_job(job, str(out), {}, 1 << 30)
    svg = (out / "a.svg").read_bytes()
    monkeypatch.setattr(_route, "HUGE_PIXELS", 100)  # 16 x 16 pixels is "huge" now
    huge = trace_job(job, str(out), {}, 1 << 30)
    assert (whole["flow"], huge["flow"]) == ("whole", "huge")
    assert (out / "a.svg").read_bytes() == svg  # the placeholder traces the whole image
    too_big = trace_job(job, str(out), {}, 100)
    assert too_big["status"] == "failed" and "over the limit" in too_big["error"]
    assert "in/a.png" in too_big["error"]
