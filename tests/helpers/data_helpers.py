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


# --- smallNORB, Cars3D, MPI3D, Scream: disentanglement_lib's other file-backed data sets ----

SMALLNORB_CHUNKS = ("5x46789x9x18x6x2x96x96-training", "5x01235x9x18x6x2x96x96-testing")
#: A small smallNORB grid: category x instance x elevation x azimuth / 2 x lighting.
SMALL_NORB_SIZES = [2, 2, 3, 2, 2]
NORB_MAGIC = {np.dtype(np.uint8): 0x1E3D4C55, np.dtype(np.int32): 0x1E3D4C54}


def write_norb_matrix(path: str, array: np.ndarray, compress: bool = False) -> None:
    """Writes ``array`` in NORB's binary matrix format (int32 magic, ndim, max(3, ndim) dims)."""
    import gzip

    dims = list(array.shape) + [1] * max(0, 3 - array.ndim)
    header = np.array([NORB_MAGIC[array.dtype], array.ndim] + dims, "<i4").tobytes()
    data = header + np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with (gzip.open(path + ".gz", "wb") if compress else open(path, "wb")) as f:
        f.write(data)


def write_small_norb(folder: str, sizes=SMALL_NORB_SIZES, image_size: int = 12, seed: int = 0,
                     constant: bool = True, compress: bool = False) -> dict:
    """Writes the six smallNORB files for a full grid of ``sizes`` into ``folder``.

    The upper half of the instances goes to the training files, the rest to the testing files,
    each in a shuffled row order. Camera 0's images are flat grey (one value per image) when
    ``constant``, else noise; camera 1's are noise. Returns ``{"grid_images": (N, h, w) uint8
    of camera 0 in row-major grid order, "features": {chunk: (n, 5) labels as written}}``.
    """
    rng = np.random.RandomState(seed)
    n = int(np.prod(sizes))
    grid = np.stack(np.unravel_index(np.arange(n), sizes), axis=1).astype(np.int32)
    if constant:
        cam0 = np.broadcast_to(rng.randint(0, 256, size=(n, 1, 1)), (n, image_size, image_size)).astype(np.uint8)
    else:
        cam0 = rng.randint(0, 256, size=(n, image_size, image_size)).astype(np.uint8)
    cam1 = rng.randint(0, 256, size=(n, image_size, image_size)).astype(np.uint8)
    training = grid[:, 1] >= sizes[1] // 2
    out = {"grid_images": cam0, "features": {}}
    for chunk, rows in zip(SMALLNORB_CHUNKS, (np.flatnonzero(training), np.flatnonzero(~training))):
        rows = rng.permutation(rows)
        labels = grid[rows]
        info = np.stack([labels[:, 1], labels[:, 2], 2 * labels[:, 3], labels[:, 4]], axis=1).astype(np.int32)
        stem = os.path.join(folder, f"smallnorb-{chunk}-")
        write_norb_matrix(stem + "dat.mat", np.stack([cam0[rows], cam1[rows]], axis=1), compress)
        write_norb_matrix(stem + "cat.mat", labels[:, 0].astype(np.int32), compress)
        write_norb_matrix(stem + "info.mat", info, compress)
        out["features"][chunk] = labels
    return out


def write_small_cars(folder: str, num_cars: int = 2, image_size: int = 128, seed: int = 0,
                     constant: bool = True) -> list:
    """Writes ``num_cars`` Cars3D ``.mat`` files (``im``: (H, W, 3, 24, 4) uint8) into ``folder``;
    returns their ``im`` arrays in file-name order. Flat colours per view when ``constant``."""
    from scipy import io as sio

    rng = np.random.RandomState(seed)
    os.makedirs(folder, exist_ok=True)
    ims = []
    for car in range(num_cars):
        if constant:
            colours = rng.randint(0, 256, size=(1, 1, 3, 24, 4))
            im = np.broadcast_to(colours, (image_size, image_size, 3, 24, 4)).astype(np.uint8)
        else:
            im = rng.randint(0, 256, size=(image_size, image_size, 3, 24, 4)).astype(np.uint8)
        sio.savemat(os.path.join(folder, f"car_{car + 1:03d}_mesh.mat"), {"im": im, "mask": im[:, :, 0] > 0})
        ims.append(im)
    return ims


def mpi3d_images(num: int, image_size: int = 2) -> np.ndarray:
    """Images that tell their index: ``(num, s, s, 3)`` uint8."""
    k = np.arange(num, dtype=np.int64)[:, None, None, None]
    pix = np.arange(image_size * image_size * 3, dtype=np.int64).reshape(1, image_size, image_size, 3)
    return ((k * np.array([1, 7, 31]) + (k // 256) * 3 + pix * 11) % 256).astype(np.uint8)


def write_small_mpi3d(path: str, num: int = 460800, image_size: int = 2, compressed: bool = False) -> np.ndarray:
    """Writes an MPI3D-format ``.npz`` (``images``, (num, s, s, 3) uint8); returns the images."""
    images = mpi3d_images(num, image_size)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    (np.savez_compressed if compressed else np.savez)(path, images=images)
    return images


def write_scream(path: str, size=(120, 100), seed: int = 0, fmt: str = "JPEG") -> None:
    """Writes a smooth RGB picture of ``size`` (width, height) to ``path`` (as ``fmt``)."""
    from PIL import Image

    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    rng = np.random.RandomState(seed)
    img = np.stack([(x * 255 // max(w - 1, 1)), (y * 255 // max(h - 1, 1)), (x + y) % 256], axis=-1)
    img = np.clip(img + rng.randint(-20, 21, size=img.shape), 0, 255).astype(np.uint8)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(img).save(path, format=fmt)
