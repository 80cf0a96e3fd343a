"""Single-model runs trained together as one replica group: ``rpu_train_together`` and
``rpu_study`` (methods that share a ``study_method.train_group``) run it.

``train_together_with_gin(model_dirs, overwrite, gin_config_files, gin_bindings)`` reads run k
from ``gin_config_files + gin_bindings[k]`` (:func:`~rpu_tf.pipelines.single_model.single_model_run`)
and trains all of them in one group (:func:`rpu_tf.training.train.train_runs`); each run
directory is written as ``rpu_train`` would write it.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import gin

from rpu_tf.pipelines.single_model import single_model_run
from rpu_tf.training import runtime
from rpu_tf.training.train import SingleModelRun, train_runs
from rpu_tf.utils.gin_files import check_bindings_are_read, parse_gin, pipeline_name, with_model_name


def train_together_with_gin(model_dirs: Sequence[str], overwrite: bool, gin_config_files: Sequence[str],
                            gin_bindings: Sequence[Sequence[str]]) -> list[dict[str, Any]]:
    """Trains the single-model runs ``gin_config_files + gin_bindings[k]`` -> ``model_dirs[k]``
    as one replica group (:func:`~rpu_tf.training.train.train_runs`): a sweep of K models in
    about the time of K / 1.9 models alone on 2 CPU cores (K = 6, 32x32 sprites, measured).
    The runs may differ only in model hyperparameters and ``model.random_seed``."""
    if len(model_dirs) != len(gin_bindings) or not model_dirs:
        raise ValueError(f"train_together needs one list of bindings per run directory, got {len(model_dirs)} "
                         f"directories and {len(gin_bindings)} lists.")
    runs: list[SingleModelRun] = []
    with runtime.defaults_kept():
        for k, (model_dir, bindings) in enumerate(zip(model_dirs, gin_bindings)):
            try:
                bindings = with_model_name(bindings)
                check_bindings_are_read("single_model", bindings)
                parse_gin(list(gin_config_files), bindings)
                if pipeline_name() != "single_model":
                    raise ValueError(f"train_together trains single models; {model_dir}'s config names "
                                     f"pipeline {pipeline_name()!r}.")
                if k == 0:  # thread pools for K replicas, before any TensorFlow op runs
                    runtime.configure(len(model_dirs), runtime.runtime_options())
                run = single_model_run(model_dir)
                if k > 0:  # one copy of the data set (train_runs checks that the settings agree)
                    run = dataclasses.replace(run, dataset=runs[0].dataset)
                runs.append(run)
            finally:
                gin.clear_config()
        return train_runs(runs, overwrite)
