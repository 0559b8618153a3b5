"""The ``vectile`` command line.

``main(argv)`` parses the arguments, runs one subcommand and returns the exit status:
0 success, 2 usage error or bad input (the message names the file), 1 unexpected failure.
It never raises ``SystemExit`` itself, so tests and other programs can call it in-process:

>>> main(["--version"])  # doctest: +SKIP
vectile 0.1.0
0
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import math
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from vectile._io import DEFAULT_MAX_PIXELS, load_image, write_atomic
from vectile.errors import VectileError

__all__ = ["build_parser", "main"]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

_MAIN_EPILOG = """\
examples:
  vectile convert logo.png                     writes logo.svg next to logo.png
  vectile convert photo.jpg -o out/photo.svg --preset photo --colors 24
  vectile convert scan.tif --mode binary --stats

Run 'vectile convert --help' for every option.
"""

_CONVERT_EPILOG = """\
examples:
  vectile convert logo.png                     writes logo.svg next to logo.png
  vectile convert logo.png -o logo-8.svg --colors 8 --precision 1
  vectile convert photo.jpg --preset photo --layers stacked --min-area 16
  vectile convert scan.tif --mode binary --tolerance 0.5 --stats
  vectile convert art.png -o - | gzip > art.svgz

Options left out are chosen by the tracer (from --preset, if given).
Exit status: 0 ok, 2 usage error or bad input, 1 unexpected failure.
"""

# Tracer options: (argparse dest, vectorize keyword).  Only options the user gave are passed.
_TRACER_OPTIONS = (
    ("colors", "colors"),
    ("preset", "preset"),
    ("mode", "mode"),
    ("layers", "layers"),
    ("tolerance", "tolerance"),
    ("min_area", "min_area"),
    ("precision", "precision"),
    ("seed", "seed"),
    ("edges", "edges"),
)


# Subcommands that live in their own modules. Each module defines ``add_parser(commands)``,
# which adds its parser to the ``commands`` sub-parser action (the parser class is inherited,
# so errors read ``vectile: error: ...``) and sets ``run=<function(args) -> exit status>``.
_COMMAND_MODULES: tuple[str, ...] = ("vectile.cli_serve", "vectile.cli_batch", "vectile.cli_edges")


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors read ``vectile: error: ...`` in every subcommand."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"vectile: error: {message}\n")


def _integer(low: int, high: int | None = None) -> Callable[[str], int]:
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


def _number(
    low: float, high: float, *, low_inclusive: bool = True, unit: str = ""
) -> Callable[[str], float]:
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


_tolerance = _number(0, 100, low_inclusive=False)


_SI_SUFFIXES = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9}


def _pixel_count(text: str) -> int:
    """argparse type for --max-pixels: a positive integer, optionally with suffix k, M or G."""
    digits, suffix = text.strip(), ""
    if digits[-1:].lower() in ("k", "m", "g"):
        digits, suffix = digits[:-1], digits[-1].lower()
    try:
        value = int(digits, 10) * _SI_SUFFIXES[suffix]
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"expected a positive pixel count such as 200000000 or 200M, got {text!r}"
        )
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for ``vectile`` and its subcommands."""
    from vectile import __version__

    parser = _Parser(
        prog="vectile",
        description="Fast, gap-free raster-to-vector tracing.",
        epilog=_MAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"vectile {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    convert = commands.add_parser(
        "convert",
        help="trace one raster image into an SVG file",
        description="Trace one raster image (PNG, JPEG, TIFF, WebP, BMP, GIF, ...) into SVG.",
        epilog=_CONVERT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    convert.add_argument("input", metavar="IN", help="input image file")
    convert.add_argument(
        "-o", "--output", metavar="OUT.svg",
        help="output SVG file ('-' for standard output); default: IN with the suffix .svg",
    )
    tracing = convert.add_argument_group("tracing")
    tracing.add_argument(
        "--colors", type=_integer(1, 256), metavar="N", help="number of colours (1 to 256)"
    )
    tracing.add_argument(
        "--preset", choices=("icon", "photo", "lineart", "pixel"),
        help="starting values for the other options, tuned for a kind of image",
    )
    tracing.add_argument(
        "--mode", choices=("color", "binary"),
        help="color: regions of k colours; binary: black on white after a threshold",
    )
    tracing.add_argument(
        "--layers", choices=("stacked", "cutout"),
        help="stacked: shapes painted large to small (hides seams); cutout: exact tiling",
    )
    tracing.add_argument(
        "--tolerance", type=_tolerance, metavar="PX",
        help="largest distance, in pixels, between a curve and the pixel boundary it fits "
        "(more than 0, at most 100)",
    )
    tracing.add_argument(
        "--min-area", type=_integer(1), metavar="PX",
        help="regions smaller than this many pixels merge into a neighbour (1 keeps all)",
    )
    tracing.add_argument(
        "--precision", type=_integer(0, 4), metavar="DIGITS",
        help="decimal digits of coordinates in the SVG path data (0 to 4)",
    )
    tracing.add_argument(
        "--seed", type=_integer(0, 2**64 - 1), metavar="N",
        help="seed for the colour clustering (same seed, same output)",
    )
    tracing.add_argument(
        "--edges", choices=("canny", "learned", "blend"), default=None,
        help="weight the palette by edge importance; learned and blend also keep speckle "
        "merging from crossing learned edges (default: off)",
    )
    tiles = convert.add_argument_group(
        "huge images",
        "Images over --tile-above pixels are traced in tiles on Dask (the SVG is the same as "
        "untiled, memory stays bounded): streamed into a temporary Zarr store, one task per "
        "tile, on an embedded local cluster unless --scheduler or DASK_SCHEDULER_ADDRESS "
        "names one (its workers must see the output folder).")
    tiles.add_argument(
        "--tile-size", type=_integer(1, 1 << 20), metavar="PX",
        help="trace in tiles of PX x PX pixels, whatever the image size "
        "(default for huge images: 2048)",
    )
    tiles.add_argument(
        "--tile-above", type=_pixel_count, default=None, metavar="N",
        help="tile images with more than N pixels (default 64M; suffixes k, M, G allowed)",
    )
    tiles.add_argument(
        "--scheduler", metavar="ADDR",
        help="run the tiles on the Dask scheduler at ADDR (default: DASK_SCHEDULER_ADDRESS, "
        "else a local cluster)",
    )
    other = convert.add_argument_group("input and output")
    other.add_argument(
        "--max-pixels", type=_pixel_count, default=DEFAULT_MAX_PIXELS, metavar="N",
        help=f"refuse images with more pixels than this (default {DEFAULT_MAX_PIXELS}; "
        "suffixes k, M, G allowed)",
    )
    other.add_argument(
        "--stats", action="store_true", help="print tracing statistics as one JSON line to stderr"
    )
    other.add_argument(
        "-q", "--quiet", action="store_true", help="print nothing but errors (and --stats)"
    )
    convert.set_defaults(run=_convert)
    for name in _COMMAND_MODULES:
        importlib.import_module(name).add_parser(commands)
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


# --- convert --------------------------------------------------------------------------------


def _convert(args: argparse.Namespace) -> int:
    source: str = args.input
    to_stdout = args.output == "-"
    try:
        started = time.perf_counter()
        output = None if to_stdout else _output_path(source, args.output)
        options = {
            keyword: getattr(args, dest)
            for dest, keyword in _TRACER_OPTIONS
            if getattr(args, dest) is not None
        }
        if _tiled(args, source):
            svg = _convert_tiled(args, source, output, options)
        else:
            image = load_image(source, max_pixels=args.max_pixels)
            svg = _vectorize()(image, **options)
            if output is not None:
                _save_atomically(svg, output)
        if output is None:
            sys.stdout.write(str(svg))
            sys.stdout.flush()
        seconds = time.perf_counter() - started
    except VectileError as exc:
        return _fail(EXIT_USAGE, _naming(str(exc), source))
    except KeyboardInterrupt:
        return _fail(EXIT_INTERRUPTED, f"interrupted while converting '{source}'")
    except _OutputError as exc:
        return _fail(EXIT_FAILURE, str(exc))
    except Exception as exc:  # a bug: say so, with the traceback for the report
        traceback.print_exc(file=sys.stderr)
        return _fail(
            EXIT_FAILURE,
            f"converting '{source}' failed unexpectedly: {type(exc).__name__}: {exc} "
            "(this is a bug in vectile; please report it with the traceback above)",
        )
    if args.stats:
        print(json.dumps(dict(svg.stats), default=_json_value), file=sys.stderr)
    if not args.quiet and output is not None:
        print(
            f"vectile: wrote '{output}' ({output.stat().st_size:,} bytes, {seconds:.2f} s)",
            file=sys.stderr,
        )
    return EXIT_OK


def _tile_threshold(args: argparse.Namespace) -> int:
    from vectile.options import HUGE_PIXELS

    return HUGE_PIXELS if args.tile_above is None else int(args.tile_above)


def _tiled(args: argparse.Namespace, source: str) -> bool:
    """Whether to trace in tiles: forced by --tile-size, else by the size in the header."""
    if args.tile_size is not None:
        return True
    from vectile.errors import PixelLimitError
    from vectile.tiling.ingest import probe

    try:
        info = probe(source, max_pixels=args.max_pixels)
    except PixelLimitError:
        raise
    except VectileError:
        return False  # a format the header probe does not read, or a bad file: load_image says
    return info.pixels > _tile_threshold(args)


class _TiledSvg:
    """What the tiled flow returns when the SVG was written by a worker: stats only."""

    def __init__(self, text: str | None, stats: dict[str, Any]) -> None:
        self._text, self.stats = text, stats

    def __str__(self) -> str:
        return self._text or ""


def _convert_tiled(args: argparse.Namespace, source: str, output: Path | None,
                   options: dict[str, Any]) -> _TiledSvg:
    from vectile.flows._cluster import connect
    from vectile.tiling import trace_image

    show = not args.quiet and sys.stderr.isatty()
    # Tile tasks run in Rust with the GIL released: threads in this process parallelise them
    # without the memory and start-up of worker processes.  The image streams into a Zarr
    # store whatever its size (stream_above=0): this process never decodes it whole.
    with connect(scheduler=args.scheduler, dashboard=False, processes=False) as (client, _info):
        text, stats = trace_image(source, options, tile_size=args.tile_size, client=client, output=output,
                                  progress=show, max_pixels=args.max_pixels, stream_above=0)
    return _TiledSvg(text, stats)


def _vectorize() -> Callable[..., Any]:
    import vectile

    tracer = getattr(vectile, "vectorize", None)
    if tracer is None:
        from vectile._api import vectorize as tracer
    return tracer


class _OutputError(Exception):
    """Writing the output failed for a reason outside the user's control (disk full, I/O)."""


def _output_path(source: str, given: str | None) -> Path:
    """Where to write: ``given``, or the input with the suffix replaced by ``.svg``.

    Checked before tracing, so a mistake costs no tracing time; problems raise VectileError.
    """
    from vectile.errors import OptionError

    output = Path(given) if given else Path(source).with_suffix(".svg")
    folder = output.parent
    if output.is_dir():
        raise OptionError(f"cannot write '{output}': it is a directory; give a file name with -o")
    if not folder.is_dir():
        raise OptionError(
            f"cannot write '{output}': folder '{folder}' does not exist; create it first"
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OptionError(f"cannot write '{output}': no permission to create files in '{folder}'")
    if output.exists() and os.path.samefile(output, source):
        raise OptionError(
            f"output '{output}' is the input file '{source}'; choose another output with -o"
        )
    return output


def _save_atomically(svg: Any, output: Path) -> None:
    """The SVG goes to a temporary file next to ``output`` and renames it: readers never
    see a half-written SVG and a failure leaves no file behind."""
    try:
        write_atomic(output, str(svg))
    except OSError as exc:
        raise _OutputError(f"cannot write '{output}': {exc.strerror or exc}") from exc


# --- helpers --------------------------------------------------------------------------------


def _fail(code: int, message: str) -> int:
    print(f"vectile: error: {message}", file=sys.stderr)
    return code


def _naming(message: str, source: str) -> str:
    """Make sure an error message names the input file."""
    return message if source in message else f"'{source}': {message}"


def _json_value(value: Any) -> Any:
    """JSON fallback for stats values: numpy scalars and arrays, paths, anything else as text."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return str(value)
