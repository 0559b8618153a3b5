"""Entry point: ``python -m bench COMMAND [options]`` (see bench/README.md).

One table maps each command to the module that runs it; every such module has
``main(argv) -> int`` and is imported only when its command runs (so ``bench run`` does not pay
for matplotlib or Dask, nor ``bench golden`` for any peer tracer).
"""

from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "run": ("bench.run", "trace, time and measure the corpus with every tracer"),
    "kernels": ("bench.kernels", "vectile's kernels vs scikit-learn, OpenCV, scikit-image"),
    "scaling": ("bench.scaling", "time and peak RSS vs megapixels on generated maps"),
    "batch": ("bench.batch", "batch throughput on Dask against plain loops, and its memory"),
    "cluster": ("bench.cluster", "batch throughput on LocalCluster, standalone Dask and SLURM, and loops"),
    "edge-speed": ("bench.edge_speed", "edge kernels against OpenCV, timed in the same run"),
    "bsds": ("bench.bsds", "BSDS500 ODS / OIS / AP of an edge detector"),
    "tracer-edges": ("bench.tracer_edges", "what edge guidance does to the tracer"),
    "huge": ("bench.huge", "generated huge images, tile by tile into Zarr"),
    "tiled": ("bench.tiled", "huge images traced in tiles, side by side with VTracer"),
    "golden": ("bench.golden", "SHA-256 of every corpus SVG, to prove a refactor changes no output"),
    "load": ("bench.load", "loopback load test of vectile serve"),
    "lines-picture": ("bench.lines_picture", "the README's picture: input, fills only, fills + strokes, centerline"),
    "centerline": ("bench.centerline", "centerline tracing vs vector ground truth (CAD symbols, Hershey text)"),
    "formats": ("bench.formats", "bytes and seconds of every output format (svg, svgz, pdf, eps, dxf)"),
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: python -m bench COMMAND [options]  (python -m bench COMMAND --help)", "", "commands:"]
    lines += [f"  {name:<{width}}  {about}" for name, (_module, about) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    if argv[0] not in COMMANDS:
        print(f"bench: unknown command {argv[0]!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[argv[0]][0])
    return int(module.main(argv[1:]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
