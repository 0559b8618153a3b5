"""Results as text: JSON for tracing statistics (numpy values), and error messages that name
their file.  Shared by the command line, the batch and the server, so each prints the same.

>>> import numpy as np
>>> jsonable({"paths": np.int64(3), "palette": np.array([[0, 255, 0]], np.uint8)})
{'paths': 3, 'palette': [[0, 255, 0]]}
>>> naming("not an image", "in/a.png")
"'in/a.png': not an image"
"""

from __future__ import annotations

import json
import os
from typing import Any

__all__ = ["json_default", "jsonable", "naming"]


def json_default(value: Any) -> Any:
    """``json.dumps(..., default=json_default)``: numpy scalars and arrays as Python numbers
    and lists, paths as strings, anything else as its text.

    >>> import numpy as np
    >>> json.dumps({"seconds": np.float32(0.5)}, default=json_default)
    '{"seconds": 0.5}'
    """
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return str(value)


def jsonable(value: Any) -> Any:
    """``value`` (a dict of statistics, say) made of JSON types only, converted as
    :func:`json_default` does."""
    return json.loads(json.dumps(value, default=json_default))


def naming(message: str, label: str) -> str:
    """``message``, prefixed with ``'label': `` unless it names ``label`` already."""
    return message if label in message else f"'{label}': {message}"
