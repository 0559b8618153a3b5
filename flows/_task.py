"""The task of one file: read it, trace it, write its SVG atomically, return a small dict.

Runs on a Dask worker (or anywhere: it needs no Dask). Only paths go in and only a few numbers
come back, never pixels or SVG text, so the scheduler and the client stay light.

Errors that belong to the file (not an image, corrupt, too big, a bad archive member, a
vanished input) are *results*: the dict says ``"status": "failed"`` with the message, and the
batch goes on; retrying would fail the same way. Everything else (a full disk, an I/O error,
a bug) raises, so Dask retries the task and the client records it as failed only when the
retries are spent.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
import time
import zipfile
from collections import OrderedDict
from typing import Any

from vectile import formats
from vectile._io import load_image, write_atomic
from vectile._text import naming
from vectile.errors import PixelLimitError, VectileError
from vectile.flows import _route
from vectile.flows._inputs import Job, Reader

__all__ = ["trace_files", "trace_job"]

# Files up to this size are read into memory once: hashed and decoded from the same bytes.
# Bigger files are hashed in a streaming pass and decoded from disk, so memory holds the
# pixels but not a second copy of the compressed file.
_IN_MEMORY_BYTES = 64 << 20
_CHUNK = 1 << 20


class _ZipCache:
    """Open zip archives per worker process: opening one reads its whole central directory,
    which for archives of many thousand members costs more than tracing an icon."""

    def __init__(self, size: int = 8) -> None:
        self._size = size
        self._open: OrderedDict[tuple[str, int, int], zipfile.ZipFile] = OrderedDict()
        self._lock = threading.Lock()

    def read(self, path: str, member: str) -> bytes:
        st = os.stat(path)
        key = (path, st.st_size, st.st_mtime_ns)
        with self._lock:
            zf = self._open.get(key)
            if zf is None:
                zf = zipfile.ZipFile(path)
                self._open[key] = zf
                while len(self._open) > self._size:
                    _, old = self._open.popitem(last=False)
                    old.close()
            else:
                self._open.move_to_end(key)
        return zf.read(member)  # ZipFile serialises concurrent reads itself


_zips = _ZipCache()


def _read_member(reader: Reader) -> bytes:
    if reader.kind == "zip":
        assert reader.member is not None
        return _zips.read(reader.path, reader.member)
    with open(reader.path, "rb") as f:  # tar: the member's bytes lie at offset, contiguous
        f.seek(reader.offset)
        data = f.read(reader.size)
    if len(data) != reader.size:
        raise EOFError(f"archive ends {reader.size - len(data)} bytes before the member does")
    return data


def _hash_file(path: str) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def _path_pixels(path: str, max_pixels: int) -> int | None:
    """Width x height of the image at ``path`` from its header (:func:`vectile.tiling.probe`,
    the header reader of the tiled path itself, so only images it can stream are routed to it);
    None when the probe cannot read it (the tracer then reports the problem, or decodes a
    format the tiled path does not stream)."""
    from vectile.tiling import probe

    try:
        return probe(path, max_pixels=max_pixels).pixels
    except PixelLimitError:
        raise
    except VectileError:
        return None


def _worker_address() -> str | None:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return None


def trace_job(
    job: Job,
    outdir: str,
    options: dict[str, Any],
    max_pixels: int,
    written: tuple[str, float | None, str] = ("svg", None, "none"),
) -> dict[str, Any]:
    """Trace ``job`` into ``outdir/job.output``; return what the manifest records.

    ``written`` is the output's ``(format, dpi, group_by)`` (see :mod:`vectile.formats`);
    ``svg_bytes`` and ``svg_sha256`` describe the file written, whatever its format.

    The output is written to a temporary file next to it and renamed, so a reader (or a
    resumed batch) sees the old file or the complete new one, never a partial one. Running the
    same job twice (a worker died after writing) writes the same bytes again.
    """
    started = time.perf_counter()
    assert job.reader is not None and job.output is not None
    reader = job.reader
    result: dict[str, Any] = {"worker": _worker_address()}

    def failed(message: str) -> dict[str, Any]:
        return {**result, "status": "failed", "error": message, "seconds": round(time.perf_counter() - started, 6)}

    try:
        source: Any
        if reader.kind == "file" and os.path.getsize(reader.path) > _IN_MEMORY_BYTES:
            result["input_sha256"], result["input_bytes"] = _hash_file(reader.path)
            source = reader.path
        else:
            if reader.kind == "file":
                with open(reader.path, "rb") as f:
                    data = f.read()
            else:
                try:
                    data = _read_member(reader)
                except (zipfile.BadZipFile, EOFError, KeyError, NotImplementedError, RuntimeError) as exc:
                    # Bad CRC, unsupported compression, encryption, truncated tar, a member
                    # gone from a rewritten archive: the same on every retry.
                    return failed(f"cannot read '{job.label}': {exc}")
            result["input_sha256"] = hashlib.sha256(data).hexdigest()
            result["input_bytes"] = len(data)
            source = io.BytesIO(data)
            source.name = job.label  # load_image names the file in its messages
        if isinstance(source, str):
            pixels = _path_pixels(source, max_pixels)
        else:
            # The bytes are in memory: decoding them is what either flow does first, and the
            # decoded size routes the file without a second reader (libvips reads paths only).
            source = load_image(source, max_pixels=max_pixels)
            pixels = source.shape[0] * source.shape[1]
        flow = "whole" if pixels is None else _route.route(pixels)
        tracer = _route.trace_huge if flow == "huge" else _route.trace_whole
        svg = tracer(source, options, max_pixels)
        fmt, dpi, group_by = written
        encoded = str(svg).encode("utf-8")
        if fmt != "svg" or group_by != "none":
            encoded = formats.to_bytes(encoded, fmt, dpi=dpi, group_by=group_by)
        target = os.path.join(outdir, *job.output.split("/"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        write_atomic(target, encoded)
    except VectileError as exc:
        return failed(naming(str(exc), job.label))
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        if exc.filename != reader.path:
            raise  # not the input: the output folder, say; let Dask retry
        return failed(f"cannot read '{job.label}': {exc.strerror or exc}")
    stats = svg.stats
    return {
        **result,
        "status": "ok",
        "error": None,
        "seconds": round(time.perf_counter() - started, 6),
        "pixels": int(stats["width"]) * int(stats["height"]),
        "width": int(stats["width"]),
        "height": int(stats["height"]),
        "svg_bytes": len(encoded),
        "svg_sha256": hashlib.sha256(encoded).hexdigest(),
        "flow": flow,
        "preset": stats.get("preset"),
        "paths": stats.get("paths"),
    }


def trace_files(
    jobs: list[Job],
    outdir: str,
    options: dict[str, Any],
    max_pixels: int,
    written: tuple[str, float | None, str] = ("svg", None, "none"),
) -> list[dict[str, Any]]:
    """:func:`trace_job` for each of ``jobs`` (a group of small files in one task)."""
    return [trace_job(job, outdir, options, max_pixels, written) for job in jobs]
