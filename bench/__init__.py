"""vectile benchmark harness (not installed; run from the repo root as ``python -m bench``)."""
