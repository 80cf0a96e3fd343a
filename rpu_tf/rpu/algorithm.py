"""Algorithm 1 of the paper (rPU-VAE) as an orchestrator of injected stages. No file I/O.

::

    labels_0 <- label(metaEpoch(D))                  # "initial": PBT-U-VAE, then label
    for i in 0 .. max_leaf_runs-1:                   # leaf-run i
        d <- reduce(D, labels_0, rank=i)
        while |d| > min_dataset_size and the branch goes on:
            labels_j <- label(metaEpoch(d))           # one metaEpoch
            d <- reduce(d, labels_j, rank=0)
    theta <- final(surrogate label blocks)           # PBT-S-VAE, MIG against the labels

A metaEpoch's branch ends, with the reason recorded, when its best UDR is below
``udr_threshold``, no latent is active, or the reduction finds no structure; a leaf-run
also ends when its data set is not larger than ``min_dataset_size``. Metaepoch ``k``
(counting from 1 over the whole run, finished ones included) is seeded ``seed + k``.

What the stages do is up to the caller (:class:`Stages`); :mod:`rpu_tf.rpu.stages` has the
paper's, :mod:`rpu_tf.rpu.journal` records finished metaEpochs so a re-run resumes.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
from typing import Any, Callable, Iterator, Optional, Protocol

import numpy as np

from rpu_tf.data.ground_truth_data import FiniteGroundTruthData
from rpu_tf.data.reduced import ReducedData
from rpu_tf.layout.rpu_files import StageRecord
from rpu_tf.rpu.reduction import ReductionResult
from rpu_tf.utils.errors import RunFailedError

logger = logging.getLogger(__name__)

#: A leaf-run's surrogate labels: ``(root indices, labels)`` blocks, the initial one first.
LabelBlocks = list[tuple[np.ndarray, np.ndarray]]


@dataclasses.dataclass
class Labelling:
    """What a metaEpoch's best replica says about its data set (the ``label`` stage)."""

    best_score: float  # the best member's UDR
    generations: int
    stop_reason: str
    kl: np.ndarray  # (D,) mean KL to the prior per latent
    means: np.ndarray  # (n, D) codes (means of q(z|x)) of the data set
    active: np.ndarray  # the active latents


@dataclasses.dataclass
class StageOutcome:
    """A finished metaEpoch: its record, its surrogate labels and what its reduction kept."""

    record: StageRecord
    root_indices: np.ndarray
    labels: Optional[np.ndarray]  # (n, a) codes of the active latents; None: the branch ended first
    kept: Optional[np.ndarray]  # positions kept by the reduction; None: the branch ends here
    reduction: Optional[ReductionResult] = None


class Journal(Protocol):
    """Where finished metaEpochs are kept (a re-run takes them from here)."""

    def load(self, name: str) -> Optional[StageOutcome]: ...
    def save(self, outcome: StageOutcome) -> None: ...
    def save_leaf_runs(self, surrogate: list[LabelBlocks]) -> None: ...


@dataclasses.dataclass
class Stages:
    """The stages Algorithm 1 runs.

    Attributes:
      meta_epoch: PBT-U-VAE on a data set: ``(stage name, data, seed) -> result``.
      label: ``(result, data) -> Labelling`` from the result's best replica.
      reduce: ``(labels (n, a), rank) -> ReductionResult``.
      final: PBT-S-VAE against the surrogate labels: ``(blocks per leaf-run) -> result``.
      journal: keeps finished metaEpochs.
      on_stage: called with each newly finished metaEpoch (e.g. to draw its figures).
    """

    meta_epoch: Callable[[str, FiniteGroundTruthData, int], Any]
    label: Callable[[Any, FiniteGroundTruthData], Labelling]
    reduce: Callable[[np.ndarray, int], ReductionResult]
    final: Callable[[list[LabelBlocks]], Any]
    journal: Journal
    on_stage: Callable[[StageOutcome], None] = lambda outcome: None


@dataclasses.dataclass(frozen=True)
class Settings:
    """Algorithm 1's settings (gin: ``rpu_vae.*``, see :func:`rpu_tf.pipelines.rpu_vae.run_rpu_vae`)."""

    max_leaf_runs: int
    max_meta_epochs: int
    min_dataset_size: int
    udr_threshold: float
    seed: int

    def __post_init__(self):
        if self.max_leaf_runs < 0 or self.max_meta_epochs < 1 or self.min_dataset_size < 1:
            raise ValueError("rpu_vae.max_leaf_runs must be >= 0, max_meta_epochs >= 1, min_dataset_size >= 1.")


@dataclasses.dataclass
class Algorithm1Result:
    """The surrogate labels per leaf-run and the final stage's result."""

    surrogate_labels: list[LabelBlocks]
    final: Any


def root_indices(data: FiniteGroundTruthData) -> np.ndarray:
    """Positions of ``data``'s observations in the root data set."""
    if isinstance(data, ReducedData):
        return data.root_indices
    return np.arange(data.num_observations, dtype=np.int64)


def run_algorithm_1(data: FiniteGroundTruthData, stages: Stages, settings: Settings) -> Algorithm1Result:
    """Runs (or, through the journal, resumes) Algorithm 1 on ``data``."""
    seeds = itertools.count(settings.seed + 1)
    initial = meta_epoch(stages, settings, "initial", data, None, 0, next(seeds))
    if initial.labels is None:
        raise RunFailedError(
            f"rPU-VAE: the initial metaEpoch learned nothing to label ({initial.record.end_reason}). Train longer "
            "(pbt_vae.generation_images, pbt_stopping.max_generations), lower "
            "active_latents.active_kl_threshold or rpu_vae.udr_threshold.")
    surrogate = []
    for leaf in range(settings.max_leaf_runs):
        blocks = leaf_run(stages, settings, data, initial.labels, leaf, seeds)
        if blocks is None:
            break
        surrogate.append(blocks)
    if not surrogate:
        surrogate = [[(root_indices(data), initial.labels)]]
    stages.journal.save_leaf_runs(surrogate)
    logger.info("rPU-VAE final: PBT-S-VAE on %d images, MIG against %d label blocks in %d leaf-runs.",
                data.num_observations, sum(len(run) for run in surrogate), len(surrogate))
    return Algorithm1Result(surrogate, stages.final(surrogate))


def leaf_run(stages: Stages, settings: Settings, data: FiniteGroundTruthData, labels_0: np.ndarray, leaf: int,
             seeds: Iterator[int]) -> Optional[LabelBlocks]:
    """Leaf-run ``leaf`` (0-based): the rank-``leaf`` cut of ``data`` by ``labels_0``, then
    metaEpochs on the shrinking data set. Its label blocks, or None when there is no such cut."""
    first = stages.reduce(labels_0, leaf)
    if not first.found:
        logger.info("rPU-VAE: no leaf-run %d: %s.", leaf + 1, first.reason)
        return None
    blocks = [(root_indices(data), labels_0)]
    current: FiniteGroundTruthData = ReducedData(data, first.indices)
    for meta in range(1, settings.max_meta_epochs + 1):
        name = f"leaf{leaf + 1}_meta{meta}"
        if current.num_observations <= settings.min_dataset_size:
            logger.info("rPU-VAE %s: %d images left, not more than min_dataset_size=%d; leaf-run ends.",
                        name, current.num_observations, settings.min_dataset_size)
            break
        outcome = meta_epoch(stages, settings, name, current, leaf + 1, meta, next(seeds))
        if outcome.labels is not None:
            blocks.append((outcome.root_indices, outcome.labels))
        if outcome.kept is None:
            logger.info("rPU-VAE %s: leaf-run ends: %s.", name, outcome.record.end_reason)
            break
        current = ReducedData(current, outcome.kept)
    return blocks


def meta_epoch(stages: Stages, settings: Settings, name: str, data: FiniteGroundTruthData,
               leaf_run_number: Optional[int], number: int, seed: int) -> StageOutcome:
    """One metaEpoch (or the journal's record of it): PBT-U-VAE, label, reduce at rank 0."""
    done = stages.journal.load(name)
    if done is not None:
        logger.info("rPU-VAE %s: already done (%d images, active latents %s).", name, done.record.dataset_size,
                    done.record.active_latents)
        return done
    logger.info("rPU-VAE %s: PBT-U-VAE (UDR) on %d images.", name, data.num_observations)
    labelling = stages.label(stages.meta_epoch(name, data, seed), data)
    end_reason, labels, kept, reduction = _end_or_reduce(stages, settings, labelling)
    active, kl = labelling.active, labelling.kl
    record = StageRecord(name=name, leaf_run=leaf_run_number, meta_epoch=number, dataset_size=data.num_observations,
                         best_score=labelling.best_score, generations=labelling.generations,
                         stop_reason=labelling.stop_reason, active_latents=active.tolist(),
                         kl=[float(v) for v in kl], kept_size=None if kept is None else int(kept.size),
                         end_reason=end_reason)
    logger.info("rPU-VAE %s: best UDR %.3f, active latents %s (KL %s)%s.", name, labelling.best_score,
                active.tolist(), np.round(kl[active], 2).tolist(),
                f", kept {kept.size} of {data.num_observations}" if kept is not None else f"; {end_reason}")
    outcome = StageOutcome(record, root_indices(data), labels, kept, reduction)
    stages.journal.save(outcome)
    stages.on_stage(outcome)
    return outcome


def _end_or_reduce(stages: Stages, settings: Settings, labelling: Labelling):
    """``(end_reason, labels, kept, reduction)`` of a labelled metaEpoch."""
    if labelling.best_score < settings.udr_threshold:
        return f"best UDR {labelling.best_score:.3f} is below udr_threshold={settings.udr_threshold}", None, None, None
    if labelling.active.size == 0:
        return ("the best replica has no active latent (KL above active_latents.active_kl_threshold)",
                None, None, None)
    labels = labelling.means[:, labelling.active].astype(np.float64)
    reduction = stages.reduce(labels, 0)
    if not reduction.found:
        return f"reduction found no structure: {reduction.reason}", labels, None, reduction
    return None, labels, reduction.indices, reduction
