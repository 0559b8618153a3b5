"""Tracer options in one place: presets, validation, preset choice, and the size constants.

Every front door (``vectorize``, the tiled tracer, ``vectile convert``, ``vectile batch``,
the server's form) checks its options here, so a bad value gets the same message everywhere.

>>> from vectile.options import resolve
>>> opts = resolve({"colors": 8, "mode": "color"})
>>> opts.settings("icon").colors, opts.settings("icon").tolerance
(8, 0.5)
>>> resolve({"colors": 0})
Traceback (most recent call last):
...
vectile.errors.OptionError: colors must be in 1..256, got 0
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Final, Literal

import numpy as np

from vectile.errors import OptionError

__all__ = [
    "DEFAULT_TILE_SIZE",
    "HUGE_PIXELS",
    "LAYERS",
    "MAX_TILE_SIZE",
    "MODES",
    "PRESETS",
    "PRESET_SAMPLE",
    "Preset",
    "PresetName",
    "TraceOptions",
    "check_choice",
    "check_float",
    "check_int",
    "check_tile_size",
    "check_weights",
    "choose_preset",
    "preset_of_sample",
    "resolve",
    "settings",
]

PresetName = Literal["icon", "photo", "lineart", "pixel"]

#: Images with more pixels than this (width x height) are traced in tiles by the command line
#: and the batch (``vectile convert --tile-above`` overrides it).  64 MP is about 200 MB of RGB
#: pixels plus label and region arrays: past that one untiled trace holds too much memory per
#: worker thread.
HUGE_PIXELS: Final = 64_000_000

#: Side of a tile when tiling is automatic, and the side of a Zarr shard of the tile store, so
#: one task reads one shard.  Measured on world-map-12k (2 cores, in-process cluster):
#: 1024-pixel tiles trace in 7.3 s, 2048 in 4.6 s; peak memory grows ~100 MB.
DEFAULT_TILE_SIZE: Final = 2048

#: Largest tile side accepted.
MAX_TILE_SIZE: Final = 1 << 20

MODES: Final = ("color", "binary")
LAYERS: Final = ("stacked", "cutout")


@dataclass(frozen=True)
class Preset:
    """Tracing parameters; every field can be overridden by a ``vectorize`` keyword."""

    colors: int
    min_area: int
    tolerance: float
    corner_run: int
    precision: int


#: Built-in presets. ``icon``: flat art with anti-aliased edges; ``photo``: natural images and
#: smooth gradients; ``lineart``: two-tone drawings and scans; ``pixel``: pixel art, every pixel
#: corner kept.
PRESETS: dict[str, Preset] = {
    "icon": Preset(colors=16, min_area=10, tolerance=0.5, corner_run=2, precision=1),
    "photo": Preset(colors=24, min_area=8, tolerance=1.0, corner_run=2, precision=1),
    "lineart": Preset(colors=2, min_area=6, tolerance=0.5, corner_run=2, precision=1),
    "pixel": Preset(colors=256, min_area=1, tolerance=0.05, corner_run=1, precision=0),
}

#: The preset fields a caller may override.
TUNABLE: Final = ("colors", "min_area", "tolerance", "corner_run", "precision")


def check_int(name: str, value: Any, lo: int, hi: int) -> int:
    """``value`` as an int in ``lo..hi`` (bools refused), else :class:`OptionError`."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise OptionError(f"{name} must be an integer in {lo}..{hi}, got {value!r}", option=name)
    if not lo <= int(value) <= hi:
        raise OptionError(f"{name} must be in {lo}..{hi}, got {value}", option=name)
    return int(value)


def check_float(name: str, value: Any, lo: float, hi: float) -> float:
    """``value`` as a float in ``(lo, hi]`` (bools refused), else :class:`OptionError`."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise OptionError(f"{name} must be a number in ({lo}, {hi}], got {value!r}", option=name)
    v = float(value)
    if not (lo < v <= hi):
        raise OptionError(f"{name} must be in ({lo}, {hi}], got {value}", option=name)
    return v


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    """``value`` if it is one of ``choices``, else :class:`OptionError`."""
    if value not in choices:
        raise OptionError(f"{name} must be one of {', '.join(choices)}; got {value!r}", option=name)
    return str(value)


def check_tile_size(value: Any) -> int:
    """A tile side in pixels, ``1..MAX_TILE_SIZE``."""
    return check_int("tile_size", value, 1, MAX_TILE_SIZE)


def check_weights(weights: Any, shape: tuple[int, ...]) -> np.ndarray | None:
    """Per-pixel importance weights: (H, W), finite, >= 0; returned as C-contiguous float32."""
    if weights is None:
        return None
    try:
        w = np.ascontiguousarray(weights, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise OptionError(f"weights must be a numeric (H, W) array, got {type(weights).__name__}: {exc}",
                          option="weights") from exc
    if w.shape != tuple(shape):
        raise OptionError(f"weights must have shape {tuple(shape)}, got {w.shape}", option="weights")
    if not np.isfinite(w).all() or (w < 0).any():
        raise OptionError("weights must be finite and >= 0", option="weights")
    return w


def settings(preset_name: str, **overrides: Any) -> Preset:
    """The preset's parameters with the given ``overrides`` (None = keep), checked."""
    p = replace(PRESETS[preset_name], **{k: v for k, v in overrides.items() if v is not None})
    return Preset(
        colors=check_int("colors", p.colors, 1, 256),
        min_area=check_int("min_area", p.min_area, 1, 1 << 40),
        tolerance=check_float("tolerance", p.tolerance, 0.0, 100.0),
        corner_run=check_int("corner_run", p.corner_run, 1, 1 << 20),
        precision=check_int("precision", p.precision, 0, 4),
    )


#: ``choose_preset`` looks at every ``max(1, pixels // PRESET_SAMPLE)``-th opaque pixel.
PRESET_SAMPLE: Final = 8192


def choose_preset(pixels: np.ndarray) -> str:
    """Pick a preset from image statistics (used when ``preset`` is not given).

    Flat art (a few colours cover nearly every pixel) is ``icon``; everything else is
    ``photo``. ``lineart`` and ``pixel`` are only chosen explicitly.

    >>> choose_preset(np.zeros((8, 8, 3), np.uint8))
    'icon'
    """
    rgb = pixels[..., :3]
    if pixels.shape[2] == 4:
        rgb = rgb[pixels[..., 3] >= 128]
    flat = rgb.reshape(-1, 3)
    if flat.shape[0] == 0:
        return "icon"
    step = max(1, flat.shape[0] // PRESET_SAMPLE)
    sample = flat[::step]
    packed = (sample[:, 0].astype(np.uint32) << 16) | (sample[:, 1].astype(np.uint32) << 8) | sample[:, 2]
    return preset_of_sample(packed)


def preset_of_sample(packed: np.ndarray) -> str:
    """The preset for a sample of packed RGB values (``R << 16 | G << 8 | B``): ``icon`` when
    the 16 most common colours cover at least 60 % of it (shared with the tiled tracer, which
    gathers the same sample from its tiles)."""
    if packed.shape[0] == 0:
        return "icon"
    _, counts = np.unique(packed, return_counts=True)
    top = np.sort(counts)[::-1][:16].sum() / packed.shape[0]
    return "icon" if top >= 0.6 else "photo"


@dataclass(frozen=True)
class TraceOptions:
    """Checked tracer options, before the preset is known.

    ``preset`` is None when it is to be chosen from the image (:func:`choose_preset`);
    ``tuned`` holds the preset fields the caller set (None = the preset's value).
    """

    preset: str | None
    mode: str
    layers: str
    seed: int
    threshold: int | None
    tuned: Mapping[str, Any]
    edges: str | None = None

    def settings(self, preset_name: str | None = None) -> Preset:
        """The parameters of ``preset_name`` (default: :attr:`preset`) with the caller's values."""
        name = preset_name or self.preset
        if name is None:
            raise ValueError("the preset is not known yet: pass the one chosen from the image")
        return settings(name, **self.tuned)


#: Every keyword :func:`resolve` accepts (``weights`` is checked against the image later).
OPTION_NAMES: Final = ("colors", "preset", "mode", "layers", "tolerance", "min_area", "corner_run",
                       "precision", "seed", "threshold", "edges", "weights")

EDGE_METHODS: Final = ("canny", "learned", "blend")


def resolve(options: Mapping[str, Any]) -> TraceOptions:
    """Check ``vectorize`` keywords (None = default) and return them as :class:`TraceOptions`.

    A missing key takes its default.  Unknown names, out-of-range values and bad choices raise :class:`OptionError` naming the
    option, before any work.  A binary trace without a preset uses ``lineart``.
    """
    unknown = sorted(set(options) - set(OPTION_NAMES))
    if unknown:
        raise OptionError(f"unknown option(s): {', '.join(unknown)}; the options are "
                          f"{', '.join(OPTION_NAMES)}", option=unknown[0])
    get = options.get
    # mode, layers and seed have defaults, so an explicit None is a mistake; the others take
    # None as "the preset's value".
    mode = check_choice("mode", options.get("mode", "color"), MODES)
    layers = check_choice("layers", options.get("layers", "stacked"), LAYERS)
    preset = get("preset")
    if preset is not None:
        preset = check_choice("preset", preset, tuple(PRESETS))
    elif mode == "binary":
        preset = "lineart"
    seed = check_int("seed", options.get("seed", 0), 0, (1 << 64) - 1)
    threshold = get("threshold")
    threshold = None if threshold is None else check_int("threshold", threshold, 0, 255)
    edges = get("edges")
    if edges is not None:
        edges = check_choice("edges", edges, EDGE_METHODS)
    tuned = {k: get(k) for k in TUNABLE}
    settings(preset or "photo", **tuned)  # bad values fail now, before any work
    return TraceOptions(preset=preset, mode=mode, layers=layers, seed=seed, threshold=threshold,
                        tuned=tuned, edges=edges)
