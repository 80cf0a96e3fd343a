"""Image grids (numpy) and PNG/GIF files (pillow).

Images are float arrays ``(height, width, channels)`` with values in [0, 1] and 1 or 3
channels (grey is written as RGB). The grid helpers follow disentanglement_lib's
``visualize_util`` (the same arrangement), without its logo footer.
"""

from __future__ import annotations

import io
import math
import os
from typing import Optional, Sequence

import numpy as np

from rpu_tf.utils.files import atomic_write_bytes
from rpu_tf.visualize.dependencies import pil_image, pyplot


def to_uint8_rgb(image: np.ndarray) -> np.ndarray:
    """``(H, W, 1|3)`` floats in [0, 1] -> ``(H, W, 3)`` uint8 (values clipped)."""
    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] not in (1, 3):
        raise ValueError(f"Expected an image of shape (height, width, 1 or 3), got {image.shape}.")
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)


def grid(images: Sequence[np.ndarray]) -> np.ndarray:
    """disentanglement_lib's ``grid_save_images`` layout: ``floor(sqrt(n))`` columns of
    ``floor(sqrt(n))`` images each, filled column by column (the rest is dropped)."""
    side = int(math.floor(math.sqrt(len(images))))
    if side < 1:
        raise ValueError("A grid needs at least one image.")
    columns = [np.concatenate(list(images[side * i:side * (i + 1)]), axis=0) for i in range(side)]
    return np.concatenate(columns, axis=1)


def best_num_rows(num_elements: int, max_ratio: int = 4) -> int:
    """Rows of a nearly square grid with few empty cells (disentanglement_lib's heuristic)."""
    best_remainder, best_i = num_elements, 1
    i = int(np.sqrt(num_elements))
    while i >= 1:
        if num_elements > max_ratio * i * i:
            return best_i
        remainder = (i - num_elements % i) % i
        if remainder == 0:
            return i
        if remainder < best_remainder:
            best_remainder, best_i = remainder, i
        i -= 1
    return best_i


def padded_grid(images: Sequence[np.ndarray], num_rows: Optional[int] = None,
                padding_px: int = 10, value: float = 1.0) -> np.ndarray:
    """Images row by row with ``padding_px`` of ``value`` between them (missing cells blank)."""
    images = [np.asarray(im, dtype=np.float64) for im in images]
    if not images:
        raise ValueError("A grid needs at least one image.")
    num_rows = num_rows or best_num_rows(len(images))
    num_cols = int(np.ceil(len(images) / num_rows))
    cells = images + [np.full_like(images[0], value)] * (num_rows * num_cols - len(images))
    rows = [_padded_stack(cells[r * num_cols:(r + 1) * num_cols], padding_px, 1, value)
            for r in range(num_rows)]
    return _padded_stack(rows, padding_px, 0, value)


def _padded_stack(images: Sequence[np.ndarray], padding_px: int, axis: int,
                  value: float) -> np.ndarray:
    shape = list(images[0].shape)
    shape[axis] = padding_px
    pad = np.full(shape, value, dtype=images[0].dtype)
    parts = [images[0]]
    for image in images[1:]:
        parts += [pad, image]
    return np.concatenate(parts, axis=axis)


def pad_around(image: np.ndarray, padding_px: int = 10, value: float = 1.0) -> np.ndarray:
    """``image`` with a border of ``padding_px`` pixels of ``value``."""
    width = [(padding_px, padding_px), (padding_px, padding_px)] + [(0, 0)] * (image.ndim - 2)
    return np.pad(image, width, constant_values=value)


def _encode(image: np.ndarray, format_: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    pil_image().fromarray(to_uint8_rgb(image)).save(buffer, format=format_, **kwargs)
    return buffer.getvalue()


def save_png(image: np.ndarray, path: str) -> str:
    """Writes ``image`` (floats in [0, 1]) as a PNG file (atomically); returns ``path``."""
    atomic_write_bytes(path, _encode(image, "PNG"))
    return path


def save_gif(frames: Sequence[np.ndarray], path: str, fps: float = 10.0) -> str:
    """Writes ``frames`` (same-shape floats in [0, 1]) as a looping GIF; returns ``path``."""
    if not frames:
        raise ValueError("An animation needs at least one frame.")
    Image = pil_image()
    pictures = [Image.fromarray(to_uint8_rgb(frame)) for frame in frames]
    buffer = io.BytesIO()
    pictures[0].save(buffer, format="GIF", save_all=True, append_images=pictures[1:],
                     duration=max(1, int(round(1000.0 / fps))), loop=0)
    atomic_write_bytes(path, buffer.getvalue())
    return path


def save_figure(figure, path: str, dpi: int = 120) -> str:
    """Saves a matplotlib figure (format from the file extension) atomically and closes it."""
    buffer = io.BytesIO()
    extension = os.path.splitext(path)[1].lstrip(".").lower() or "png"
    figure.savefig(buffer, format=extension, dpi=dpi, bbox_inches="tight")
    atomic_write_bytes(path, buffer.getvalue())
    pyplot().close(figure)
    return path
