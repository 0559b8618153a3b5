"""Tracer registry: name -> :class:`Tracer`.

Two kinds of tracer:

* **Python tracers** (``make`` set): ``make(options)`` returns ``trace(path) -> svg text``, the
  function that is timed. ``bench.runner`` calls it in a fresh worker process (``python -m
  bench.worker``), which looks the tracer up here by name, so only tracers registered at import
  time of this module can run isolated; a tracer added with :func:`register` at run time (test
  stubs) runs in process (``--in-process``).
* **Command tracers** (``command`` set): a command-line template run once per timed run, e.g.
  ``potrace --svg -o {out} {in_pbm}``. Placeholders: ``{in}`` (the input file: the original in
  colour mode, the thresholded bitmap as PNG in binary mode), ``{in_pbm}`` (binary mode only: the
  same bitmap as PBM), ``{out}`` (the SVG file the command must write). The template is split
  like a shell would (``shlex``) but not run through a shell; write ``sh -c '...'`` for pipes.

``probe()`` returns ``None`` when the tracer can run, or a one-line reason why not (not installed,
command not found): the bench prints it and goes on without that tracer.

``modes`` says which passes a tracer takes part in: ``color`` (the original image) and/or
``binary`` (the image thresholded once by the bench, see ``bench.metrics.binarize``).
``binary_options`` are added to the options in the binary pass (the tracer's own binary mode).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

TraceFn = Callable[[str], str]

COLOR = "color"
BINARY = "binary"
MODES = (COLOR, BINARY)
PLACEHOLDERS = ("{in}", "{in_pbm}", "{out}")


@dataclass(frozen=True)
class Tracer:
    name: str
    probe: Callable[[], str | None]
    make: Callable[[dict[str, Any]], TraceFn] | None
    version: Callable[[], str]
    modes: tuple[str, ...] = MODES
    binary_options: Mapping[str, Any] = field(default_factory=dict)
    command: str | None = None  # template, for command tracers

    @property
    def is_command(self) -> bool:
        return self.command is not None


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
        return f"vtracer is not installed ({exc}); pip install 'vtracer>=0.6.15' (the bench extra)"
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


def _dist_version(dist: str) -> Callable[[], str]:
    def version() -> str:
        from importlib.metadata import PackageNotFoundError
        from importlib.metadata import version as _version

        try:
            return _version(dist)
        except PackageNotFoundError:  # pragma: no cover
            return "?"

    return version


# ---------------------------------------------------------------------------------- commands


def command_program(template: str) -> str:
    """The program a command template runs (its first word)."""
    words = shlex.split(template)
    if not words:
        raise ValueError("empty command template")
    return words[0]


def command_args(template: str, inputs: Mapping[str, str | None], out: str) -> list[str]:
    """``template`` split into argv with ``{in}``, ``{in_pbm}`` and ``{out}`` filled in.

    >>> command_args("potrace --svg -o {out} {in_pbm}", {"in": "a.png", "in_pbm": "a.pbm"}, "o.svg")
    ['potrace', '--svg', '-o', 'o.svg', 'a.pbm']
    """
    args = []
    for word in shlex.split(template):
        for key, value in (("{in_pbm}", inputs.get("in_pbm")), ("{in}", inputs.get("in")), ("{out}", out)):
            if key in word:
                if value is None:
                    raise ValueError(f"{key} is only available in binary mode: {template!r}")
                word = word.replace(key, value)
        args.append(word)
    return args


def _command_probe(template: str) -> Callable[[], str | None]:
    def probe() -> str | None:
        try:
            program = command_program(template)
        except ValueError as exc:
            return str(exc)
        if "{out}" not in template:
            return f"the command template has no {{out}} placeholder: {template!r}"
        if shutil.which(program) is None:
            return f"command not found: {program}"
        return None

    return probe


def _command_version(args: list[str]) -> Callable[[], str]:
    def version() -> str:
        try:
            res = subprocess.run(args, capture_output=True, text=True, timeout=10, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return "?"
        lines = (res.stdout or res.stderr).strip().splitlines()
        found = re.search(r"\d+(?:\.\d+)+", lines[0]) if lines else None
        return found.group(0) if found else (lines[0][:40] if lines else "?")

    return version


def command_tracer(template: str, name: str | None = None, modes: tuple[str, ...] = MODES) -> Tracer:
    """A tracer that runs ``template`` (see the module doc) once per timed run.

    ``name`` defaults to the program's file name.

    >>> command_tracer("mytool --fast {in} {out}").name
    'mytool'
    """
    program = command_program(template)
    return Tracer(
        name=name or os.path.basename(program),
        probe=_command_probe(template),
        make=None,
        version=lambda: "command",
        modes=modes,
        command=template,
    )


def parse_tracer_spec(spec: str) -> Tracer:
    """``--tracer`` values: ``COMMAND`` or ``NAME=COMMAND`` (NAME: letters, digits, ``._-``)."""
    head, sep, rest = spec.partition("=")
    if sep and head and " " not in head and all(c.isalnum() or c in "._-" for c in head):
        return command_tracer(rest.strip(), name=head)
    return command_tracer(spec.strip())


# Potrace traces bitmaps only: it gets the bench's thresholded bitmap as PBM. `--svg` is `-s`.
POTRACE_TEMPLATE = "potrace --svg -o {out} {in_pbm}"

TRACERS: dict[str, Tracer] = {
    "vectile": Tracer(
        "vectile", _vectile_probe, _vectile_make, _vectile_version, binary_options={"mode": "binary", "threshold": 127}
    ),
    "vtracer": Tracer(
        "vtracer", _vtracer_probe, _vtracer_make, _dist_version("vtracer"), binary_options={"colormode": "binary"}
    ),
    "potrace": Tracer(
        "potrace",
        _command_probe(POTRACE_TEMPLATE),
        None,
        _command_version(["potrace", "--version"]),
        modes=(BINARY,),
        command=POTRACE_TEMPLATE,
    ),
}

#: Install hints printed when a built-in peer is missing.
INSTALL_HINTS = {
    "vtracer": "pip install -e '.[bench]'",
    "potrace": "apt-get install -y potrace",
}


def register(tracer: Tracer) -> None:
    """Add or replace a tracer (tests use this for stub tracers)."""
    TRACERS[tracer.name] = tracer
