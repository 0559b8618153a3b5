"""vectile's edge network: ``vedge.onnx`` (shipped), its definition (``net.py``) and its
training and export script (``train.py``); both of those need the ``train`` extra (PyTorch).
See ``MODEL_CARD.md``."""
