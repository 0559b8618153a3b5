"""``python -m vectile ...``: the same as the ``vectile`` command."""

from vectile.cli import run

if __name__ == "__main__":
    run()
