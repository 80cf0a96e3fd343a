"""Named, gin-configurable data sets: ``dataset.name = "sprites"``.

Names follow disentanglement_lib's where the data is the same (``dsprites_full``,
``dsprites_noshape``, ``color_dsprites``, ``noisy_dsprites``, ``scream_dsprites``,
``smallnorb``, ``cars3d``, ``mpi3d_toy``, ``mpi3d_realistic``, ``mpi3d_real``,
``shapes3d``). The built-in
``sprites`` needs no file; ``images`` and ``celeba`` are unlabelled. Each data set's own
settings are gin parameters of its scope (``sprites.num_orientations``, ``images.path``,
``shapes3d.in_memory``, ``mpi3d.in_memory``, ``smallnorb.data_dir``, ...).
"""

from __future__ import annotations

from typing import Callable

import gin

from rpu_tf.data.cars3d import Cars3D
from rpu_tf.data.dsprites import DSprites
from rpu_tf.data.ground_truth_data import GroundTruthData
from rpu_tf.data.images import get_celeba, get_images
from rpu_tf.data.mpi3d import MPI3D
from rpu_tf.data.scream import ScreamVariant
from rpu_tf.data.shapes3d import Shapes3D
from rpu_tf.data.smallnorb import SmallNORB
from rpu_tf.data.sprites import Sprites
from rpu_tf.data.variants import ColorVariant, NoisyVariant

_DSPRITES_FACTORS = [1, 2, 3, 4, 5]

DATASETS: dict[str, Callable[[], GroundTruthData]] = {
    "sprites": lambda: Sprites(),
    "color_sprites": lambda: ColorVariant(Sprites()),
    "noisy_sprites": lambda: NoisyVariant(Sprites()),
    "dsprites_full": lambda: DSprites(_DSPRITES_FACTORS),
    "dsprites_noshape": lambda: DSprites([2, 3, 4, 5]),
    "color_dsprites": lambda: ColorVariant(DSprites(_DSPRITES_FACTORS)),
    "noisy_dsprites": lambda: NoisyVariant(DSprites(_DSPRITES_FACTORS)),
    "scream_dsprites": lambda: ScreamVariant(DSprites(_DSPRITES_FACTORS)),
    "smallnorb": lambda: SmallNORB(),
    "cars3d": lambda: Cars3D(),
    "mpi3d_toy": lambda: MPI3D(mode="mpi3d_toy"),
    "mpi3d_realistic": lambda: MPI3D(mode="mpi3d_realistic"),
    "mpi3d_real": lambda: MPI3D(mode="mpi3d_real"),
    "shapes3d": lambda: Shapes3D(),
    "images": lambda: get_images(),
    "celeba": lambda: get_celeba(),
}


def known_dataset_names() -> list[str]:
    return sorted(DATASETS)


@gin.configurable("dataset")
def get_named_ground_truth_data(name: str = gin.REQUIRED) -> GroundTruthData:
    """Returns the data set called ``name`` (see :data:`DATASETS`)."""
    try:
        factory = DATASETS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown data set name {name!r}; known names: {', '.join(known_dataset_names())}."
        ) from None
    return factory()
