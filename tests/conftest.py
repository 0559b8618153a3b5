"""Shared fixtures: small test images, written with Pillow into the test's tmp_path."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

# Six flat colours in 8 x 8 blocks: survives JPEG well at the block centres and GIF exactly.
BLOCK_COLORS = np.array(
    [[[230, 30, 30], [30, 200, 60], [40, 60, 220]], [[250, 220, 40], [20, 20, 20], [245, 245, 245]]],
    dtype=np.uint8,
)


@pytest.fixture
def blocks_rgb() -> np.ndarray:
    """A 16 x 24 (H x W) RGB uint8 image of six flat 8 x 8 colour blocks."""
    return np.ascontiguousarray(np.repeat(np.repeat(BLOCK_COLORS, 8, axis=0), 8, axis=1))


@pytest.fixture
def blocks_rgba(blocks_rgb: np.ndarray) -> np.ndarray:
    """``blocks_rgb`` with an alpha channel: a transparent and a half-transparent block."""
    alpha = np.full(blocks_rgb.shape[:2], 255, dtype=np.uint8)
    alpha[:8, :8] = 0
    alpha[8:, 16:] = 128
    return np.ascontiguousarray(np.dstack([blocks_rgb, alpha]))


@pytest.fixture
def save_image(tmp_path: Path) -> Callable[..., Path]:
    """``save_image(name, image_or_array, **pillow_save_options) -> path`` under tmp_path."""

    def save(name: str, image: Image.Image | np.ndarray, **options: object) -> Path:
        path = tmp_path / name
        if isinstance(image, np.ndarray):
            image = Image.fromarray(image)
        image.save(path, **options)
        return path

    return save


@pytest.fixture
def png_file(save_image: Callable[..., Path], blocks_rgb: np.ndarray) -> Path:
    """A small RGB PNG (24 x 16 pixels) in tmp_path."""
    return save_image("blocks.png", blocks_rgb)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@pytest.fixture
def png_header_file(tmp_path: Path) -> Callable[[int, int], Path]:
    """``png_header_file(width, height) -> path``: a PNG that claims a size but has no pixels.

    Decoding it fails, so a loader can only report its size if it checks the header first.
    """

    def make(width: int, height: int, name: str = "huge.png") -> Path:
        header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
        path = tmp_path / name
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IEND", b""))
        return path

    return make


@pytest.fixture(scope="module")
def cluster_client() -> Iterator[Any]:
    """A Dask client of a two-process LocalCluster (one thread and one rayon thread per
    worker), for the tests that trace in tiles on a cluster. Dask is imported only here."""
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
            env={"RAYON_NUM_THREADS": "1"},
        ) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        yield client
