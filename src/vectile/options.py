"""Tracer options in one place: their declaration, presets, validation, preset choice, and the
size constants.

:data:`OPTIONS` declares every tracer option once (name, type, bounds, choices, help, command
line flag and metavar, default); the flags of ``vectile convert`` and ``vectile batch``, the
batch's option list and the server's form fields are built from it.  Every front door
(``vectorize``, the tiled tracer, ``vectile convert``, ``vectile batch``, the server's form)
checks its options here, so a bad value gets the same message everywhere.

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

from vectile._scan import image_signals, looks_like_scan
from vectile.errors import OptionError

__all__ = [
    "DEFAULT_TILE_SIZE",
    "HUGE_PIXELS",
    "LAYERS",
    "MAX_TILE_SIZE",
    "MODES",
    "OPTIONS",
    "OPTION_NAMES",
    "Option",
    "PRESETS",
    "PRESET_SAMPLE",
    "Preset",
    "PresetName",
    "STROKE_WIDTH_MAX",
    "TraceOptions",
    "check_choice",
    "check_float",
    "check_int",
    "check_tile_size",
    "check_weights",
    "CLI_OPTIONS",
    "FORM_OPTIONS",
    "OPTIONS_BY_NAME",
    "choose_preset",
    "preset_of_sample",
    "resolve",
    "settings",
]

PresetName = Literal["icon", "photo", "lineart", "pixel", "scan"]

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

MODES: Final = ("color", "binary", "centerline")
LAYERS: Final = ("stacked", "cutout")
EDGE_METHODS: Final = ("canny", "learned", "blend")
BACKGROUNDS: Final = ("keep", "white", "transparent")
STROKES: Final = ("auto", "on", "off")

#: The widest line, in pixels, drawn as a stroke when ``stroke_width_max`` is not given.
#: Colour mode's stroke layer: 3 (bench icons with strokes auto, median thin-line recall 0.876
#: at 3 px, 0.857 at 4, 0.833 at 8, the same as no strokes); the centerline mode: 8, the widest
#: lines of its benchmark (wider ink keeps an unthinned core).
STROKE_WIDTH_MAX: Final = {"color": 3.0, "binary": 3.0, "centerline": 8.0}


@dataclass(frozen=True)
class Preset:
    """Tracing parameters; every field can be overridden by a ``vectorize`` keyword."""

    colors: int
    min_area: int
    tolerance: float
    corner_run: int
    precision: int
    #: The scan front end: denoise strength (0 = off), palette merge distance (CIELAB, 0 =
    #: off) and what happens to the paper (None = no paper detection).
    denoise: float = 0.0
    delta_e: float = 0.0
    background: str | None = None
    #: Speckle merging decided locally (each tile settles its own speckles, so a noisy image
    #: traced in tiles holds memory bounded by the tile); the global smallest-first merge
    #: otherwise, measured slightly better on clean images (icons -0.45 dB, photos -0.33 dB
    #: with the local merge).  Not an option: it comes with the preset.
    local_merge: bool = False
    #: The stroke layer of colour mode (``auto``: strokes where they explain their pixels
    #: better than the fills alone) and the widest structure, in pixels, drawn as a stroke
    #: (None: the mode's :data:`STROKE_WIDTH_MAX`).  Off in every preset for now: measured on
    #: the bench, ``auto`` costs 2.8x the trace time on icons and 6.8x on wallpapers, and the
    #: tiled tracer does not draw strokes yet (a huge image would trace differently).
    strokes: str = "off"
    stroke_width_max: float | None = None

    def stroke_width(self, mode: str) -> float:
        """The widest line drawn as a stroke in ``mode``: the set value, else the mode's default."""
        return self.stroke_width_max if self.stroke_width_max is not None else STROKE_WIDTH_MAX[mode]


#: Built-in presets. ``icon``: flat art with anti-aliased edges; ``photo``: natural images and
#: smooth gradients; ``lineart``: two-tone drawings; ``pixel``: pixel art, every pixel corner
#: kept; ``scan``: scanned paper (noise and JPEG removed, near colours merged, the paper one
#: flat shape; ``colors`` is the most the palette may use).
PRESETS: dict[str, Preset] = {
    "icon": Preset(colors=16, min_area=10, tolerance=0.5, corner_run=2, precision=1),
    "photo": Preset(colors=24, min_area=8, tolerance=1.0, corner_run=2, precision=1),
    "lineart": Preset(colors=2, min_area=6, tolerance=0.5, corner_run=2, precision=1),
    "pixel": Preset(colors=256, min_area=1, tolerance=0.05, corner_run=1, precision=0),
    "scan": Preset(
        colors=32,
        min_area=8,
        tolerance=1.0,
        corner_run=2,
        precision=1,
        denoise=2.0,
        delta_e=8.0,
        background="keep",
        local_merge=True,
    ),
}

#: The preset fields a caller may override.
TUNABLE: Final = (
    "colors",
    "min_area",
    "tolerance",
    "corner_run",
    "precision",
    "denoise",
    "delta_e",
    "background",
    "strokes",
    "stroke_width_max",
)


@dataclass(frozen=True)
class Option:
    """The declaration of one tracer option: a ``vectorize`` keyword, a command line flag of
    ``vectile convert`` and ``vectile batch`` (when ``cli``) and a field of the server's form
    (when ``form``).

    ``kind`` is ``int``, ``float`` or ``str`` (then ``choices`` lists the values).  Numbers lie
    in ``low..high``, or ``(low, high]`` when ``low_open``; ``high`` None: no upper bound.
    ``default`` None means "the preset's value" (or, for ``preset``, "chosen from the
    image").  ``checked_high`` is a sanity bound :func:`resolve` applies where the front doors
    state none (``high`` None); ``form_high`` replaces ``high`` in the server's form (whose
    integers are JSON int64).

    >>> OPTIONS_BY_NAME["min_area"].flag, OPTIONS_BY_NAME["tolerance"].bounds
    ('--min-area', (0.0, 100.0))
    """

    name: str
    kind: type
    help: str
    default: Any = None
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    choices: tuple[str, ...] = ()
    metavar: str | None = None
    cli: bool = True
    form: bool = True
    checked_high: float | None = None
    form_high: float | None = None

    @property
    def flag(self) -> str:
        """The command line flag, ``--`` and the name with hyphens."""
        return "--" + self.name.replace("_", "-")

    @property
    def bounds(self) -> tuple[Any, Any]:
        """``(low, high)`` as :func:`check_int` / :func:`check_float` take them."""
        high = self.high if self.high is not None else self.checked_high
        return self.low, high

    def check(self, value: Any) -> Any:
        """``value`` checked against this declaration, else :class:`OptionError`."""
        if self.choices:
            return check_choice(self.name, value, self.choices)
        low, high = self.bounds
        if self.kind is float:
            return check_float(self.name, value, low, high, low_open=self.low_open)
        return check_int(self.name, value, int(low), int(high))


#: Every tracer option, in the order of ``vectorize``'s keywords (``weights``, an array, is
#: not an option of the command line or the form and is checked by :func:`check_weights`).
OPTIONS: Final[tuple[Option, ...]] = (
    Option("colors", int, "number of colours (1 to 256); default from the preset", low=1, high=256, metavar="N"),
    Option(
        "preset",
        str,
        "starting values for the other options, tuned for a kind of image (default: chosen from each image)",
        choices=tuple(PRESETS),
    ),
    Option(
        "mode",
        str,
        "color: regions of k colours; binary: black on white at Otsu's threshold; "
        "centerline: lines as single strokes along their centre (drawings, maps, handwriting)",
        default="color",
        choices=MODES,
    ),
    Option(
        "layers",
        str,
        "stacked: shapes painted large to small (no gaps, hides seams); cutout: exact tiling",
        default="stacked",
        choices=LAYERS,
    ),
    Option(
        "tolerance",
        float,
        "largest distance, in pixels, between a curve and the pixel boundary it fits (more than 0, at most 100)",
        low=0.0,
        high=100.0,
        low_open=True,
        metavar="PX",
    ),
    Option(
        "min_area",
        int,
        "regions smaller than this many pixels merge into a neighbour (1 keeps all)",
        low=1,
        checked_high=1 << 40,
        metavar="PX",
    ),
    Option(
        "corner_run",
        int,
        "boundary runs at least this long meet in a sharp corner (1 keeps every pixel corner)",
        low=1,
        checked_high=1 << 20,
        cli=False,
        form=False,
    ),
    Option(
        "precision", int, "decimal digits of coordinates in the SVG path data (0 to 4)", low=0, high=4, metavar="DIGITS"
    ),
    Option(
        "denoise",
        float,
        "scan front end: strength of the edge-preserving denoise, in units of the image's noise level "
        "(0 turns it off, at most 10); default from the preset (scan: 2)",
        low=0.0,
        high=10.0,
        metavar="S",
    ),
    Option(
        "delta_e",
        float,
        "palette colours closer than this CIELAB distance are one colour (0 turns it off, at most 100); "
        "default from the preset (scan: 8)",
        low=0.0,
        high=100.0,
        metavar="DE",
    ),
    Option(
        "background",
        str,
        "the paper of a scan: keep (all paper in its one colour), white (pure white, every other colour "
        "white-balanced to the paper), or transparent (not drawn; whole-image traces only); keep and "
        "white divide the lamp's fall-off out where enough paper shows; "
        "default from the preset (scan: keep; others: no paper detection)",
        choices=BACKGROUNDS,
    ),
    Option(
        "strokes",
        str,
        "colour mode: thin lines (up to --stroke-width-max pixels wide) drawn as strokes over the fills, "
        "which continue underneath: auto (where they explain the pixels better than the fills), on, off; "
        "default off; not in tiles yet",
        choices=STROKES,
    ),
    Option(
        "stroke_width_max",
        float,
        "widest line, in pixels, drawn as a stroke (1 to 64); default 3 for the stroke layer, "
        "8 for the centerline mode",
        low=1.0,
        high=64.0,
        low_open=False,
        metavar="PX",
    ),
    Option(
        "seed",
        int,
        "seed for the colour clustering (same seed, same output)",
        default=0,
        low=0,
        high=(1 << 64) - 1,
        form_high=(1 << 63) - 1,
        metavar="N",
    ),
    Option(
        "threshold",
        int,
        "binary mode: the grey level between black and white (default: Otsu's)",
        low=0,
        high=255,
        cli=False,
        form=False,
    ),
    Option(
        "edges",
        str,
        "weight the palette by edge importance; learned and blend also keep "
        "speckle merging from crossing learned edges (default: off)",
        choices=EDGE_METHODS,
        form=False,
    ),
)

OPTIONS_BY_NAME: Final[dict[str, Option]] = {o.name: o for o in OPTIONS}

#: The options ``vectile convert`` and ``vectile batch`` take as flags.
CLI_OPTIONS: Final = tuple(o for o in OPTIONS if o.cli)

#: The options the server's form takes (next to its own ``quality``).
FORM_OPTIONS: Final = tuple(o for o in OPTIONS if o.form)


def check_int(name: str, value: Any, lo: int, hi: int) -> int:
    """``value`` as an int in ``lo..hi`` (bools refused), else :class:`OptionError`."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise OptionError(f"{name} must be an integer in {lo}..{hi}, got {value!r}", option=name)
    if not lo <= int(value) <= hi:
        raise OptionError(f"{name} must be in {lo}..{hi}, got {value}", option=name)
    return int(value)


def check_float(name: str, value: Any, lo: float, hi: float, *, low_open: bool = True) -> float:
    """``value`` as a float in ``(lo, hi]`` (``[lo, hi]`` unless ``low_open``; bools
    refused), else :class:`OptionError`."""
    span = f"{'(' if low_open else '['}{lo}, {hi}]"
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise OptionError(f"{name} must be a number in {span}, got {value!r}", option=name)
    v = float(value)
    if not (lo < v <= hi if low_open else lo <= v <= hi) or v != v:
        raise OptionError(f"{name} must be in {span}, got {value}", option=name)
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
        raise OptionError(
            f"weights must be a numeric (H, W) array, got {type(weights).__name__}: {exc}", option="weights"
        ) from exc
    if w.shape != tuple(shape):
        raise OptionError(f"weights must have shape {tuple(shape)}, got {w.shape}", option="weights")
    if not np.isfinite(w).all() or (w < 0).any():
        raise OptionError("weights must be finite and >= 0", option="weights")
    return w


def settings(preset_name: str, **overrides: Any) -> Preset:
    """The preset's parameters with the given ``overrides`` (None = keep), checked."""
    p = replace(PRESETS[preset_name], **{k: v for k, v in overrides.items() if v is not None})
    checked: dict[str, Any] = {}
    for k in TUNABLE:
        v = getattr(p, k)
        checked[k] = v if v is None else OPTIONS_BY_NAME[k].check(v)
    return Preset(**checked, local_merge=p.local_merge)


#: ``choose_preset`` looks at every ``max(1, pixels // PRESET_SAMPLE)``-th opaque pixel.
PRESET_SAMPLE: Final = 8192


def choose_preset(pixels: np.ndarray, signals: tuple[float, float] | None = None) -> str:
    """Pick a preset from image statistics (used when ``preset`` is not given).

    A noisy, opaque image that is flat once denoised is a ``scan``
    (:func:`vectile._scan.looks_like_scan`; ``signals`` are its ``(noise, flat)``,
    :func:`~vectile._scan.image_signals`, measured here when None); flat art (a few colours
    cover nearly every pixel) is ``icon``; everything else is ``photo``. ``lineart`` and
    ``pixel`` are only chosen explicitly.

    >>> choose_preset(np.zeros((8, 8, 3), np.uint8))
    'icon'
    """
    rgb = pixels[..., :3]
    if signals is None:
        signals = image_signals(pixels)
    if pixels.shape[2] == 4:
        rgb = rgb[pixels[..., 3] >= 128]
    flat = rgb.reshape(-1, 3)
    if flat.shape[0] == 0:
        return "icon"
    step = max(1, flat.shape[0] // PRESET_SAMPLE)
    sample = flat[::step]
    packed = (sample[:, 0].astype(np.uint32) << 16) | (sample[:, 1].astype(np.uint32) << 8) | sample[:, 2]
    return preset_of_sample(packed, signals)


def preset_of_sample(packed: np.ndarray, signals: tuple[float, float] = (0.0, 0.0)) -> str:
    """The preset for a sample of packed RGB values (``R << 16 | G << 8 | B``) of an image
    whose ``(noise, flat)`` signals are ``signals``: ``scan`` when
    :func:`~vectile._scan.looks_like_scan`, else ``icon`` when the 16 most common colours cover
    at least 60 % of it, else ``photo`` (shared with the tiled tracer, which gathers the same
    sample from its tiles and measures the signals on the same windows)."""
    if packed.shape[0] == 0:
        return "icon"
    if looks_like_scan(*signals):
        return "scan"
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
OPTION_NAMES: Final = (*OPTIONS_BY_NAME, "weights")


def resolve(options: Mapping[str, Any]) -> TraceOptions:
    """Check ``vectorize`` keywords (None = default) and return them as :class:`TraceOptions`.

    A missing key takes its default (:data:`OPTIONS`).  Unknown names, out-of-range values and
    bad choices raise :class:`OptionError` naming the option, before any work.  A binary trace
    without a preset uses ``lineart``.
    """
    unknown = sorted(set(options) - set(OPTION_NAMES))
    if unknown:
        raise OptionError(
            f"unknown option(s): {', '.join(unknown)}; the options are {', '.join(OPTION_NAMES)}", option=unknown[0]
        )
    get = options.get

    # mode, layers and seed have defaults, so an explicit None is a mistake; the others take
    # None as "the preset's value".
    def given(name: str) -> Any:
        option = OPTIONS_BY_NAME[name]
        value = options.get(name, option.default)
        return None if value is None and option.default is None else option.check(value)

    mode, layers, seed = given("mode"), given("layers"), given("seed")
    preset, threshold, edges = given("preset"), given("threshold"), given("edges")
    if preset is None and mode == "binary":
        preset = "lineart"
    tuned = {k: get(k) for k in TUNABLE}
    settings(preset or "photo", **tuned)  # bad values fail now, before any work
    return TraceOptions(
        preset=preset, mode=mode, layers=layers, seed=seed, threshold=threshold, tuned=tuned, edges=edges
    )
