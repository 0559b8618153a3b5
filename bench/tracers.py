"""Tracer registry: name -> a callable ``trace(path) -> svg text``.

Each entry is a :class:`Tracer` with

* ``probe()``: imports the peer lazily and returns ``None`` when it can run, or a one-line reason
  why not (not installed, API missing);
* ``make(options)``: returns ``trace(path: str) -> str``, the function that is timed.

Everything a tracer needs is reachable from module-level names (``TRACERS[name]`` plus a dict of
plain options), so a later change can run each tracer in its own subprocess (``python -c`` or
``multiprocessing`` with ``spawn``) and read its peak RSS there, without changing the callers.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from typing import Any, Callable

TraceFn = Callable[[str], str]


@dataclass(frozen=True)
class Tracer:
    name: str
    probe: Callable[[], str | None]
    make: Callable[[dict[str, Any]], TraceFn]
    version: Callable[[], str]


# ---------------------------------------------------------------------------------- vectile


def _vectile_probe() -> str | None:
    try:
        import vectile
    except ImportError as exc:  # pragma: no cover - depends on the environment
        return f"vectile is not importable ({exc})"
    if not callable(getattr(vectile, "vectorize", None)):
        return "vectile is installed but has no vectile.vectorize yet"
    return None


def _vectile_make(options: dict[str, Any]) -> TraceFn:
    import vectile

    vectorize = vectile.vectorize
    opts = dict(options)

    def trace(path: str) -> str:
        # str(svg) is part of the timed work: it is what a user gets as SVG text.
        return str(vectorize(path, **opts))

    return trace


def _vectile_version() -> str:
    import vectile

    return str(getattr(vectile, "__version__", "?"))


# ---------------------------------------------------------------------------------- vtracer


def _vtracer_probe() -> str | None:
    try:
        import vtracer
    except ImportError as exc:  # pragma: no cover - depends on the environment
        return f"vtracer is not installed ({exc}); pip install 'vtracer>=0.6.15'"
    if not callable(getattr(vtracer, "convert_image_to_svg_py", None)):
        return "vtracer has no convert_image_to_svg_py"
    return None


def _vtracer_make(options: dict[str, Any]) -> TraceFn:
    import vtracer

    convert = vtracer.convert_image_to_svg_py
    opts = dict(options)

    def trace(path: str) -> str:
        # VTracer only writes to a file; writing and reading it back is part of the timed work.
        fd, out = tempfile.mkstemp(suffix=".svg", prefix="bench-vtracer-")
        os.close(fd)
        try:
            convert(path, out, **opts)
            with open(out, encoding="utf-8") as fh:
                return fh.read()
        finally:
            os.unlink(out)

    return trace


def _vtracer_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("vtracer")
    except PackageNotFoundError:  # pragma: no cover
        return "?"


TRACERS: dict[str, Tracer] = {
    "vectile": Tracer("vectile", _vectile_probe, _vectile_make, _vectile_version),
    "vtracer": Tracer("vtracer", _vtracer_probe, _vtracer_make, _vtracer_version),
}


def register(tracer: Tracer) -> None:
    """Add or replace a tracer (tests use this for stub tracers)."""
    TRACERS[tracer.name] = tracer
