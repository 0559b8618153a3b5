"""vectile: fast, gap-free raster-to-vector tracing."""
from vectile._kernels import __version__

__all__ = ["__version__"]
