"""Image input: decode any supported source into an RGB(A) uint8 array.

Conventions of the returned array (what every later stage may rely on):

* shape ``(H, W, 3)`` (RGB) or ``(H, W, 4)`` (RGBA, straight, not premultiplied alpha);
  row 0 is the top of the image as a viewer shows it (EXIF orientation already applied);
* dtype ``uint8``, C-contiguous;
* decoded files come back as 3 channels when every pixel is opaque, 4 otherwise.  The one
  exception is a uint8 ``(H, W, 4)`` C-contiguous array passed in by the caller: it is
  returned as is (no copy), even when all its alpha values are 255.

Decoded images are not copied a second time, so the returned array may be read-only; call
``.copy()`` before modifying it.  Colour profiles (ICC) are ignored: samples are taken as sRGB.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import struct
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from vectile.errors import InputError, PixelLimitError

__all__ = ["DEFAULT_MAX_PIXELS", "load_image"]

#: Default upper bound on width x height (about 1.07 gigapixels): far above the 144 MP images
#: the project traces, far below what a hostile header (65535 x 65535 and more) can claim.
DEFAULT_MAX_PIXELS = 1 << 30

_EXIF_ORIENTATION = 0x0112
_ALPHA_MODES = frozenset({"LA", "La", "PA", "RGBA", "RGBa"})
# Errors Pillow raises while decoding damaged data (truncated streams, bad chunks, bad zlib).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error, zlib.error)


def load_image(
    src: str | os.PathLike[str] | os.PathLike[bytes] | Image.Image | np.ndarray | BinaryIO,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> np.ndarray:
    """Decode ``src`` into a C-contiguous uint8 array of shape (H, W, 3) or (H, W, 4).

    ``src`` is a file path, an open binary file, a ``PIL.Image.Image`` or a numpy array.
    Files are decoded completely here, so damaged files fail now, not halfway through tracing.
    Any format Pillow opens works (PNG, JPEG, TIFF, WebP, BMP, GIF, ...); for animations and
    multi-page files the first frame is used.  EXIF orientation is applied.

    Pillow modes are normalised to 8-bit RGB(A):

    * ``1``, ``L``, ``P``, ``RGB``, ``CMYK``, ``YCbCr``, ``HSV``, ``RGBX``: converted by Pillow;
      ``LAB`` through LittleCMS to sRGB.
    * ``LA``, ``La``, ``PA``, ``RGBA``, ``RGBa`` and ``P``/``L``/``RGB`` with a transparency
      key: RGBA (premultiplied alpha is undone); dropped to RGB when every pixel is opaque.
    * ``I;16`` (any byte order): the top 8 bits of the full 16-bit range (``v >> 8``), so
      65535 maps to 255 and anything below 256 to 0.  ``I`` (32-bit int, from some TIFFs or
      ``convert("I")``): taken to hold 16-bit data, clipped to 0..65535, then like ``I;16``.
    * ``F`` (32-bit float): values within [0, 1] are scaled by 255; otherwise the image is
      taken to be on the 0..255 scale (Pillow's own rule) and clipped to it.  Rounded to nearest.

    Numpy arrays may be (H, W) or (H, W, 1) gray, (H, W, 2) gray + alpha, (H, W, 3) RGB or
    (H, W, 4) RGBA, of dtype uint8 (as is), bool (0 / 255), uint16 (``v >> 8``) or float with
    values in [0, 1] (``round(v * 255)``).  A uint8 (H, W, 3|4) C-contiguous array is returned
    unchanged without a copy; treat the result as read-only in that case too.

    ``max_pixels`` bounds width x height.  For files it is checked against the header before
    any pixel is decoded, and it replaces Pillow's own decompression-bomb limit
    (``PIL.Image.MAX_IMAGE_PIXELS`` is left untouched; the override holds only for this call,
    in this thread).

    Raises :class:`~vectile.errors.InputError` (a ``ValueError``) naming the file and the
    problem: missing or unreadable file, not an image, truncated or corrupt data, no pixels,
    more than ``max_pixels`` pixels, unsupported mode, array shape or dtype.

    >>> import numpy as np
    >>> load_image(np.zeros((2, 3), dtype=bool)).shape
    (2, 3, 3)
    """
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, int | np.integer):
        raise TypeError(f"max_pixels must be an int, got {type(max_pixels).__name__}")
    if isinstance(src, np.ndarray):
        return _load_array(np.asarray(src), max_pixels)
    if isinstance(src, Image.Image):
        filename = getattr(src, "filename", "") or ""
        path = os.fsdecode(filename) if filename else None
        label = f"'{path}'" if path else "input image"
        with _pixel_limit(label, max_pixels, path):
            return _decode(src, label, max_pixels, owned=False, path=path)
    if isinstance(src, str | bytes | os.PathLike):
        path = os.fsdecode(src)
        return _load_file(src, f"'{path}'", path, max_pixels)
    if hasattr(src, "read"):
        name = getattr(src, "name", None)
        path = os.fsdecode(name) if isinstance(name, str | bytes) else None
        return _load_file(src, f"'{path}'" if path else "input stream", path, max_pixels)
    raise InputError(
        f"cannot load an image from a {type(src).__name__}: pass a file path, "
        "a binary file, a PIL.Image.Image or a numpy array"
    )


# --- files and PIL images -------------------------------------------------------------------


def file_error(exc: OSError, label: str, path: str | None) -> InputError:
    """The :class:`InputError` for ``exc``, raised while opening the file ``label``: names the
    file and says what is wrong in words (shared with the header probe of the tiled path)."""
    if isinstance(exc, FileNotFoundError):
        why = "no such file; check the path"
    elif isinstance(exc, IsADirectoryError):
        why = "it is a directory, not an image file"
    elif isinstance(exc, PermissionError):
        why = "permission denied"
    else:
        why = exc.strerror or str(exc)
    return InputError(f"cannot read {label}: {why}", path=path)


def _load_file(src: Any, label: str, path: str | None, max_pixels: int) -> np.ndarray:
    with _pixel_limit(label, max_pixels, path):
        try:
            image = Image.open(src)
        except InputError:
            raise
        except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
            raise file_error(exc, label, path) from None
        except UnidentifiedImageError:
            raise InputError(
                f"{label} is not an image vectile can read; supported are PNG, JPEG, TIFF, "
                "WebP, BMP, GIF and the other formats Pillow opens",
                path=path,
            ) from None
        except _DECODE_ERRORS as exc:
            raise _decode_failure(label, exc, path) from exc
        with image:
            return _decode(image, label, max_pixels, owned=True, path=path)


def _decode(image: Image.Image, label: str, max_pixels: int, *, owned: bool, path: str | None = None) -> np.ndarray:
    _check_size(label, image.width, image.height, max_pixels, path)
    try:
        image.load()
        orientation = image.getexif().get(_EXIF_ORIENTATION, 1)
    except InputError:
        raise
    except _DECODE_ERRORS as exc:
        raise _decode_failure(label, exc, path) from exc
    # Decoding may enlarge an image (a GIF frame reaching past the logical screen).
    _check_size(label, image.width, image.height, max_pixels, path)
    if orientation in range(2, 9):
        # Rotate our own image in place; never alter an image the caller handed in.
        if owned:
            ImageOps.exif_transpose(image, in_place=True)
        else:
            image, owned = ImageOps.exif_transpose(image), True
    return _pil_to_array(image, label, path, owned=owned)


def _pil_to_array(image: Image.Image, label: str, path: str | None, *, owned: bool) -> np.ndarray:
    mode = image.mode
    if mode == "I" or mode.startswith("I;16"):
        samples = np.asarray(image)
        if mode == "I":
            samples = np.clip(samples, 0, 0xFFFF)
        channels = (samples >> 8).astype(np.uint8)[:, :, None]
        key = image.info.get("transparency")
        if isinstance(key, int) and not isinstance(key, bool):
            alpha = np.where(samples == key, 0, 255).astype(np.uint8)
            channels = np.stack([channels[:, :, 0], alpha], axis=2)
        return _expand_channels(channels)
    if mode == "F":
        samples = np.asarray(image)
        if not np.isfinite(samples).all():
            raise InputError(f"{label} contains NaN or infinite sample values", path=path)
        scale = 255.0 if samples.min() >= 0.0 and samples.max() <= 1.0 else 1.0
        gray = np.rint(np.clip(samples * scale, 0.0, 255.0)).astype(np.uint8)
        return _expand_channels(gray[:, :, None])
    if mode == "LAB":
        from PIL import ImageCms  # LittleCMS; only LAB images need it

        transform = ImageCms.buildTransform(ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB"), "LAB", "RGB")
        converted = ImageCms.applyTransform(image, transform)
        if converted is None:  # only with inPlace=True, which is not asked for
            raise InputError(f"{label}: converting its LAB colours to sRGB failed", path=path)
        image = converted
    if image.mode == "La":
        image = image.convert("LA")  # Pillow converts La only to LA
    try:
        if _has_alpha(image):
            if image.mode in ("P", "PA") and not owned:
                image = image.copy()  # Pillow's P -> RGBA writes the transparency into the palette
            rgba = image.convert("RGBA")
            if rgba.getchannel("A").getextrema() != (255, 255):
                return np.asarray(rgba)
            image = rgba
        rgb = image if image.mode == "RGB" else image.convert("RGB")
    except ValueError as exc:
        raise InputError(
            f"{label} has pixel mode {mode!r}, which vectile cannot convert to RGB "
            f"({exc}); convert it to RGB or RGBA first",
            path=path,
        ) from exc
    return np.asarray(rgb)


def _has_alpha(image: Image.Image) -> bool:
    """Whether the image carries transparency (same rule as Pillow's has_transparency_data)."""
    if image.mode in _ALPHA_MODES or "transparency" in image.info:
        return True
    return image.mode == "P" and image.palette is not None and image.palette.mode.endswith("A")


def _decode_failure(label: str, exc: BaseException, path: str | None) -> InputError:
    if isinstance(exc, OSError) and exc.errno is not None:  # the system failed, not the data
        return InputError(f"cannot read {label}: {exc.strerror or exc}", path=path)
    reason = str(exc).strip() or type(exc).__name__
    return InputError(f"{label} is truncated or corrupt ({reason}); re-export or re-download it", path=path)


# --- numpy arrays ---------------------------------------------------------------------------

_SHAPES = "(H, W) or (H, W, 1) gray, (H, W, 2) gray + alpha, (H, W, 3) RGB or (H, W, 4) RGBA"


def _load_array(array: np.ndarray, max_pixels: int) -> np.ndarray:
    label = "input array"
    if array.ndim == 2:
        array = array[:, :, None]
    elif array.ndim != 3 or array.shape[2] not in (1, 2, 3, 4):
        raise InputError(f"{label} has unsupported shape {array.shape}; expected {_SHAPES}")
    height, width = array.shape[:2]
    _check_size(label, width, height, max_pixels, None)
    if array.dtype == np.uint8 and array.shape[2] >= 3 and array.flags.c_contiguous:
        return array
    return _expand_channels(_to_uint8(array, label))


def _to_uint8(array: np.ndarray, label: str) -> np.ndarray:
    dtype = array.dtype
    if dtype == np.uint8:
        return array
    if dtype.kind == "b":
        return array.astype(np.uint8) * np.uint8(255)
    if dtype.kind == "u" and dtype.itemsize == 2:
        return (array >> 8).astype(np.uint8)
    if dtype.kind == "f":
        if not np.isfinite(array).all():
            raise InputError(f"{label} contains NaN or infinite values")
        low, high = float(array.min()), float(array.max())
        if low < 0.0 or high > 1.0:
            raise InputError(
                f"{label} of dtype {dtype} has values from {low:g} to {high:g}; float images "
                "must lie in [0, 1] (divide 0..255 data by 255, or pass uint8)"
            )
        return np.rint(array * 255.0).astype(np.uint8)
    raise InputError(
        f"{label} has unsupported dtype {dtype} (shape {array.shape}); use uint8, "
        "uint16 (scaled by >> 8), bool or float with values in [0, 1]"
    )


def _expand_channels(samples: np.ndarray) -> np.ndarray:
    """(H, W, 1|2|3|4) uint8 -> C-contiguous (H, W, 3) or, unless fully opaque, (H, W, 4)."""
    height, width, channels = samples.shape
    color = samples[:, :, :1] if channels <= 2 else samples[:, :, :3]
    alpha = samples[:, :, channels - 1] if channels in (2, 4) else None
    if alpha is not None and bool((alpha == 255).all()):
        alpha = None
    out = np.empty((height, width, 3 if alpha is None else 4), dtype=np.uint8)
    out[:, :, :3] = color  # a single gray channel broadcasts to R, G and B
    if alpha is not None:
        out[:, :, 3] = alpha
    return out


# --- pixel limit ----------------------------------------------------------------------------


def _check_size(label: str, width: int, height: int, max_pixels: int, path: str | None) -> None:
    if width <= 0 or height <= 0:
        raise InputError(f"{label} has no pixels ({width} x {height})", path=path)
    pixels = width * height
    if pixels > max_pixels:
        raise PixelLimitError(
            f"{label} is {width} x {height} = {pixels:,} pixels, over the limit of "
            f"{max_pixels:,} pixels; if you trust this image, raise max_pixels "
            "(command line: --max-pixels)",
            path=path,
            pixels=pixels,
            limit=max_pixels,
        )


@dataclass(frozen=True)
class _Limit:
    label: str
    max_pixels: int
    path: str | None


# Pillow checks image sizes against the process-wide PIL.Image.MAX_IMAGE_PIXELS (warning above
# it, error above twice it) through Image._decompression_bomb_check, called from Image.open and
# from several plugins' load().  Changing MAX_IMAGE_PIXELS would also disarm other threads, so
# instead the check is wrapped once: inside _pixel_limit() (this thread, this call only) our
# max_pixels is the rule and the error names the file; everywhere else Pillow's original runs.
_scope = threading.local()
_install_lock = threading.Lock()
_installed = False


def _install_bomb_check() -> None:
    global _installed
    if _installed:
        return
    with _install_lock:
        if _installed:
            return
        pillow_check = Image._decompression_bomb_check

        def scoped_bomb_check(size: tuple[int, int], *, error_only: bool = False) -> None:
            limit: _Limit | None = getattr(_scope, "limit", None)
            if limit is None:
                pillow_check(size, error_only=error_only)
            else:
                width, height = max(1, size[0]), max(1, size[1])
                _check_size(limit.label, width, height, limit.max_pixels, limit.path)

        Image._decompression_bomb_check = scoped_bomb_check
        _installed = True


@contextlib.contextmanager
def _pixel_limit(label: str, max_pixels: int, path: str | None) -> Iterator[None]:
    _install_bomb_check()
    previous = getattr(_scope, "limit", None)
    _scope.limit = _Limit(label, int(max_pixels), path)
    try:
        yield
    finally:
        _scope.limit = previous


def write_atomic(path: str | os.PathLike[str], text: str | bytes) -> Path:
    """Write ``text`` (str as UTF-8, or bytes) to ``path`` atomically: a uniquely named temporary file in the
    same folder, created with the permissions of any new file (0o666 minus the umask), is
    renamed over ``path``. Readers never see a partial file; on failure nothing is left.
    """
    target = Path(path)
    folder = target.parent
    for _ in range(100):
        temporary = folder / f".{target.name}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        break
    else:
        raise FileExistsError(f"no free temporary file name next to '{target}'")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(text.encode("utf-8") if isinstance(text, str) else text)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return target


def text_or_file(text: str, output: str | os.PathLike[str] | None) -> str | None:
    """``text`` itself when ``output`` is None, else None after writing it there atomically
    (:func:`write_atomic`): how the tiled assemblies hand back their SVG."""
    if output is None:
        return text
    write_atomic(output, text)
    return None
