"""K replicas of one VAE, same hyperparameters, trained together in one ``tf.function`` step.

A :class:`ReplicaGroup` is what a PBT-U-VAE member is in the paper: ``K`` (default 5) models
of one architecture and one set of hyperparameters, each with its own initialisation, data
stream and sampling noise. One compiled step takes a ``(K, batch, H, W, C)`` batch, computes
the K losses in one graph (K independent sub-graphs run concurrently, or each layer once for
all K models: ``model_batching``, :mod:`rpu_tf.training.model_batching`) and
applies one Adam update to all K models' variables (Adam is elementwise, so this equals K
separate optimizers; :mod:`rpu_tf.training.train_step`). A single model is a group with
``K = 1``. The networks compute in the group's precision (:mod:`rpu_tf.training.precision`;
float32, or bfloat16/float16 with float32 variables, codes and losses).

Everything PBT changes is a variable read by the compiled step, so changing it never retraces:
learning rate (the optimizer's variable), the model's hyperparameters (``beta``, ``gamma``,
...: non-trainable model variables) and the batch size (the step's input signature has a
``None`` batch dimension). The group's full state round-trips through :meth:`get_state` /
:meth:`set_state`, :meth:`save` / :meth:`load` and :meth:`copy_from` (PBT's exploit); see
:mod:`rpu_tf.training.replica_state`.

It follows ``rpu_tf.pbt.Trainable`` except for ``score`` (the scorer lives above this layer).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, Mapping, Optional, Sequence

import numpy as np
import tensorflow as tf

from rpu_tf.data.ground_truth_data import GroundTruthData
from rpu_tf.models import architectures
from rpu_tf.models import batched as batched_models
from rpu_tf.models.vae import BaseVAE, clone_model
from rpu_tf.training import model_batching as batchings
from rpu_tf.training import precision as precisions
from rpu_tf.training import train_step
from rpu_tf.training.data_stream import ReplicaBatchStream
from rpu_tf.training.nonfinite import NonFiniteLossError
from rpu_tf.training.loss_window import LossWindow
from rpu_tf.training.optimizers import OPTIMIZER_RESOLVERS, AdamSpec
from rpu_tf.training.replica_seeds import derive_seeds
from rpu_tf.training.replica_state import STATE_FORMAT, ReplicaStateMixin, read_state
from rpu_tf.training.supervision import Supervision
from rpu_tf.utils.progress import progress as progress_bar

logger = logging.getLogger(__name__)

__all__ = ["ReplicaGroup", "STATE_FORMAT", "read_state"]
_LR_NAMES = {"vae": "learning_rate", "discriminator": "discriminator_learning_rate"}


class ReplicaGroup(ReplicaStateMixin):
    """K replicas of ``model`` trained on ``data`` in one compiled step.

    Args:
      model: a (possibly unbuilt) model whose class, architecture and hyperparameters the
        replicas copy; its own weights are not used.
      data: the training data; its ``observation_shape`` must suit the architecture
        (checked here, before anything trains).
      num_replicas: K >= 1.
      batch_size: images per replica per step.
      random_seed: seeds the replicas' initialisations, data streams and noise.
      optimizers: Adam settings per optimizer name (``"vae"``, and ``"discriminator"`` for
        FactorVAE); missing ones are read from gin (``vae_optimizer``,
        ``discriminator_optimizer``) or take disentanglement_lib's defaults.
      jit_compile: compile the step with XLA (measured slower on CPU; try it on GPUs).
      check_gradients: also treat non-finite gradients as a failed step.
      precision: ``"float32"``, ``"mixed_bfloat16"``, ``"mixed_float16"`` or ``"auto"``
        (:mod:`rpu_tf.training.precision`); ``None``: the process default
        (:func:`~rpu_tf.training.precision.default_precision`, float32 unless a pipeline set it).
      supervision: a supervised term on labelled images of ``data``
        (:mod:`rpu_tf.training.supervision`), or None (unsupervised).
      model_batching: ``"auto"``, ``"batched"`` or ``"replicas"``: whether each layer runs
        once for all K replicas or as K sub-graphs (:mod:`rpu_tf.training.model_batching`;
        the same values either way); ``None``: the process default.
    """

    def __init__(self, model: BaseVAE, data: GroundTruthData, num_replicas: int = 5,
                 batch_size: int = 64, random_seed: int = 0,
                 optimizers: Optional[Mapping[str, AdamSpec]] = None, jit_compile: bool = False,
                 check_gradients: bool = True,
                 precision: Optional[str] = None, supervision: Optional[Supervision] = None,
                 model_batching: Optional[str] = None):
        if int(num_replicas) < 1:
            raise ValueError(f"num_replicas must be >= 1, got {num_replicas}.")
        self.num_replicas = int(num_replicas)
        self.data = data
        self.observation_shape = architectures.check_observation_shape(
            data.observation_shape, model.encoder_fn, model.decoder_fn)
        self.jit_compile = bool(jit_compile)
        self.check_gradients = bool(check_gradients)
        self._batch_size = self._check_batch_size(batch_size)
        self.precision = precisions.resolve_precision(precision or precisions.default_precision())
        self.supervision = supervision
        if supervision is not None:
            supervision.check_fits(model.num_latent, getattr(data, "num_observations", None))

        seeds = derive_seeds(random_seed, self.num_replicas)
        self.models: list[BaseVAE] = []
        for seed in seeds.init:
            self.models.append(clone_model(model, seed=seed, observation_shape=self.observation_shape,
                                           precision=self.precision))
        self.model_batching = batchings.check_model_batching(model_batching or batchings.default_model_batching())
        #: Whether the compiled steps run each layer once for all replicas.
        self.batched = batchings.resolve_model_batching(
            self.model_batching, self.num_replicas, batched_models.can_batch(self.models))
        self._stream = self._new_stream(seeds.data)
        self._step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
        self._noise_seeds = tf.Variable(np.asarray(seeds.noise, np.int64), trainable=False,
                                        name="noise_seeds")

        objectives = [m.optimizer_objectives() for m in self.models]
        self._objective_keys: dict[str, str] = {}
        self._objective_vars: dict[str, list] = {}
        for per_model in objectives:
            for opt_name, key, variables in per_model:
                self._objective_keys[opt_name] = key
                self._objective_vars.setdefault(opt_name, []).extend(variables)
        optimizers = dict(optimizers or {})
        self.optimizer_specs: dict[str, AdamSpec] = {}
        self.optimizers: dict[str, Any] = {}
        for opt_name, variables in self._objective_vars.items():
            if opt_name not in OPTIMIZER_RESOLVERS:
                raise ValueError(f"Model asks for unknown optimizer {opt_name!r}; known: "
                                 f"{', '.join(OPTIMIZER_RESOLVERS)}.")
            spec = optimizers.pop(opt_name, None) or OPTIMIZER_RESOLVERS[opt_name]()
            self.optimizer_specs[opt_name] = spec
            optimizer = spec.build(name=f"{opt_name}_adam")
            optimizer.build(variables)
            self.optimizers[opt_name] = optimizer
        if optimizers:
            raise ValueError(f"Optimizers {sorted(optimizers)} are not used by "
                             f"{type(model).__name__}; it uses {sorted(self.optimizers)}.")
        self._loss_scale = (precisions.DynamicLossScale()
                            if precisions.needs_loss_scaling(self.precision) else None)
        self._train_fn = None
        self._eval_fn = None
        self.last_train_metrics: dict[str, np.ndarray] = {}
        #: Steps skipped by float16 loss scaling (overflowing gradients) since construction.
        self.skipped_steps = 0

    # -- small accessors -------------------------------------------------------------------

    @property
    def model_class(self) -> type[BaseVAE]:
        return type(self.models[0])

    @property
    def num_latent(self) -> int:
        return self.models[0].num_latent

    @property
    def step(self) -> int:
        """Completed updates (the global step)."""
        return int(self._step.numpy())

    @property
    def batch_size(self) -> int:
        return self._batch_size

    def model(self, index: int) -> BaseVAE:
        """Replica ``index``'s model (encoder/decoder for metrics and export)."""
        return self.models[index]

    def tracing_count(self) -> int:
        """How many times the train step has been traced (1 once it has run)."""
        return 0 if self._train_fn is None else self._train_fn.experimental_get_tracing_count()

    # -- hyperparameters -------------------------------------------------------------------

    @staticmethod
    def _check_batch_size(batch_size) -> int:
        value = float(batch_size)
        if not np.isfinite(value) or value < 1 or value != round(value):
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
        return int(round(value))

    def hyperparameter_names(self) -> list[str]:
        """Names :meth:`set_hyperparameters` accepts."""
        lrs = [_LR_NAMES[name] for name in self.optimizers]
        return lrs + ["batch_size"] + list(self.model_class.hyperparameter_names)

    def hyperparameters(self) -> dict[str, float]:
        """Current values: learning rate(s), ``batch_size`` and the model's (``beta``, ...)."""
        values: dict[str, float] = {}
        for name, optimizer in self.optimizers.items():
            values[_LR_NAMES[name]] = float(optimizer.learning_rate.numpy())
        values["batch_size"] = self._batch_size
        values.update(self.models[0].hyperparameters())
        return values

    def set_hyperparameters(self, hyperparameters: Optional[Mapping[str, float]] = None,
                            **values: float) -> None:
        """Sets hyperparameters by name for all replicas; no retracing, optimizer state kept.

        Accepts a mapping (``rpu_tf.pbt`` style) and/or keywords:
        ``set_hyperparameters({"learning_rate": 3e-4, "beta": 6, "batch_size": 32})``.
        Names: see :meth:`hyperparameter_names`.
        """
        values = {**dict(hyperparameters or {}), **values}
        known = self.hyperparameter_names()
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ValueError(f"Unknown hyperparameters {unknown} for a {self.model_class.__name__} "
                             f"group; known: {', '.join(known)}.")
        for name, value in values.items():
            if name != "batch_size" and not np.isfinite(float(value)):
                raise ValueError(f"Hyperparameter {name} must be finite, got {value!r}.")
        if "batch_size" in values:
            self._batch_size = self._check_batch_size(values.pop("batch_size"))
        for opt_name, lr_name in _LR_NAMES.items():
            if lr_name in values:
                lr = float(values.pop(lr_name))
                if lr <= 0:
                    raise ValueError(f"{lr_name} must be > 0, got {lr}.")
                self.optimizers[opt_name].learning_rate.assign(lr)
        if values:
            for model in self.models:
                model.set_hyperparameters(**values)

    # -- seeding ---------------------------------------------------------------------------

    def _new_stream(self, seeds: Sequence[int]) -> ReplicaBatchStream:
        sup = self.supervision
        return ReplicaBatchStream(self.data, seeds, sup and sup.labelled, sup.batch_size if sup else 0)

    def reseed(self, seed: int) -> None:
        """Draws new data streams and sampling noise from ``seed`` (weights untouched)."""
        seeds = derive_seeds(seed, self.num_replicas, with_init=False)
        self._stream = self._new_stream(seeds.data)
        self._noise_seeds.assign(np.asarray(seeds.noise, np.int64))

    def initialize(self, seed: int, hyperparameters: Optional[Mapping[str, float]] = None) -> None:
        """Fresh weights, optimizer state, step 0 and streams from ``seed``, as a new group.

        ``ReplicaGroup(model, data, K, random_seed=s)`` and ``group.initialize(s)`` give the
        same weights. ``hyperparameters`` (optional) are then set.
        """
        seeds = derive_seeds(seed, self.num_replicas)
        for model, init_seed in zip(self.models, seeds.init):
            fresh = clone_model(model, seed=init_seed)
            model.set_weights(fresh.get_weights())
        for optimizer in self.optimizers.values():
            for variable in optimizer.variables:
                if variable is not optimizer.learning_rate:  # keep the learning rate
                    variable.assign(np.zeros(variable.shape, variable.dtype))
        self._step.assign(0)
        if self._loss_scale is not None:
            self._loss_scale.scale.assign(self._loss_scale.initial_scale)
            self._loss_scale.good_steps.assign(0)
        self._stream = self._new_stream(seeds.data)
        self._noise_seeds.assign(np.asarray(seeds.noise, np.int64))
        if hyperparameters:
            self.set_hyperparameters(hyperparameters)

    def seed_replicas(self, seeds: Sequence[int]) -> None:
        """Replica ``k`` takes the initial weights, data stream and noise of a one-replica group
        with ``random_seed=seeds[k]``, so K single models train together as they would alone
        (optimizer state, step and hyperparameters unchanged)."""
        if len(seeds) != self.num_replicas:
            raise ValueError(f"seed_replicas needs {self.num_replicas} seeds, got {len(seeds)}.")
        derived = [derive_seeds(seed, 1) for seed in seeds]
        for model, own in zip(self.models, derived):
            model.set_weights(clone_model(model, seed=own.init[0]).get_weights())
        self._stream = self._new_stream([own.data[0] for own in derived])
        self._noise_seeds.assign(np.asarray([own.noise[0] for own in derived], np.int64))

    # -- compiled steps --------------------------------------------------------------------

    def _step_parts(self) -> train_step.StepParts:
        spec = tf.TensorSpec((self.num_replicas, None) + self.observation_shape, tf.float32,
                             name="images")
        return train_step.StepParts(
            models=self.models, optimizers=self.optimizers, objective_keys=self._objective_keys,
            variables=self._objective_vars, global_step=self._step, noise_seeds=self._noise_seeds,
            input_spec=spec, check_gradients=self.check_gradients, loss_scale=self._loss_scale,
            jit_compile=self.jit_compile, supervision=self.supervision, batched=self.batched)

    # -- training and evaluation -----------------------------------------------------------

    def train(self, num_steps: int, seed: Optional[int] = None, progress: bool = False,
              desc: str = "train", log_every: int = 0,
              on_window: Optional[Callable[[int, Mapping[str, np.ndarray]], None]] = None,
              window_every: int = 0) -> dict[str, float]:
        """Trains ``num_steps`` steps of the current batch size on every replica.

        Args:
          num_steps: steps (one update of every replica each).
          seed: when given, data streams and noise are first redrawn from it (PBT's
            per-generation seed); when None the group's streams continue.
          progress: show a progress bar with loss and images/s.
          desc: the progress bar's label.
          log_every: when > 0, log the loss terms (means over replicas and the last
            ``log_every`` steps) after the first step and every ``log_every`` steps.
          on_window, window_every: ``on_window(global step, {term: (K,) means over the
            window})`` after the first step and every ``window_every`` steps (TensorBoard).

        Returns:
          Means over steps and replicas of the loss terms (``loss``, ``reconstruction_loss``,
          ``kl_loss``, ``regularizer``, ``elbo`` where defined, ``supervised_loss`` with
          supervision, ...), plus
          ``images_per_second`` (all replicas) and ``global_step``. Per-replica means are in
          :attr:`last_train_metrics` (``{term: (K,) array}``).

        Raises:
          NonFiniteLossError: a step's loss or gradient was NaN/Inf; that update was not
            applied, the group holds the state before it.
        """
        num_steps = int(num_steps)
        if num_steps < 0:
            raise ValueError(f"num_steps must be >= 0, got {num_steps}.")
        if seed is not None:
            self.reseed(seed)
        if self._train_fn is None:
            self._train_fn = train_step.build_train_step(self._step_parts())
        batch_size = self._batch_size
        log_window, curve_window, whole = LossWindow(), LossWindow(), LossWindow()
        windows = [whole] + [log_window] * (log_every > 0) + [curve_window] * (on_window is not None)
        images_per_step = batch_size * self.num_replicas
        start = time.perf_counter()
        bar = progress_bar(total=num_steps, desc=desc, unit="step") if progress else None
        last_postfix = start
        try:
            with self._stream.prefetch(batch_size, num_steps) as batches:
                for done, inputs in enumerate(batches, start=1):
                    terms, status = self._train_fn(*inputs)
                    values = {k: v.numpy() for k, v in terms.items()}
                    self._check_status(int(status), values)
                    for window in windows:  # only the windows someone reads
                        window.add(values)
                    if log_every > 0 and (done == 1 or done % log_every == 0 or done == num_steps):
                        self._log_window(desc, done, num_steps, *log_window.take())
                    if on_window is not None and (done == 1 or done % max(1, window_every) == 0 or done == num_steps):
                        on_window(self.step, curve_window.take()[0])
                    if bar is not None:
                        bar.update(1)
                        now = time.perf_counter()
                        if now - last_postfix > 0.5 or done == num_steps:
                            last_postfix = now
                            bar.set_postfix(loss=f"{float(np.mean(values['loss'])):.2f}",
                                            img_s=f"{done * images_per_step / (now - start):.0f}")
        finally:
            if bar is not None:
                bar.close()
        return self._train_summary(whole, num_steps, time.perf_counter() - start)

    def _train_summary(self, window: LossWindow, num_steps: int, elapsed: float) -> dict[str, float]:
        """:meth:`train`'s result from ``window`` (all its steps' terms); sets :attr:`last_train_metrics`."""
        self.last_train_metrics = window.take()[0]
        metrics = {k: float(np.mean(v)) for k, v in self.last_train_metrics.items()}
        metrics["images_per_second"] = (num_steps * self._batch_size * self.num_replicas / elapsed
                                        if elapsed > 0 else 0.0)
        metrics["global_step"] = float(self.step)
        return metrics

    def _check_status(self, status: int, values: Mapping[str, np.ndarray]) -> None:
        """Raises for a failed step; counts float16 overflow skips (a persistent one fails)."""
        if status == train_step.OVERFLOW:
            self.skipped_steps += 1
            if float(self._loss_scale.scale.numpy()) > 1e-3:
                return
        if status != train_step.APPLIED:
            raise NonFiniteLossError(self.step, self.hyperparameters(),
                                     {k: v.tolist() for k, v in values.items()})

    def _log_window(self, desc: str, done: int, total: int, means: Mapping[str, np.ndarray], steps: int) -> None:
        terms = ", ".join(f"{k} {float(np.mean(v)):.3f}" for k, v in means.items()
                          if k in ("loss", "reconstruction_loss", "kl_loss", "regularizer", "supervised_loss"))
        logger.info("%s step %d/%d (global step %d): %s (mean of the last %d steps, %d replicas).",
                    desc, done, total, self.step, terms, steps, self.num_replicas)

    def evaluate(self, num_batches: int, seed: int = 0, batch_size: Optional[int] = None,
                 replica_seeds: Optional[Sequence[int]] = None) -> dict[str, np.ndarray]:
        """Mean loss terms per replica over ``num_batches`` fresh batches, without updating.

        Data and noise come from ``seed``, or replica k's from ``replica_seeds[k]`` as in a
        one-replica group (the training streams are not touched). Returns ``{term: (K,)
        float64 array}``.
        """
        if int(num_batches) < 1:
            raise ValueError(f"num_batches must be >= 1, got {num_batches}.")
        if self._eval_fn is None:
            self._eval_fn = train_step.build_eval_step(self._step_parts())
        batch_size = self._check_batch_size(batch_size or self._batch_size)
        seeds = derive_seeds(seed, self.num_replicas, with_init=False)
        if replica_seeds is not None:
            own = [derive_seeds(s, 1, with_init=False) for s in replica_seeds]
            seeds = type(seeds)([], [o.data[0] for o in own], [o.noise[0] for o in own])
        stream = ReplicaBatchStream(self.data, seeds.data)
        sums: dict[str, np.ndarray] = {}
        with stream.prefetch(batch_size, int(num_batches)) as batches:
            for i, (images,) in enumerate(batches):
                noise = np.stack([np.asarray(seeds.noise, np.int64),
                                  np.full(self.num_replicas, i, np.int64)], axis=1)
                terms = self._eval_fn(images, tf.constant(noise))
                for key, value in terms.items():
                    sums[key] = sums.get(key, 0.0) + value.numpy().astype(np.float64)
        return {k: v / int(num_batches) for k, v in sums.items()}
