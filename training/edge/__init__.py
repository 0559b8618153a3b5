"""Training of vectile's edge network: its PyTorch definition (``net.py``), the training and
ONNX export script (``python -m training.edge.train``) and the trained weights
(``vedge.pt``). The exported ``vedge.onnx`` ships in ``models/edge/`` beside its runtime;
see ``models/edge/MODEL_CARD.md``."""
