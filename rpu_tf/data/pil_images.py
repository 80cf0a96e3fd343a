"""Image resizing as disentanglement_lib's loaders do it, with pillow imported on first use.

pillow is not a core dependency (it is in the ``test`` and ``viz`` extras): only the
loaders that resize images (``smallnorb``, ``cars3d``, ``scream_dsprites``) need it, and
they ask for it with :func:`require_pil`, which says how to install it.

disentanglement_lib resizes with pillow:

- smallNORB: ``Image.fromarray`` of the ``int8`` image (mode ``"I"``), ``resize((64, 64),
  ANTIALIAS)``. In mode ``"I"`` pillow neither rounds the intermediate pass to 8 bits nor
  clips, so results can leave [0, 255] by a few units next to sharp edges;
  :func:`resize_like_norb` clips them (observations stay in [0, 1]).
- Cars3D and the Scream image: ``Image.thumbnail``, which keeps the aspect ratio. It was
  written against pillow < 7, whose ``thumbnail`` accepted the three-element sizes it passes
  (current pillow raises on them), rounded sizes down and decoded JPEGs at a reduced scale
  (``draft``) before resizing; :func:`legacy_thumbnail` does the same.
"""

from __future__ import annotations

import numpy as np

#: ``float32(v / 255)`` computed in float64 as disentanglement_lib does, for every uint8 ``v``.
UINT8_TO_UNIT = (np.arange(256, dtype=np.float64) / 255.0).astype(np.float32)


def require_pil(what: str):
    """``PIL.Image``, or an ``ImportError`` saying that ``what`` needs pillow and how to get it."""
    try:
        from PIL import Image
    except ImportError as error:
        raise ImportError(f"{what} needs pillow to read and resize its images, as disentanglement_lib does: "
                          "pip install pillow (or pip install 'rpu_tf[viz]').") from error
    return Image


def lanczos(image_module) -> int:
    """pillow's Lanczos filter (``Image.ANTIALIAS`` before pillow 10)."""
    resampling = getattr(image_module, "Resampling", image_module)
    return resampling.LANCZOS


def resize_like_norb(images: np.ndarray, size: int, out: np.ndarray) -> None:
    """Resizes uint8 ``(n, h, w)`` images into ``out`` ``(n, size, size)`` uint8 as
    disentanglement_lib's smallNORB loader (mode ``"I"``, Lanczos), clipped to [0, 255]."""
    Image = require_pil("smallnorb")
    resample = lanczos(Image)
    for i in range(images.shape[0]):
        resized = Image.fromarray(images[i].astype(np.int32)).resize((size, size), resample)
        np.clip(np.asarray(resized), 0, 255, out=out[i], casting="unsafe")


def legacy_thumbnail_size(width: int, height: int, max_width: int, max_height: int) -> tuple[int, int]:
    """The size pillow < 7's ``thumbnail((max_width, max_height))`` gave: aspect kept, rounded down."""
    x, y = width, height
    if x > max_width:
        y = int(max(y * max_width / x, 1))
        x = int(max_width)
    if y > max_height:
        x = int(max(x * max_height / y, 1))
        y = int(max_height)
    return x, y


def legacy_thumbnail(image, max_width: int, max_height: int, resample=None):
    """``image`` resized as pillow < 7's ``image.thumbnail((max_width, max_height), resample)``:
    the size of :func:`legacy_thumbnail_size`, a reduced-scale JPEG decode (``draft``) first,
    then ``resize`` (default filter bicubic, pillow's default then). Returns a new image, or
    ``image`` itself where it already fits. ``image`` must not be loaded yet for the draft to
    apply (as in ``thumbnail``, which disentanglement_lib called right after ``open``)."""
    Image = require_pil("resizing")
    size = legacy_thumbnail_size(image.size[0], image.size[1], max_width, max_height)
    if size == tuple(image.size):
        return image
    image.draft(None, size)
    if resample is None:
        resample = getattr(Image, "Resampling", Image).BICUBIC
    return image.resize(size, resample)
