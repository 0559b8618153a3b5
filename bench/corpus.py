"""The benchmark corpus: where it is, its manifest, which images a run takes, how they load.

Shared by every bench command that reads ``../shared/bench`` (``run``, ``kernels``,
``golden``, ``tracer-edges``) and by tests.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parent.parent
#: Groups a run leaves out unless asked for (``--group large`` or ``--group all``).
EXCLUDED_BY_DEFAULT = ("large",)


def default_corpus() -> Path:
    """The corpus folder: ``$VECTILE_BENCH_CORPUS``, else ``shared/bench`` inside or beside the
    repository (the one with a ``manifest.json``), else ``/work/shared/bench``."""
    env = os.environ.get("VECTILE_BENCH_CORPUS")
    if env:
        return Path(env)
    for cand in (REPO_ROOT / "shared" / "bench", REPO_ROOT.parent / "shared" / "bench"):
        if (cand / "manifest.json").is_file():
            return cand
    return Path("/work/shared/bench")


IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp", ".gif", ".ppm", ".pgm", ".pbm"}


def load_manifest(corpus: Path) -> list[dict]:
    """The corpus's ``manifest.json``; a folder without one is scanned: every image file, the
    group being its sub-folder (``.`` for files at the top)."""
    manifest = corpus / "manifest.json"
    if manifest.is_file():
        with open(manifest, encoding="utf-8") as fh:
            return json.load(fh)
    entries = []
    for p in sorted(corpus.rglob("*")):
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES:
            rel = p.relative_to(corpus)
            group = rel.parts[0] if len(rel.parts) > 1 else "."
            entries.append({"group": group, "file": rel.as_posix()})
    return entries


def select_entries(manifest: list[dict], groups: list[str] | None, limit: int | None) -> dict[str, list[dict]]:
    """The entries of each group asked for (None: all but :data:`EXCLUDED_BY_DEFAULT`; ``all``:
    every group), at most ``limit`` a group."""
    known = list(dict.fromkeys(e["group"] for e in manifest))
    if groups is None:
        groups = [g for g in known if g not in EXCLUDED_BY_DEFAULT]
    elif "all" in groups:
        groups = known
    unknown = [g for g in groups if g not in known]
    if unknown:
        raise SystemExit(f"bench: unknown group(s) {unknown}; the corpus has {known}")
    selected: dict[str, list[dict]] = {}
    for g in dict.fromkeys(groups):
        entries = [e for e in manifest if e["group"] == g]
        selected[g] = entries[:limit] if limit is not None else entries
    return selected


def load_original(path: Path) -> np.ndarray:
    """Input pixels as uint8 RGB, or RGBA when the file has alpha (composited later)."""
    with Image.open(path) as im:
        has_alpha = "A" in im.getbands() or "transparency" in im.info
        im = im.convert("RGBA" if has_alpha else "RGB")
        return np.asarray(im, dtype=np.uint8)


def sample_indices(n: int, k: int) -> set[int]:
    """``k`` indices spread evenly over ``range(n)`` (first and last included)."""
    if k <= 0 or n <= 0:
        return set()
    if k >= n:
        return set(range(n))
    if k == 1:
        return {0}
    return {round(i * (n - 1) / (k - 1)) for i in range(k)}
