"""Postprocessing: extract a representation from a trained Gaussian encoder.

disentanglement_lib's ``postprocess`` step with the same gin names (``postprocess.*``,
``@mean_representation``, ``@sampled_representation``) and the same output::

    output_dir/saved_model/         SavedModel, signature ``representation``: images -> default
    output_dir/results/             the model's results plus gin/postprocess.gin,
                                    json/postprocess_{config,results}.json,
                                    aggregate/postprocess.json

A ``postprocess_fn`` is called as ``postprocess_fn(ground_truth_data, gaussian_encoder,
random_state, save_path)`` and returns ``(transform_fn, checkpoint)``; ``transform_fn(mean,
logvar)`` maps TF tensors ``(N, D)`` to the representation. Unlike disentanglement_lib, the
sampled representation draws its noise from a ``tf.random.Generator`` seeded by
``postprocess.random_seed`` and saved with the representation, so every evaluation of it
sees the same noise sequence (disentanglement_lib's is unseeded).
"""

from __future__ import annotations

import logging
import os
import time
from typing import Optional, Sequence

import gin
import numpy as np
import tensorflow as tf

from rpu_tf.data import named_data
from rpu_tf.evaluation import saved_models
from rpu_tf.evaluation.auto_dataset import resolve_auto_dataset
from rpu_tf.evaluation.model_dirs import locate_model, replaced_output
from rpu_tf.layout import paths
from rpu_tf.layout.paths import SAVED_MODEL_DIR
from rpu_tf.layout.results import update_result_directory
from rpu_tf.utils.gin_imports import imports_refused

logger = logging.getLogger(__name__)

#: The study's postprocessing configs (disentanglement_lib's
#: unsupervised_study_v1/postprocess_configs/{mean,sampled}.gin; also in
#: gin_configs/postprocess/).
POSTPROCESS_CONFIGS: dict[str, list[str]] = {
    "mean": ["postprocess.postprocess_fn = @mean_representation", 'dataset.name = "auto"',
             "postprocess.random_seed = 0"],
    "sampled": ["postprocess.postprocess_fn = @sampled_representation", 'dataset.name = "auto"',
                "postprocess.random_seed = 0"],
}


class SampledTransform(tf.Module):
    """``mean + exp(logvar / 2) * eps`` with ``eps ~ N(0, 1)`` from a saved, seeded generator."""

    def __init__(self, seed: int):
        super().__init__(name="sampled_transform")
        self.generator = tf.random.Generator.from_seed(int(seed))

    def __call__(self, mean: tf.Tensor, logvar: tf.Tensor) -> tf.Tensor:
        return mean + tf.exp(logvar / 2) * self.generator.normal(tf.shape(mean), dtype=mean.dtype)


def _mean_transform(mean: tf.Tensor, logvar: tf.Tensor) -> tf.Tensor:
    del logvar
    return mean


@gin.configurable("mean_representation",
                  denylist=["ground_truth_data", "gaussian_encoder", "random_state"])
def mean_representation(ground_truth_data, gaussian_encoder, random_state, save_path):
    """The mean of q(z|x) (disentanglement_lib's ``mean_representation``)."""
    del ground_truth_data, gaussian_encoder, random_state, save_path
    return _mean_transform, None


@gin.configurable("sampled_representation",
                  denylist=["ground_truth_data", "gaussian_encoder", "random_state"])
def sampled_representation(ground_truth_data, gaussian_encoder, random_state, save_path):
    """A sample of q(z|x) (disentanglement_lib's ``sampled_representation``), seeded by
    ``random_state``."""
    del ground_truth_data, gaussian_encoder, save_path
    return SampledTransform(int(random_state.randint(2**31 - 1))), None


@gin.configurable("postprocess", denylist=["model_dir", "output_dir", "overwrite"])
def postprocess(model_dir: str, output_dir: str, overwrite: bool = False,
                postprocess_fn=gin.REQUIRED, random_seed: int = gin.REQUIRED,
                name: str = "") -> dict:
    """Extracts a representation of the model in ``model_dir`` into ``output_dir``.

    Args:
      model_dir: the trained model (``RUN/model``, or the run directory ``RUN``).
      output_dir: where the representation and results go (``RUN/postprocessed/mean``).
      overwrite: replace an existing ``output_dir`` (once the new one is complete).
      postprocess_fn: ``@mean_representation``, ``@sampled_representation`` or your own.
      random_seed: seeds ``postprocess_fn``'s random state.
      name: a label recorded in the gin config (``'mean'``).

    Returns:
      The results written to ``postprocess_results.json`` (``elapsed_time``, ``uuid``).
    """
    del name
    model = locate_model(model_dir)
    with replaced_output(output_dir, overwrite) as target:  # the old output stays until this succeeds
        start = time.time()
        resolve_auto_dataset(model.train_gin)
        dataset = named_data.get_named_ground_truth_data()
        source = saved_models.load(model.saved_model, ("gaussian_encoder",))
        transform, checkpoint = postprocess_fn(dataset, saved_models.gaussian_encoder_function(source),
                                               np.random.RandomState(random_seed), target)
        if checkpoint is not None:
            raise ValueError("postprocess_fn returned a checkpoint path; return a tf.Module with "
                             "its variables as transform_fn instead (it is saved with the "
                             "representation).")
        saved_models.save_representation(source, transform, os.path.join(target, SAVED_MODEL_DIR))
        results = {"elapsed_time": time.time() - start}
        update_result_directory(paths.results_dir(target), "postprocess", results, model.results_dir)
    logger.info("Postprocessed %s into %s.", model.model_dir, output_dir)
    return results


def postprocess_with_gin(model_dir: str, output_dir: str, overwrite: bool = False,
                         gin_config_files: Optional[Sequence[str]] = None,
                         gin_bindings: Optional[Sequence[str]] = None) -> dict:
    """Parses gin files and bindings, runs :func:`postprocess`, clears the gin config."""
    try:
        with imports_refused():  # no code from the configs' import lines
            gin.parse_config_files_and_bindings(list(gin_config_files or []), list(gin_bindings or []))
        return postprocess(model_dir, output_dir, overwrite)
    finally:
        gin.clear_config()
