"""The surrogate labels of the recursion as a supervised term of the final PBT-S-VAE.

The paper uses the surrogate labels only to score the final population (MIG against them).
With ``rpu_vae.final_supervision_weight > 0`` (a deviation; paper: 0) the final members are
also trained semi-supervised on them, as the few-labels models of Locatello et al. (2020)
are on true labels (:mod:`rpu_tf.training.supervision`): each metaEpoch's label block (its
images, the codes of its active latents) becomes label columns on latents of the final model.

Which latent a column supervises (:func:`surrogate_supervision`):

- from scratch (no warm start): the columns in order on latents 0, 1, 2, ...
  (disentanglement_lib's convention), one latent per distinct label column;
- warm-started: the latent of the warm-start model whose codes correlate most with the
  column on the block's images (absolute Pearson correlation), so the final model refines
  the latents it already has. Latents are distinct within a block, and a block does not take
  a latent that an earlier block labels on some of the same images (the initial block's
  latents are not relabelled inside a leaf-run's cell); columns of disjoint blocks that pick
  the same latent (the same factor found in different cells) share it.

Targets, from scratch: ``l2``: the column standardised within its block; ``xent``: the column
scaled to [0, 1] between its 1st and 99th percentiles within its block (clipped).
Warm-started, in the units of the chosen latent: the column's least-squares line onto that
latent's codes on the block's images (``l2``), or its sigmoid (``xent``, the codes being
logits), so that a latent which already carries the label starts with a small loss.
"""

from __future__ import annotations

import logging
from typing import Callable, Optional, Sequence

import numpy as np

from rpu_tf.rpu.algorithm import LabelBlocks
from rpu_tf.training.supervision import LabelledSet, Supervision, standardized_targets

logger = logging.getLogger(__name__)

Encoder = Callable[[np.ndarray], np.ndarray]  # root indices (n,) -> codes (n, D)


def distinct_blocks(surrogate: Sequence[LabelBlocks]) -> list[tuple[np.ndarray, np.ndarray, str]]:
    """The label blocks of all leaf-runs, each once (the initial block is in every leaf-run),
    as ``(indices, labels, name)``; names ``initial``, ``leaf<i>_meta<k>``."""
    seen, blocks = set(), []
    for leaf, run in enumerate(surrogate, start=1):
        for meta, (indices, labels) in enumerate(run):
            indices = np.asarray(indices, np.int64)
            key = (indices.tobytes(), np.asarray(labels).tobytes())
            if key in seen:
                continue
            seen.add(key)
            blocks.append((indices, np.asarray(labels, np.float64),
                           "initial" if meta == 0 else f"leaf{leaf}_meta{meta}"))
    return blocks


def column_targets(column: np.ndarray, loss: str) -> np.ndarray:
    """Targets of one label column (see the module docstring)."""
    if loss == "l2":
        return standardized_targets(column[:, None])[:, 0]
    low, high = np.percentile(column, [1.0, 99.0])
    if high <= low:
        return np.full(column.shape, 0.5, np.float32)
    return np.clip((column - low) / (high - low), 0.0, 1.0).astype(np.float32)


def fitted_targets(column: np.ndarray, codes: np.ndarray, loss: str) -> np.ndarray:
    """Warm-start targets of one label column: its least-squares line onto ``codes`` (one
    latent of the warm-start model on the same images), or that line's sigmoid for ``xent``."""
    if np.ptp(column) > 0:
        slope, intercept = np.polyfit(column, codes, 1)
        line = slope * column + intercept
    else:
        line = np.full(column.shape, codes.mean())
    return (line if loss == "l2" else 1.0 / (1.0 + np.exp(-line))).astype(np.float32)


def _correlations(codes: np.ndarray, column: np.ndarray) -> np.ndarray:
    """Pearson correlation of each code dimension with ``column`` (0 where either is constant)."""
    c = codes - codes.mean(axis=0)
    v = column - column.mean()
    denominator = np.sqrt((c ** 2).sum(axis=0) * (v ** 2).sum())
    return np.where(denominator > 0, (c * v[:, None]).sum(axis=0) / np.where(denominator > 0, denominator, 1), 0.0)


def surrogate_supervision(surrogate: Sequence[LabelBlocks], num_latent: int, weight: float, loss: str = "l2",
                          batch_size: int = 64, warm_encoder: Optional[Encoder] = None) -> Supervision:
    """The final stage's :class:`Supervision` from the recursion's label blocks.

    Args:
      surrogate: per leaf-run, its ``(root indices, labels)`` blocks.
      num_latent: latents of the final model.
      weight, loss, batch_size: see :class:`~rpu_tf.training.supervision.Supervision`.
      warm_encoder: codes of the warm-start model for root indices; None: from scratch.
    """
    blocks = distinct_blocks(surrogate)
    if not blocks:
        raise ValueError("Supervised final stage: the recursion produced no surrogate labels.")
    columns: dict[int, dict[int, float]] = {}  # latent -> {root index: target}
    names: dict[int, str] = {}
    next_latent = 0
    for indices, labels, name in blocks:
        codes = None if warm_encoder is None else np.asarray(warm_encoder(indices), np.float64)
        members = set(indices.tolist())
        taken = {k for k, rows in columns.items() if not members.isdisjoint(rows)}  # labelled here already
        for j in range(labels.shape[1]):
            if codes is None:
                latent, target = next_latent, column_targets(labels[:, j], loss)
                next_latent += 1
            else:
                score = np.abs(_correlations(codes, labels[:, j]))
                score[list(taken)] = -np.inf
                if not np.isfinite(score).any():  # it still scores the members (surrogate MIG)
                    logger.warning("Supervised final stage: no latent of the warm-start model is free for column %d "
                                   "of %s (all %d are labelled on its images already); that column is not "
                                   "trained on.", j, name, codes.shape[1])
                    continue
                latent = int(np.argmax(score))
                target = fitted_targets(labels[:, j], codes[:, latent], loss)
            if latent >= int(num_latent):
                raise ValueError(f"Supervised final stage: {latent + 1} label columns need more than the model's "
                                 f"{num_latent} latents.")
            taken.add(latent)
            columns.setdefault(latent, {}).update(zip(indices.tolist(), target.tolist()))
            names[latent] = f"{names[latent]}+{name}[{j}]" if latent in names else f"{name}[{j}]"
    latents = sorted(columns)
    rows = np.array(sorted(set().union(*(columns[k] for k in latents))), np.int64)
    position = {int(r): i for i, r in enumerate(rows)}
    targets = np.zeros((rows.size, len(latents)), np.float32)
    mask = np.zeros_like(targets)
    for c, latent in enumerate(latents):
        for index, value in columns[latent].items():
            targets[position[index], c] = value
            mask[position[index], c] = 1.0
    labelled = LabelledSet(rows, targets, mask, tuple(latents), tuple(names[k] for k in latents))
    return Supervision(labelled, weight, loss, batch_size)
