"""Training code for vectile's learned models (not installed; run from the repository root).

The installed runtime, ``vectile.models``, runs the exported ONNX files with ONNX Runtime
alone; this package holds what produced them and needs the ``train`` extra (PyTorch).
"""
