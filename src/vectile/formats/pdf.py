"""PDF: one page the size of the image, vector paths in one Flate-compressed content stream.

Built with pikepdf (qpdf): we write the content stream's operators, qpdf writes the file
(cross-reference table, object streams) with an ID derived from the content, so the same SVG
gives the same bytes.  The page is ``width x 72 / dpi`` by ``height x 72 / dpi`` points (the
default dpi of 72 makes one pixel one point; a 300 dpi scan of an A4 page comes out A4).
Fills use the nonzero rule like the SVG; strokes have round caps and joins.  Groups
(``--group-by``) become optional content groups (layers in a PDF viewer).

The content stream is compressed as it is written, so memory holds the compressed page, not
the page's operators.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from typing import IO, BinaryIO, cast

import pikepdf
from pikepdf import Array, Dictionary, Name

from vectile.formats._paint import color_ops, num, path_ops
from vectile.formats.group import Group
from vectile.formats.reader import Path

__all__ = ["write_pdf"]


def write_pdf(
    width: int,
    height: int,
    sections: Iterable[tuple[Group | None, Iterator[Path]]],
    out: IO[bytes],
    *,
    dpi: float,
) -> None:
    """Write the page to ``out``."""
    scale = 72.0 / dpi
    pdf = pikepdf.new()
    z = zlib.compressobj(6)
    parts: list[bytes] = []

    def put(text: str) -> None:
        parts.append(z.compress(text.encode("ascii")))

    # Pixels to points, y down as in the SVG.
    put(f"{num(scale)} 0 0 {num(-scale)} 0 {num(height * scale)} cm\n")
    ocgs: list[pikepdf.Object] = []
    properties = Dictionary()
    for group, paths in sections:
        if group is not None:
            ocg = pdf.make_indirect(Dictionary(Type=Name.OCG, Name=pikepdf.String(group.label)))
            ocgs.append(ocg)
            tag = f"oc{len(ocgs)}"
            properties[Name("/" + tag)] = ocg
            put(f"/OC /{tag} BDC\n")
        fill = stroke = width_now = None
        for path in paths:
            if not path.d:
                continue
            if path.is_stroke:
                if path.color != stroke:
                    put(color_ops(path.color, "RG"))
                    stroke = path.color
                if path.width != width_now:
                    put(f"{num(path.width or 0.0)} w 1 J 1 j\n")
                    width_now = path.width
                put(path_ops(path.subpaths()) + "S\n")
            else:
                if path.color != fill:
                    put(color_ops(path.color, "rg"))
                    fill = path.color
                put(path_ops(path.subpaths()) + "f\n")
        if group is not None:
            put("EMC\n")
    parts.append(z.flush())
    content = pikepdf.Stream(pdf, b"")
    content.write(b"".join(parts), filter=Name.FlateDecode)
    resources = Dictionary()
    if ocgs:
        resources.Properties = properties
        pdf.Root.OCProperties = Dictionary(
            OCGs=Array(ocgs), D=Dictionary(Order=Array(ocgs), ON=Array(ocgs), BaseState=Name.ON)
        )
    page = pikepdf.Page(
        Dictionary(
            Type=Name.Page,
            MediaBox=Array([0, 0, _pt(width * scale), _pt(height * scale)]),
            Contents=content,
            Resources=resources,
        )
    )
    pdf.pages.append(page)
    pdf.save(
        cast(BinaryIO, out),
        deterministic_id=True,
        compress_streams=True,
        object_stream_mode=pikepdf.ObjectStreamMode.generate,
    )


def _pt(v: float) -> float | int:
    """A page dimension: an integer when it is one (most are), else 4 decimals."""
    r = round(v, 4)
    return int(r) if r == int(r) else r
