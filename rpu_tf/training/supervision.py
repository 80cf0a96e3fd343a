"""Labelled images and the supervised term a replica group adds to its objective.

A :class:`Supervision` is a :class:`LabelledSet` (which images of the training data set carry
labels, their targets, which latent each label column supervises) plus the loss
(:mod:`rpu_tf.models.supervised_losses`), its weight and the labelled batch size. With it every
training step of a :class:`~rpu_tf.training.replica_group.ReplicaGroup` also encodes a
batch of labelled images per replica (drawn from the replica's own data stream) and adds
``weight * supervised_loss`` to the VAE objective; the loss term is reported as
``supervised_loss``. Evaluation (``ReplicaGroup.evaluate``) reports the unsupervised terms.

:func:`ground_truth_supervision` (gin ``supervision``) builds the semi-supervised baseline of
Locatello et al. (2020): ``num_labelled`` random images labelled with all ground-truth
factors, factor ``c`` on latent ``c``, disentanglement_lib's ``xent`` targets.
"""

from __future__ import annotations

import dataclasses
from typing import Optional, Sequence

import gin
import numpy as np

from rpu_tf.data.ground_truth_data import FiniteGroundTruthData
from rpu_tf.models.supervised_losses import check_supervised_loss


@dataclasses.dataclass(frozen=True)
class LabelledSet:
    """The labelled images of a data set.

    Attributes:
      indices: ``(M,)`` int64 positions in the training data set (distinct).
      targets: ``(M, C)`` float32 targets (0 where ``mask`` is 0).
      mask: ``(M, C)`` float32, 1 where the image has a label in that column.
      latents: ``(C,)`` the latent each column supervises (distinct).
      names: ``(C,)`` column names (for logs).
    """

    indices: np.ndarray
    targets: np.ndarray
    mask: np.ndarray
    latents: tuple[int, ...]
    names: tuple[str, ...] = ()

    def __post_init__(self):
        indices = np.asarray(self.indices, np.int64).reshape(-1)
        targets = np.asarray(self.targets, np.float32)
        mask = np.asarray(self.mask, np.float32)
        latents = tuple(int(k) for k in self.latents)
        if targets.ndim != 2 or targets.shape[0] != indices.shape[0] or mask.shape != targets.shape:
            raise ValueError(f"LabelledSet: targets {targets.shape} and mask {mask.shape} must be "
                             f"(num_labelled, num_columns) for {indices.shape[0]} indices.")
        if len(latents) != targets.shape[1]:
            raise ValueError(f"LabelledSet: {targets.shape[1]} label columns but {len(latents)} latents.")
        if len(set(latents)) != len(latents) or any(k < 0 for k in latents):
            raise ValueError(f"LabelledSet: the supervised latents must be distinct and >= 0, got {latents}.")
        if indices.size == 0 or len(np.unique(indices)) != indices.size:
            raise ValueError("LabelledSet: needs at least one image and distinct indices.")
        if not np.isfinite(targets).all() or not np.isin(mask, (0.0, 1.0)).all():
            raise ValueError("LabelledSet: targets must be finite and the mask 0 or 1.")
        names = tuple(self.names) or tuple(f"label_{c}" for c in range(len(latents)))
        if len(names) != len(latents):
            raise ValueError(f"LabelledSet: {len(names)} names for {len(latents)} columns.")
        for name, value in (("indices", indices), ("targets", np.where(mask > 0, targets, 0.0)),
                            ("mask", mask), ("latents", latents), ("names", names)):
            object.__setattr__(self, name, value)

    @property
    def num_labelled(self) -> int:
        return int(self.indices.shape[0])

    @property
    def num_columns(self) -> int:
        return len(self.latents)


@dataclasses.dataclass(frozen=True)
class Supervision:
    """The supervised term of a replica group's objective (see the module docstring).

    Attributes:
      labelled: the labelled images.
      weight: the term's weight (> 0; disentanglement_lib's ``gamma_sup``).
      loss: ``"xent"`` or ``"l2"`` (:mod:`rpu_tf.models.supervised_losses`).
      batch_size: labelled images per replica and step.
    """

    labelled: LabelledSet
    weight: float
    loss: str = "xent"
    batch_size: int = 64

    def __post_init__(self):
        check_supervised_loss(self.loss)
        if not np.isfinite(self.weight) or float(self.weight) <= 0:
            raise ValueError(f"Supervision weight must be > 0, got {self.weight!r} (no supervision: None).")
        if int(self.batch_size) < 1:
            raise ValueError(f"Supervision batch_size must be >= 1, got {self.batch_size!r}.")
        object.__setattr__(self, "weight", float(self.weight))
        object.__setattr__(self, "batch_size", int(self.batch_size))

    def check_fits(self, num_latent: int, num_observations: Optional[int]) -> None:
        """Raises ``ValueError`` unless the latents exist and the indices are in the data set."""
        if max(self.labelled.latents) >= int(num_latent):
            raise ValueError(f"Supervision of latents {self.labelled.latents} needs more than the model's "
                             f"{num_latent} latents.")
        if num_observations is not None and int(self.labelled.indices.max()) >= int(num_observations):
            raise ValueError(f"Supervision indices reach {int(self.labelled.indices.max())}, but the data set "
                             f"has {num_observations} observations.")

    def describe(self) -> dict:
        """A JSON-able summary (fingerprints and logs)."""
        return {"weight": self.weight, "loss": self.loss, "batch_size": self.batch_size,
                "num_labelled": self.labelled.num_labelled, "latents": list(self.labelled.latents),
                "names": list(self.labelled.names)}


def factor_targets(factors: np.ndarray, num_values: Sequence[int]) -> np.ndarray:
    """disentanglement_lib's ``normalize_labels``: factor value / number of values, in [0, 1)."""
    return np.asarray(factors, np.float32) / np.asarray(num_values, np.float32)[None, :]


def standardized_targets(codes: np.ndarray) -> np.ndarray:
    """Columns of ``codes`` ``(M, C)`` centred and scaled to unit variance (``l2`` targets);
    a constant column becomes 0."""
    codes = np.asarray(codes, np.float64)
    std = codes.std(axis=0)
    return ((codes - codes.mean(axis=0)) / np.where(std > 0, std, 1.0)).astype(np.float32)


@gin.configurable("supervision", denylist=["data"])
def ground_truth_supervision(data, num_labelled: int = 0, weight: float = 1.0, loss: str = "xent",
                             batch_size: int = 64, seed: int = 0,
                             latents: Optional[Sequence[int]] = None) -> Optional[Supervision]:
    """The few-labels baseline: ``num_labelled`` random images of ``data`` with all their
    ground-truth factors; None when ``num_labelled`` is 0 (unsupervised, the default).

    Args:
      data: a labelled :class:`FiniteGroundTruthData`.
      num_labelled: how many images carry labels (Locatello et al.: 100 or 1000).
      weight, loss, batch_size: see :class:`Supervision` (``l2`` uses standardised factors).
      seed: which images are labelled.
      latents: the latent of each factor; default factor ``c`` on latent ``c``.
    """
    if int(num_labelled) == 0:
        return None
    if not isinstance(data, FiniteGroundTruthData) or not data.is_labelled:
        raise ValueError(f"supervision.num_labelled = {num_labelled} needs a finite, labelled data set; "
                         f"{getattr(data, 'name', type(data).__name__)} is not.")
    if not 0 < int(num_labelled) <= data.num_observations:
        raise ValueError(f"supervision.num_labelled must be in 1..{data.num_observations}, got {num_labelled}.")
    rs = np.random.RandomState(int(seed))
    indices = np.sort(rs.choice(data.num_observations, int(num_labelled), replace=False))
    factors = data.index_to_factors(indices)
    targets = (factor_targets(factors, data.factors_num_values) if loss == "xent"
               else standardized_targets(factors))
    names = tuple(getattr(data, "factor_names", None) or [f"factor_{c}" for c in range(data.num_factors)])
    labelled = LabelledSet(indices, targets, np.ones_like(targets),
                           tuple(range(data.num_factors)) if latents is None else tuple(latents), names)
    return Supervision(labelled, weight, loss, batch_size)
