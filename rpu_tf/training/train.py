"""Single-model training (disentanglement_lib's baselines) with its result layout.

``train_with_gin(model_dir, overwrite, gin_config_files, gin_bindings)`` parses gin, trains
one model and writes, under the run directory ``model_dir`` (disentanglement_lib's
"output directory")::

    model_dir/model/results/gin/train.gin
    model_dir/model/results/json/train_config.json
    model_dir/model/results/json/train_results.json
    model_dir/model/results/aggregate/train.json
    model_dir/model/model.keras           Keras file (keras.saving.load_model)
    model_dir/model/saved_model/          SavedModel: gaussian_encoder, decoder, reconstructions

Gin parameters are disentanglement_lib's (scope ``model``): ``model.model = @beta_tc_vae()``,
``model.training_steps``, ``model.random_seed``, ``model.batch_size``, ``model.eval_steps``
(batches averaged for ``train_results.json``, default 1000), ``model.name``,
``model.model_num``; the data set is ``dataset.name``. Runtime settings are ``training.*``
(:mod:`rpu_tf.training.runtime`; ``training.precision``, recorded as ``precision`` in
``train_results.json``). ``supervision.num_labelled = 1000`` (and ``supervision.weight``,
``.loss``, ``.batch_size``) trains the semi-supervised few-labels model instead
(:func:`rpu_tf.training.supervision.ground_truth_supervision`).
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any, Optional, Sequence

import gin
import numpy as np

from rpu_tf.data import named_data
from rpu_tf.layout.guard import prepare_directory
from rpu_tf.layout.paths import KERAS_FILE, SAVED_MODEL_DIR
from rpu_tf.layout.paths import MODEL_DIR as MODEL_SUBDIR
from rpu_tf.layout.results import update_result_directory
from rpu_tf.models.vae import BaseVAE
from rpu_tf.training import runtime
from rpu_tf.training.export import export_keras, export_saved_model
from rpu_tf.training.gin_context import gin_run
from rpu_tf.training.replica_group import ReplicaGroup
from rpu_tf.training.supervision import ground_truth_supervision

logger = logging.getLogger(__name__)

#: disentanglement_lib's evaluation metrics in train_results.json (plus loss, global_step).
RESULT_KEYS = ("loss", "reconstruction_loss", "elbo", "regularizer", "kl_loss")


def prepare_run_directory(model_dir: str, overwrite: bool) -> None:
    """Refuses an existing non-empty ``model_dir`` unless ``overwrite``; then clears it, if it
    looks like an ``rpu_train`` run (it has a ``model/`` folder; see
    :func:`rpu_tf.layout.prepare_directory`)."""
    prepare_directory(model_dir, overwrite, MODEL_SUBDIR)


@gin.configurable("model", denylist=["model_dir", "overwrite"])
def train(model_dir: str, overwrite: bool = False, model: BaseVAE = gin.REQUIRED,
          training_steps: int = gin.REQUIRED, random_seed: int = gin.REQUIRED,
          batch_size: int = gin.REQUIRED, eval_steps: int = 1000, name: str = "",
          model_num: Optional[int] = None) -> dict[str, Any]:
    """Trains ``model`` on ``dataset.name`` and writes the run directory (see module doc).

    Args:
      model_dir: the run directory; the model goes to ``model_dir/model``.
      overwrite: replace an existing run directory.
      model: the model to train (gin: ``model.model = @beta_tc_vae()``).
      training_steps: number of updates.
      random_seed: seeds initialisation, data order, sampling noise and evaluation.
      batch_size: images per step.
      eval_steps: batches averaged for the reported losses after training.
      name, model_num: free labels recorded in the gin config (not used).

    Returns:
      The results written to ``train_results.json``.
    """
    del name, model_num
    if int(training_steps) < 0:
        raise ValueError(f"model.training_steps must be >= 0, got {training_steps}.")
    options = runtime.runtime_options()
    runtime.configure(1, options)
    prepare_run_directory(model_dir, overwrite)
    start = time.time()
    dataset = named_data.get_named_ground_truth_data()
    supervision = ground_truth_supervision(dataset)
    random_state = np.random.RandomState(random_seed)
    group = ReplicaGroup(model, dataset, num_replicas=1, batch_size=batch_size,
                         random_seed=int(random_state.randint(2**31 - 1)),
                         jit_compile=options.jit_compile, supervision=supervision)
    trained = group.model(0)
    logger.info("Training %s (%d latents, %s/%s) on %s %s for %d steps of %d images in %s; %s.",
                type(trained).__name__, trained.num_latent, trained.encoder_fn,
                trained.decoder_fn, dataset.name, tuple(group.observation_shape),
                training_steps, group.batch_size, group.precision, runtime.describe_devices())
    if supervision is not None:
        logger.info("Semi-supervised: %s.", supervision.describe())
    metrics = group.train(int(training_steps), progress=options.progress, desc="rpu_train",
                          log_every=max(1, int(training_steps) // 10))
    logger.info("Trained %d steps at %.0f images/s; mean training loss %.3f.", group.step,
                metrics.get("images_per_second", 0.0), metrics.get("loss", float("nan")))

    output = os.path.join(model_dir, MODEL_SUBDIR)
    export_keras(trained, os.path.join(output, KERAS_FILE))
    export_saved_model(trained, os.path.join(output, SAVED_MODEL_DIR))

    evaluation = group.evaluate(int(eval_steps), seed=int(random_state.randint(2**31 - 1)))
    results: dict[str, Any] = {k: float(evaluation[k][0]) for k in RESULT_KEYS if k in evaluation}
    results["global_step"] = group.step
    results["batch_size"] = group.batch_size
    results["training_images"] = group.step * group.batch_size  # the budget unit of fair comparisons
    results["precision"] = group.precision
    if supervision is not None:
        results["num_labelled"] = supervision.labelled.num_labelled
        results["supervised_loss"] = float(metrics.get("supervised_loss", float("nan")))
    results["elapsed_time"] = time.time() - start
    update_result_directory(os.path.join(output, "results"), "train", results)
    logger.info("Wrote %s (reconstruction_loss %.3f, elapsed %.1fs).", output,
                results["reconstruction_loss"], results["elapsed_time"])
    return results


def train_with_gin(model_dir: str, overwrite: bool = False,
                   gin_config_files: Optional[Sequence[str]] = None,
                   gin_bindings: Optional[Sequence[str]] = None) -> dict[str, Any]:
    """Parses the gin files and bindings, runs :func:`train`, and clears the gin config."""
    with gin_run(gin_config_files, gin_bindings):
        return train(model_dir, overwrite)
