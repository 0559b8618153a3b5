"""Type stub for the native module ``vectile._kernels`` (built from ``rust_kernels/src/py.rs``).

Private: the public API is ``vectile._api``, which validates every argument before calling in
here. Arrays must be C-contiguous and of exactly the dtype shown (rust-numpy does not cast).
Option strings (``layers``, ``mode``) are plain ``str`` because the kernels check them and
raise :class:`KernelOptionError` on anything else. Checked by ``mypy.stubtest`` in
``tests/test_stubs.py``.
"""

from typing import Final

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "__version__",
    "KernelInputError",
    "KernelOptionError",
    "trace",
    "quantize",
    "generate_paths",
]

#: The crate version (``CARGO_PKG_VERSION``).
__version__: Final[str]

class KernelInputError(ValueError):
    """The image or label data is unusable."""

class KernelOptionError(ValueError):
    """An option is out of range."""

def trace(
    image: NDArray[np.uint8],
    *,
    colors: int,
    seed: int,
    min_area: int,
    tolerance: float,
    corner_run: int,
    precision: int,
    layers: str,
    mode: str,
    threshold: int | None = None,
    weights: NDArray[np.float32] | None = None,
) -> tuple[str, dict[str, int]]:
    """Trace an (H, W, 3|4) uint8 image to SVG. Returns (svg_text, stats).

    ``stats`` has the keys palette, regions, edges, paths, commands and bytes.
    """

def quantize(
    image: NDArray[np.uint8],
    *,
    colors: int,
    seed: int = 0,
    weights: NDArray[np.float32] | None = None,
) -> tuple[NDArray[np.uint8], NDArray[np.int32], NDArray[np.uint64]]:
    """Quantize an (H, W, 3|4) uint8 image. Returns (palette (k, 3) uint8, labels (H, W) int32,
    counts (k,) uint64); transparent pixels get label -1."""

def generate_paths(
    labels: NDArray[np.int32],
    palette: NDArray[np.uint8],
    *,
    min_area: int,
    tolerance: float,
    corner_run: int,
    precision: int,
    layers: str,
) -> tuple[str, dict[str, int]]:
    """Trace a label image (H, W) int32 with a palette (k, 3) uint8. Returns (svg_text, stats)."""
