"""Entry point: ``python -m bench run|kernels|scaling ...`` (see bench/README.md)."""

import sys

from bench.run import main

# Subcommands in their own modules (argv[1] -> module with main(argv)); more are listed in
# EXTRA_COMMANDS in bench/run.py (edge-speed, batch).
_MODULES = {"bsds": "bench.bsds", "tracer-edges": "bench.tracer_edges", "huge": "bench.huge", "tiled": "bench.tiled"}

if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in _MODULES:
        import importlib

        sys.exit(importlib.import_module(_MODULES[sys.argv[1]]).main(sys.argv[2:]))
    sys.exit(main())
