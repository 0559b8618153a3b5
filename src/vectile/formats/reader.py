"""Reader of the SVG that vectile writes, into a small document model for the other formats.

Our SVG is a subset: one ``<svg>`` with ``width``/``height`` in pixels and a matching
``viewBox``, then ``<path>`` elements (optionally inside ``<g>`` groups, as ``--group-by``
writes them) that are either fills (``fill="#rrggbb"``, nonzero rule, the default) or strokes
(``fill="none" stroke=... stroke-width=...``, round caps and joins).  Path data uses
``M m L l H h V v C c Z z`` only.  Anything else is an :class:`~vectile.errors.InputError`:
the converters promise the same picture, and a construct they do not draw would break that.

The reader streams (:func:`xml.etree.ElementTree.iterparse`, each element dropped once read),
so a big tiled SVG is never held as a tree; each path's data is parsed when it is asked for.

Coordinates stay in SVG pixels, y down; each writer maps them to its own page.

>>> svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="3" viewBox="0 0 4 3">'
>>> svg += b'<path d="M0 0h4v3H0z" fill="#f00"/></svg>'
>>> doc = open_svg(svg)
>>> doc.width, doc.height
(4, 3)
>>> [(p.color, p.subpaths()) for p in doc.paths()]  # doctest: +NORMALIZE_WHITESPACE
[((255, 0, 0), [(True, [('M', (0.0, 0.0)), ('L', (4.0, 0.0)), ('L', (4.0, 3.0)),
  ('L', (0.0, 3.0))])])]
"""

from __future__ import annotations

import io
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from vectile.errors import InputError

__all__ = ["Document", "Path", "Segment", "Subpath", "open_svg"]

_SVG = "{http://www.w3.org/2000/svg}"
_TOKEN = re.compile(r"[MmLlHhVvCcZz]|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|([^\s,])")
_ARITY = {"M": 2, "L": 2, "H": 1, "V": 1, "C": 6, "Z": 0}

#: One drawing command in absolute pixels: ``("M", p)``, ``("L", p)`` or ``("C", c1, c2, p)``.
Segment = tuple[Any, ...]
#: ``(closed, segments)``: segments start with ``M``.
Subpath = tuple[bool, list[Segment]]


@dataclass(frozen=True)
class Path:
    """One ``<path>``: a fill (``width`` None) or a stroke of ``width`` pixels, its colour as
    RGB bytes, the group it sits in (``(id, label)`` or None) and its path data."""

    color: tuple[int, int, int]
    width: float | None
    d: str
    group: tuple[str, str] | None = None
    #: The element's attributes as written (the grouped SVG writer copies them).
    attrib: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_stroke(self) -> bool:
        return self.width is not None

    def subpaths(self) -> list[Subpath]:
        """The path data in absolute coordinates, one entry per subpath."""
        return parse_d(self.d)


@dataclass
class Document:
    """An opened SVG: its size in pixels and an iterator over its paths (one pass; the file
    closes when the iterator ends, or at :meth:`close`)."""

    width: int
    height: int
    _paths: Iterator[Path]
    _stream: IO[bytes]

    def paths(self) -> Iterator[Path]:
        return self._paths

    def close(self) -> None:
        self._stream.close()


def open_svg(source: str | bytes | os.PathLike[str] | IO[bytes]) -> Document:
    """Start reading ``source``: SVG text (``str`` starting with ``<``), bytes, a file path or
    a binary file.  The size is read at once; :meth:`Document.paths` streams the rest."""
    if isinstance(source, bytes):
        stream: IO[bytes] = io.BytesIO(source)
    elif isinstance(source, str) and source.lstrip().startswith("<"):
        stream = io.BytesIO(source.encode("utf-8"))
    elif isinstance(source, (str, os.PathLike)):
        try:
            stream = open(source, "rb")  # noqa: SIM115 (closed when the iterator ends)
        except OSError as exc:
            raise InputError(f"cannot read SVG '{os.fspath(source)}': {exc.strerror or exc}") from exc
    else:
        stream = source
    try:
        events = ET.iterparse(stream, events=("start", "end"))
        try:
            _event, root = next(events)
        except (ET.ParseError, StopIteration) as exc:
            raise InputError(f"not an SVG document: {exc}") from exc
        if root.tag != _SVG + "svg":
            raise InputError(f"not an SVG document: the root element is <{root.tag}>")
        try:
            width, height = int(root.attrib["width"]), int(root.attrib["height"])
        except (KeyError, ValueError) as exc:
            raise InputError("the SVG has no integer width and height in pixels (not written by vectile?)") from exc
    except BaseException:
        stream.close()
        raise
    return Document(width, height, _walk(events, root, stream), stream)


def _walk(events: Iterator[tuple[str, Any]], root: ET.Element, stream: IO[bytes]) -> Iterator[Path]:
    group: tuple[str, str] | None = None
    try:
        for event, elem in events:
            tag = elem.tag
            if event == "start":
                if tag == _SVG + "g":
                    gid = elem.attrib.get("id", "")
                    label = elem.attrib.get("{http://www.inkscape.org/namespaces/inkscape}label", gid)
                    group = (gid, label)
                elif tag not in (_SVG + "path", _SVG + "title", _SVG + "desc"):
                    raise InputError(
                        f"the SVG has a <{tag.removeprefix(_SVG)}> element, which the converters do not draw"
                    )
                continue
            if tag == _SVG + "path":
                yield _path(elem.attrib, group)
            elif tag == _SVG + "g":
                group = None
            elem.clear()
            root.clear()  # drop finished children: memory stays flat
    except ET.ParseError as exc:
        raise InputError(f"the SVG is not well-formed: {exc}") from exc
    finally:
        stream.close()


def _color(text: str | None) -> tuple[int, int, int]:
    if text is None:
        return (0, 0, 0)  # SVG's default fill
    t = text.strip()
    if re.fullmatch(r"#[0-9a-fA-F]{3}", t):
        return (int(t[1] * 2, 16), int(t[2] * 2, 16), int(t[3] * 2, 16))
    if re.fullmatch(r"#[0-9a-fA-F]{6}", t):
        return (int(t[1:3], 16), int(t[3:5], 16), int(t[5:7], 16))
    raise InputError(f"unsupported colour {text!r} in the SVG (only #rgb and #rrggbb)")


def _path(attrib: dict[str, str], group: tuple[str, str] | None) -> Path:
    d = attrib.get("d", "")
    if attrib.get("fill") == "none":
        stroke = attrib.get("stroke")
        if stroke is None or stroke == "none":
            return Path((0, 0, 0), 0.0, "", group, dict(attrib))  # paints nothing
        try:
            width = float(attrib.get("stroke-width", "1"))
        except ValueError as exc:
            raise InputError(f"bad stroke-width {attrib.get('stroke-width')!r} in the SVG") from exc
        return Path(_color(stroke), width, d, group, dict(attrib))
    if "stroke" in attrib or attrib.get("fill-rule", "nonzero") != "nonzero":
        raise InputError("the SVG has a filled path with a stroke or an even-odd rule; the converters draw neither")
    return Path(_color(attrib.get("fill")), None, d, group, dict(attrib))


def parse_d(d: str) -> list[Subpath]:
    """Path data (``M m L l H h V v C c Z z``) as absolute subpaths.

    >>> parse_d("M1 1h2v2z m1 0 .5.5")
    [(True, [('M', (1.0, 1.0)), ('L', (3.0, 1.0)), ('L', (3.0, 3.0))]), (False, [('M', (2.0, 1.0)), ('L', (2.5, 1.5))])]
    """
    out: list[Subpath] = []
    segs: list[Segment] = []
    closed = False
    x = y = sx = sy = 0.0
    cmd = ""
    nums: list[float] = []

    def flush() -> None:
        nonlocal x, y, sx, sy, cmd, segs, closed
        up, rel = cmd.upper(), cmd.islower()
        n = _ARITY[up]
        if n == 0 or len(nums) % n or not nums:
            raise InputError(f"bad path data near {cmd!r} in the SVG: {len(nums)} numbers")
        for i in range(0, len(nums), n):
            v = nums[i : i + n]
            if up == "M":
                px, py = (x + v[0], y + v[1]) if rel else (v[0], v[1])
                if i == 0:
                    if segs:
                        out.append((closed, segs))
                    segs, closed = [("M", (px, py))], False
                    sx, sy = px, py
                else:  # implicit lineto after a moveto
                    segs.append(("L", (px, py)))
                x, y = px, py
            elif up == "L":
                x, y = (x + v[0], y + v[1]) if rel else (v[0], v[1])
                segs.append(("L", (x, y)))
            elif up == "H":
                x = x + v[0] if rel else v[0]
                segs.append(("L", (x, y)))
            elif up == "V":
                y = y + v[0] if rel else v[0]
                segs.append(("L", (x, y)))
            else:
                ox, oy = (x, y) if rel else (0.0, 0.0)
                c1, c2 = (ox + v[0], oy + v[1]), (ox + v[2], oy + v[3])
                x, y = ox + v[4], oy + v[5]
                segs.append(("C", c1, c2, (x, y)))
        nums.clear()

    for m in _TOKEN.finditer(d):
        if m.group(1) is not None:
            raise InputError(f"unsupported path command {m.group(1)!r} in the SVG (only M L H V C Z)")
        tok = m.group(0)
        if tok[0].isalpha() and tok[0] not in "eE":
            if cmd and cmd not in "Zz":
                flush()
            if tok in "Zz":
                if not segs:
                    raise InputError("bad path data in the SVG: 'z' before any 'M'")
                closed = True
                out.append((closed, segs))
                # After z a new subpath starts at the same start point, unless an M follows.
                segs, closed = [], False
                x, y = sx, sy
                cmd = tok
                continue
            if not segs and tok not in "Mm":
                segs = [("M", (x, y))]
            cmd = tok
        else:
            if not cmd or cmd in "Zz":
                raise InputError("bad path data in the SVG: numbers before a command")
            nums.append(float(tok))
    if cmd and cmd not in "Zz":
        flush()
    if segs:
        out.append((closed, segs))
    return out
