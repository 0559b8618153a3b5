"""What every ``vectile`` subcommand shares: exit codes, the parser class, argument types, the
tracer flags (built from :data:`vectile.options.OPTIONS`), output-path checks and error lines.

Subcommand modules import from here, never from :mod:`vectile.cli` itself, which imports them.

>>> parse = integer(1, 256)
>>> parse("16")
16
>>> pixel_count("200M")
200000000
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from vectile.errors import OptionError
from vectile.options import CLI_OPTIONS, Option

__all__ = [
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "Parser",
    "add_format_arguments",
    "add_tracer_arguments",
    "fail",
    "integer",
    "number",
    "output_path",
    "pixel_count",
    "tracer_options",
]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors read ``vectile: error: ...`` in every subcommand."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"vectile: error: {message}\n")


def integer(low: int, high: int | None = None) -> Callable[[str], int]:
    """argparse type: an integer in [low, high] (high None: no upper bound)."""

    def parse(text: str) -> int:
        try:
            value = int(text, 10)
        except ValueError:
            value = None
        if value is None or value < low or (high is not None and value > high):
            bound = f"from {low} to {high}" if high is not None else f"of at least {low}"
            raise argparse.ArgumentTypeError(f"expected an integer {bound}, got {text!r}")
        return value

    return parse


def number(low: float, high: float, *, low_inclusive: bool = True, unit: str = "") -> Callable[[str], float]:
    """argparse type: a number in [low, high], or (low, high] when ``low_inclusive`` is false."""
    bound = f"from {low:g} to {high:g}" if low_inclusive else f"greater than {low:g} and at most {high:g}"
    if unit:
        bound += f" ({unit})"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        inside = (low <= value if low_inclusive else low < value) and value <= high  # NaN: False
        if not inside:
            raise argparse.ArgumentTypeError(f"expected a number {bound}, got {text!r}")
        return value

    return parse


_SI_SUFFIXES = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9}


def pixel_count(text: str) -> int:
    """argparse type for --max-pixels: a positive integer, optionally with suffix k, M or G."""
    digits, suffix = text.strip(), ""
    if digits[-1:].lower() in ("k", "m", "g"):
        digits, suffix = digits[:-1], digits[-1].lower()
    try:
        value = int(digits, 10) * _SI_SUFFIXES[suffix]
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive pixel count such as 200000000 or 200M, got {text!r}")
    return value


def _argument_type(option: Option) -> Callable[[str], Any]:
    """The argparse type of a numeric option, checking its declared bounds as it parses."""
    assert option.low is not None
    if option.kind is float:
        assert option.high is not None
        return number(option.low, option.high, low_inclusive=not option.low_open)
    return integer(int(option.low), None if option.high is None else int(option.high))


def add_tracer_arguments(group: Any) -> None:
    """Add a flag per option of :data:`vectile.options.CLI_OPTIONS` to ``group`` (a parser or an
    argument group).  Every default is None: only the options the user gave reach the tracer
    (and a batch's manifest), the others come from the preset."""
    for option in CLI_OPTIONS:
        if option.choices:
            group.add_argument(option.flag, dest=option.name, choices=option.choices, default=None, help=option.help)
        else:
            group.add_argument(
                option.flag,
                dest=option.name,
                type=_argument_type(option),
                default=None,
                metavar=option.metavar,
                help=option.help,
            )


def add_format_arguments(group: Any) -> None:
    """Add ``--format``, ``--dpi`` and ``--group-by`` (see :mod:`vectile.formats`) to ``group``."""
    from vectile.formats import FORMATS, GROUP_BY

    group.add_argument(
        "--format",
        choices=FORMATS,
        default=None,
        help="output format (default: the output's suffix, else svg); pdf/eps/dxf draw the same paths",
    )
    group.add_argument(
        "--dpi",
        type=number(1, 100_000),
        default=None,
        metavar="N",
        help="pixels per inch of the image, sizing PDF/EPS pages and DXF millimetres "
        "(default 72: one pixel is one point; 300 makes a 300 dpi A4 scan an A4 page)",
    )
    group.add_argument(
        "--group-by",
        choices=GROUP_BY,
        default="none",
        help="group paths by colour or by layer (fills, strokes) as SVG <g> layers, PDF optional "
        "content groups or DXF layers, without changing the picture (default none)",
    )


def tracer_options(args: argparse.Namespace) -> dict[str, Any]:
    """The tracer options the user gave on the command line, as ``vectorize`` keywords."""
    given = {option.name: getattr(args, option.name) for option in CLI_OPTIONS}
    return {name: value for name, value in given.items() if value is not None}


def output_path(source: str, given: str | None, suffix: str) -> Path:
    """Where to write: ``given``, or the input with its suffix replaced by ``suffix``.

    Checked before any work, so a mistake costs no tracing time; problems raise
    :class:`~vectile.errors.OptionError`.
    """
    output = Path(given) if given else Path(source).with_suffix(suffix)
    folder = output.parent
    if output.is_dir():
        raise OptionError(f"cannot write '{output}': it is a directory; give a file name with -o")
    if not folder.is_dir():
        raise OptionError(f"cannot write '{output}': folder '{folder}' does not exist; create it first")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OptionError(f"cannot write '{output}': no permission to create files in '{folder}'")
    if output.exists() and os.path.exists(source) and os.path.samefile(output, source):
        raise OptionError(f"output '{output}' is the input file '{source}'; choose another output with -o")
    return output


def fail(code: int, message: str) -> int:
    """Print ``vectile: error: message`` to stderr and return ``code``."""
    print(f"vectile: error: {message}", file=sys.stderr)
    return code
