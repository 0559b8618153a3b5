"""DXF (AutoCAD 2010 format) with ezdxf: fills as solid HATCH plus their outline, strokes as
LWPOLYLINE with a width, y axis up, millimetres.

* Coordinates: millimetres at ``dpi`` pixels per inch (``$INSUNITS`` 4, ``$MEASUREMENT`` 1),
  the image's bottom-left corner at the origin and y up, so the drawing stands the right way
  in CAD programs.  ``$EXTMIN``/``$EXTMAX`` and ``$LIMMIN``/``$LIMMAX`` are the image.
* Layers: one per colour (``color-rrggbb``, the colour set as true colour), or one per
  group with ``--group-by``; entities take their layer's colour (BYLAYER), or their own true
  colour where a group holds several colours (``--group-by layer``).
* Fills: each SVG subpath is a boundary path; ezdxf nests them (:func:`ezdxf.path.render_hatches`)
  into one HATCH per outer boundary with its holes as islands.  Boundaries are polyline paths
  with curves flattened to within 0.05 px: LibreCAD (and other readers) leave hatches with
  SPLINE boundary edges unfilled.  Each boundary is also drawn exactly, as one LWPOLYLINE
  (all straight) or one cubic SPLINE, for cutters and plotters that follow outlines.
  Entities are created in paint order, so stacked regions draw in the SVG's order.
* Strokes: LWPOLYLINE flattened to within 0.05 px, ``const_width`` the stroke width (in mm)
  and the nearest standard lineweight; a stroke of zero length (a dot) is a DONUT (a closed
  two-arc polyline as wide as its radius: a filled disc the stroke's width across).  Limit:
  polyline ends are butt in DXF (the SVG's caps are round).

ezdxf builds the whole drawing in memory before writing; the written file passes ezdxf's
``audit()`` with no errors.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterable, Iterator
from typing import IO, Any

import ezdxf
from ezdxf import path as ezpath
from ezdxf.document import CREATED_BY_EZDXF
from ezdxf.lldxf import const
from ezdxf.math import Bezier4P, bezier_to_bspline

from vectile.formats.group import Group
from vectile.formats.reader import Path, Subpath

__all__ = ["write_dxf"]

_MM_PER_INCH = 25.4
#: Curves flattened into polylines (HATCH boundaries, strokes) stay within this many pixels.
_FLAT = 0.05
# ezdxf's switch for fixed dates and GUIDs is process-wide: writes take turns.
_WRITE_LOCK = threading.Lock()
# DXF lineweights, in 1/100 mm.
_LINEWEIGHTS = (0, 5, 9, 13, 15, 18, 20, 25, 30, 35, 40, 50, 53, 60, 70, 80, 90, 100, 106, 120, 140, 158, 200, 211)


def _lineweight(mm: float) -> int:
    return min(_LINEWEIGHTS, key=lambda lw: abs(lw - mm * 100))


def _outline(msp: Any, p: ezpath.Path, attribs: dict[str, object]) -> None:
    """A boundary as one entity: an LWPOLYLINE when it is all straight, else one cubic SPLINE
    through all its pieces (straight ones as Béziers with their control points at thirds;
    knots of multiplicity 3 at the joints keep corners sharp: the curve is exact)."""
    if not p.has_curves:
        msp.add_lwpolyline([(v.x, v.y) for v in p.control_vertices()], close=p.is_closed, dxfattribs=attribs)
        return
    pieces = []
    start = p.start
    for cmd in p.commands():
        if cmd.type == ezpath.Command.CURVE4_TO:
            pieces.append(Bezier4P((start, cmd.ctrl1, cmd.ctrl2, cmd.end)))  # type: ignore[union-attr]
        elif cmd.type == ezpath.Command.LINE_TO:
            pieces.append(Bezier4P((start, start.lerp(cmd.end, 1 / 3), start.lerp(cmd.end, 2 / 3), cmd.end)))
        start = cmd.end
    spline = bezier_to_bspline(pieces)
    msp.add_open_spline(spline.control_points, 3, spline.knots(), dxfattribs=attribs)


def write_dxf(
    width: int,
    height: int,
    sections: Iterable[tuple[Group | None, Iterator[Path]]],
    out: IO[bytes],
    *,
    dpi: float,
) -> None:
    """Write the drawing to ``out``."""
    k = _MM_PER_INCH / dpi
    doc = ezdxf.new("R2010", setup=False)
    # new() stamps the time it ran; the write below stamps fixed dates and GUIDs.
    doc.ezdxf_metadata()[CREATED_BY_EZDXF] = ezdxf.__version__
    doc.units = 4  # millimetres
    doc.header["$MEASUREMENT"] = 1
    doc.header["$INSUNITS"] = 4
    extmax = (width * k, height * k, 0.0)
    msp = doc.modelspace()
    # The write copies the model space's extents and limits into $EXTMIN/$EXTMAX, $LIMMIN/$LIMMAX,
    # except extents with a zero corner (the origin is one), so the header gets them too.
    msp.dxf.extmin = (0.0, 0.0, 0.0)
    msp.dxf.extmax = extmax
    doc.header["$EXTMIN"] = (0.0, 0.0, 0.0)
    doc.header["$EXTMAX"] = extmax
    msp.dxf.limmin = (0.0, 0.0)
    msp.dxf.limmax = extmax[:2]
    doc.set_modelspace_vport(height=height * k, center=(width * k / 2, height * k / 2))

    def to_dxf(subpath: Subpath) -> ezpath.Path:
        closed, segs = subpath
        x0, y0 = segs[0][1]
        p = ezpath.Path((x0 * k, (height - y0) * k))
        for seg in segs[1:]:
            if seg[0] == "L":
                p.line_to((seg[1][0] * k, (height - seg[1][1]) * k))
            else:
                c1, c2, e = seg[1], seg[2], seg[3]
                p.curve4_to(
                    (e[0] * k, (height - e[1]) * k),
                    (c1[0] * k, (height - c1[1]) * k),
                    (c2[0] * k, (height - c2[1]) * k),
                )
        if closed:
            p.close()
        return p

    for group, paths in sections:
        for path in paths:
            if not path.d:
                continue
            layer_name = group.id if group is not None else "color-{:02x}{:02x}{:02x}".format(*path.color)
            if layer_name not in doc.layers:
                layer = doc.layers.add(layer_name)
                layer.rgb = path.color
                if group is not None:
                    layer.description = group.label
            layer = doc.layers.get(layer_name)
            attribs: dict[str, object] = {"layer": layer_name, "color": const.BYLAYER}
            if layer.rgb != path.color:
                attribs["true_color"] = ezdxf.colors.rgb2int(path.color)
            subpaths = [to_dxf(s) for s in path.subpaths()]
            if path.is_stroke:
                wmm = (path.width or 0.0) * k
                attribs["lineweight"] = _lineweight(wmm)
                for p in subpaths:
                    vertices = p.control_vertices()
                    if all(v.isclose(vertices[0]) for v in vertices):
                        # A dot (a zero-length stroke, which its round caps draw as a disc):
                        # a DONUT, a closed two-arc polyline as wide as its radius.
                        c, r = vertices[0], wmm / 4
                        dot = [(c.x - r, c.y, 0, 0, 1.0), (c.x + r, c.y, 0, 0, 1.0)]
                        dot_attribs = {**attribs, "const_width": 2 * r}
                        msp.add_lwpolyline(dot, format="xyseb", close=True, dxfattribs=dot_attribs)
                        continue
                    ezpath.render_lwpolylines(msp, [p], distance=_FLAT * k, dxfattribs={**attribs, "const_width": wmm})
            else:
                ezpath.render_hatches(msp, subpaths, edge_path=False, distance=_FLAT * k, dxfattribs=attribs)
                # Outlines are geometry for cutters, not ink: the thinnest lineweight.
                outline = {**attribs, "lineweight": 0}
                for p in subpaths:
                    _outline(msp, p, outline)
    with _WRITE_LOCK:
        fixed = ezdxf.options.write_fixed_meta_data_for_testing
        ezdxf.options.write_fixed_meta_data_for_testing = True
        try:
            text = io.TextIOWrapper(out, encoding="utf-8", newline="\n")
            doc.write(text)
            text.flush()
            text.detach()
        finally:
            ezdxf.options.write_fixed_meta_data_for_testing = fixed
