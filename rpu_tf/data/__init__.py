"""Ground-truth and unlabelled data sets with disentanglement_lib's interface (no TensorFlow here)."""

from rpu_tf.data.ground_truth_data import (
    FiniteGroundTruthData,
    GroundTruthData,
    UnlabelledDataError,
)
from rpu_tf.data.factor_grid import FactorGrid, FactorGridData

__all__ = [
    "FactorGrid",
    "FactorGridData",
    "FiniteGroundTruthData",
    "GroundTruthData",
    "UnlabelledDataError",
]
