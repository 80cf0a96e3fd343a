"""The single-model pipeline (disentanglement_lib's baselines): ``rpu_train`` runs it for
``pipeline.name = "single_model"`` (the default).

``train_with_gin(model_dir, overwrite, gin_config_files, gin_bindings)`` parses gin, reads the
run (:func:`single_model_run`, the gin edge), trains it with
:func:`rpu_tf.training.train.train_runs` and clears gin; the run directory holds
disentanglement_lib's layout (``model/results/...``, ``model/model.keras``,
``model/saved_model/``) and, while training, ``checkpoint/``, from which the same command
resumes bit-identically.

Gin parameters are disentanglement_lib's (scope ``model``): ``model.model = @beta_tc_vae()``,
``model.training_steps``, ``model.random_seed``, ``model.batch_size``, ``model.eval_steps``
(batches averaged for ``train_results.json``, default 1000), ``model.checkpoint_every``
(steps between checkpoints, default 2000; an rpu_tf addition), ``model.name``,
``model.model_num``; the data set is ``dataset.name``. Runtime settings are ``training.*``
(:mod:`rpu_tf.training.runtime`; ``training.precision``, recorded as ``precision`` in
``train_results.json``). ``supervision.num_labelled = 1000`` (and ``supervision.weight``,
``.loss``, ``.batch_size``) trains the semi-supervised few-labels model instead
(:func:`rpu_tf.training.supervision.ground_truth_supervision`).
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import gin

from rpu_tf.data import named_data
from rpu_tf.models.vae import BaseVAE
from rpu_tf.training import runtime
from rpu_tf.training.gin_context import parsed_gin, run_context
from rpu_tf.training.optimizers import resolve_model_optimizers
from rpu_tf.training.supervision import ground_truth_supervision
from rpu_tf.training.train import SingleModelRun, train_runs
from rpu_tf.utils.gin_files import with_model_name
from rpu_tf.utils.whole_numbers import whole_number


@gin.configurable("model", denylist=["model_dir"])
def single_model_run(model_dir: str, model: BaseVAE = gin.REQUIRED, training_steps: int = gin.REQUIRED,
                     random_seed: int = gin.REQUIRED, batch_size: int = gin.REQUIRED, eval_steps: int = 1000,
                     checkpoint_every: int = 2000, name: str = "",
                     model_num: Optional[int] = None) -> SingleModelRun:
    """Reads a single-model run from gin (disentanglement_lib's ``model.*``; see module doc).

    Args:
      model_dir: the run directory; the model goes to ``model_dir/model``.
      model: the model to train (gin: ``model.model = @beta_tc_vae()``).
      training_steps: number of updates.
      random_seed: seeds initialisation, data order, sampling noise and evaluation.
      batch_size: images per step.
      eval_steps: batches averaged for the reported losses after training.
      checkpoint_every: steps between checkpoints (``RUN/checkpoint/state.npz``, from which
        a stopped run resumes); disentanglement_lib has none. Resumed runs are bit-identical
        whatever the interval.
      name, model_num: free labels recorded in the gin config (not used).
    """
    del name, model_num
    training_steps = whole_number(training_steps, "model.training_steps", minimum=0)
    random_seed = whole_number(random_seed, "model.random_seed")
    batch_size = whole_number(batch_size, "model.batch_size", minimum=1)  # checked before the run is claimed
    eval_steps = whole_number(eval_steps, "model.eval_steps", 1, "batches averaged for train_results.json")
    checkpoint_every = whole_number(checkpoint_every, "model.checkpoint_every", 1, "steps between checkpoints")
    dataset = named_data.get_named_ground_truth_data()
    optimizers = resolve_model_optimizers(model, dataset.observation_shape)
    return SingleModelRun(model_dir, model, training_steps, random_seed, batch_size, eval_steps,
                          dataset, ground_truth_supervision(dataset), optimizers, runtime.runtime_options(),
                          gin.operative_config_str(), checkpoint_every)


def train(model_dir: str, overwrite: bool = False, **settings) -> dict[str, Any]:
    """Trains the model gin describes (:func:`single_model_run`; ``settings`` are its
    arguments, over gin's) into ``model_dir``; returns the results written to
    ``train_results.json``."""
    runtime.configure(1, runtime.runtime_options())  # thread pools before any TensorFlow op
    return train_runs([single_model_run(model_dir, **settings)], overwrite)[0]


def train_from_gin(model_dir: str, overwrite: bool = False) -> dict[str, Any]:
    """Runs :func:`train` on the config gin holds (parsed once by the caller:
    :func:`rpu_tf.pipelines.choice.run_pipeline`)."""
    with run_context():
        return train(model_dir, overwrite)


def train_with_gin(model_dir: str, overwrite: bool = False,
                   gin_config_files: Optional[Sequence[str]] = None,
                   gin_bindings: Optional[Sequence[str]] = None) -> dict[str, Any]:
    """Parses the gin files and bindings, runs :func:`train`, and clears the gin config."""
    with parsed_gin(gin_config_files, with_model_name(gin_bindings or []), pipeline="single_model"):
        return train_from_gin(model_dir, overwrite)
