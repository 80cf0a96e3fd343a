"""rPU-VAE: Algorithm 1 of the paper, in one resumable run.

::

    labels_0 <- PBT-U-VAE(D)                         # "initial" metaEpoch, until convergence
    for i in 0 .. max_leaf_runs-1:                   # leaf-runs
        d <- reduce(D, labels_0, rank=i)
        while |d| > min_dataset_size and the branch goes on:
            labels_j <- PBT-U-VAE(d)                  # one metaEpoch
            d <- reduce(d, labels_j, rank=0)
    theta <- PBT-S-VAE(D, surrogate labels)           # "final", MIG against the labels

After each metaEpoch the best replica of the best member encodes its data set; its active
latents (:func:`~rpu_tf.rpu.reduction.active_latents`) are that data set's surrogate labels,
and :func:`~rpu_tf.rpu.reduction.reduce_indices` cuts the data set. A branch ends, with the
reason logged, when the best UDR is below ``udr_threshold``, no latent is active, the
reduction finds no structure, or the data set is not larger than ``min_dataset_size``.
Every metaEpoch starts a fresh population (its own seed). The final PBT-S-VAE trains on the
whole data set, scored by :class:`~rpu_tf.training.scoring.SurrogateMIGScore`: per leaf-run
the MIG against ``labels_0`` and that leaf-run's labels, then the median.

PBT settings apply to all populations; gin scopes ``metaepoch/`` and ``final/`` override them
for the metaEpochs or the final run (e.g. ``final/pbt_vae.num_replicas = 1``).

Run directory (``run_dir``)::

    manifest.json                 completed stages, what each learned, the branch decisions
    stages/<stage>/pbt/           the stage's PBT run (resumable on its own)
    stages/<stage>/model/         the stage's best replica (rpu_train's model layout)
    stages/<stage>/labels.npz     root indices, surrogate labels, KL, active latents, kept indices
    stages/<stage>/traversals.png latent traversals of the best replica, active latents bright
    stages/<stage>/reduction.png  sorted codes, gaps, peaks and the kept interval (Fig. 3)
    model/                        the final model (Keras file, SavedModel, results)
    metrics/mean/{mig,dci}/results/   final model vs ground truth (labelled data only)
    summary.json                  per metaEpoch: size, active latents, best-matching factor; MIG/DCI

Latent indices in the manifest, labels and summary are 0-based; figures label latents
z1 .. zD as the paper does.

Re-running the same command continues: finished stages are loaded, an interrupted stage
resumes its PBT at the last finished member step.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from typing import Optional, Sequence

import gin
import numpy as np

from rpu_tf.data import named_data
from rpu_tf.data.ground_truth_data import FiniteGroundTruthData
from rpu_tf.data.reduced import ReducedData
from rpu_tf.pbt import storage
from rpu_tf.rpu import figures
from rpu_tf.rpu.pbt_vae import PBTVAEResult, prepare_resumable_run_directory, run_pbt_vae
from rpu_tf.rpu.reduction import active_latents, reduce_indices
from rpu_tf.training import runtime
from rpu_tf.training.representation import encode_data_set, gaussian_kl_per_latent
from rpu_tf.training.scoring import SurrogateMIGScore, UDRScore
from rpu_tf.utils.gin_files import parse_gin

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
STAGES = "stages"


@dataclasses.dataclass
class StageRecord:
    """What one metaEpoch learned (stored in the manifest)."""

    name: str
    leaf_run: Optional[int]
    meta_epoch: int
    dataset_size: int
    best_score: float
    generations: int
    stop_reason: str
    active_latents: list
    kl: list
    kept_size: Optional[int]
    end_reason: Optional[str]

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


class RPUVAE:
    """The rPU-VAE recursion on a finite data set (see the module docstring).

    Args:
      run_dir: the run directory.
      data: a finite data set (``FiniteGroundTruthData``); labels are not needed.
      max_leaf_runs: leaf-runs after the initial metaEpoch (paper: 3).
      max_meta_epochs: metaEpochs per leaf-run at most (a safety limit; the paper has none).
      min_dataset_size: a data set must be larger than this to train on (paper's code: 10).
      udr_threshold: a metaEpoch whose best UDR is below this ends its branch (paper's
        code: 0.1).
      encode_batch_size: batch size when encoding whole data sets.
      seed: base seed; stage k's population uses ``seed + k``.
      evaluate_final: compute MIG and DCI of the final model against ground truth (only
        for labelled data).
      evaluation_points: points per ground-truth metric (MIG: train; DCI: train, half test).
    """

    def __init__(self, run_dir: str, data: FiniteGroundTruthData, max_leaf_runs: int = 3,
                 max_meta_epochs: int = 10, min_dataset_size: int = 10, udr_threshold: float = 0.1,
                 encode_batch_size: int = 256, seed: int = 0, evaluate_final: bool = True,
                 evaluation_points: int = 10000):
        if not isinstance(data, FiniteGroundTruthData):
            raise ValueError(f"rPU-VAE needs a data set with a finite index to reduce; {type(data).__name__} "
                             "has none. Use a grid data set (sprites, dsprites_full, shapes3d) or images/celeba.")
        if max_leaf_runs < 0 or max_meta_epochs < 1 or min_dataset_size < 1:
            raise ValueError("rpu_vae.max_leaf_runs must be >= 0, max_meta_epochs >= 1, min_dataset_size >= 1.")
        self.run_dir = run_dir
        self.data = data
        self.max_leaf_runs = int(max_leaf_runs)
        self.max_meta_epochs = int(max_meta_epochs)
        self.min_dataset_size = int(min_dataset_size)
        self.udr_threshold = float(udr_threshold)
        self.encode_batch_size = int(encode_batch_size)
        self.seed = int(seed)
        self.evaluate_final = bool(evaluate_final)
        self.evaluation_points = int(evaluation_points)
        self._stage_counter = 0

    # --- manifest ---------------------------------------------------------------------------
    def _manifest_path(self) -> str:
        return os.path.join(self.run_dir, MANIFEST)

    def _load_manifest(self) -> dict:
        if os.path.exists(self._manifest_path()):
            return storage.read_json(self._manifest_path())
        return {"stages": {}, "leaf_runs": [], "final": None}

    def _save_manifest(self, manifest: dict) -> None:
        storage.atomic_write_json(self._manifest_path(), manifest)

    def _stage_dir(self, name: str) -> str:
        return os.path.join(self.run_dir, STAGES, name)

    # --- one metaEpoch ------------------------------------------------------------------------
    def _meta_epoch(self, manifest: dict, name: str, data: FiniteGroundTruthData, leaf_run: Optional[int],
                    meta_epoch: int, rank: int) -> tuple[StageRecord, Optional[np.ndarray], Optional[np.ndarray]]:
        """Runs (or loads) one metaEpoch; returns its record, its label block and kept positions."""
        self._stage_counter += 1
        stage_dir = self._stage_dir(name)
        labels_path = os.path.join(stage_dir, "labels.npz")
        if name in manifest["stages"] and os.path.exists(labels_path):
            record = StageRecord(**manifest["stages"][name])
            saved = storage.load_state(labels_path)
            labels = saved.get("labels")
            kept = saved.get("kept")
            logger.info("rPU-VAE %s: already done (%d images, active latents %s).", name, record.dataset_size,
                        record.active_latents)
            return record, (labels if labels is not None and labels.size else None), \
                (kept if kept is not None and kept.size else None)
        logger.info("rPU-VAE %s: PBT-U-VAE (UDR) on %d images.", name, data.num_observations)
        with gin.config_scope("metaepoch"):
            result = run_pbt_vae(stage_dir, data, scorer=UDRScore(), seed=self.seed + self._stage_counter,
                                 fingerprint={"stage": name})
        record, labels, kept, reduction = self._label_and_reduce(name, stage_dir, result, data, leaf_run,
                                                                 meta_epoch, rank)
        root = _root_indices(data)
        no_kept = np.zeros(0, np.int64)
        storage.save_state(labels_path, {
            "root_indices": root, "labels": labels if labels is not None else np.zeros((0, 0)),
            "kl": np.asarray(record.kl), "active": np.asarray(record.active_latents, np.int64),
            "kept": kept if kept is not None else no_kept,
            "kept_root_indices": root[kept] if kept is not None else no_kept,
            # Per active latent: its peaks (sorted positions) and the chosen interval (start,
            # stop) in sorted order, the rank of that interval among the latent's candidates.
            "reduction": _reduction_record(reduction)})
        manifest["stages"][name] = record.to_json()
        self._save_manifest(manifest)
        return record, labels, kept

    def _label_and_reduce(self, name, stage_dir, result: PBTVAEResult, data, leaf_run, meta_epoch, rank):
        member = result.load_best_member()
        model = member.group.model(result.best_replica)
        means, logvars = encode_data_set(model, data, batch_size=self.encode_batch_size)
        kl = gaussian_kl_per_latent(means, logvars)
        active = active_latents(kl)
        best = float(result.pbt.best_score)
        figures.save_traversals(os.path.join(stage_dir, "traversals.png"), model,
                                data.observations_from_indices([0])[0], kl, active)
        end_reason, labels, kept, reduction = None, None, None, None
        if best < self.udr_threshold:
            end_reason = f"best UDR {best:.3f} is below udr_threshold={self.udr_threshold}"
        elif active.size == 0:
            end_reason = "the best replica has no active latent (KL above active_latents.active_kl_threshold)"
        else:
            labels = means[:, active].astype(np.float64)
            reduction = reduce_indices(labels, rank=rank)
            figures.plot_reduction(os.path.join(stage_dir, "reduction.png"), labels, reduction.latents,
                                   reduction.indices, active.tolist())
            if reduction.found:
                kept = reduction.indices
            else:
                end_reason = f"reduction found no structure: {reduction.reason}"
        record = StageRecord(name=name, leaf_run=leaf_run, meta_epoch=meta_epoch, dataset_size=data.num_observations,
                             best_score=best, generations=result.pbt.generations, stop_reason=result.pbt.stop_reason,
                             active_latents=active.tolist(), kl=[float(v) for v in kl],
                             kept_size=None if kept is None else int(kept.size), end_reason=end_reason)
        logger.info("rPU-VAE %s: best UDR %.3f, active latents %s (KL %s)%s.", name, best, active.tolist(),
                    np.round(kl[active], 2).tolist(),
                    f", kept {kept.size} of {data.num_observations}" if kept is not None else f"; {end_reason}")
        return record, labels, kept, reduction

    # --- the recursion -------------------------------------------------------------------------
    def run(self) -> dict:
        os.makedirs(self.run_dir, exist_ok=True)
        manifest = self._load_manifest()
        start = time.time()
        initial, labels_0, _ = self._meta_epoch(manifest, "initial", self.data, None, 0, rank=0)
        if labels_0 is None:
            raise RuntimeError(
                f"rPU-VAE: the initial metaEpoch learned nothing to label ({initial.end_reason}). Train longer "
                "(pbt_vae.generation_images, pbt_stopping.max_generations), lower "
                "active_latents.active_kl_threshold or rpu_vae.udr_threshold.")
        all_indices = _root_indices(self.data)
        surrogate: list[list[tuple[np.ndarray, np.ndarray]]] = []
        for leaf in range(self.max_leaf_runs):
            blocks = [(all_indices, labels_0)]
            first = reduce_indices(labels_0, rank=leaf)
            if not first.found:
                logger.info("rPU-VAE: no leaf-run %d: %s.", leaf + 1, first.reason)
                break
            data: FiniteGroundTruthData = ReducedData(self.data, first.indices)
            for meta in range(1, self.max_meta_epochs + 1):
                name = f"leaf{leaf + 1}_meta{meta}"
                if data.num_observations <= self.min_dataset_size:
                    logger.info("rPU-VAE %s: %d images left, not more than min_dataset_size=%d; leaf-run ends.",
                                name, data.num_observations, self.min_dataset_size)
                    break
                record, labels, kept = self._meta_epoch(manifest, name, data, leaf + 1, meta, rank=0)
                if labels is not None:
                    blocks.append((_root_indices(data), labels))
                if kept is None:
                    logger.info("rPU-VAE %s: leaf-run ends: %s.", name, record.end_reason)
                    break
                data = ReducedData(data, kept)
            surrogate.append(blocks)
        if not surrogate:
            surrogate = [[(all_indices, labels_0)]]
        manifest["leaf_runs"] = [[{"labelled_images": int(len(idx)), "labels": int(lab.shape[1])} for idx, lab in run]
                                 for run in surrogate]
        self._save_manifest(manifest)
        final = self._final(manifest, surrogate)
        summary = self._summary(manifest, final, time.time() - start)
        storage.atomic_write_json(os.path.join(self.run_dir, "summary.json"), summary)
        return summary

    def _final(self, manifest: dict, surrogate) -> dict:
        num_labels = sum(lab.shape[1] for run in surrogate for _, lab in run)
        if num_labels == 0:
            raise RuntimeError("rPU-VAE: no surrogate labels to train the final model on; see the stage reasons "
                               "in manifest.json and train the metaEpochs longer.")
        logger.info("rPU-VAE final: PBT-S-VAE on %d images, MIG against %d label blocks in %d leaf-runs.",
                    self.data.num_observations, sum(len(run) for run in surrogate), len(surrogate))
        with gin.config_scope("final"):
            result = run_pbt_vae(self.run_dir, self.data, scorer=SurrogateMIGScore(surrogate), seed=self.seed,
                                 fingerprint={"stage": "final", "label_blocks": [[len(i) for i, _ in run]
                                                                                 for run in surrogate]})
        final = {"best_score": result.pbt.best_score, "generations": result.pbt.generations,
                 "stop_reason": result.pbt.stop_reason, "best_hyperparameters": result.pbt.best_hyperparameters,
                 "leaf_run_scores": result.pbt.best_details.get("leaf_run_scores")}
        if self.evaluate_final and self.data.num_factors > 0:
            member = result.load_best_member()
            final["ground_truth"] = evaluate_ground_truth(member.group.model(result.best_replica), self.data,
                                                          self.run_dir, self.evaluation_points, self.seed)
        manifest["final"] = final
        self._save_manifest(manifest)
        return final

    def _summary(self, manifest: dict, final: dict, elapsed: float) -> dict:
        stages = []
        for name, rec in manifest["stages"].items():
            entry = dict(rec)
            if self.data.num_factors > 0 and rec["active_latents"]:
                entry["factor_tracked"] = self._factors_tracked(name)
            stages.append(entry)
        return {"data": self.data.name, "num_observations": self.data.num_observations, "stages": stages,
                "final": final, "elapsed_time": elapsed}

    def _factors_tracked(self, name: str) -> list[dict]:
        """For each active latent of a stage: mutual information with each ground-truth factor."""
        from rpu_tf.metrics import utils

        saved = storage.load_state(os.path.join(self._stage_dir(name), "labels.npz"))
        idx = saved["root_indices"]
        factors = self.data.index_to_factors(idx).T
        codes = utils.histogram_discretize(saved["labels"].T, num_bins=20)
        mi = utils.discrete_mutual_info(codes, factors)
        names = getattr(self.data, "factor_names", [f"factor_{i}" for i in range(factors.shape[0])])
        out = []
        for row, latent in zip(mi, saved["active"].tolist()):
            best = int(np.argmax(row))
            out.append({"latent": int(latent), "factor": names[best],
                        "mutual_information": {n: float(v) for n, v in zip(names, row)}})
        return out


def _reduction_record(reduction) -> dict:
    """Peaks and chosen intervals of a reduction, per active latent, as arrays."""
    if reduction is None:
        return {}
    out = {}
    for j, latent in enumerate(reduction.latents):
        entry = {"peaks": np.asarray(latent.peaks, np.int64), "threshold": np.asarray(latent.threshold)}
        if j < len(reduction.chosen) and latent.intervals:
            entry["chosen_rank"] = np.asarray(reduction.chosen[j], np.int64)
            entry["chosen_interval"] = np.asarray(latent.intervals[reduction.chosen[j]], np.int64)
        out[str(j)] = entry
    return out


def _root_indices(data: FiniteGroundTruthData) -> np.ndarray:
    if isinstance(data, ReducedData):
        return data.root_indices
    return np.arange(data.num_observations, dtype=np.int64)


def evaluate_ground_truth(model, data, run_dir: str, num_points: int, seed: int) -> dict:
    """MIG and DCI of ``model``'s mean representation against ground truth, in dlib's layout."""
    from rpu_tf.metrics import dci, mig, utils
    from rpu_tf.results.layout import update_result_directory
    from rpu_tf.training.representation import mean_representation_function

    function = mean_representation_function(model)
    out = {}
    start = time.time()
    result = mig.compute_mig(data, function, np.random.RandomState(seed), num_train=num_points, batch_size=64,
                             discretizer_fn=utils.histogram_discretize, num_bins=20)
    result["elapsed_time"] = time.time() - start
    update_result_directory(os.path.join(run_dir, "metrics", "mean", "mig", "results"), "evaluation", dict(result))
    out["discrete_mig"] = float(result["discrete_mig"])
    start = time.time()
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        result = dci.compute_dci(data, function, np.random.RandomState(seed), num_train=num_points,
                                 num_test=max(1, num_points // 2), batch_size=64)
    finally:
        np.random.set_state(state)
    result["elapsed_time"] = time.time() - start
    update_result_directory(os.path.join(run_dir, "metrics", "mean", "dci", "results"), "evaluation", dict(result))
    out.update({k: float(result[k]) for k in ("disentanglement", "completeness", "informativeness_test")})
    logger.info("rPU-VAE final model vs ground truth: MIG %.3f, DCI disentanglement %.3f.", out["discrete_mig"],
                out["disentanglement"])
    return out


@gin.configurable("rpu_vae", denylist=["run_dir", "data"])
def run_rpu_vae(run_dir: str, data: FiniteGroundTruthData, max_leaf_runs: int = 3, max_meta_epochs: int = 10,
                min_dataset_size: int = 10, udr_threshold: float = 0.1, encode_batch_size: int = 256,
                seed: int = 0, evaluate_final: bool = True, evaluation_points: int = 10000) -> dict:
    """Runs (or resumes) rPU-VAE; see :class:`RPUVAE` for the arguments. Returns the summary."""
    return RPUVAE(run_dir, data, max_leaf_runs, max_meta_epochs, min_dataset_size, udr_threshold,
                  encode_batch_size, seed, evaluate_final, evaluation_points).run()


def rpu_vae_with_gin(model_dir: str, overwrite: bool = False, gin_config_files: Sequence[str] = (),
                     gin_bindings: Sequence[str] = ()) -> dict:
    """Parses gin, runs :func:`run_rpu_vae` on ``dataset.name`` in ``model_dir``, clears gin."""
    parse_gin(gin_config_files, gin_bindings)
    try:
        options = runtime.runtime_options()
        runtime.configure(1, options)
        prepare_resumable_run_directory(model_dir, overwrite, MANIFEST)
        data = named_data.get_named_ground_truth_data()
        return run_rpu_vae(model_dir, data)
    finally:
        gin.clear_config()
