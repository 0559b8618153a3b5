"""Other output formats: the traced SVG converted to SVGZ, PDF, EPS or DXF, and grouped.

Every converter reads the SVG that vectile writes (:mod:`vectile.formats.reader`, streaming)
and draws exactly its paths, so a format is a second way of writing one picture:

========  ==========================================================================
``svg``   the SVG as traced (``--group-by`` wraps its paths in ``<g>`` layers)
``svgz``  the same SVG, gzip-compressed (mtime 0, no file name: deterministic bytes)
``pdf``   one page, vector paths (:mod:`vectile.formats.pdf`)
``eps``   Encapsulated PostScript level 2 (:mod:`vectile.formats.eps`)
``dxf``   HATCH fills, outlines and strokes on colour layers (:mod:`vectile.formats.dxf`)
========  ==========================================================================

``dpi`` sets the physical size of PDF, EPS and DXF: pixels per inch (default 72, one pixel
one point).  ``group_by`` (``none``, ``color``, ``layer``) groups paths without changing the
picture (:mod:`vectile.formats.group`).

>>> svg = '<svg xmlns="http://www.w3.org/2000/svg" width="2" height="2" viewBox="0 0 2 2">'
>>> svg += '<path d="M0 0h2v2H0z" fill="#f00"/></svg>'
>>> to_bytes(svg, "pdf")[:8]
b'%PDF-1.5'
>>> format_for(None, "out/logo.dxf")
'dxf'
"""

from __future__ import annotations

import contextlib
import gzip
import os
import secrets
import shutil
from collections.abc import Iterator
from html import escape
from pathlib import Path as FsPath
from typing import IO, cast

from vectile.errors import OptionError
from vectile.formats.group import GROUP_BY, Group, assign_groups, check_group_by, sections
from vectile.formats.reader import Path, open_svg

__all__ = [
    "DEFAULT_DPI",
    "FORMATS",
    "GROUP_BY",
    "MEDIA_TYPES",
    "SUFFIXES",
    "atomic_output",
    "check_dpi",
    "check_format",
    "convert",
    "format_for",
    "looks_whole",
    "output_format",
    "to_bytes",
    "with_suffix",
]

FORMATS = ("svg", "svgz", "pdf", "eps", "dxf")
#: The file suffix of each format.
SUFFIXES = {f: "." + f for f in FORMATS}
#: The media (MIME) type of each format, as the server answers it.
MEDIA_TYPES = {
    "svg": "image/svg+xml",
    "svgz": "application/gzip",
    "pdf": "application/pdf",
    "eps": "application/postscript",
    "dxf": "image/vnd.dxf",
}
DEFAULT_DPI = 72.0

Source = str | bytes | os.PathLike[str]


def check_format(format: str | None) -> str:
    """``format`` checked (None: ``svg``); a bad value raises :class:`OptionError`."""
    value = "svg" if format is None else str(format).lower()
    if value not in FORMATS:
        raise OptionError(f"format must be one of {', '.join(FORMATS)}, got {format!r}", option="format")
    return value


def check_dpi(dpi: float | None) -> float:
    """``dpi`` checked (None: :data:`DEFAULT_DPI`): a number from 1 to 100000."""
    value = DEFAULT_DPI if dpi is None else dpi
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 1 <= value <= 100_000:
        raise OptionError(f"dpi must be a number from 1 to 100000, got {dpi!r}", option="dpi")
    return float(value)


def format_for(format: str | None, output: str | os.PathLike[str] | None) -> str:
    """The format to write: ``format`` when given, else the one ``output``'s suffix names,
    else ``svg``.  A ``format`` that contradicts a known suffix (``dxf`` into ``x.svg``) is an
    :class:`OptionError`: a file whose name lies about its content helps nobody."""
    named = None
    if output is not None and output != "-":
        named = {v: k for k, v in SUFFIXES.items()}.get(FsPath(output).suffix.lower())
    if format is None:
        return named or "svg"
    value = check_format(format)
    if named is not None and named != value:
        raise OptionError(
            f"format {value} does not match the output name '{os.fspath(output or '')}' "
            f"(its suffix says {named}); name it *{SUFFIXES[value]} or leave out the format",
            option="format",
        )
    return value


def output_format(format: str | None, dpi: float | None, group_by: str | None) -> tuple[str, float | None, str]:
    """``(format, dpi, group_by)`` checked, as a batch and its manifest record them (``dpi``
    None stays None: the default).

    >>> output_format("PDF", 300, None)
    ('pdf', 300.0, 'none')
    """
    return check_format(format), None if dpi is None else check_dpi(dpi), check_group_by(group_by)


def with_suffix(name: str, format: str) -> str:
    """``name`` (a path ending in ``.svg``, as batch plans them) with the suffix of ``format``.

    >>> with_suffix("scans/a.png.svg", "pdf")
    'scans/a.png.pdf'
    """
    stem = name[:-4] if name.lower().endswith(".svg") else name
    return stem + SUFFIXES[check_format(format)]


#: What the start and the end of a whole file of each format look like.
_HEADS = {
    "svg": (b"<svg", b"<?xml"),
    "svgz": (b"\x1f\x8b",),
    "pdf": (b"%PDF-",),
    "eps": (b"%!PS-Adobe",),
    "dxf": (b"0",),
}
_TAILS = {"svg": (b"</svg>",), "svgz": (b"",), "pdf": (b"%%EOF",), "eps": (b"%%EOF",), "dxf": (b"EOF",)}


def looks_whole(head: bytes, tail: bytes, format: str) -> bool:
    """Whether a file that starts with ``head`` and ends with ``tail`` looks like a whole file
    of ``format`` (the check a resumed batch makes before it keeps an output).

    >>> looks_whole(b"%PDF-1.5", b"%%EOF", "pdf"), looks_whole(b"<svg", b"</sv", "svg")
    (True, False)
    """
    return head.lstrip().startswith(_HEADS[format]) and tail.rstrip().endswith(_TAILS[format])


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[IO[bytes]]:
    """A binary file that becomes ``path`` when the block ends without error (a temporary
    ``.NAME.HEX.tmp`` next to it, renamed); on error nothing is left."""
    target = FsPath(path)
    temporary = target.parent / f".{target.name}.{secrets.token_hex(4)}.tmp"
    try:
        with open(temporary, "xb") as f:
            yield f
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def convert(
    svg: Source,
    output: str | os.PathLike[str] | IO[bytes],
    format: str | None = None,
    *,
    dpi: float | None = None,
    group_by: str | None = None,
) -> None:
    """Write ``svg`` (SVG text, bytes, or the path of an SVG file) to ``output`` (a path,
    written atomically, or a binary file) in ``format`` (default: by ``output``'s suffix)."""
    if isinstance(output, (str, os.PathLike)):
        fmt = format_for(format, output)
        _check(svg, dpi, group_by)
        with atomic_output(output) as f:
            _write(svg, f, fmt, check_dpi(dpi), check_group_by(group_by))
    else:
        _check(svg, dpi, group_by)
        _write(svg, output, check_format(format), check_dpi(dpi), check_group_by(group_by))


def to_bytes(svg: Source, format: str | None = None, *, dpi: float | None = None, group_by: str | None = None) -> bytes:
    """``svg`` in ``format`` as bytes (see :func:`convert`)."""
    import io

    buf = io.BytesIO()
    convert(svg, buf, format, dpi=dpi, group_by=group_by)
    return buf.getvalue()


def _check(svg: Source, dpi: float | None, group_by: str | None) -> None:
    check_dpi(dpi)
    check_group_by(group_by)
    if not isinstance(svg, (str, bytes, os.PathLike)):
        raise OptionError(f"expected SVG text, bytes or a file path, got {type(svg).__name__}")


def _write(svg: Source, out: IO[bytes], fmt: str, dpi: float, group_by: str) -> None:
    if fmt in ("svg", "svgz") and group_by == "none":
        if fmt == "svgz":
            with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as gz:
                _copy_svg(svg, cast(IO[bytes], gz))
        else:
            _copy_svg(svg, out)
        return
    doc = open_svg(svg)
    if group_by == "none":
        parts: Iterator[tuple[Group | None, Iterator[Path]]] = sections(doc.paths())
    else:
        parts = _grouped(svg, doc.paths(), group_by)
    if fmt == "svg":
        _write_grouped_svg(doc.width, doc.height, parts, out)
    elif fmt == "svgz":
        with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as gz:
            _write_grouped_svg(doc.width, doc.height, parts, cast(IO[bytes], gz))
    elif fmt == "pdf":
        from vectile.formats.pdf import write_pdf

        write_pdf(doc.width, doc.height, parts, out, dpi=dpi)
    elif fmt == "eps":
        from vectile.formats.eps import write_eps

        write_eps(doc.width, doc.height, parts, out, dpi=dpi)
    else:
        from vectile.formats.dxf import write_dxf

        write_dxf(doc.width, doc.height, parts, out, dpi=dpi)


def _copy_svg(svg: Source, out: IO[bytes]) -> None:
    if isinstance(svg, bytes):
        out.write(svg)
    elif isinstance(svg, str) and svg.lstrip().startswith("<"):
        out.write(svg.encode("utf-8"))
    else:
        open_svg(svg).close()  # an SVG at all? (raises InputError otherwise)
        with open(svg, "rb") as f:
            shutil.copyfileobj(f, out, 1 << 20)


def _grouped(svg: Source, first_pass: Iterator[Path], group_by: str) -> Iterator[tuple[Group | None, Iterator[Path]]]:
    """Two passes: the groups from the bounding boxes, then the paths bucketed by group."""
    assigned, groups = assign_groups(first_pass, group_by)
    buckets: list[list[Path]] = [[] for _ in groups]
    for g, path in zip(assigned, open_svg(svg).paths(), strict=True):
        buckets[g].append(path)
    for group, bucket in zip(groups, buckets, strict=True):
        yield group, iter(bucket)


_INKSCAPE = "http://www.inkscape.org/namespaces/inkscape"


def _write_grouped_svg(
    width: int, height: int, parts: Iterator[tuple[Group | None, Iterator[Path]]], out: IO[bytes]
) -> None:
    out.write(
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:inkscape="{_INKSCAPE}" version="1.1" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">\n'.encode()
    )
    for group, paths in parts:
        if group is not None:
            head = f'<g id="{escape(group.id)}" inkscape:groupmode="layer" inkscape:label="{escape(group.label)}">\n'
            out.write(head.encode())
        for path in paths:
            attrs = " ".join(f'{k}="{escape(v)}"' for k, v in path.attrib.items())
            out.write(f"<path {attrs}/>\n".encode())
        if group is not None:
            out.write(b"</g>\n")
    out.write(b"</svg>\n")
