"""EPS: Encapsulated PostScript (DSC 3.0, language level 2), written as the paths stream in.

The bounding box is the image at ``72 / dpi`` points per pixel (rounded up to whole points in
``%%BoundingBox``, exact in ``%%HiResBoundingBox``).  Fills use ``fill`` (nonzero, like the
SVG), strokes round caps and joins.  No dates or names that change: the same SVG gives the
same bytes.  Groups (``--group-by``) become ``%%`` comments naming each group, since
PostScript has no layers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import IO

from vectile.formats._paint import color_ops, num, path_ops
from vectile.formats.group import Group
from vectile.formats.reader import Path

__all__ = ["write_eps"]

# Short names for the operators: the path data is most of the file.
_PROLOG = """/m /moveto load def /l /lineto load def /c /curveto load def /h /closepath load def
/f { fill } bind def /s { stroke } bind def /rg /setrgbcolor load def
"""


def write_eps(
    width: int,
    height: int,
    sections: Iterable[tuple[Group | None, Iterator[Path]]],
    out: IO[bytes],
    *,
    dpi: float,
) -> None:
    """Write the EPS to ``out``."""
    scale = 72.0 / dpi
    w, h = width * scale, height * scale

    def put(text: str) -> None:
        out.write(text.encode("ascii"))

    put(
        "%!PS-Adobe-3.0 EPSF-3.0\n"
        f"%%BoundingBox: 0 0 {math.ceil(w - 1e-9)} {math.ceil(h - 1e-9)}\n"
        f"%%HiResBoundingBox: 0 0 {num(w)} {num(h)}\n"
        "%%Creator: vectile\n%%LanguageLevel: 2\n%%Pages: 1\n%%EndComments\n"
        "%%BeginProlog\n" + _PROLOG + "%%EndProlog\n%%Page: 1 1\n"
        f"save\n0 {num(h)} translate {num(scale)} {num(-scale)} scale\n"
    )
    for group, paths in sections:
        if group is not None:
            put(f"%%vectile-group: {group.id} ({group.label})\n")
        for path in paths:
            if not path.d:
                continue
            ops = path_ops(path.subpaths())
            if path.is_stroke:
                put(color_ops(path.color, "rg") + f"{num(path.width or 0.0)} setlinewidth 1 setlinecap 1 setlinejoin\n")
                put("newpath\n" + ops + "s\n")
            else:
                put(color_ops(path.color, "rg") + "newpath\n" + ops + "f\n")
    put("restore\nshowpage\n%%Trailer\n%%EOF\n")
