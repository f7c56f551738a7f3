"""A tiny PNG encoder (zlib + struct) so the HTML report can inline images without extra dependencies."""

from __future__ import annotations

import base64
import struct
import zlib

import numpy as np

_COLOR_TYPES = {1: 0, 3: 2, 4: 6}
"""Channels -> PNG colour type: greyscale, RGB, RGBA."""


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Scale images to 0..255 using the value range of the whole array (0..1, 0..255 or min..max)."""
    values = np.asarray(images, dtype=np.float64)
    finite = values[np.isfinite(values)]
    low = min(0.0, float(finite.min())) if finite.size else 0.0
    high = float(finite.max()) if finite.size else 1.0
    # Keep 0..1 and 0..255 data on their natural scale; anything else is stretched to its own range.
    if low >= 0.0 and high <= 1.0:
        high = 1.0
    elif low >= 0.0 and high <= 255.0 and high > 16.0:
        high = 255.0
    scale = 255.0 / (high - low) if high > low else 0.0
    scaled = np.nan_to_num((values - low) * scale, nan=0.0, posinf=255.0, neginf=0.0)
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def encode_png(pixels: np.ndarray) -> bytes:
    """PNG bytes of a ``(H, W)`` greyscale or ``(H, W, C)`` (C = 1, 3, 4) uint8 image."""
    image = np.asarray(pixels)
    if image.dtype != np.uint8:
        raise TypeError(f"pixels must be uint8, found {image.dtype}")
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] not in _COLOR_TYPES or min(image.shape[:2]) < 1:
        raise ValueError(f"pixels must have shape (H, W) or (H, W, 1|3|4), found {pixels.shape}")
    height, width, channels = image.shape
    # Every scanline starts with filter type 0 (none).
    raw = np.concatenate(
        [np.zeros((height, 1), dtype=np.uint8), image.reshape(height, width * channels)], axis=1
    )
    header = struct.pack(">IIBBBBB", width, height, 8, _COLOR_TYPES[channels], 0, 0, 0)
    return b"".join(
        [
            b"\x89PNG\r\n\x1a\n",
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(raw.tobytes(), 9)),
            _chunk(b"IEND", b""),
        ]
    )


def png_data_uri(pixels: np.ndarray) -> str:
    """``data:image/png;base64,...`` URI of a uint8 image, for an ``<img src>``."""
    return "data:image/png;base64," + base64.b64encode(encode_png(pixels)).decode("ascii")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


__all__ = ["encode_png", "png_data_uri", "to_uint8"]
