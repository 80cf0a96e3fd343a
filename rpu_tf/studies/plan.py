"""The runs of a study: each (method variant, seed) as a :class:`Run`, its ``rpu_train`` and
``rpu_evaluate`` jobs, and whether it is evaluated (what a run directory holds otherwise:
:mod:`rpu_tf.layout.run_state`)."""

from __future__ import annotations

import dataclasses
import os
from typing import Optional

from rpu_tf.layout import run_state
from rpu_tf.studies.jobs import EvaluateJob, TrainJob
from rpu_tf.studies.study_precision import leaves_precision_to_auto, precision_binding
from rpu_tf.studies.spec import Method, Study, leaf_run_name, slug


@dataclasses.dataclass(frozen=True)
class Run:
    """One (method variant, seed) of a study."""

    method: Method
    name: str  # the variant's name (rPU-VAE: with its leaf-run count)
    seed: int
    run_dir: str
    leaf_runs: Optional[int] = None

    @property
    def key(self) -> str:
        return f"{slug(self.name)}/seed{self.seed}"

    @property
    def label(self) -> str:
        """Its Fig. 4 box / table row: rPU-VAE variants other than the largest are their own."""
        if self.method.kind == "rpu_vae" and self.leaf_runs != max(self.method.leaf_runs):
            return self.name
        return self.method.label


def plan_runs(study: Study, study_dir: str) -> list[Run]:
    """Every training run of the study, in the order they run: rPU-VAE first (its images set
    the budget; per method the largest leaf-run count first, whose stages the others reuse),
    then the baselines. UDR selections train nothing and are not in the list."""
    runs: list[Run] = []
    for method in study.methods:
        if method.kind != "rpu_vae":
            continue
        for count in sorted(set(method.leaf_runs), reverse=True):
            name = leaf_run_name(method, count)
            runs += [Run(method, name, s, os.path.join(study_dir, "runs", slug(name), f"seed{s}"), count)
                     for s in study.seeds]
    for method in study.methods:
        if method.kind == "train":
            runs += [Run(method, method.name, s, os.path.join(study_dir, "runs", slug(method.name), f"seed{s}"))
                     for s in study.seeds]
    return runs


def _resolve(study: Study, config: str) -> str:
    return config if os.path.isabs(config) else os.path.normpath(os.path.join(study.base_dir, config))


def train_job(study: Study, run: Run, budget_images: Optional[int]) -> TrainJob:
    """The ``rpu_train`` job of ``run``: its method's configs and bindings, its seed, its
    leaf-run count, the study's budget, and the study's precision where the run leaves it to
    ``"auto"`` (once :func:`run_study` has resolved it; :mod:`rpu_tf.studies.study_precision`)."""
    method = run.method
    data = [f"dataset.name = {study.dataset!r}"] if study.dataset else []
    bindings = (list(method.bindings) + data + list(study.common_bindings)
                + [method.seed_binding.format(seed=run.seed)])
    if run.leaf_runs is not None:
        bindings.append(f"rpu_vae.max_leaf_runs = {run.leaf_runs}")
    if method.budget_binding is not None:
        if budget_images is None:
            raise RuntimeError(f"{run.name}: the budget is not known yet (the rPU-VAE runs set it).")
        bindings.append(method.budget_binding.format(units=method.budget_units(budget_images)))
    configs = tuple(_resolve(study, c) for c in method.configs)
    if study.precision != "auto" and leaves_precision_to_auto(configs, bindings):
        bindings.append(precision_binding(study.precision))
    # stopped runs resume (rPU-VAE and PBT from their stages and generations, single models
    # from their last checkpoint); anything else in the directory is replaced
    return TrainJob(run.run_dir, configs, tuple(bindings), run_state.needs_overwrite(run.run_dir))


def evaluate_job(study: Study, run_dir: str) -> EvaluateJob:
    return EvaluateJob(run_dir, tuple(_resolve(study, m) for m in study.metrics), study.representations)


def is_evaluated(study: Study, run_dir: str) -> bool:
    """Whether every metric of the study (named by its config file) is evaluated for every
    representation of the study (:func:`rpu_tf.layout.run_state.is_evaluated`)."""
    names = [os.path.splitext(os.path.basename(m))[0] for m in study.metrics]
    return run_state.is_evaluated(run_dir, names, study.representations)
