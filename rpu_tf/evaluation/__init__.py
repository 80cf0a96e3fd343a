"""Evaluation as in disentanglement_lib: postprocess trained models, compute metrics.

- :func:`evaluate_model`: a run directory -> ``postprocessed/{mean,sampled}`` and
  ``metrics/{mean,sampled}/<metric>/results`` for each metric config (``rpu_evaluate``).
- :func:`postprocess_with_gin`, :func:`evaluate_with_gin`: disentanglement_lib's two steps
  with its gin names (``postprocess.*``, ``evaluation.*``, ``dataset.name = "auto"``).
- :mod:`~rpu_tf.evaluation.model_dirs`: the run-directory layout and model discovery.
"""

from rpu_tf.utils.tf_startup import import_tensorflow_quietly

import_tensorflow_quietly()  # first: TensorFlow's C++ start-up notices filtered (rpu_tf.utils.tf_startup)

from rpu_tf.evaluation.evaluate import (METRICS, UnknownMetricError, evaluate, evaluate_with_gin,
                                        known_metrics)
from rpu_tf.evaluation.metric_configs import MetricConfig, expand_metric_configs
from rpu_tf.evaluation.model_dirs import (NotATrainedModelError, TrainedModel, find_models,
                                          locate_model, locate_representation)
from rpu_tf.evaluation.pipeline import evaluate_model
from rpu_tf.evaluation.postprocess import (POSTPROCESS_CONFIGS, mean_representation, postprocess,
                                           postprocess_with_gin, sampled_representation)

__all__ = ["METRICS", "MetricConfig", "NotATrainedModelError", "POSTPROCESS_CONFIGS",
           "TrainedModel", "UnknownMetricError", "evaluate", "evaluate_model",
           "evaluate_with_gin", "expand_metric_configs", "find_models", "known_metrics",
           "locate_model", "locate_representation", "mean_representation", "postprocess",
           "postprocess_with_gin", "sampled_representation"]
