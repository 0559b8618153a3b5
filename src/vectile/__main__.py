"""``python -m vectile ...``: the same as the ``vectile`` command."""

from vectile.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
