"""vectile's edge network as shipped: ``vedge.onnx`` (package data), its runtime
(:mod:`vectile.models.edge.runtime`, ONNX Runtime only) and ``MODEL_CARD.md``. Its PyTorch
definition, training and export live in ``training/edge/`` of the repository (not installed)."""
