"""The one header probe of huge images: format, size, bands, orientation and TIFF tiling.

:func:`probe` reads the header only (no pixel is decoded), so the command line and the batch
run it on every input to decide whether to tile.  The format is sniffed from the first bytes
(a file's suffix never picks a loader: libvips would also read text files named *.csv or
*.mat as images); PNG, JPEG, WebP and TIFF are what the huge-image readers take, anything
else raises :class:`UnsupportedFormat` (it may still be an image Pillow loads whole).

Relies on libvips' ``fail_on`` and ``revalidate`` (developed and tested with libvips 8.18.7
from PyPI's pyvips-binary; older libvips may lack some of them).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Final

import numpy as np
import pyvips  # type: ignore[import-untyped]  # ships .pyi stubs but no py.typed

from vectile._io import DEFAULT_MAX_PIXELS, _check_size, file_error
from vectile.errors import InputError
from vectile.tiling.pixels import ORIENTATIONS

__all__ = ["ImageInfo", "UnsupportedFormat", "check_max_pixels", "corrupt", "open_vips", "path_str", "probe"]

# File signatures of the formats libvips streams here.
_SIGNATURES: Final = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"II+\x00", "tiff"),  # BigTIFF
    (b"MM\x00+", "tiff"),
)
_LOADERS: Final = {"png": "pngload", "jpeg": "jpegload", "webp": "webpload", "tiff": "tiffload"}


@dataclass(frozen=True)
class ImageInfo:
    """What :func:`probe` learns from an image's header, without decoding pixels.

    ``width`` and ``height`` are the displayed size (EXIF / TIFF orientation applied), as
    :func:`vectile.load_image` returns it.  ``bands`` is 4 when the file has an alpha
    channel (or a transparency key), else 3; decoding drops an alpha channel whose pixels
    are all opaque, so a 4 here may become 3 there.  ``format`` is ``"png"``, ``"jpeg"``,
    ``"webp"`` or ``"tiff"``.  ``tiled_tiff`` says whether the TIFF's first page is stored
    in tiles, ``tile_shape`` is then their ``(rows, columns)``.  ``orientation`` is the
    EXIF orientation (1 to 8, 1 = as stored).
    """

    path: str
    format: str
    width: int
    height: int
    bands: int
    tiled_tiff: bool = False
    tile_shape: tuple[int, int] | None = None
    orientation: int = 1

    @property
    def pixels(self) -> int:
        """``width * height``."""
        return self.width * self.height


class UnsupportedFormat(InputError):
    """Not a format libvips streams here (may still be an image Pillow loads whole)."""


def probe(path: str | os.PathLike[str], *, max_pixels: int = DEFAULT_MAX_PIXELS) -> ImageInfo:
    """Read the header of the image at ``path``; no pixel is decoded, so this is instant.

    libvips (``Image.new_from_file(..., access="sequential")`` semantics: the loader of the
    sniffed format, which reads the header only) gives size, bands and orientation;
    tifffile gives the tile layout of TIFFs.

    Raises :class:`~vectile.errors.InputError` naming the file when it is missing, a
    directory, unreadable, not a PNG / JPEG / WebP / TIFF (:class:`UnsupportedFormat`), or
    has a corrupt header, and :class:`~vectile.errors.PixelLimitError` when it has more than
    ``max_pixels`` pixels.
    """
    name = path_str(path)
    label = f"'{name}'"
    check_max_pixels(max_pixels)
    fmt = _sniff(name, label)
    image = open_vips(name, fmt, label)
    orientation = _orientation(image)
    width, height = image.width, image.height
    if ORIENTATIONS[orientation][0]:
        width, height = height, width
    _check_size(label, width, height, max_pixels, name)
    tiled, tile_shape = False, None
    if fmt == "tiff":
        # Only TIFFs need tifffile; a PNG's probe (the CLI, on every input) skips its import.
        import tifffile

        try:
            with tifffile.TiffFile(name) as tif:
                page = tif.pages[0]
                tiled = isinstance(page, tifffile.TiffPage) and bool(page.is_tiled)
                if tiled and isinstance(page, tifffile.TiffPage):
                    tile_shape = (int(page.tilelength), int(page.tilewidth))
        except (tifffile.TiffFileError, ValueError, IndexError, KeyError) as exc:
            raise corrupt(label, exc, name) from exc
    return ImageInfo(
        path=name,
        format=fmt,
        width=width,
        height=height,
        bands=4 if image.hasalpha() else 3,
        tiled_tiff=tiled,
        tile_shape=tile_shape,
        orientation=orientation,
    )


def open_vips(path: str, fmt: str, label: str) -> pyvips.Image:
    """The sniffed format's libvips loader, header only, failing on any decoding error."""
    loader = getattr(pyvips.Image, _LOADERS[fmt])
    try:
        # revalidate: never reuse libvips' cached loader for this file, which a previous
        # sequential read may have consumed, or which may describe an older file.
        image: pyvips.Image = loader(path, access="sequential", fail_on="error", revalidate=True)
    except pyvips.Error as exc:
        raise corrupt(label, exc, path) from exc
    return image


def corrupt(label: str, exc: BaseException, path: str) -> InputError:
    """The InputError for a file whose header or pixels cannot be decoded."""
    if isinstance(exc, pyvips.Error):
        details = [line.strip() for line in str(exc.detail or "").splitlines() if line.strip()]
        reason = "; ".join(details) or exc.message
    else:
        reason = str(exc).strip() or type(exc).__name__
    return InputError(f"{label} is truncated or corrupt ({reason}); re-export or re-download it", path=path)


def path_str(path: str | os.PathLike[str]) -> str:
    """``path`` as a str; TypeError for what is not a path."""
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"expected a path, got {type(path).__name__}")
    return os.fspath(path)


def check_max_pixels(max_pixels: int) -> None:
    """TypeError unless ``max_pixels`` is an int (a bool is not)."""
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, int | np.integer):
        raise TypeError(f"max_pixels must be an int, got {type(max_pixels).__name__}")


def _sniff(path: str, label: str) -> str:
    """The format of the file at ``path`` from its first bytes, or InputError."""
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError as exc:
        raise file_error(exc, label, path) from None
    for signature, fmt in _SIGNATURES:
        if head.startswith(signature):
            return fmt
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    raise UnsupportedFormat(
        f"{label} is not a PNG, JPEG, WebP or TIFF image; huge images are read from these "
        "formats only (small images of other formats load whole with vectile.load_image)",
        path=path,
    )


def _orientation(image: pyvips.Image) -> int:
    if image.get_typeof("orientation") == 0:
        return 1
    value = image.get("orientation")
    return value if isinstance(value, int) and value in ORIENTATIONS else 1
