"""A VAE replica group as a PBT member: :class:`rpu_tf.pbt.Trainable` plus a scorer.

One :class:`VAEMember` is built per PBT worker (its models and train step once) and takes
on every member's state in turn. :class:`VAEMemberFactory` builds it from plain, picklable
settings (model class and config, optimizer settings, data, scorer), so the Ray executor can
build one in each actor without the gin config.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Mapping, Optional, Sequence

import numpy as np

from rpu_tf.data.ground_truth_data import GroundTruthData
from rpu_tf.layout import paths
from rpu_tf.models.vae import BaseVAE
from rpu_tf.training.export import export_keras, export_saved_model
from rpu_tf.training.joint_training import JointTrainer
from rpu_tf.training.loss_window import StepCurve
from rpu_tf.training.optimizers import AdamSpec, resolve_model_optimizers
from rpu_tf.training.model_batching import check_model_batching, default_model_batching
from rpu_tf.training.precision import default_precision, resolve_precision
from rpu_tf.training.replica_group import ReplicaGroup
from rpu_tf.training.runtime import configure_worker_process
from rpu_tf.training.supervision import Supervision

Scorer = Callable[[ReplicaGroup, int], tuple[float, dict]]

#: Points of a member's training curve per member step (a generation's training), each the
#: mean of about ``num_steps / CURVE_POINTS`` steps, plus the first step's: on TensorBoard a
#: member of 20 generations has the 200 points of a single-model run.
CURVE_POINTS = 10


def curve_every(num_steps: int) -> int:
    """Steps per point of a member's training curve (:data:`CURVE_POINTS`)."""
    return max(1, int(num_steps) // CURVE_POINTS)


class VAEMember:
    """Trains and scores any member's state on one :class:`ReplicaGroup`."""

    def __init__(self, group: ReplicaGroup, scorer: Scorer, initial_weights: Optional[Sequence[np.ndarray]] = None):
        self.group = group
        self.scorer = scorer
        self.initial_weights = initial_weights
        self._joint: dict[tuple, JointTrainer] = {}
        self._curve: list = []

    def initialize(self, seed: int, hyperparameters: Mapping[str, float]) -> None:
        """A new member: fresh weights from ``seed`` (or the warm-start weights), fresh
        optimizer state, its hyperparameters."""
        self.group.initialize(seed, hyperparameters)
        if self.initial_weights is not None:
            self.group.warm_start(self.initial_weights)

    def get_state(self) -> dict:
        return self.group.get_state()

    def set_state(self, state: dict) -> None:
        self.group.set_state(state)

    def set_hyperparameters(self, hyperparameters: Mapping[str, float]) -> None:
        self.group.set_hyperparameters(hyperparameters)

    def train(self, num_steps: int, seed: int) -> dict:
        curve = StepCurve(self.group.step)
        try:
            return _member_metrics(self.group.train(num_steps, seed=seed, on_window=curve,
                                                    window_every=curve_every(num_steps)))
        finally:
            self._curve = curve.points

    def take_curve(self) -> list:
        """The training curve of the last :meth:`train` (or joint training), once:
        ``[(steps since it started, {loss term: mean over the replicas}), ...]``."""
        curve, self._curve = self._curve, []
        return curve

    def train_together(self, members: Sequence["VAEMember"], num_steps: int, seeds: Sequence[int]) -> list:
        """Trains ``members`` (this one among them; one batch size) in one joint step, each as
        its own :meth:`train` would (:class:`rpu_tf.training.joint_training.JointTrainer`);
        per member its metrics or the ``NonFiniteLossError`` its training raised."""
        key = tuple(id(member) for member in members)
        if key not in self._joint:  # the executor reuses the same members: traced once
            self._joint[key] = JointTrainer([member.group for member in members])
        curves = [StepCurve(member.group.step) for member in members]
        try:
            outcomes = self._joint[key].train(num_steps, list(seeds), on_window=curves,
                                              window_every=curve_every(num_steps))
        finally:
            for member, curve in zip(members, curves):
                member._curve = curve.points
        return [outcome if isinstance(outcome, BaseException) else _member_metrics(outcome) for outcome in outcomes]

    def score(self, seed: int) -> tuple[float, dict]:
        return self.scorer(self.group, seed)


class VAEMemberFactory:
    """Builds a :class:`VAEMember` from plain, picklable settings (for Ray actors too).

    Args:
      model: the model template (its class and config are kept, not the instance).
      data: the training data set (pickled to actors).
      scorer: the member scorer (a picklable callable, e.g. :class:`~rpu_tf.rpu.scoring.UDRScore`).
      num_replicas: replicas per member (paper: 5 for PBT-U-VAE, 1 for PBT-S-VAE).
      optimizers: Adam settings per optimizer name; None resolves them from gin now (in
        this process), so workers need no gin config.
      jit_compile: compile the train step with XLA.
      precision: the members' precision (:mod:`rpu_tf.training.precision`); None: this
        process's default, resolved now, so actors train as the driver chose.
      initial_weights: warm start: every new member's replicas start from these weights
        (one model's ``get_weights()``) instead of a random initialisation.
      supervision: a supervised term of every member's objective (or None).
      threads: ``(intra_op, inter_op)`` for worker processes (:meth:`configure_worker`);
        None entries follow the CPUs a worker holds.
      model_batching: how each member's group computes its replicas
        (:mod:`rpu_tf.training.model_batching`); None: this process's default, taken now.
    """

    def __init__(self, model: BaseVAE, data: GroundTruthData, scorer: Scorer, num_replicas: int,
                 optimizers: Optional[Mapping[str, AdamSpec]] = None, jit_compile: bool = False,
                 precision: Optional[str] = None, initial_weights: Optional[Sequence[np.ndarray]] = None,
                 supervision: Optional[Supervision] = None,
                 threads: tuple[Optional[int], Optional[int]] = (None, None),
                 model_batching: Optional[str] = None):
        self.model_class = type(model)
        self.model_config = model.get_config()
        self.data = data
        self.scorer = scorer
        self.num_replicas = int(num_replicas)
        if optimizers is None:
            optimizers = resolve_model_optimizers(model, data.observation_shape)
        self.optimizers = dict(optimizers)
        self.jit_compile = bool(jit_compile)
        self.precision = resolve_precision(precision or default_precision())
        self.initial_weights = None if initial_weights is None else [np.asarray(w) for w in initial_weights]
        self.supervision = supervision
        self.threads = (threads[0], threads[1])
        self.model_batching = check_model_batching(model_batching or default_model_batching())

    def configure_worker(self, num_cpus: float, num_gpus: float) -> str:
        """Readies a worker process (Ray actor) holding ``num_cpus`` CPUs and ``num_gpus``
        GPUs before it builds a member: thread pools for this factory's replica group from
        the CPUs it holds, GPU memory growth (:func:`rpu_tf.training.configure_worker_process`).
        Returns a description for the log."""
        return configure_worker_process(self.num_replicas, num_cpus, num_gpus, *self.threads)

    def __call__(self) -> VAEMember:
        template = self.model_class.from_config(dict(self.model_config))
        group = ReplicaGroup(template, self.data, num_replicas=self.num_replicas,
                             optimizers=self.optimizers, jit_compile=self.jit_compile,
                             precision=self.precision, supervision=self.supervision,
                             model_batching=self.model_batching)
        return VAEMember(group, self.scorer, self.initial_weights)


def _member_metrics(metrics: Mapping[str, float]) -> dict:
    """What a member reports of a group's training metrics."""
    return {k: v for k, v in metrics.items() if k in ("loss", "reconstruction_loss", "kl_loss", "regularizer",
                                                       "elbo", "supervised_loss", "images_per_second")}


def export_replica(group: ReplicaGroup, replica: int, path: str) -> dict[str, str]:
    """Writes replica ``replica`` of ``group`` in ``rpu_train``'s ``model/`` layout at ``path``
    (Keras file and SavedModel), so evaluation reads it alike."""
    if not 0 <= int(replica) < group.num_replicas:
        raise ValueError(f"replica {replica} does not exist in a group of {group.num_replicas}.")
    model = group.model(int(replica))
    return {"keras": export_keras(model, os.path.join(path, paths.KERAS_FILE)),
            "saved_model": export_saved_model(model, os.path.join(path, paths.SAVED_MODEL_DIR))}


def best_replica(details: Mapping[str, Any]) -> int:
    """The replica a member's score details name as best (0 when not given)."""
    return int(details.get("best_replica", 0)) if details else 0
