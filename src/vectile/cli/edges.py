"""``vectile edges``: write the edge map of an image as a PNG.

Same conventions as ``vectile convert``: bad
input or options exit with 2 and ``vectile: error: ...`` naming the file; the PNG is written to
a temporary file next to the output and renamed, so no partial file is ever left.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
import traceback
from typing import Any

from vectile._io import write_atomic
from vectile._text import naming
from vectile.cli._common import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    fail,
    number,
    output_path,
    pixel_count,
)
from vectile.errors import OptionError, VectileError

__all__ = ["add_parser"]

_EPILOG = """\
examples:
  vectile edges photo.jpg                      writes photo.edges.png next to photo.jpg
  vectile edges photo.jpg -o edges.png --sigma 2 --low 0.04 --high 0.1
  vectile edges logo.png -o outline.png --binary
  vectile edges scan.png -o grad.png --method sobel
  vectile edges photo.jpg -o learned.png --method learned
  vectile edges photo.jpg -o blend.png --method blend --alpha 0.7

The PNG is 8-bit grey: round(255 x strength) (canny: edge strength, 0 off edges; sobel:
gradient magnitude; learned: edge probability of vectile's own network; blend: alpha x
learned + (1 - alpha) x canny), or 0/255 with --binary. Thresholds are gradient magnitudes where 1 is a
full black-to-white step; left out, they are chosen from the image.
Exit status: 0 ok, 2 usage error or bad input, 1 unexpected failure.
"""


_unit_interval = number(0, 1)
_sigma = number(0, 256, unit="pixels")


def add_parser(commands: Any) -> None:
    """Add ``edges`` to the ``vectile`` sub-commands."""
    parser = commands.add_parser(
        "edges",
        help="write the edge map of an image as a PNG",
        description="Detect edges (Canny, Sobel gradient magnitude, the learned edge model or "
        "its blend with Canny) and write them as an 8-bit grey PNG.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    parser.add_argument("input", metavar="IN", help="input image file")
    parser.add_argument(
        "-o",
        "--output",
        metavar="OUT.png",
        help="output PNG file ('-' for standard output); default: IN with the suffix .edges.png",
    )
    parser.add_argument(
        "--method",
        choices=("canny", "sobel", "learned", "blend"),
        default="canny",
        help="canny (thin edges, default), sobel (gradient magnitude), learned "
        "(vectile's edge network) or blend (learned + canny)",
    )
    parser.add_argument(
        "--alpha",
        type=_unit_interval,
        metavar="A",
        help="blend: weight of the learned map (default: chosen on BSDS500 val)",
    )
    parser.add_argument(
        "--sigma",
        type=_sigma,
        default=1.4,
        metavar="PX",
        help="Gaussian blur before the gradient, pixels (default 1.4; 0: none)",
    )
    parser.add_argument(
        "--low", type=_unit_interval, metavar="T", help="canny: lower hysteresis threshold (default 0.4 x high)"
    )
    parser.add_argument(
        "--high",
        type=_unit_interval,
        metavar="T",
        help="canny: upper threshold (default: 70th percentile of the gradient)",
    )
    parser.add_argument("--binary", action="store_true", help="write 255 on every edge pixel instead of its strength")
    parser.add_argument(
        "--max-pixels",
        type=pixel_count,
        default=None,
        metavar="N",
        help="refuse images with more pixels than this (suffixes k, M, G allowed)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    parser.set_defaults(run=run)


def _png_bytes(edge_map: Any, binary: bool) -> bytes:
    import numpy as np
    from PIL import Image

    if binary:
        grey = np.where(edge_map > 0, 255, 0).astype(np.uint8)
    else:
        grey = np.rint(np.clip(edge_map, 0.0, 1.0) * 255.0).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(grey).save(buffer, format="PNG")
    return buffer.getvalue()


def run(args: argparse.Namespace) -> int:
    """Write the edge map ``args`` ask for; return the exit status."""
    from vectile._edges import detect_edges
    from vectile._io import DEFAULT_MAX_PIXELS

    source: str = args.input
    to_stdout = args.output == "-"
    try:
        started = time.perf_counter()
        if args.method in ("sobel", "learned") and (args.low is not None or args.high is not None):
            raise OptionError("--low and --high apply to --method canny and blend only")
        if args.alpha is not None and args.method != "blend":
            raise OptionError("--alpha applies to --method blend only")
        output = None if to_stdout else output_path(source, args.output, ".edges.png")
        edge_map = detect_edges(
            source,
            args.method,
            sigma=args.sigma,
            low=args.low,
            high=args.high,
            alpha=args.alpha,
            max_pixels=args.max_pixels or DEFAULT_MAX_PIXELS,
        )
        data = _png_bytes(edge_map, args.binary)
        if output is None:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        else:
            try:
                write_atomic(output, data)
            except OSError as exc:
                return fail(EXIT_FAILURE, f"cannot write '{output}': {exc.strerror or exc}")
        seconds = time.perf_counter() - started
    except VectileError as exc:
        return fail(EXIT_USAGE, naming(str(exc), source))
    except KeyboardInterrupt:
        return fail(EXIT_INTERRUPTED, f"interrupted while detecting edges in '{source}'")
    except Exception as exc:  # a bug: say so, with the traceback for the report
        traceback.print_exc(file=sys.stderr)
        return fail(
            EXIT_FAILURE,
            f"edge detection on '{source}' failed unexpectedly: "
            f"{type(exc).__name__}: {exc} (this is a bug in vectile; please report it)",
        )
    if not args.quiet and output is not None:
        edges = int((edge_map > 0).sum())
        print(f"vectile: wrote '{output}' ({edges:,} edge pixels, {seconds:.2f} s)", file=sys.stderr)
    return EXIT_OK
