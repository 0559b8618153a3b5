"""Examples and descriptions for the OpenAPI schema (``GET /openapi.json``)."""

from __future__ import annotations

from typing import Any, Final

DESCRIPTION: Final = """\
Trace raster images into compact, gap-free SVG.

* `POST /v1/vectorize`: one image in (multipart field `image`), the SVG out, while you wait.
* `POST /v1/jobs`: large images or batches (repeat the field `images`), traced on a Dask
  cluster; poll `GET /v1/jobs/{id}`, then fetch `GET /v1/jobs/{id}/result`.

```
curl -F image=@logo.png -F quality=high http://127.0.0.1:8000/v1/vectorize -o logo.svg
curl -F images=@a.png -F images=@b.jpg http://127.0.0.1:8000/v1/jobs
```

Uploads are typed by their content, not by the declared content type. Errors answer
`{"detail": "..."}` with 413 (too many bytes or pixels), 415 (not an image format the server
reads), 422 (bad option or damaged image), 504 (took longer than the request timeout).
"""

_SVG: Final = (
    '<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="8" height="8" viewBox="0 0 8 8">\n'
    '<path d="M2 2v4h4v-4z" fill="#fff"/>\n</svg>\n'
)
_STATS: Final = {
    "width": 512,
    "height": 512,
    "preset": "icon",
    "mode": "color",
    "layers": "stacked",
    "palette": 16,
    "regions": 19,
    "edges": 42,
    "paths": 15,
    "commands": 199,
    "bytes": 2958,
    "quality": "balanced",
    "seconds": 0.082,
}


def _error(description: str, example: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {
                "schema": {"type": "object", "properties": {"detail": {"type": "string"}}},
                "example": {"detail": example},
            }
        },
    }


HEALTH: Final = {"status": "ok", "version": "0.1.0", "jobs": 2, "active": 1, "dask": "embedded LocalCluster"}

VECTORIZE_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    200: {
        "description": "The SVG; statistics in the `X-Vectile-Stats` header (JSON). With "
        '`Accept: application/json`: `{"svg": ..., "stats": {...}}`.',
        "content": {
            "image/svg+xml": {"schema": {"type": "string"}, "example": _SVG},
            "application/json": {"example": {"svg": _SVG, "stats": _STATS}},
        },
        "headers": {"X-Vectile-Stats": {"description": "tracing statistics, JSON", "schema": {"type": "string"}}},
    },
    413: _error(
        "Upload or image too large",
        "'big.png' is 20000 x 20000 = 400,000,000 pixels, over the limit of 25,000,000 pixels; ...",
    ),
    415: _error(
        "Not an image format the server reads",
        "'notes.txt' is not an image this server reads; send a PNG, JPEG, GIF, WebP, BMP or TIFF image",
    ),
    422: _error("Bad option or damaged image", "'logo.png' is truncated or corrupt (...); re-export or re-download it"),
    504: _error(
        "Took longer than the request timeout",
        "tracing 'scan.tif' took longer than 60 s; send it to POST /v1/jobs or choose a faster quality",
    ),
}

_FORM_EXAMPLES: Final = {
    "icon, high quality": {"summary": "an icon at high quality", "value": {"image": "(binary PNG)", "quality": "high"}},
    "photo, 32 colours": {
        "summary": "a photo with 32 colours, cutout layers",
        "value": {"image": "(binary JPEG)", "preset": "photo", "colors": 32, "layers": "cutout"},
    },
    "scan, binary": {
        "summary": "a scanned drawing, black on white",
        "value": {"image": "(binary TIFF)", "mode": "binary"},
    },
}

VECTORIZE_EXTRA: Final = {
    "requestBody": {"content": {"multipart/form-data": {"examples": _FORM_EXAMPLES}}},
    "x-codeSamples": [
        {
            "lang": "Shell",
            "label": "curl",
            "source": "curl -F image=@logo.png -F quality=high http://127.0.0.1:8000/v1/vectorize -o logo.svg",
        }
    ],
}

JOBS_EXTRA: Final = {
    "requestBody": {
        "content": {
            "multipart/form-data": {
                "examples": {
                    "batch": {
                        "summary": "three files, fast quality",
                        "value": {"images": ["(binary PNG)", "(binary PNG)", "(binary JPEG)"], "quality": "fast"},
                    },
                    "one large scan": {
                        "summary": "one large image",
                        "value": {"images": ["(binary TIFF, 144 MP)"], "preset": "photo"},
                    },
                    "pdf pages": {
                        "summary": "two scans written as PDF pages sized at 300 dpi",
                        "value": {"images": ["(binary JPEG)", "(binary JPEG)"], "format": "pdf", "dpi": 300},
                    },
                }
            }
        }
    },
    "x-codeSamples": [
        {
            "lang": "Shell",
            "label": "curl",
            "source": "curl -F images=@a.png -F images=@b.png http://127.0.0.1:8000/v1/jobs",
        }
    ],
}

_JOB: Final = {
    "id": "5f0c6a5d0e2b4c1f9a7e3d2c1b0a9f8e",
    "state": "running",
    "progress": 0.5,
    "files": {"total": 2, "queued": 1, "done": 1, "failed": 0},
    "created": 1767225600.0,
    "started": 1767225600.2,
    "finished": None,
    "error": None,
    "options": {
        "quality": "balanced",
        "preset": None,
        "colors": None,
        "mode": "color",
        "layers": "stacked",
        "tolerance": None,
        "min_area": None,
        "precision": None,
        "seed": 0,
    },
    "result": None,
    "items": [
        {"index": 0, "name": "a.png", "state": "done", "error": None, "stats": _STATS},
        {"index": 1, "name": "b.png", "state": "queued", "error": None, "stats": None},
    ],
}

JOB_POST_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    202: {
        "description": "Accepted; poll the `Location`",
        "content": {"application/json": {"example": {**_JOB, "state": "queued", "progress": 0.0}}},
    },
    413: _error("Upload too large or too many files", "300 files in one job; the limit is 256"),
    415: _error(
        "No file is an image the server reads",
        "'notes.txt' is not an image this server reads; send a PNG, JPEG, GIF, WebP, BMP or TIFF image",
    ),
    503: _error("No room for another job", "1000 jobs are in progress; try again later"),
}

JOB_GET_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    200: {"description": "The job", "content": {"application/json": {"example": _JOB}}},
    404: _error("Unknown job", "no such job (unknown id, or its results have expired)"),
}

JOB_RESULT_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    200: {
        "description": "SVG (one file) or zip (SVGs and manifest.json)",
        "content": {
            "image/svg+xml": {"schema": {"type": "string"}, "example": _SVG},
            "application/zip": {"schema": {"type": "string", "format": "binary"}},
        },
    },
    404: JOB_GET_RESPONSES[404],
    409: _error("Not finished, or failed", "job 5f0c... is running; try again later"),
}
