"""The runs of a study and what their directories hold: each (method variant, seed) as a
:class:`Run`, its ``rpu_train`` and ``rpu_evaluate`` jobs, whether it is trained, evaluated or
resumable, the images it consumed, and rPU-VAE variants that share their first stages."""

from __future__ import annotations

import dataclasses
import os
import shutil
from typing import Optional

from rpu_tf.layout import paths, rpu_files
from rpu_tf.layout.budget import run_training_images
from rpu_tf.studies.jobs import EvaluateJob, TrainJob
from rpu_tf.studies.study_precision import leaves_precision_to_auto, precision_binding
from rpu_tf.studies.spec import Method, Study, leaf_run_name, slug
from rpu_tf.training import checkpoints
from rpu_tf.utils.files import read_json


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
    overwrite = os.path.isdir(run.run_dir) and bool(os.listdir(run.run_dir)) and not _resumable(run.run_dir)
    return TrainJob(run.run_dir, configs, tuple(bindings), overwrite)


def _resumable(run_dir: str) -> bool:
    """Whether ``run_dir`` holds a stopped run that ``rpu_train`` resumes: an rPU-VAE or PBT run,
    or a single model's claimed checkpoint (a kill loses at most ``model.checkpoint_every``
    steps instead of the whole run)."""
    return (any(os.path.exists(os.path.join(run_dir, marker)) for marker in (paths.MANIFEST_FILE, paths.PBT_DIR))
            or checkpoints.run_status(run_dir) == checkpoints.UNFINISHED)


def is_trained(run_dir: str) -> bool:
    """Whether a run directory holds its finished model and its train results (rPU-VAE: its
    summary too)."""
    model_dir = os.path.join(run_dir, paths.MODEL_DIR)
    model = os.path.exists(os.path.join(model_dir, paths.SAVED_MODEL_DIR)) and os.path.exists(
        paths.step_results_json(paths.results_dir(model_dir), "train"))
    if os.path.exists(os.path.join(run_dir, paths.MANIFEST_FILE)):
        return model and os.path.exists(os.path.join(run_dir, paths.SUMMARY_FILE))
    return model


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)  # files are replaced atomically, never edited in place
    except OSError:
        shutil.copy2(src, dst)


def share_stages(source_dir: str, run_dir: str, leaf_runs: int) -> None:
    """Starts ``run_dir`` from ``source_dir``'s initial metaEpoch and first ``leaf_runs``
    leaf-runs (an rPU-VAE run with fewer leaf-runs trains exactly those first), without its
    final stage, so rpu_train on ``run_dir`` trains only the final PBT-S-VAE."""
    if os.path.exists(os.path.join(run_dir, paths.MANIFEST_FILE)):
        return
    manifest = rpu_files.read_manifest(source_dir)
    keep = {name: record for name, record in manifest["stages"].items()
            if record.get("leaf_run") is None or int(record["leaf_run"]) <= leaf_runs}
    os.makedirs(os.path.join(run_dir, paths.STAGES_DIR), exist_ok=True)
    for name in keep:
        target = paths.stage_dir(run_dir, name)
        if not os.path.exists(target):
            partial = target + ".partial"
            shutil.rmtree(partial, ignore_errors=True)  # a copy stopped half way starts again
            shutil.copytree(paths.stage_dir(source_dir, name), partial, copy_function=_link_or_copy)
            os.replace(partial, target)
    shared = {k: v for k, v in manifest.items() if k not in ("stages", "final", "leaf_runs")}
    rpu_files.write_manifest(run_dir, {**rpu_files.empty_manifest(), **shared, "stages": keep})


def training_images(run_dir: str) -> int:
    """Training images a finished run consumed (PBT and rPU-VAE: every member and replica)."""
    if _resumable(run_dir):
        return int(run_training_images(run_dir)["total"])
    results = read_json(paths.step_results_json(paths.results_dir(os.path.join(run_dir, paths.MODEL_DIR)), "train"))
    if "training_images" not in results:
        raise ValueError(f"{run_dir}: its train results have no training_images (trained by an older rpu_tf?); "
                         "train it again to count its images.")
    return int(results["training_images"])


def evaluate_job(study: Study, run_dir: str) -> EvaluateJob:
    return EvaluateJob(run_dir, tuple(_resolve(study, m) for m in study.metrics))


def is_evaluated(study: Study, run_dir: str) -> bool:
    names = [os.path.splitext(os.path.basename(m))[0] for m in study.metrics]
    return all(os.path.exists(paths.step_aggregate_json(paths.results_dir(paths.metric_dir(run_dir, "mean", n)),
                                                        "evaluation")) for n in names)
