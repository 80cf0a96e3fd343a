"""Ground-truth and unlabelled data sets with disentanglement_lib's interface (no TensorFlow here).

Public API (see each module's docstring):

- :class:`GroundTruthData`, :class:`FiniteGroundTruthData`: disentanglement_lib's interface
  plus a finite index; :class:`UnlabelledDataError`.
- :class:`Sprites`: built-in procedural dSprites; :class:`ColorVariant`, :class:`NoisyVariant`.
- :class:`DSprites`, :class:`Shapes3D`, :class:`SmallNORB`, :class:`Cars3D`, :class:`MPI3D`:
  loaders for the public files; :class:`ScreamVariant` (``scream_dsprites``).
- :class:`ImageFolder`, :class:`ImageArray`, :func:`get_images`, :func:`get_celeba`: unlabelled.
- :class:`ReducedData`: a subset with optional surrogate labels.
- :func:`get_named_ground_truth_data`: data sets by name (gin scope ``dataset``).
- :func:`as_tf_dataset`: batches as a ``tf.data.Dataset`` for ``model.fit``;
  :func:`tf_data_set_from_ground_truth_data`: disentanglement_lib's single-observation one.
"""

from rpu_tf.data.cars3d import Cars3D
from rpu_tf.data.dsprites import DSprites
from rpu_tf.data.factor_grid import FactorGrid, FactorGridData
from rpu_tf.data.ground_truth_data import (
    FiniteGroundTruthData,
    GroundTruthData,
    UnlabelledDataError,
)
from rpu_tf.data.images import ImageArray, ImageFolder, UnlabelledData, get_celeba, get_images
from rpu_tf.data.mpi3d import MPI3D
from rpu_tf.data.named_data import get_named_ground_truth_data, known_dataset_names
from rpu_tf.data.reduced import ReducedData
from rpu_tf.data.scream import ScreamVariant
from rpu_tf.data.shapes3d import Shapes3D
from rpu_tf.data.smallnorb import SmallNORB
from rpu_tf.data.sprites import Sprites
from rpu_tf.data.tf_dataset import as_tf_dataset, tf_data_set_from_ground_truth_data
from rpu_tf.data.variants import ColorVariant, NoisyVariant

__all__ = [
    "Cars3D",
    "ColorVariant",
    "DSprites",
    "FactorGrid",
    "FactorGridData",
    "FiniteGroundTruthData",
    "GroundTruthData",
    "ImageArray",
    "ImageFolder",
    "MPI3D",
    "NoisyVariant",
    "ReducedData",
    "ScreamVariant",
    "Shapes3D",
    "SmallNORB",
    "Sprites",
    "UnlabelledData",
    "UnlabelledDataError",
    "as_tf_dataset",
    "get_celeba",
    "get_images",
    "get_named_ground_truth_data",
    "known_dataset_names",
    "tf_data_set_from_ground_truth_data",
]
