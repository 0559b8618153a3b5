"""The tracing options of the API's multipart forms, built from the one declaration of the
tracer options (:data:`vectile.options.FORM_OPTIONS`) plus the server's own ``quality``.

``POST /v1/vectorize`` and ``POST /v1/jobs`` both take :func:`trace_form` as a dependency, so
their form fields, bounds, defaults and schema descriptions come from one place.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import Form, HTTPException

from vectile import formats
from vectile.errors import OptionError
from vectile.options import FORM_OPTIONS, Option
from vectile.server.tracing import QUALITIES, Quality, TraceRequest

__all__ = ["OutputRequest", "content_disposition", "output_form", "trace_form"]


@dataclass(frozen=True)
class OutputRequest:
    """What to write the traced SVG as (see :mod:`vectile.formats`)."""

    format: str = "svg"
    dpi: float | None = None
    group_by: str = "none"

    @property
    def plain(self) -> bool:
        """The SVG as traced (what the endpoint answered before formats existed)."""
        return self.format == "svg" and self.group_by == "none"

    def convert(self, svg: str) -> bytes:
        return formats.to_bytes(svg, self.format, dpi=self.dpi, group_by=self.group_by)


def output_form(
    format: Annotated[
        Literal["svg", "svgz", "pdf", "eps", "dxf"],
        Form(description="output format: svg, svgz (gzip), pdf, eps or dxf (CAD)"),
    ] = "svg",
    dpi: Annotated[
        float | None,
        Form(ge=1, le=100_000, description="pixels per inch, sizing PDF/EPS pages and DXF millimetres (default 72)"),
    ] = None,
    group_by: Annotated[
        Literal["none", "color", "layer"],
        Form(description="group paths by colour or layer (SVG layers, PDF optional content, DXF layers)"),
    ] = "none",
) -> OutputRequest:
    """FastAPI dependency: the output format fields of a form."""
    try:
        return OutputRequest(formats.check_format(format), dpi, formats.check_group_by(group_by))
    except OptionError as exc:  # the Literal types already refuse these; kept for direct calls
        raise HTTPException(422, str(exc)) from exc


def content_disposition(filename: str) -> str:
    """An ``attachment`` header value for ``filename`` (RFC 6266, UTF-8 names escaped)."""
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


_QUALITY = inspect.Parameter(
    "quality",
    inspect.Parameter.KEYWORD_ONLY,
    default="balanced",
    annotation=Annotated[Quality, Form(description="; ".join(f"{k}: {v}" for k, v in QUALITIES.items()))],
)


def _plain(number: float) -> float | int:
    """Integral bounds as ints, so the schema says ``0`` and ``100`` rather than ``0.0``."""
    return int(number) if float(number).is_integer() else number


def _field(option: Option) -> inspect.Parameter:
    """The form field of ``option``: its type (a Literal of its choices), None allowed when the
    default is "from the preset", its bounds and its help as the schema's description."""
    kind: Any = Literal[option.choices] if option.choices else option.kind
    if option.default is None:
        kind = kind | None
    bounds: dict[str, Any] = {}
    if option.low is not None:
        bounds["gt" if option.low_open else "ge"] = _plain(option.low)
    high = option.form_high if option.form_high is not None else option.high
    if high is not None:
        bounds["le"] = _plain(high)
    annotation = Annotated[kind, Form(description=option.help, **bounds)]
    return inspect.Parameter(option.name, inspect.Parameter.KEYWORD_ONLY, default=option.default, annotation=annotation)


def trace_form(**fields: Any) -> TraceRequest:
    """FastAPI dependency: the ``quality`` and tracer option fields of a form, as a request."""
    quality = fields.pop("quality")
    return TraceRequest(quality, fields)


# FastAPI reads a dependency's parameters from its signature: declare one per form field.
trace_form.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [_QUALITY, *(_field(option) for option in FORM_OPTIONS)], return_annotation=TraceRequest
)
