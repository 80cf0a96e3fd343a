"""The rPU-VAE pipeline: Algorithm 1 with the paper's stages, its figures, its evaluation.

``rpu_train`` runs it for ``pipeline.name = "rpu_vae"``. Settings are ``rpu_vae.*``; PBT
settings apply to all populations, gin scopes ``metaepoch/`` and ``final/`` override them for
the metaEpochs or the final run (e.g. ``final/pbt_vae.num_replicas = 1``). The run directory
(names in :mod:`rpu_tf.layout`)::

    manifest.json                 completed stages, what each learned, the branch decisions
    stages/<stage>/pbt/           the stage's PBT run (resumable on its own)
    stages/<stage>/model/         the stage's best replica (rpu_train's model layout)
    stages/<stage>/labels.npz     root indices, surrogate labels, KL, active latents, kept indices
    stages/<stage>/traversals.png, reconstructions.png, reduction.png    figures (rpu_tf.visualize.stages)
    stages/<stage>/tensorboard/   its population's curves (rpu_tf.rpu.population_board), its figures
    model/                        the final model (Keras file, SavedModel, results)
    ground_truth/{mig,dci}/results/   final model vs ground truth (labelled data only; rpu_evaluate
                                  writes metrics/ and postprocessed/ beside it)
    summary.json                  per metaEpoch: size, active latents, best-matching factor; MIG/DCI;
                                  training images per stage and in total; the precision

Latent indices in the manifest, labels, summary, logs and figures are 0-based (``z0`` ..
``z<D-1>``). Re-running the same command continues: finished stages are
loaded, an interrupted stage resumes its PBT at the last finished member step.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from typing import Iterator, Optional, Sequence

import gin

from rpu_tf.data import named_data
from rpu_tf.data.ground_truth_data import FiniteGroundTruthData
from rpu_tf.evaluation.ground_truth import NUM_BINS, evaluate_ground_truth, factors_tracked
from rpu_tf.layout import paths, rpu_files, run_state
from rpu_tf.rpu.algorithm import Settings, StageOutcome, run_algorithm_1
from rpu_tf.rpu.journal import StageJournal
from rpu_tf.pipelines.pbt_vae import models_per_step
from rpu_tf.rpu.pbt_vae import PBTVAEResult
from rpu_tf.rpu.stages import FINAL_WARM_STARTS, FinalSupervision, paper_stages
from rpu_tf.training.gin_context import parsed_gin, run_context
from rpu_tf.training.precision import default_precision
from rpu_tf.training.representation import DEFAULT_ENCODE_BATCH_SIZE, mean_representation_function
from rpu_tf.utils.whole_numbers import whole_number
from rpu_tf.visualize.stages import draw_stage_figures, figures_to_tensorboard

logger = logging.getLogger(__name__)


@gin.configurable("rpu_vae", denylist=["run_dir", "data"])
def run_rpu_vae(run_dir: str, data: FiniteGroundTruthData, max_leaf_runs: int = 3, max_meta_epochs: int = 10,
                min_dataset_size: int = 10, udr_threshold: float = 0.1,
                encode_batch_size: int = DEFAULT_ENCODE_BATCH_SIZE,
                seed: int = 0, evaluate_final: bool = True, evaluation_points: int = 10000,
                final_warm_start: str = "none", final_supervision_weight: float = 0.0,
                final_supervision_loss: str = "l2", final_supervision_batch_size: int = 64) -> dict:
    """Runs (or resumes) rPU-VAE on ``data`` in ``run_dir``; returns the summary.

    Args:
      run_dir: the run directory.
      data: a finite data set (``FiniteGroundTruthData``); labels are not needed.
      max_leaf_runs: leaf-runs after the initial metaEpoch (paper: 3).
      max_meta_epochs: metaEpochs per leaf-run at most (a safety limit; the paper has none).
      min_dataset_size: a data set must be larger than this to train on (paper's code: 10).
      udr_threshold: a metaEpoch whose best UDR is below this ends its branch (paper's code: 0.1).
      encode_batch_size: batch size when encoding whole data sets.
      seed: base seed; metaEpoch k's population uses ``seed + k``, the final one ``seed``.
      evaluate_final: compute MIG and DCI of the final model against ground truth (only
        for labelled data; settings in ``ground_truth_evaluation``).
      evaluation_points: points per ground-truth metric (MIG: train; DCI: train, half test).
      final_warm_start: how the final PBT-S-VAE's members start. ``"none"`` (the paper):
        random weights. ``"initial"`` (a deviation for small budgets): from the initial
        metaEpoch's best replica, so the final stage refines what UDR selected; its images
        are counted in the initial stage already.
      final_supervision_weight: the paper's final stage uses the surrogate labels only to
        score (0, the paper). > 0 (a deviation): the final members are also trained on them,
        ``weight * supervised loss`` added to the objective
        (:mod:`rpu_tf.rpu.surrogate_supervision`).
      final_supervision_loss: ``"l2"`` (standardised codes) or ``"xent"`` ([0, 1] targets).
      final_supervision_batch_size: labelled images per replica and step (encoder passes,
        not counted as training images).
    """
    if final_warm_start not in FINAL_WARM_STARTS:
        raise ValueError(f"rpu_vae.final_warm_start must be one of {FINAL_WARM_STARTS}, got {final_warm_start!r}.")
    if not isinstance(data, FiniteGroundTruthData):
        raise ValueError(f"rPU-VAE needs a data set with a finite index to reduce; {type(data).__name__} "
                         "has none. Use a grid data set (sprites, dsprites_full, shapes3d) or images/celeba.")
    settings = Settings(whole_number(max_leaf_runs, "rpu_vae.max_leaf_runs"),
                        whole_number(max_meta_epochs, "rpu_vae.max_meta_epochs"),
                        whole_number(min_dataset_size, "rpu_vae.min_dataset_size"), float(udr_threshold),
                        whole_number(seed, "rpu_vae.seed"))
    start = time.time()
    encode_batch_size = whole_number(encode_batch_size, "rpu_vae.encode_batch_size", 1)
    stages = paper_stages(run_dir, data, settings.seed, encode_batch_size,
                          on_stage=lambda outcome: stage_figures(run_dir, outcome, data),
                          final_warm_start=final_warm_start,
                          final_supervision=FinalSupervision(float(final_supervision_weight), str(final_supervision_loss),
                                                             whole_number(final_supervision_batch_size,
                                                                          "rpu_vae.final_supervision_batch_size", 1)))
    stages.journal.check_precision(default_precision())
    stages.journal.check_settings({**stage_settings(gin.config_str()), DATA_SETTING: describe_data(data)})
    outcome = run_algorithm_1(data, stages, settings)
    final = final_record(outcome.final)
    stored = stages.journal.manifest.get("final") or {}
    if {k: v for k, v in stored.items() if k not in GROUND_TRUTH_KEYS} == final and (
            "ground_truth" in stored or not (evaluate_final and data.num_factors > 0)):
        written = run_state.read_summary(run_dir)
        if written is not None:
            logger.info("rPU-VAE run %s is finished; nothing to recompute (--redo_from=final recomputes the final "
                        "stage).", run_dir)
            return written
    if evaluate_final and data.num_factors > 0:
        model = outcome.final.load_best_member().group.model(outcome.final.best_replica)
        final["ground_truth"] = evaluate_ground_truth(mean_representation_function(model), data, run_dir,
                                                      int(evaluation_points), settings.seed)
        final["ground_truth_settings"] = ground_truth_settings(int(evaluation_points), settings.seed,
                                                              default_precision())
    stages.journal.save_final(final)
    summary = summarise(run_dir, data, stages.journal.manifest, final, time.time() - start)
    rpu_files.write_summary(run_dir, summary)
    return summary


def stage_figures(run_dir: str, outcome: StageOutcome, data: FiniteGroundTruthData) -> None:
    """A finished metaEpoch's figures (traversals, reconstructions, reduction) in its folder
    and as TensorBoard images (``stages/<stage>/tensorboard/figures/``, step = its metaEpoch
    number in its leaf-run, 0 for the initial one)."""
    name = outcome.record.name
    figures_to_tensorboard(run_dir, name, draw_stage_figures(run_dir, name, data), outcome.record.meta_epoch)


#: The final record's keys that its ground-truth check adds (not part of what the stages computed).
GROUND_TRUTH_KEYS = ("ground_truth", "ground_truth_settings")


def ground_truth_settings(num_points: int, seed: int, precision: str) -> dict:
    """How ``summary.json``'s MIG and DCI were computed, and why ``rpu_evaluate``'s differ a
    little: this check encodes with the trained Keras model in its training precision and draws
    its points with the run's seed; ``rpu_evaluate`` encodes with the exported float32 model and
    disentanglement_lib's configs draw with seed 0 (quickstart seed 0 on a bfloat16 CPU: MIG
    0.512 here, 0.510 there; DCI 0.484 and 0.485)."""
    return {"representation": "mean", "encoder_precision": precision, "mig.num_train": num_points,
            "dci.num_train": num_points, "dci.num_test": max(1, num_points // 2),
            "num_bins": gin.get_bindings("ground_truth_evaluation").get("num_bins", NUM_BINS),
            "random_seed": seed,
            "rpu_evaluate": "encodes with the exported float32 model and evaluation.random_seed (0 in "
                            "gin_configs/metrics/*.gin): `rpu_evaluate --model_dir=RUN "
                            "--gin_config=gin_configs/metrics/fig4.txt` gives the comparable numbers of a study"}


#: Bindings that do not change what a metaEpoch computes (limits, evaluation, the final
#: stage's own settings, where and how fast it runs), left out of :func:`stage_settings`.
#: ``training.precision`` is checked as the precision it resolves to instead
#: (:meth:`~rpu_tf.rpu.journal.StageJournal.check_precision`), so ``"auto"`` may be pinned.
NOT_STAGE_SETTINGS = ("rpu_vae.max_leaf_runs", "rpu_vae.max_meta_epochs", "rpu_vae.evaluate_final",
                      "rpu_vae.evaluation_points", "rpu_vae.encode_batch_size", "rpu_vae.final_",
                      "ground_truth_evaluation.", "training.progress", "training.intra_op_threads",
                      "training.inter_op_threads", "training.jit_compile", "training.precision",
                      "training.model_batching", "ray_executor.", "pbt_vae.executor", "final/")


#: The key of the data set's description among the recorded settings (a run given another
#: data set object, e.g. through the Python API, must not reuse the stages of this one).
DATA_SETTING = "<data>"


def describe_data(data: FiniteGroundTruthData) -> str:
    """Name, size, factor sizes and image shape of ``data``, as the manifest records them."""
    return (f"{data.name}: {data.num_observations} images of {tuple(int(s) for s in data.observation_shape)}, "
            f"factors {[int(n) for n in data.factors_num_values]}")


def stage_settings(config: str) -> dict[str, str]:
    """``{binding: value}`` of a gin config string (``gin.config_str()``) that the metaEpochs
    depend on: everything bound except :data:`NOT_STAGE_SETTINGS` (values as gin prints them).
    The comparison on resume is of these bindings as text: binding a default value
    explicitly, or unbinding one, counts as a change."""
    settings, key = {}, None
    for line in config.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[:1].isspace() and key is not None:  # a value continued over lines
            settings[key] = (settings[key] + " " + line.strip().rstrip("\\")).strip()
            continue
        key, _, value = line.partition(" = ")
        key = key.strip()
        settings[key] = value.strip().rstrip("\\").strip()
    return {k: v for k, v in settings.items() if is_stage_setting(k)}


def is_stage_setting(key: str) -> bool:
    """Whether the binding ``key`` is one the metaEpochs depend on (not in :data:`NOT_STAGE_SETTINGS`)."""
    return not any(key.startswith(p) or f"/{p}" in key for p in NOT_STAGE_SETTINGS)


def final_record(result: PBTVAEResult) -> dict:
    """The manifest's ``final`` entry of the final PBT-S-VAE."""
    pbt = result.pbt
    return {"best_score": pbt.best_score, "generations": pbt.generations, "stop_reason": pbt.stop_reason,
            "best_hyperparameters": pbt.best_hyperparameters,
            "leaf_run_scores": pbt.best_details.get("leaf_run_scores")}


def summarise(run_dir: str, data: FiniteGroundTruthData, manifest: dict, final: dict, elapsed: float) -> dict:
    """``summary.json``: the stages (with the factor each active latent tracks) and the final model."""
    stages = []
    for name, record in manifest["stages"].items():
        entry = dict(record)
        saved = rpu_files.read_stage_labels(run_dir, name) if data.num_factors > 0 else None
        if saved is not None and saved.labels is not None:  # labelled: UDR high enough, latents active
            entry["factor_tracked"] = factors_tracked(data, saved.root_indices, saved.labels, saved.active.tolist())
        stages.append(entry)
    return {"data": data.name, "num_observations": data.num_observations, "stages": stages, "final": final,
            "training_images": run_state.run_training_images(run_dir), "precision": default_precision(),
            "elapsed_time": elapsed}


def rpu_vae_from_gin(model_dir: str, overwrite: bool = False, redo_from: Optional[str] = None,
                     data: Optional[FiniteGroundTruthData] = None) -> dict:
    """Runs :func:`run_rpu_vae` on ``data`` (None: ``dataset.name``) in ``model_dir`` on the
    config gin holds (parsed once by the caller: :func:`rpu_tf.pipelines.choice.run_pipeline`).

    ``redo_from`` (``rpu_train --redo_from``) recomputes a stopped or finished run from a stage
    on: that stage, every later one and the final stage are deleted and computed again with the
    current settings; earlier stages are kept (``"final"``: the final stage alone). Use it when
    changed settings concern only later stages (e.g. ``metaepoch/leaf/`` or ``final/``)."""
    with run_context(model_dir, overwrite, marker=paths.MANIFEST_FILE, resumable=True,
                     models_per_step=models_per_step):  # sized for the metaEpochs' members
        data = data if data is not None else named_data.get_named_ground_truth_data()
        if not redo_from:
            return run_rpu_vae(model_dir, data)
        # the precision first: a refused redo deletes nothing
        if run_state.run_kind(model_dir) == run_state.RPU_VAE:
            StageJournal(model_dir).check_precision(default_precision(), redo=True)
        with redo_stages_from(model_dir, redo_from):  # a failed redo leaves the old stages
            return run_rpu_vae(model_dir, data)


def rpu_vae_with_gin(model_dir: str, overwrite: bool = False, gin_config_files: Sequence[str] = (),
                     gin_bindings: Sequence[str] = (), redo_from: Optional[str] = None,
                     data: Optional[FiniteGroundTruthData] = None) -> dict:
    """Parses gin, runs :func:`rpu_vae_from_gin`, clears gin."""
    with parsed_gin(gin_config_files, gin_bindings, pipeline="rpu_vae"):
        return rpu_vae_from_gin(model_dir, overwrite, redo_from, data)


@contextlib.contextmanager
def redo_stages_from(run_dir: str, stage: str) -> Iterator[None]:
    """While the body runs, ``stage`` (``"final"``: the final stage alone), every later stage
    and the final stage of the run in ``run_dir`` are forgotten, so the run computes them again
    (``--redo_from``); their old files are deleted when the body succeeds and restored, with
    the manifest, when it fails (:meth:`StageJournal.redoing_from`)."""
    if run_state.run_kind(run_dir) != run_state.RPU_VAE:
        raise ValueError(f"--redo_from={stage}: {run_dir} holds no rPU-VAE run yet; run it without "
                         "--redo_from first.")
    with StageJournal(run_dir).redoing_from(stage) as moved:
        logger.info("Recomputing %s from %s on (the old %s are kept until it succeeds).", run_dir, stage,
                    ", ".join(os.path.relpath(p, run_dir) for p in moved) or "nothing")
        yield