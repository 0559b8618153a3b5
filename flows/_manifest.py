"""The batch manifest: ``OUTDIR/manifest.jsonl``, one JSON object per line, one line per file.

Only the client writes it, one line per finished file, flushed at once: an interrupted batch
(Ctrl-C, a killed client) leaves every line it wrote complete, and at worst one torn last
line, which readers skip. Fields of a line:

``input``, ``member``
    the file as named (the archive, and the member inside it, for archive members)
``output``
    the SVG, relative to OUTDIR (null for files that were only recorded)
``status``
    ``ok``, ``failed`` (``error`` says why) or ``skipped`` (not an image by its suffix)
``seconds``, ``pixels``, ``width``, ``height``, ``svg_bytes``, ``svg_sha256``
    time spent on the file by its worker, and what it produced
``input_sha256``, ``input_bytes``, ``input_stat``
    the input's SHA-256 and size, and ``[size, mtime_ns]`` of the file on disk (the
    outermost archive for members)
``options``
    the tracer options of the batch (what ``--resume`` compares)
``flow``, ``preset``, ``paths``, ``worker``, ``run``, ``time``, ``vectile``
    how and where it ran: the route (``whole`` or ``huge``), the preset used, the worker's
    address, the batch run (start time), the finishing time, the vectile version

A batch without ``--resume`` starts a new manifest; with ``--resume`` it appends, and the
last line about a file is the one that counts.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from vectile import formats
from vectile.flows._inputs import Job

__all__ = ["MANIFEST_NAME", "Manifest", "done_outputs", "read_manifest"]

MANIFEST_NAME = "manifest.jsonl"


class Manifest:
    """Appends records to the manifest, one flushed line each.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d, Manifest(Path(d) / "m.jsonl") as m:
    ...     m.write({"input": "a.png", "status": "ok"})
    ...     [r["input"] for r in read_manifest(m.path)]
    ['a.png']
    """

    def __init__(self, path: str | os.PathLike[str], *, append: bool = False) -> None:
        self.path = Path(path)
        if append and self.path.exists():
            self._file: IO[str] = open(self.path, "a+", encoding="utf-8")
            self._file.seek(0, os.SEEK_END)
            if self._file.tell() > 0:
                self._file.seek(self._file.tell() - 1)
                if self._file.read(1) != "\n":  # a torn last line: start on a fresh one
                    self._file.write("\n")
        else:
            self._file = open(self.path, "w", encoding="utf-8")
        self._file.flush()

    def write(self, record: dict[str, Any]) -> None:
        self._file.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        self._file.flush()

    def close(self) -> None:
        if not self._file.closed:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()

    def __enter__(self) -> Manifest:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_manifest(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """The records of a manifest, in order; torn or foreign lines are skipped."""
    try:
        f = open(path, encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return
    with f:
        for line in f:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                yield record


def _output_valid(path: Path, svg_bytes: Any, fmt: str = "svg") -> bool:
    """The output exists, has the recorded size and is a whole document of format ``fmt``."""
    try:
        size = path.stat().st_size
        if size != svg_bytes or size < 12:
            return False
        with open(path, "rb") as f:
            head = f.read(256)
            f.seek(-16, os.SEEK_END)
            tail = f.read()
    except OSError:
        return False
    return formats.looks_whole(head, tail, fmt)


def _input_unchanged(job: Job, record: dict[str, Any]) -> bool:
    stat = record.get("input_stat")
    if stat is not None and job.stat is not None and list(job.stat) == list(stat):
        return True
    # Touched or copied: a plain file is still the same input if its bytes are.
    if job.reader is None or job.reader.kind != "file" or not record.get("input_sha256"):
        return False
    digest = hashlib.sha256()
    try:
        with open(job.reader.path, "rb") as f:
            while block := f.read(1 << 20):
                digest.update(block)
    except OSError:
        return False
    return digest.hexdigest() == record["input_sha256"]


def done_outputs(
    jobs: list[Job],
    manifest: str | os.PathLike[str],
    outdir: str | os.PathLike[str],
    options: dict[str, Any],
    written: tuple[str, float | None, str] = ("svg", None, "none"),
) -> set[str]:
    """Outputs of ``jobs`` that a resumed batch need not redo.

    A file counts as done when the last manifest line about its output says ``ok``, was made
    with the same tracer options and output ``written`` (format, dpi, group_by; records from
    before formats existed count as SVG) from the same input (same size and modification
    time, or else the same SHA-256), and the output is still there, complete, with the
    recorded size.
    """
    latest: dict[str, dict[str, Any]] = {}
    for record in read_manifest(manifest):
        output = record.get("output")
        if isinstance(output, str):
            latest[output] = record
    done = set()
    out = Path(outdir)
    for job in jobs:
        if job.output is None:
            continue
        last = latest.get(job.output)
        if (
            last is not None
            and last.get("status") == "ok"
            and last.get("options") == options
            and (last.get("format", "svg"), last.get("dpi"), last.get("group_by", "none")) == written
            and _output_valid(out.joinpath(*job.output.split("/")), last.get("svg_bytes"), written[0])
            and _input_unchanged(job, last)
        ):
            done.add(job.output)
    return done
