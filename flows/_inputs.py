"""Batch inputs: turn what the user named into one :class:`Job` per file.

An input is a file, a directory (walked recursively), a glob pattern (``**`` recurses), a
zip or tar archive (its members are files of the batch), or ``@LIST``: a text file naming
more inputs, one per line (blank lines and lines starting with ``#`` are skipped; relative
paths are relative to the current directory, as on the command line; ``@`` lists may nest).

Outputs mirror the inputs: each file's SVG goes to ``OUTDIR/<path relative to the common
folder of all inputs>``, suffix replaced by ``.svg``. The common folder is the deepest folder
holding every input: a directory input counts itself, a file or archive its parent, a glob its
fixed leading folders. An archive is a folder of its own name, so member ``a/b.png`` of
``scans/box.zip`` goes to ``OUTDIR/box.zip/a/b.svg`` when ``scans`` is the common folder.
Two inputs that would share an output (``logo.png`` and ``logo.jpg``) both keep their full
name (``logo.png.svg``, ``logo.jpg.svg``), so no file overwrites another.

What a walk takes: inside directories and archives, files with an image suffix are traced,
archives are opened, and every other file is recorded as *skipped* (never silently dropped).
Hidden names (starting with ``.``) and macOS metadata (``__MACOSX/``) are ignored there. A file
named explicitly (argument, glob match, list entry) is always traced, whatever its suffix.

Archive members are read by the workers in place: zip members through :mod:`zipfile`, plain
tar members at their byte offset. Compressed tars (no random access) and archives nested in
archives are first copied, decompressed, into ``OUTDIR/.vectile-staging/`` (removed when the
batch ends), so the workers can read them in place too.
"""

from __future__ import annotations

import bz2
import functools
import glob
import gzip
import hashlib
import lzma
import os
import posixpath
import shutil
import tarfile
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from PIL import Image

from vectile.errors import InputError

__all__ = ["STAGING_DIR", "Job", "Reader", "is_archive", "plan"]

#: Folder under OUTDIR for decompressed and nested archives; removed when the batch ends.
STAGING_DIR = ".vectile-staging"

# Raster formats people keep in archives; intersected with what this Pillow opens.
_IMAGE_SUFFIXES = frozenset(
    ".png .apng .jpg .jpeg .jpe .jfif .tif .tiff .webp .bmp .dib .gif .avif .avifs .jp2 .j2k "
    ".jpx .jpf .j2c .jpc .qoi .tga .ppm .pgm .pbm .pnm .pcx .ico .icns .psd .sgi .rgb .rgba "
    ".bw .ras .xbm .xpm .dds .blp .im .msp".split()
)
_TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tbz", ".tar.xz", ".txz")
_ARCHIVE_SUFFIXES = (".zip", *_TAR_SUFFIXES)
# Compressed tar streams by their magic bytes.
_DECOMPRESSORS: tuple[tuple[bytes, Callable[..., Any]], ...] = (
    (b"\x1f\x8b", gzip.open),
    (b"BZh", bz2.open),
    (b"\xfd7zXZ\x00", lzma.open),
)
_MAX_NESTING = 4  # archives inside archives inside ...: deeper ones are recorded as failed
_CHUNK = 1 << 20


@functools.cache
def _image_suffixes() -> frozenset[str]:
    Image.init()
    openable = {ext for ext, fmt in Image.registered_extensions().items() if fmt in Image.OPEN}
    return _IMAGE_SUFFIXES & openable


@dataclass(frozen=True, slots=True)
class Reader:
    """How a worker gets the bytes of one file.

    ``kind`` is ``file`` (``path`` is the image), ``zip`` (``member`` of the zip at ``path``) or
    ``tar`` (``size`` bytes at byte ``offset`` of the uncompressed tar at ``path``). ``path`` is
    absolute, so workers started in another folder find it.
    """

    kind: str
    path: str
    member: str | None = None
    offset: int = 0
    size: int = 0


@dataclass(frozen=True, slots=True)
class Job:
    """One file of a batch: where it comes from, how to read it, where its SVG goes.

    ``input`` is the file as the user named it (joined with the walked path) or, for archive
    members, the archive; ``member`` the member's path inside it (``inner.zip/a.png`` when
    nested); ``output`` the SVG's POSIX path relative to OUTDIR (None for files that are only
    recorded). ``stat`` is ``(size,
    mtime_ns)`` of the file on disk (the outermost archive for members), used by ``--resume``
    to notice changed inputs. A job with ``skip`` or ``error`` set is only recorded, not traced.
    """

    input: str
    member: str | None
    output: str | None
    reader: Reader | None
    stat: tuple[int, int] | None = None
    skip: str | None = None
    error: str | None = None

    @property
    def label(self) -> str:
        """The file as people read it: ``scans/box.zip!a/b.png`` for archive members."""
        return self.input if self.member is None else f"{self.input}!{self.member}"

    def key(self, outdir: str, options_json: str) -> str:
        """A Dask key that is the same for the same file, output and options (retries and
        re-submissions then reuse the task instead of running it twice)."""
        text = "\0".join((os.path.abspath(self.input), self.member or "", outdir, self.output or "", options_json))
        return "vectile-trace-" + hashlib.sha1(text.encode("utf-8", "surrogateescape")).hexdigest()[:24]


def is_archive(name: str) -> bool:
    """Whether ``name`` has an archive suffix (zip, tar, tar.gz/bz2/xz)."""
    return name.lower().endswith(_ARCHIVE_SUFFIXES)


def _is_hidden(name: str) -> bool:
    return name.startswith(".") or name == "__MACOSX"


def _stat(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


# --- expanding arguments ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Entry:
    path: str  # as named (relative or absolute)
    root: str  # absolute folder that anchors the output tree
    explicit: bool  # named directly, not found by a walk
    missing: str | None = None  # error text when the entry names nothing


def _expand(
    inputs: Iterable[str | os.PathLike[str]], *, from_list: str | None = None, seen_lists: frozenset[str] = frozenset()
) -> Iterator[_Entry]:
    for raw in inputs:
        arg = os.fspath(raw)
        if arg.startswith("@") and len(arg) > 1:
            yield from _expand_list(arg[1:], seen_lists)
            continue
        if os.path.lexists(arg):
            root = arg if os.path.isdir(arg) else os.path.dirname(arg) or "."
            yield _Entry(arg, os.path.abspath(root), True)
        elif glob.has_magic(arg):
            matches = sorted(glob.glob(arg, recursive=True))
            if not matches:
                message = f"'{arg}': no file matches this pattern"
                if from_list is None:
                    raise InputError(message, path=arg)
                continue  # an empty pattern in a list file names no file to record
            fixed = _fixed_prefix(arg)
            for match in matches:
                yield _Entry(match, os.path.abspath(fixed), True)
        else:
            message = f"cannot read '{arg}': no such file or directory"
            if from_list is None:
                raise InputError(message, path=arg)
            # A stale entry in a list file: record it as failed, keep going.
            yield _Entry(
                arg, os.path.abspath(os.path.dirname(arg) or "."), True, missing=f"{message} (listed in '{from_list}')"
            )


def _expand_list(list_path: str, seen: frozenset[str]) -> Iterator[_Entry]:
    real = os.path.realpath(list_path)
    if real in seen:
        raise InputError(f"list file '{list_path}' includes itself", path=list_path)
    try:
        with open(list_path, encoding="utf-8") as f:
            lines = [line.strip() for line in f]
    except FileNotFoundError:
        raise InputError(f"cannot read list file '{list_path}': no such file", path=list_path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read list file '{list_path}': {exc}", path=list_path) from exc
    entries = [line for line in lines if line and not line.startswith("#")]
    yield from _expand(entries, from_list=list_path, seen_lists=seen | {real})


def _fixed_prefix(pattern: str) -> str:
    """The folders of a glob pattern before its first wildcard: ``scans/20*/**/*.png`` -> ``scans``."""
    parts = Path(pattern).parts
    fixed: list[str] = []
    for part in parts[:-1]:
        if glob.has_magic(part):
            break
        fixed.append(part)
    return os.path.join(*fixed) if fixed else "."


# --- planning -------------------------------------------------------------------------------


def plan(inputs: Sequence[str | os.PathLike[str]], outdir: str | os.PathLike[str]) -> list[Job]:
    """Expand ``inputs`` into jobs (see the module docstring for the rules).

    Raises :class:`~vectile.errors.InputError` when an argument names nothing (a missing path,
    a pattern that matches no file, an unreadable list file). Problems with single files
    (an unreadable archive, a stale list entry) become jobs with ``error`` set instead, so the
    batch records them and goes on.

    >>> plan([], "out")
    []
    """
    entries = list(_expand(inputs))
    if not entries:
        return []
    out_abs = os.path.abspath(outdir)
    out_real = os.path.realpath(outdir)
    staging = os.path.join(out_abs, STAGING_DIR)
    base = os.path.commonpath([e.root for e in entries])
    suffixes = _image_suffixes()
    jobs: list[Job] = []
    seen: set[str] = set()
    for entry in entries:
        if entry.missing is not None:
            jobs.append(Job(entry.path, None, None, None, error=entry.missing))
            continue
        for path in _walk(entry.path, out_real):
            absolute = os.path.abspath(path)
            if absolute in seen:
                continue
            seen.add(absolute)
            rel = _relative(path, base)
            explicit = path == entry.path and entry.explicit
            jobs.extend(_file_jobs(path, rel, explicit, suffixes, staging))
    return _unique_outputs(jobs)


def _walk(path: str, out_real: str) -> Iterator[str]:
    """``path`` itself, or every file under it (sorted, hidden names and OUTDIR left out)."""
    if not os.path.isdir(path):
        yield path
        return
    for folder, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not _is_hidden(d) and os.path.realpath(os.path.join(folder, d)) != out_real)
        for name in sorted(files):
            if not _is_hidden(name):
                yield os.path.join(folder, name)


def _relative(path: str, base: str) -> str:
    rel = os.path.relpath(os.path.abspath(path), base)
    return Path(rel).as_posix()


def _svg_name(rel: str) -> str:
    stem, suffix = posixpath.splitext(rel)
    return (stem if suffix else rel) + ".svg"


def _file_jobs(path: str, rel: str, explicit: bool, suffixes: frozenset[str], staging: str) -> list[Job]:
    name = os.path.basename(path)
    stat = _stat(path)
    if is_archive(name):
        return _archive_jobs(path, path, rel, None, stat, staging, depth=1)
    suffix = os.path.splitext(name)[1].lower()
    if not explicit and suffix not in suffixes:
        return [
            Job(path, None, None, None, stat, skip="not an image file (by its suffix); name it explicitly to trace it")
        ]
    return [Job(path, None, _svg_name(rel), Reader("file", os.path.abspath(path)), stat)]


def _safe_member(name: str) -> str | None:
    """A member name as a relative POSIX path, or None when it would escape its folder."""
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return "/".join(parts)


def _archive_jobs(
    input_path: str,
    disk_path: str,
    rel: str,
    prefix: str | None,
    stat: tuple[int, int] | None,
    staging: str,
    depth: int,
) -> list[Job]:
    """Jobs for every member of the archive at ``disk_path``.

    ``input_path`` is the outermost archive as named; ``prefix`` the path of this archive
    inside it (nested archives); ``rel`` the output folder of this archive.
    """
    label = input_path if prefix is None else f"{input_path}!{prefix}"

    def failed(message: str) -> list[Job]:
        return [Job(input_path, prefix, None, None, stat, error=message)]

    if depth > _MAX_NESTING:
        return failed(f"'{label}': archives nested more than {_MAX_NESTING} deep are not opened")
    suffixes = _image_suffixes()
    try:
        if disk_path.lower().endswith(".zip"):
            members = _zip_members(disk_path)
            reader_kind = "zip"
        else:
            disk_path = _plain_tar(disk_path, staging)
            members = _tar_members(disk_path)
            reader_kind = "tar"
    except (OSError, zipfile.BadZipFile, tarfile.TarError, EOFError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        return failed(f"'{label}' is not a readable archive ({reason})")
    jobs: list[Job] = []
    for member, offset, size, is_file in members:
        safe = _safe_member(member)
        inner = member if prefix is None else f"{prefix}/{member}"
        if safe is None:
            jobs.append(
                Job(
                    input_path,
                    inner,
                    None,
                    None,
                    stat,
                    error=f"'{input_path}!{inner}': member path leaves the archive; not extracted",
                )
            )
            continue
        if not is_file or any(_is_hidden(part) for part in safe.split("/")):
            continue
        inner = safe if prefix is None else f"{prefix}/{safe}"
        member_rel = f"{rel}/{safe}"
        suffix = posixpath.splitext(safe)[1].lower()
        if is_archive(safe):
            try:
                nested = _stage_member(disk_path, reader_kind, member, offset, size, staging)
            except (OSError, zipfile.BadZipFile, tarfile.TarError, EOFError, ValueError, RuntimeError) as exc:
                jobs.append(
                    Job(
                        input_path,
                        inner,
                        None,
                        None,
                        stat,
                        error=f"'{input_path}!{inner}': cannot extract this nested archive ({exc})",
                    )
                )
                continue
            jobs.extend(_archive_jobs(input_path, nested, member_rel, inner, stat, staging, depth + 1))
        elif suffix not in suffixes:
            jobs.append(Job(input_path, inner, None, None, stat, skip="not an image file (by its suffix)"))
        else:
            reader = Reader(
                reader_kind, os.path.abspath(disk_path), member if reader_kind == "zip" else None, offset, size
            )
            jobs.append(Job(input_path, inner, _svg_name(member_rel), reader, stat))
    return jobs


def _zip_members(path: str) -> list[tuple[str, int, int, bool]]:
    with zipfile.ZipFile(path) as zf:
        return [(info.filename, 0, info.file_size, not info.is_dir()) for info in zf.infolist()]


def _tar_members(path: str) -> list[tuple[str, int, int, bool]]:
    members = []
    with tarfile.open(path, mode="r:") as tf:
        for info in tf:
            # Sparse members are not stored contiguously: they cannot be read at an offset.
            members.append((info.name, info.offset_data, info.size, info.isreg() and not info.issparse()))
    return members


def _staged_name(source: str, what: str, suffix: str) -> str:
    digest = hashlib.sha1(f"{os.path.abspath(source)}\0{what}".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()[:20] + suffix


def _plain_tar(path: str, staging: str) -> str:
    """An uncompressed tar with the content of ``path``: ``path`` itself, or a decompressed copy
    in the staging folder (compressed streams have no random access for the workers)."""
    with open(path, "rb") as f:
        magic = f.read(6)
    opener = next((open_ for start, open_ in _DECOMPRESSORS if magic.startswith(start)), None)
    if opener is None:
        return path
    os.makedirs(staging, exist_ok=True)
    st = os.stat(path)
    target = os.path.join(staging, _staged_name(path, f"{st.st_size}:{st.st_mtime_ns}", ".tar"))
    if not os.path.exists(target):
        temporary = target + f".{os.getpid()}.part"
        with opener(path, "rb") as src, open(temporary, "wb") as dst:
            shutil.copyfileobj(src, dst, _CHUNK)
        os.replace(temporary, target)
    return target


def _stage_member(archive: str, kind: str, member: str, offset: int, size: int, staging: str) -> str:
    """Copy a nested archive out of ``archive`` into the staging folder; return its path."""
    os.makedirs(staging, exist_ok=True)
    suffix = next(s for s in _ARCHIVE_SUFFIXES if member.lower().endswith(s))
    st = os.stat(archive)
    target = os.path.join(staging, _staged_name(archive, f"{st.st_mtime_ns}:{member}", suffix))
    if not os.path.exists(target):
        temporary = target + f".{os.getpid()}.part"
        with open(temporary, "wb") as dst:
            if kind == "zip":
                with zipfile.ZipFile(archive) as zf, zf.open(member) as src:
                    shutil.copyfileobj(src, dst, _CHUNK)
            else:
                with open(archive, "rb") as src:
                    src.seek(offset)
                    remaining = size
                    while remaining:
                        block = src.read(min(_CHUNK, remaining))
                        if not block:
                            raise EOFError(f"tar member '{member}' is truncated")
                        dst.write(block)
                        remaining -= len(block)
        os.replace(temporary, target)
    return target


def _unique_outputs(jobs: list[Job]) -> list[Job]:
    """Give inputs that would share an output (``a.png``, ``a.jpg``) their full names.

    Compared case-insensitively, because ``A.svg`` and ``a.svg`` are one file on some disks.
    """
    groups: dict[str, list[int]] = defaultdict(list)
    for i, job in enumerate(jobs):
        if job.output is not None:
            groups[job.output.casefold()].append(i)
    taken = set(groups)
    result = list(jobs)
    for indices in groups.values():
        if len(indices) < 2:
            continue
        for i in indices:
            job = jobs[i]
            assert job.output is not None
            folder = posixpath.dirname(job.output)
            original = posixpath.basename(job.member or job.input)
            candidate = posixpath.join(folder, original) + ".svg"
            n = 2
            while candidate.casefold() in taken:
                candidate = posixpath.join(folder, f"{original}-{n}.svg")
                n += 1
            taken.add(candidate.casefold())
            result[i] = replace(job, output=candidate)
    return result
