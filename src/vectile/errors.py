"""Exceptions raised by vectile.

Every error vectile raises on purpose derives from :class:`VectileError`, so callers can
catch them all at once.  The classes about inputs and options also derive from
:class:`ValueError`, because that is what they are: a value (an image, an option) that vectile
cannot work with; :class:`ClusterError` derives from :class:`RuntimeError`.

>>> from vectile.errors import InputError, VectileError
>>> issubclass(InputError, VectileError) and issubclass(InputError, ValueError)
True

Messages name the file (when there is one) and the problem, and say how to fix it when a fix
is known, so the command line can print them unchanged.
"""

from __future__ import annotations

__all__ = ["ClusterError", "InputError", "OptionError", "PixelLimitError", "VectileError"]


class VectileError(Exception):
    """Base class of every error vectile raises on purpose."""


class InputError(VectileError, ValueError):
    """An input image that vectile cannot use.

    Missing or unreadable file, not an image, truncated or corrupt data, zero or absurd size,
    an array of unsupported shape or dtype.  ``path`` is the offending file, or ``None`` when
    the input was an in-memory image or array.
    """

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class OptionError(VectileError, ValueError):
    """An option value that is out of range or conflicts with another option.

    ``option`` names the offending option (for example ``"colors"``) when known.
    """

    def __init__(self, message: str, *, option: str | None = None) -> None:
        super().__init__(message)
        self.option = option


class PixelLimitError(InputError):
    """An image with more pixels than the caller allows (``max_pixels``).

    Raised from the header, before anything is decoded, so a decompression bomb costs nothing.
    ``pixels`` and ``limit`` hold the two numbers.
    """

    def __init__(self, message: str, *, path: str | None = None, pixels: int = 0, limit: int = 0) -> None:
        super().__init__(message, path=path)
        self.pixels = pixels
        self.limit = limit


class ClusterError(VectileError, RuntimeError):
    """The Dask cluster work was sent to failed: worker jobs could not be submitted, or the
    scheduler went away mid-run. What finished before is kept (a batch's manifest has it;
    ``--resume`` finishes the rest)."""
