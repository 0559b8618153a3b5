"""``vectile.models``: the learned models vectile ships, run with ONNX Runtime.

The edge network lives in ``vectile.models.edge``: the model file ``vedge.onnx`` (package
data, see ``models/edge/MODEL_CARD.md``) and its runtime, :mod:`vectile.models.edge.runtime`
(one session per process, inference on images of any size); this package re-exports the
runtime's public names. Nothing is downloaded at run time and nothing here needs PyTorch: the
training and export code is not installed (``training/edge/`` in the repository, the
``train`` extra).

Sessions, threads, providers and the window grid of large images: see the runtime's docstring.
"""

from __future__ import annotations

from vectile.models.edge.runtime import (
    EDGE_STRIDE,
    OVERLAP,
    WINDOW,
    WINDOW_PIXELS,
    ModelUnavailable,
    check_scales,
    edge_model_digest,
    edge_model_path,
    edge_session,
    learned_edges,
    learned_edges_tile,
    session_info,
)

__all__ = [
    "EDGE_STRIDE",
    "OVERLAP",
    "WINDOW",
    "WINDOW_PIXELS",
    "ModelUnavailable",
    "check_scales",
    "edge_model_digest",
    "edge_model_path",
    "edge_session",
    "held_out_ids",
    "learned_edges",
    "learned_edges_tile",
    "session_info",
]


def held_out_ids(val_ids: list[str]) -> list[str]:
    """The BSDS500 val images kept out of the edge model's training (every fourth of the sorted
    val ids): the training log's ODS and the choice of ``BLEND_ALPHA`` use these and nothing else.

    >>> held_out_ids(["c", "a", "e", "b", "d"])
    ['a', 'e']
    """
    return sorted(val_ids)[::4]
