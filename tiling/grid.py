"""The tile grid of a tiled trace, and the errors that name its tiles.

Tiles are ``tile x tile`` squares on a grid anchored at the top-left corner of the image,
numbered row by row; the last row and column may be smaller.  Every task body runs under
:func:`named`, so whatever fails on a worker comes back as a :class:`TileError` that says
which tile, seam or stage it was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vectile.errors import InputError, OptionError, VectileError

__all__ = ["Grid", "NotTileable", "TileError", "UntileableOption", "named"]


class TileError(VectileError, RuntimeError):
    """A tile (or seam, or the assembly) failed; the message names which and why."""


class NotTileable(InputError):
    """The image cannot be traced in tiles (it has transparent pixels, or ink too thick for
    the centerline mode's tiles); trace it whole."""


class UntileableOption(OptionError):
    """An option the tiled tracer cannot honour (``weights``, ``edges``); trace the image whole."""


@dataclass(frozen=True)
class Grid:
    """A ``width x height`` image cut in tiles of ``tile`` pixels a side.

    >>> g = Grid(100, 70, 64)
    >>> len(g), g.rect(3)
    (4, (64, 64, 36, 6))
    """

    width: int
    height: int
    tile: int

    @property
    def cols(self) -> int:
        return -(-self.width // self.tile)

    @property
    def rows(self) -> int:
        return -(-self.height // self.tile)

    def __len__(self) -> int:
        return self.cols * self.rows

    def rect(self, i: int) -> tuple[int, int, int, int]:
        """Tile ``i``'s ``(x0, y0, width, height)``."""
        r, c = divmod(i, self.cols)
        x0, y0 = c * self.tile, r * self.tile
        return x0, y0, min(self.tile, self.width - x0), min(self.tile, self.height - y0)

    def name(self, i: int) -> str:
        """Tile ``i`` in words, for error messages."""
        x0, y0, w, h = self.rect(i)
        r, c = divmod(i, self.cols)
        return f"tile {i} (row {r}, column {c}: x {x0}..{x0 + w}, y {y0}..{y0 + h})"


def named(what: str, fn: Callable[..., Any], *args: Any) -> Any:
    """Run ``fn``; any failure becomes a TileError that names ``what``."""
    try:
        return fn(*args)
    except (TileError, NotTileable):
        raise
    except Exception as exc:
        raise TileError(f"{what} failed: {type(exc).__name__}: {exc}") from None
