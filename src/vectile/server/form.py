"""The tracing options of the API's multipart forms, built from the one declaration of the
tracer options (:data:`vectile.options.FORM_OPTIONS`) plus the server's own ``quality``.

``POST /v1/vectorize`` and ``POST /v1/jobs`` both take :func:`trace_form` as a dependency, so
their form fields, bounds, defaults and schema descriptions come from one place.
"""

from __future__ import annotations

import inspect
from typing import Annotated, Any, Literal

from fastapi import Form

from vectile.options import FORM_OPTIONS, Option
from vectile.server.tracing import QUALITIES, Quality, TraceRequest

__all__ = ["trace_form"]

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
