"""``vectile convert``: trace one image into an SVG file (in tiles when it is huge)."""

from __future__ import annotations

import argparse
import contextlib
import json
import secrets
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from vectile import formats
from vectile._api import vectorize
from vectile._io import DEFAULT_MAX_PIXELS, load_image, write_atomic
from vectile._text import json_default, naming
from vectile.cli._common import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    add_format_arguments,
    add_tracer_arguments,
    fail,
    integer,
    output_path,
    pixel_count,
    tracer_options,
)
from vectile.errors import PixelLimitError, VectileError
from vectile.options import DEFAULT_TILE_SIZE, HUGE_PIXELS, MAX_TILE_SIZE

__all__ = ["add_parser"]

_EPILOG = """\
examples:
  vectile convert logo.png                     writes logo.svg next to logo.png
  vectile convert logo.png -o logo-8.svg --colors 8 --precision 1
  vectile convert photo.jpg --preset photo --layers stacked --min-area 16
  vectile convert scan.tif --mode binary --tolerance 0.5 --stats
  vectile convert art.png -o - | gzip > art.svgz   (or: -o art.svgz)
  vectile convert logo.png -o logo.dxf         DXF for CAD (the format follows the suffix)
  vectile convert scan.tif --format pdf --dpi 300 --group-by color

Options left out are chosen by the tracer (from --preset, if given).
Exit status: 0 ok, 2 usage error or bad input, 1 unexpected failure.
"""


def add_parser(commands: Any) -> None:
    """Add ``convert`` to the ``vectile`` sub-commands."""
    convert = commands.add_parser(
        "convert",
        help="trace one raster image into an SVG file",
        description="Trace one raster image (PNG, JPEG, TIFF, WebP, BMP, GIF, ...) into SVG.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    convert.add_argument("input", metavar="IN", help="input image file")
    convert.add_argument(
        "-o",
        "--output",
        metavar="OUT.svg",
        help="output file ('-' for standard output); default: IN with the suffix of --format (.svg)",
    )
    add_tracer_arguments(convert.add_argument_group("tracing"))
    tiles = convert.add_argument_group(
        "huge images",
        "Images over --tile-above pixels are traced in tiles on Dask (the SVG is the same as "
        "untiled, memory stays bounded): streamed into a temporary Zarr store, one task per "
        "tile, on an embedded local cluster unless --scheduler or DASK_SCHEDULER_ADDRESS "
        "names one (its workers must see the output folder).",
    )
    tiles.add_argument(
        "--tile-size",
        type=integer(1, MAX_TILE_SIZE),
        metavar="PX",
        help="trace in tiles of PX x PX pixels, whatever the image size "
        f"(default for huge images: {DEFAULT_TILE_SIZE})",
    )
    tiles.add_argument(
        "--tile-above",
        type=pixel_count,
        default=None,
        metavar="N",
        help=f"tile images with more than N pixels (default {HUGE_PIXELS // 10**6}M; suffixes k, M, G allowed)",
    )
    tiles.add_argument(
        "--scheduler",
        metavar="ADDR",
        help="run the tiles on the Dask scheduler at ADDR (default: DASK_SCHEDULER_ADDRESS, else a local cluster)",
    )
    other = convert.add_argument_group("input and output")
    other.add_argument(
        "--max-pixels",
        type=pixel_count,
        default=DEFAULT_MAX_PIXELS,
        metavar="N",
        help=f"refuse images with more pixels than this (default {DEFAULT_MAX_PIXELS}; suffixes k, M, G allowed)",
    )
    add_format_arguments(other)
    other.add_argument("--stats", action="store_true", help="print tracing statistics as one JSON line to stderr")
    other.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors (and --stats)")
    convert.set_defaults(run=run)


class _OutputError(Exception):
    """Writing the output failed for a reason outside the user's control (disk full, I/O)."""


def run(args: argparse.Namespace) -> int:
    """Trace ``args.input`` into ``args.output``; return the exit status."""
    source: str = args.input
    to_stdout = args.output == "-"
    try:
        started = time.perf_counter()
        fmt = formats.format_for(args.format, None if to_stdout else args.output)
        output = None if to_stdout else output_path(source, args.output, formats.SUFFIXES[fmt])
        plain = fmt == "svg" and args.group_by == "none"
        options = tracer_options(args)
        if _tiled(args, source):
            svg: Any = _convert_tiled(args, source, output, options, fmt, plain)
        else:
            image = load_image(source, max_pixels=args.max_pixels)
            svg = vectorize(image, **options)
        if output is not None and not isinstance(svg, _TiledSvg):
            _save_atomically(svg, output, fmt, args)
        if output is None:
            if plain:
                sys.stdout.write(str(svg))
                sys.stdout.flush()
            else:
                sys.stdout.buffer.write(formats.to_bytes(str(svg), fmt, dpi=args.dpi, group_by=args.group_by))
                sys.stdout.buffer.flush()
        seconds = time.perf_counter() - started
    except VectileError as exc:
        return fail(EXIT_USAGE, naming(str(exc), source))
    except KeyboardInterrupt:
        return fail(EXIT_INTERRUPTED, f"interrupted while converting '{source}'")
    except _OutputError as exc:
        return fail(EXIT_FAILURE, str(exc))
    except Exception as exc:  # a bug: say so, with the traceback for the report
        traceback.print_exc(file=sys.stderr)
        return fail(
            EXIT_FAILURE,
            f"converting '{source}' failed unexpectedly: {type(exc).__name__}: {exc} "
            "(this is a bug in vectile; please report it with the traceback above)",
        )
    if args.stats:
        print(json.dumps(dict(svg.stats), default=json_default), file=sys.stderr)
    if not args.quiet and output is not None:
        print(
            f"vectile: wrote '{output}' ({output.stat().st_size:,} bytes, {seconds:.2f} s)",
            file=sys.stderr,
        )
    return EXIT_OK


def _tiled(args: argparse.Namespace, source: str) -> bool:
    """Whether to trace in tiles: forced by --tile-size, else by the size in the header
    (:func:`vectile.tiling.probe`, the header reader of the tiled path itself, so only images
    it can stream are tiled)."""
    if args.tile_size is not None:
        return True
    from vectile.tiling import probe

    threshold = HUGE_PIXELS if args.tile_above is None else int(args.tile_above)
    try:
        info = probe(source, max_pixels=args.max_pixels)
    except PixelLimitError:
        raise
    except VectileError:
        return False  # a format the header probe does not read, or a bad file: load_image says
    return info.pixels > threshold


class _TiledSvg:
    """What the tiled flow returns when the SVG was written by a worker: stats only."""

    def __init__(self, text: str | None, stats: dict[str, Any]) -> None:
        self._text, self.stats = text, stats

    def __str__(self) -> str:
        return self._text or ""


def _convert_tiled(
    args: argparse.Namespace, source: str, output: Path | None, options: dict[str, Any], fmt: str, plain: bool
) -> _TiledSvg:
    """The tiled trace.  A plain SVG goes straight to ``output``; another format or grouping
    (``plain`` false) first writes the SVG to a temporary file beside ``output``, which is then
    converted streaming (:mod:`vectile.formats`) and removed."""
    if not plain and output is not None:
        target = output
        staging = target.parent / f".{target.name}.{secrets.token_hex(4)}.svg.tmp"
        try:
            tiled = _trace_tiled(args, source, staging, options)
            try:
                formats.convert(staging, target, fmt, dpi=args.dpi, group_by=args.group_by)
            except OSError as exc:
                raise _OutputError(f"cannot write '{target}': {exc.strerror or exc}") from exc
        finally:
            with contextlib.suppress(OSError):
                staging.unlink()
        return tiled
    return _trace_tiled(args, source, output, options)


def _trace_tiled(args: argparse.Namespace, source: str, output: Path | None, options: dict[str, Any]) -> _TiledSvg:
    from vectile.flows._cluster import connect
    from vectile.tiling import trace_image

    show = not args.quiet and sys.stderr.isatty()
    # Tile tasks run in Rust with the GIL released: threads in this process parallelise them
    # without the memory and start-up of worker processes.  The image streams into a Zarr
    # store whatever its size (stream_above=0): this process never decodes it whole.
    with connect(scheduler=args.scheduler, dashboard=False, processes=False) as (client, _info):
        text, stats = trace_image(
            source,
            options,
            tile_size=args.tile_size,
            client=client,
            output=output,
            progress=show,
            max_pixels=args.max_pixels,
            stream_above=0,
        )
    return _TiledSvg(text, stats)


def _save_atomically(svg: Any, output: Path, fmt: str, args: argparse.Namespace) -> None:
    """The result goes to a temporary file next to ``output`` and renames it: readers never
    see a half-written file and a failure leaves no file behind."""
    try:
        if fmt == "svg" and args.group_by == "none":
            write_atomic(output, str(svg))
        else:
            formats.convert(str(svg), output, fmt, dpi=args.dpi, group_by=args.group_by)
    except OSError as exc:
        raise _OutputError(f"cannot write '{output}': {exc.strerror or exc}") from exc
