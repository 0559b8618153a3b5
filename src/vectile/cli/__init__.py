"""The ``vectile`` command line: ``convert``, ``batch``, ``edges`` and ``serve``.

``main(argv)`` parses the arguments, runs one subcommand and returns the exit status:
0 success, 2 usage error or bad input (the message names the file), 1 unexpected failure,
130 interrupted. It never raises ``SystemExit`` itself, so tests and other programs can call it
in-process:

>>> main(["--version"])  # doctest: +SKIP
vectile 0.1.0
0

Each subcommand lives in its own module (:mod:`~vectile.cli.convert`,
:mod:`~vectile.cli.batch`, :mod:`~vectile.cli.edges`, :mod:`~vectile.cli.serve`) with an
``add_parser(commands)`` that adds its parser and sets ``run=<function(args) -> exit status>``;
what they share is in :mod:`vectile.cli._common`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from vectile.cli import batch, convert, edges, serve
from vectile.cli._common import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, Parser

__all__ = ["EXIT_FAILURE", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "build_parser", "main", "run"]

_MAIN_EPILOG = """\
examples:
  vectile convert logo.png                     writes logo.svg next to logo.png
  vectile convert photo.jpg -o out/photo.svg --preset photo --colors 24
  vectile convert scan.tif --mode binary --stats

Run 'vectile convert --help' for every option.
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for ``vectile`` and its subcommands."""
    from vectile import __version__

    parser = Parser(
        prog="vectile",
        description="Fast, gap-free raster-to-vector tracing.",
        epilog=_MAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"vectile {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    # Sub-parsers inherit the parser class, so their errors read ``vectile: error: ...`` too.
    for command in (convert, serve, batch, edges):
        command.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors: argparse has printed already
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE if exc.code else EXIT_OK
    return int(args.run(args))


def run() -> NoReturn:
    """The ``vectile`` console script: :func:`main`, then a fast exit.

    Once ``main`` has returned, every output is written, renamed into place and closed, and
    clusters and temporary stores are gone; what is left is the interpreter's own teardown,
    which frees every object of the dask, zarr and libvips modules one by one (~0.25 s after
    a tiled trace, 15% of a 47 MP run).  So flush the standard streams and leave with
    ``os._exit`` (what mypy's command line does for the same reason)."""
    code = main()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)
