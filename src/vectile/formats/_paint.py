"""What the PDF and EPS writers share: numbers and path operators in PostScript notation
(``x y m``, ``x y l``, ``x1 y1 x2 y2 x y c``, ``h``), in SVG pixels; each writer's page
transform maps pixels to points, so coordinates are written as the SVG has them.

>>> num(1.25), num(-0.0), num(3.00004), num(2 / 3)
('1.25', '0', '3', '0.6667')
>>> path_ops([(True, [("M", (0.0, 0.0)), ("L", (1.5, 0.0))])])
'0 0 m\\n1.5 0 l\\nh\\n'
"""

from __future__ import annotations

from vectile.formats.reader import Subpath

__all__ = ["color_ops", "num", "path_ops"]


def num(v: float) -> str:
    """``v`` with at most 4 decimals (finer than any precision the tracer writes), no
    trailing zeros, no ``-0``."""
    text = f"{v:.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def color_ops(color: tuple[int, int, int], op: str) -> str:
    """``r g b rg`` (``op`` ``rg`` fills, ``RG`` strokes; PostScript passes ``setrgbcolor``)
    with each channel as c/255: read back at 8 bits it is the same byte."""
    return " ".join(num(c / 255) for c in color) + f" {op}\n"


def path_ops(subpaths: list[Subpath], *, move: str = "m", line: str = "l", curve: str = "c", close: str = "h") -> str:
    """The subpaths as path construction operators, one per line."""
    out: list[str] = []
    for closed, segs in subpaths:
        for seg in segs:
            kind = seg[0]
            if kind == "M":
                out.append(f"{num(seg[1][0])} {num(seg[1][1])} {move}")
            elif kind == "L":
                out.append(f"{num(seg[1][0])} {num(seg[1][1])} {line}")
            else:
                (a, b), (c, d), (e, f) = seg[1], seg[2], seg[3]
                out.append(f"{num(a)} {num(b)} {num(c)} {num(d)} {num(e)} {num(f)} {curve}")
        if closed:
            out.append(close)
    return "\n".join(out) + "\n" if out else ""
