"""The Scream variant of single-channel data sets, as disentanglement_lib's ``scream_dsprites``.

File: ``$DISENTANGLEMENT_LIB_DATA/scream/scream.jpg``
(https://upload.wikimedia.org/wikipedia/commons/f/f4/The_Scream.jpg, which
``dlib_download_data`` fetches). It is shrunk once to fit in 350 x 274 pixels (aspect kept,
as disentanglement_lib's ``thumbnail((350, 274, 3))`` under the pillow it was written for;
see :mod:`rpu_tf.data.pil_images`) and scaled to [0, 1].

Per observation, after the base data set's own draws and in disentanglement_lib's order:
a crop corner ``randint(0, h - 64)``, ``randint(0, w - 64)`` and a colour ``uniform(0, 1, 3)``;
the background is ``(crop + colour) / 2`` and the sprite's pixels (value 1) take
``1 - background``. The same ``RandomState`` gives disentanglement_lib's observations value
for value. As the other variants, the finite index addresses the base images, and
``observations_from_indices`` draws the background from ``random_state`` (a
``RandomState(0)`` when none is given).

Memory: the base data set's (dSprites: 377 MB bit-packed) plus the shrunk image as float64
(274 x 219 x 3: 1.4 MB).
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from rpu_tf.data import paths
from rpu_tf.data.file_checks import READ_ERRORS
from rpu_tf.data.ground_truth_data import GroundTruthData
from rpu_tf.data.pil_images import legacy_thumbnail, require_pil
from rpu_tf.data.variants import _ChannelVariant

SCREAM_FILE = ("scream", "scream.jpg")
SCREAM_URL = "https://upload.wikimedia.org/wikipedia/commons/f/f4/The_Scream.jpg"
SCREAM_MAX_SIZE = (350, 274)


def load_scream(path: str) -> np.ndarray:
    """The picture at ``path`` shrunk as disentanglement_lib does, float64 ``(h, w, 3)`` in [0, 1]."""
    Image = require_pil("scream_dsprites")
    try:
        with Image.open(path) as image:
            small = legacy_thumbnail(image, *SCREAM_MAX_SIZE)
            if small.mode != "RGB":
                small = small.convert("RGB")
            pixels = np.array(small)
    except (*READ_ERRORS, getattr(Image, "UnidentifiedImageError", OSError)) as error:
        raise ValueError(f"{path}: cannot be read as an image ({type(error).__name__}: {error}); download it "
                         f"again from {SCREAM_URL}.") from error
    return pixels * 1. / 255.


class ScreamVariant(_ChannelVariant):
    """Sprite inverted on a random patch of The Scream in a random tint (``scream_dsprites``).

    Args:
      base: a single-channel data set with binary (0/1) observations, e.g. ``DSprites``.
      data_path: the picture; default ``$DISENTANGLEMENT_LIB_DATA/scream/scream.jpg``.
    """

    suffix = "scream"

    def __init__(self, base: GroundTruthData, data_path: Optional[str] = None):
        super().__init__(base)
        path = data_path or paths.data_path(*SCREAM_FILE)
        paths.require_file(path, "scream_dsprites", SCREAM_URL, "/".join(SCREAM_FILE))
        self.scream = load_scream(path)
        h, w = base.observation_shape[:2]
        if self.scream.shape[0] <= h or self.scream.shape[1] <= w:
            raise ValueError(f"{path}: the picture shrunk to fit {SCREAM_MAX_SIZE[0]}x{SCREAM_MAX_SIZE[1]} is "
                             f"{self.scream.shape[1]}x{self.scream.shape[0]} pixels; crops of {w}x{h} need a "
                             "larger one.")
        self.data_path = path

    def _colourise(self, grey, random_state):
        observations = np.repeat(grey, 3, axis=3)
        h, w = observations.shape[1:3]
        for i in range(observations.shape[0]):
            x_crop = random_state.randint(0, self.scream.shape[0] - h)
            y_crop = random_state.randint(0, self.scream.shape[1] - w)
            background = (self.scream[x_crop:x_crop + h, y_crop:y_crop + w] + random_state.uniform(0, 1, size=3)) / 2.
            mask = observations[i] == 1
            background[mask] = 1 - background[mask]
            observations[i] = background
        return observations
