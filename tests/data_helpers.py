"""Small data files in the public formats, written by the tests themselves."""

from __future__ import annotations

import os
import pickle

import numpy as np

from rpu_tf.data.sprites import Sprites

#: A small dSprites-format grid: colour x shape x scale x orientation x x x y.
SMALL_DSPRITES_SIZES = [1, 3, 2, 4, 4, 4]


def write_small_dsprites(path: str, sizes=SMALL_DSPRITES_SIZES, compressed: bool = True) -> np.ndarray:
    """Writes an ``.npz`` laid out like dSprites' file; returns its images (N, 64, 64) uint8."""
    sprites = Sprites(num_scales=sizes[2], num_orientations=sizes[3], num_positions_x=sizes[4],
                      num_positions_y=sizes[5])
    n = int(np.prod(sizes))
    classes = np.stack(np.unravel_index(np.arange(n), sizes), axis=1).astype(np.int64)
    imgs = sprites.render(classes[:, 1:])[..., 0].astype(np.uint8)
    values = classes.astype(np.float64)
    metadata = {"latents_sizes": np.array(sizes), "latents_names": ("color", "shape", "scale",
                                                                    "orientation", "posX", "posY")}
    os.makedirs(os.path.dirname(path), exist_ok=True)
    save = np.savez_compressed if compressed else np.savez
    save(path, imgs=imgs, latents_classes=classes, latents_values=values,
         metadata=np.array(metadata, dtype=object))
    return imgs


SMALL_SHAPES3D_SIZES = [2, 2, 3, 2, 2, 3]


def write_small_shapes3d(path: str, sizes=SMALL_SHAPES3D_SIZES, seed: int = 0) -> np.ndarray:
    """Writes an ``.h5`` laid out like 3dshapes.h5; returns its images (N, 64, 64, 3) uint8."""
    import h5py

    n = int(np.prod(sizes))
    classes = np.stack(np.unravel_index(np.arange(n), sizes), axis=1)
    # Label values as in 3dshapes: hues in [0, 1), scales in [0.75, 1.25], ...
    grids = [np.linspace(0, 0.9, s) for s in sizes[:3]] + [np.linspace(0.75, 1.25, sizes[3]),
                                                          np.arange(sizes[4], dtype=float),
                                                          np.linspace(-30, 30, sizes[5])]
    labels = np.stack([grids[i][classes[:, i]] for i in range(6)], axis=1)
    rng = np.random.RandomState(seed)
    images = rng.randint(0, 256, size=(n, 64, 64, 3)).astype(np.uint8)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with h5py.File(path, "w") as f:
        f.create_dataset("images", data=images, chunks=(1, 64, 64, 3), compression="gzip")
        f.create_dataset("labels", data=labels)
    return images


def unpickle_metadata(path: str):
    with np.load(path, allow_pickle=True, encoding="latin1") as d:
        return pickle.loads(pickle.dumps(d["metadata"][()]))
