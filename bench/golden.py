"""``python -m bench golden record|check``: SHA-256 of every corpus image's SVG, to prove a
refactor changed no output.

Each image is traced three ways through the command line, exactly as a user runs it (so the
huge images go through the tiled path when they cross the automatic threshold): default
options, ``--mode binary`` and ``--layers cutout``.  ``record`` writes one JSON object
``{"<group>/<file> <variant>": sha256}``; ``check`` traces again and lists every difference
(exit 1 when any).

    python -m bench golden record --out /tmp/golden.json
    python -m bench golden check /tmp/golden.json
    python -m bench golden check /tmp/golden.json --flag=--strokes --flag=off   # a new option off
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.corpus import default_corpus

VARIANTS: dict[str, tuple[str, ...]] = {
    "default": (),
    "binary": ("--mode", "binary"),
    "cutout": ("--layers", "cutout"),
}


def corpus_images(corpus: Path) -> list[str]:
    """Every image of the corpus manifest, as paths relative to the corpus."""
    manifest = json.loads((corpus / "manifest.json").read_text())
    return sorted(entry["file"] for entry in manifest)


def trace_hashes(corpus: Path, images: Sequence[str], extra: Sequence[str] = ()) -> dict[str, str]:
    """Trace each image in each variant with ``vectile convert`` (``extra`` flags added to
    every run); return the SVG digests."""
    hashes: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="vectile-golden-") as tmp:
        out = Path(tmp) / "out.svg"
        for rel in images:
            for variant, flags in VARIANTS.items():
                cmd = [sys.executable, "-m", "vectile", "convert", str(corpus / rel), "-o", str(out), *flags, *extra]
                subprocess.run(cmd, check=True)
                hashes[f"{rel} {variant}"] = hashlib.sha256(out.read_bytes()).hexdigest()
                print(f"{rel} {variant} {hashes[f'{rel} {variant}'][:16]}", flush=True)
    return hashes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench golden", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record", help="trace the corpus and write the digests")
    rec.add_argument("--out", type=Path, required=True, help="JSON file to write")
    chk = sub.add_parser("check", help="trace the corpus and compare with recorded digests")
    chk.add_argument("recorded", type=Path, help="JSON file written by 'record'")
    for p in (rec, chk):
        p.add_argument("--corpus", type=Path, default=None, help="corpus folder with manifest.json")
        p.add_argument(
            "--flag",
            action="append",
            default=[],
            help="extra 'vectile convert' argument for every run, repeatable (--flag=--strokes --flag=off)",
        )
    args = parser.parse_args(argv)
    corpus = args.corpus or default_corpus()
    hashes = trace_hashes(corpus, corpus_images(corpus), args.flag)
    if args.command == "record":
        args.out.write_text(json.dumps(hashes, indent=1, sort_keys=True) + "\n")
        print(f"{len(hashes)} digests written to {args.out}")
        return 0
    recorded = json.loads(args.recorded.read_text())
    differ = sorted(k for k in recorded.keys() | hashes.keys() if recorded.get(k) != hashes.get(k))
    for key in differ:
        print(f"DIFFERS: {key}: recorded {recorded.get(key)} now {hashes.get(key)}")
    print(f"{len(hashes) - len(differ)} of {len(recorded)} digests unchanged")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
