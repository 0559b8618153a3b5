"""vectile: fast, gap-free raster-to-vector tracing.

>>> import vectile
>>> svg = vectile.vectorize("logo.png")            # doctest: +SKIP
>>> svg.save("logo.svg")                            # doctest: +SKIP
>>> svg.save("logo.pdf", dpi=300)                   # doctest: +SKIP
"""

from vectile import formats
from vectile._api import Svg, generate_paths, optimize_palette, quantize_colors, vectorize
from vectile._edges import detect_edges
from vectile._io import load_image
from vectile._kernels import __version__
from vectile.errors import InputError, OptionError, PixelLimitError, VectileError
from vectile.options import PRESETS

__all__ = [
    "PRESETS",
    "InputError",
    "OptionError",
    "PixelLimitError",
    "Svg",
    "VectileError",
    "__version__",
    "detect_edges",
    "formats",
    "generate_paths",
    "load_image",
    "optimize_palette",
    "quantize_colors",
    "vectorize",
]
