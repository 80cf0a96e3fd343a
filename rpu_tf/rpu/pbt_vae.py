"""PBT-VAE: population-based training of VAE replica groups (paper sections 3 and 4).

``run_pbt_vae`` trains a population of members, each a group of ``num_replicas`` VAEs with
shared hyperparameters (learning rate, β or the model's regulariser weight, batch size),
scored by a gin-selected scorer:

- PBT-U-VAE (UDR): ``pbt_vae.scorer = @udr_score()``, 5 replicas;
- PBT-S-VAE (MIG): ``pbt_vae.scorer = @mig_score()``, 1 replica (``mig_score.num_labelled =
  1000`` for the semi-supervised 1000-PBT-S-VAE);
- any metric: ``pbt_vae.scorer = @metric_score()``.

The population is :class:`rpu_tf.pbt.PopulationBasedTraining` (gin scope ``pbt``: population
size, cutoff, perturbation factors, ...; ``pbt_stopping``: generations, convergence) in
``run_dir/pbt`` over the VAE search space of :mod:`rpu_tf.rpu.search_space`. Each generation trains every member on ``generation_images`` images (the
paper's code: ``max(10000, data set size)``). The best member's best replica is exported to
``run_dir/model`` in ``rpu_train``'s layout (Keras file, SavedModel, results).

``rpu_train`` runs it for ``pipeline.name = "pbt_vae"`` through
:func:`rpu_tf.pipelines.pbt_vae.pbt_vae_with_gin`; the rPU-VAE stages run it on their data sets.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import time
from typing import Any, Callable, Optional, Sequence

import gin
import numpy as np

from rpu_tf.data.ground_truth_data import FiniteGroundTruthData, GroundTruthData
from rpu_tf.layout import paths
from rpu_tf.layout.run_state import is_exported, is_pbt_finished, pbt_precision
from rpu_tf.layout.results import update_result_directory
from rpu_tf.models.vae import BaseVAE
from rpu_tf.pbt import PBTResult, PopulationBasedTraining, make_executor
from rpu_tf.rpu.population_board import PopulationBoard
from rpu_tf.rpu.search_space import vae_hyperparameter_space
from rpu_tf.rpu.vae_member import VAEMember, VAEMemberFactory, best_replica, export_replica
from rpu_tf.training import runtime
from rpu_tf.training.precision import check_resume_precision
from rpu_tf.training.supervision import Supervision
from rpu_tf.utils.files import read_json

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class PBTVAEResult:
    """What a PBT-VAE run produced."""

    pbt: PBTResult
    best_replica: int
    model_dir: str
    factory: VAEMemberFactory

    _best_member: Any = dataclasses.field(default=None, repr=False, compare=False)

    def load_best_member(self) -> VAEMember:
        """A :class:`~rpu_tf.rpu.vae_member.VAEMember` holding the best member's state
        (built once: export, labelling and evaluation share it)."""
        if self._best_member is None:
            self._best_member = self.factory()
            self._best_member.set_state(self.pbt.load_best_state())
        return self._best_member


def generation_images_for(data: GroundTruthData, generation_images: Optional[int],
                          min_generation_images: int) -> int:
    """Images each member trains per generation: given, or ``max(min, data set size)``."""
    if generation_images is not None:
        return int(generation_images)
    size = data.num_observations if isinstance(data, FiniteGroundTruthData) else 0
    return max(int(min_generation_images), int(size))


def _describe(obj: Any) -> Any:
    """A small JSON-able description of a scorer: its class and scalar settings."""
    def small(value) -> bool:
        if isinstance(value, dict):
            return all(small(v) for v in value.values())
        return isinstance(value, (int, float, str, bool, type(None)))

    settings = {k: v for k, v in vars(obj).items() if not k.startswith("_") and small(v)} \
        if hasattr(obj, "__dict__") else {}
    return {type(obj).__name__: settings}


@gin.configurable("pbt_vae", denylist=["run_dir", "data", "fingerprint", "initial_weights", "supervision"])
def run_pbt_vae(run_dir: str, data: GroundTruthData, scorer: Callable = gin.REQUIRED,
                model: BaseVAE = gin.REQUIRED, num_replicas: int = 5, executor: str = "local",
                generation_images: Optional[int] = None, min_generation_images: int = 10000,
                seed: int = 0, fingerprint: Optional[dict] = None,
                initial_weights: Optional[Sequence[np.ndarray]] = None,
                supervision: Optional[Supervision] = None) -> PBTVAEResult:
    """Runs (or resumes) PBT-VAE on ``data`` and exports the best model to ``run_dir/model``.

    Args:
      run_dir: the run folder (PBT state in ``pbt/``, the exported model in ``model/``).
      data: the training data set.
      scorer: member scorer (``@udr_score()``, ``@mig_score()``, ...).
      model: the model template, e.g. ``@beta_tc_vae()``; its hyperparameters are the
        starting point, PBT draws learning rate, regulariser weight and batch size.
      num_replicas: VAEs per member (paper: 5 for UDR, 1 for MIG).
      executor: ``"local"`` or ``"ray"`` (settings in gin scope ``ray_executor``).
      generation_images: images per member per generation; None: the paper's
        ``max(min_generation_images, data set size)``.
      min_generation_images: the floor of that rule (paper: 10000).
      seed: seeds the population (hyperparameters, initialisations, data streams).
      fingerprint: extra JSON-able description that a resume must match.
      initial_weights: warm start: new members start from these weights (one model's
        ``get_weights()``) instead of random ones (not gin: the caller's choice).
      supervision: a supervised term every member trains with (not gin: the caller's;
        :mod:`rpu_tf.training.supervision`); part of the fingerprint.
    """
    start = time.time()
    options = runtime.runtime_options()
    factory = VAEMemberFactory(model, data, scorer, num_replicas,
                               jit_compile=options.jit_compile, initial_weights=initial_weights,
                               supervision=supervision, threads=(options.intra_op_threads, options.inter_op_threads))
    space = vae_hyperparameter_space(beta_name=type(model).hyperparameter_names[0])
    budget = generation_images_for(data, generation_images, min_generation_images)
    description = {
        "model": type(model).__name__,
        "model_config": json.loads(json.dumps({k: v for k, v in model.get_config().items()
                                               if k not in ("name", "seed", "trainable", "dtype")}, default=str)),
        "num_replicas": int(num_replicas), "data": data.name,
        "num_observations": getattr(data, "num_observations", None),
        "scorer": json.loads(json.dumps(_describe(scorer), default=str)), **(fingerprint or {}),
    }
    if supervision is not None:
        description["supervision"] = supervision.describe()
    pbt_dir = os.path.join(run_dir, paths.PBT_DIR)
    check_pbt_precision(pbt_dir, factory.precision)
    runner = make_executor(executor, factory)
    logdir = os.path.join(run_dir, paths.TENSORBOARD_DIR)  # tensorboard --logdir RUN
    if not os.path.isdir(pbt_dir):  # curves of a run that is being redone (--redo_from); a resumed one keeps its own
        shutil.rmtree(logdir, ignore_errors=True)
    stage = {"stage": str(fingerprint["stage"])} if fingerprint and "stage" in fingerprint else {}
    board = PopulationBoard(logdir, pbt_dir, {"scorer": type(scorer).__name__, **stage})  # rpu_tf.rpu.population_board
    try:
        pbt = PopulationBasedTraining(pbt_dir, runner, space, generation_budget=budget,
                                      budget_unit="images", seed=seed, fingerprint=description)
        pbt.on_generation, pbt.on_member_step = board, board.on_member_step
        logger.info("PBT-VAE: %d members of %d %s on %s (%s), %d images per member and generation.",
                    pbt.population_size, num_replicas, type(model).__name__, data.name,
                    type(scorer).__name__, budget)
        result = pbt.run()
        board.write_sessions()
    finally:
        runner.close()
        board.close()
    out = PBTVAEResult(result, best_replica(result.best_details), os.path.join(run_dir, paths.MODEL_DIR), factory)
    _export(out, data, time.time() - start)
    return out


def check_pbt_precision(pbt_dir: str, precision: str) -> None:
    """Raises :class:`~rpu_tf.training.precision.PrecisionChangeError` when the unfinished PBT
    run in ``pbt_dir`` trained its members in another precision than ``precision`` (as its
    newest readable member checkpoint records). A finished run is read in any precision."""
    if is_pbt_finished(pbt_dir):
        return
    check_resume_precision(f"The stopped PBT run in {os.path.dirname(pbt_dir)}", pbt_precision(pbt_dir), precision)


def _exported(result: PBTVAEResult) -> bool:
    """Whether ``result.model_dir`` holds this run's best replica already (a rerun of a
    finished run: the results, written last, name the same member, replica and score)."""
    if not is_exported(result.model_dir):
        return False
    try:
        stored = read_json(paths.step_results_json(paths.results_dir(result.model_dir), "train"))
    except ValueError:
        return False
    pbt = result.pbt
    return (stored.get("best_member_id"), stored.get("best_replica"), stored.get("score"),
            stored.get("generations")) == (pbt.best_member_id, result.best_replica, pbt.best_score, pbt.generations)


def _export(result: PBTVAEResult, data: GroundTruthData, elapsed: float) -> None:
    """Writes the best member's best replica and its results to ``result.model_dir`` (not
    again when a finished run is rerun)."""
    if _exported(result):
        logger.info("PBT-VAE already finished and exported to %s.", result.model_dir)
        return
    member = result.load_best_member()
    export_replica(member.group, result.best_replica, result.model_dir)
    pbt = result.pbt
    results = {
        "score": pbt.best_score, "best_member_id": pbt.best_member_id, "best_replica": result.best_replica,
        "generations": pbt.generations, "stop_reason": pbt.stop_reason, "global_step": member.group.step,
        "precision": member.group.precision,
        "elapsed_time": elapsed, **{f"hyperparameters.{k}": v for k, v in pbt.best_hyperparameters.items()},
    }
    update_result_directory(paths.results_dir(result.model_dir), "train", results)
    logger.info("PBT-VAE finished (%s after %d generations): best member %d, replica %d, score %.4f -> %s",
                pbt.stop_reason, pbt.generations, pbt.best_member_id, result.best_replica, pbt.best_score,
                result.model_dir)
