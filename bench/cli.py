"""What the bench commands share: the output folder, ``key=value`` option parsing, probing the
tracers a run asks for, and the identity of vectile's native build.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bench.runner import probe_isolated
from bench.tracers import INSTALL_HINTS, TRACERS, Tracer, parse_tracer_spec

#: Where every command writes unless given ``--out``.
DEFAULT_OUT = Path(__file__).resolve().parent / "out"


def parse_value(text: str) -> Any:
    """``--vectile-opt`` values: int, then float, then true/false/none, else the string."""
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low == "none":
        return None
    return text


def parse_opts(items: Iterable[str]) -> dict[str, Any]:
    """``KEY=VALUE`` items as keyword arguments (dashes in keys become underscores).

    >>> parse_opts([\"colors=8\", \"min-area=2.5\", \"preset=icon\"])
    {'colors': 8, 'min_area': 2.5, 'preset': 'icon'}
    """
    opts: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise argparse.ArgumentTypeError(f"expected key=value, got {item!r}")
        opts[key.replace("-", "_")] = parse_value(value.strip())
    return opts


def resolve_tracers(
    names: list[str], specs: list[str], modes: list[str], isolate: bool = True
) -> tuple[list[Tracer], list[str], dict[str, str]]:
    """Probe the requested tracers: ``(usable, messages, versions)``; a missing one is a
    message. Python tracers are probed in a worker process when ``isolate``."""
    tracers: list[Tracer] = []
    messages = []
    versions: dict[str, str] = {}
    registry = dict(TRACERS)  # command tracers from --tracer need no worker: kept local
    names = list(names)
    for spec in specs:
        t = parse_tracer_spec(spec)
        registry[t.name] = t
        names.append(t.name)
    for name in dict.fromkeys(names):
        spec_t = registry[name]
        if not any(m in spec_t.modes for m in modes):
            messages.append(
                f"bench: skipping {name}: it traces {'/'.join(spec_t.modes)} images "
                f"only (use --mode {spec_t.modes[0]} or both)"
            )
            continue
        if isolate and not spec_t.is_command:
            reason, version = probe_isolated(spec_t)
            if reason is not None and reason.startswith("unknown tracer"):
                reason = "registered at run time, not in bench.tracers: use --in-process"
        else:
            reason = spec_t.probe()
            version = spec_t.version() if reason is None else "?"
        if reason is not None:
            hint = INSTALL_HINTS.get(name)
            messages.append(f"bench: skipping {name}: {reason}" + (f" ({hint})" if hint else ""))
            continue
        tracers.append(spec_t)
        versions[name] = version
    return tracers, messages, versions


def vectile_build() -> str | None:
    """First 12 hex digits of the sha256 of vectile's native module file (found without
    importing it), to notice a rebuild during a run; None when not found."""
    import hashlib
    import importlib.util

    spec = importlib.util.find_spec("vectile")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        for so in sorted(Path(folder).glob("_kernels*.so")) + sorted(Path(folder).glob("_kernels*.pyd")):
            return hashlib.sha256(so.read_bytes()).hexdigest()[:12]
    return None
