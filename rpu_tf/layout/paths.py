"""Every path of a run directory, relative to the folder it lives in. No TensorFlow.

::

    RUN/model/                              a trained model (rpu_train's layout):
        model.keras                         Keras file
        saved_model/                        SavedModel (gaussian_encoder, decoder, ...)
        results/{gin,json,aggregate}/train.*   disentanglement_lib's result directory
    RUN/checkpoint/                         a single model still training (removed when done):
        train.gin                           its settings, written before the first step
        state.npz                           the replica group's state at the last checkpoint
        group.json                          the runs that state trains (first run of a group)
    RUN/postprocessed/{mean,sampled}/       representation SavedModel + results (postprocess)
    RUN/metrics/{mean,sampled}/<metric>/results/   (evaluation: rpu_evaluate)
    RUN/ground_truth/{mig,dci}/results/     an rPU-VAE run's own check of its final model
                                            (never where rpu_evaluate writes)
    RUN/tensorboard/                        training curves (TensorBoard event files)
    RUN/visualizations/                     figures of the model (rpu_visualize)
    RUN/pbt/                                a PBT run (see below)
    RUN/manifest.json, RUN/summary.json     an rPU-VAE run (see below)
    RUN/stages/<stage>/                     one metaEpoch: pbt/, model/, labels.npz, figures,
                                            tensorboard/ (its population and figures/)

A PBT run folder (``RUN/pbt``, or ``RUN/stages/<stage>/pbt``)::

    pbt_config.json                  settings of the run; a resume must match them
    generations.jsonl                one record per member per finished generation
    population/gen_XXXXX.json        who trains what at the start of generation XXXXX
    checkpoints/gen_XXXXX/member_YYYY.npz / .json   state and score after generation XXXXX
    result.json                      the stop reason and the best member, once finished

Files whose content later decides results (``labels.npz``, ``state.npz``, member checkpoints,
``train.gin``, ``results/gin/*.gin``, ``model.keras``) have a checksum record ``FILE.sha256``
beside them (:mod:`rpu_tf.utils.checksums`).
"""

from __future__ import annotations

import os
import re

from rpu_tf.layout.names import check_index, check_stage_name

# --- a trained model -----------------------------------------------------------------------
MODEL_DIR = "model"
KERAS_FILE = "model.keras"
SAVED_MODEL_DIR = "saved_model"
RESULTS_DIR = "results"


# --- a single model still training -----------------------------------------------------------
TRAINING_CHECKPOINT_DIR = "checkpoint"
TRAINING_CLAIM_FILE = "train.gin"
TRAINING_STATE_FILE = "state.npz"
TRAINING_GROUP_FILE = "group.json"
#: ``RUN/checkpoint/run_id``: a random id written at the claim; it names the run in
#: ``group.json`` so that a moved or renamed run still finds its checkpoint.
TRAINING_RUN_ID_FILE = "run_id"


def training_checkpoint_dir(run_dir: str) -> str:
    """``RUN/checkpoint``: a single model still training."""
    return os.path.join(run_dir, TRAINING_CHECKPOINT_DIR)


def training_claim_file(run_dir: str) -> str:
    """``RUN/checkpoint/train.gin``: the claim (the settings) of a single model still training."""
    return os.path.join(run_dir, TRAINING_CHECKPOINT_DIR, TRAINING_CLAIM_FILE)


def training_state_file(run_dir: str) -> str:
    """``RUN/checkpoint/state.npz``: the replica group's state at the last checkpoint."""
    return os.path.join(run_dir, TRAINING_CHECKPOINT_DIR, TRAINING_STATE_FILE)


def train_results_file(run_dir: str) -> str:
    """``RUN/model/results/json/train_results.json``: a finished run's train results."""
    return step_results_json(results_dir(os.path.join(run_dir, MODEL_DIR)), "train")


def train_gin_file(run_dir: str) -> str:
    """``RUN/model/results/gin/train.gin``: the operative config a finished run trained with."""
    return step_gin(results_dir(os.path.join(run_dir, MODEL_DIR)), "train")


def results_dir(folder: str) -> str:
    """The disentanglement_lib result directory of a model (or representation) folder."""
    return os.path.join(folder, RESULTS_DIR)


def step_gin(results: str, step: str) -> str:
    """``results/gin/{step}.gin``."""
    return os.path.join(results, "gin", f"{step}.gin")


def step_config_json(results: str, step: str) -> str:
    """``results/json/{step}_config.json``."""
    return os.path.join(results, "json", f"{step}_config.json")


def step_results_json(results: str, step: str) -> str:
    """``results/json/{step}_results.json``."""
    return os.path.join(results, "json", f"{step}_results.json")


def step_aggregate_json(results: str, step: str) -> str:
    """``results/aggregate/{step}.json``."""
    return os.path.join(results, "aggregate", f"{step}.json")


# --- outputs next to a model -------------------------------------------------------------------
POSTPROCESSED_DIR = "postprocessed"
METRICS_DIR = "metrics"
VISUALIZATIONS_DIR = "visualizations"
ARTIFACTS_DIR = "artifacts"


def postprocessed_dir(run_dir: str, representation: str) -> str:
    """``RUN/postprocessed/<representation>``: a representation SavedModel and its results."""
    return os.path.join(run_dir, POSTPROCESSED_DIR, representation)


def metric_dir(run_dir: str, representation: str, metric: str) -> str:
    """``RUN/metrics/<representation>/<metric>``: one evaluation (its ``results/`` inside)."""
    return os.path.join(run_dir, METRICS_DIR, representation, metric)


#: An rPU-VAE run's own ground-truth check of its final model (MIG and DCI of the mean
#: representation), apart from ``metrics/`` so ``rpu_evaluate`` never meets it.
GROUND_TRUTH_DIR = "ground_truth"


def ground_truth_dir(run_dir: str, metric: str) -> str:
    """``RUN/ground_truth/<metric>`` (its ``results/`` inside, disentanglement_lib's layout)."""
    return os.path.join(run_dir, GROUND_TRUTH_DIR, metric)


# --- a PBT run ----------------------------------------------------------------------------------
PBT_DIR = "pbt"
#: TensorBoard event files of a single model or PBT run: ``RUN/tensorboard/`` (rpu_tf.training.summaries).
TENSORBOARD_DIR = "tensorboard"
PBT_CONFIG_FILE = "pbt_config.json"
GENERATIONS_FILE = "generations.jsonl"
PBT_RESULT_FILE = "result.json"
POPULATION_DIR = "population"
CHECKPOINTS_DIR = "checkpoints"
_CHECKPOINT = re.compile(r"gen_(\d+)[/\\]member_(\d+)\.")


def population_file(pbt_dir: str, generation: int) -> str:
    return os.path.join(pbt_dir, POPULATION_DIR, f"gen_{check_index(generation, 'generation'):05d}.json")


def population_glob(pbt_dir: str) -> str:
    return os.path.join(pbt_dir, POPULATION_DIR, "gen_*.json")


def checkpoint_generation_dir(pbt_dir: str, generation: int) -> str:
    return os.path.join(pbt_dir, CHECKPOINTS_DIR, f"gen_{check_index(generation, 'generation'):05d}")


def checkpoint_generation_dirs(pbt_dir: str) -> dict[int, str]:
    """``{generation: folder}`` of the checkpoint folders on disk."""
    root = os.path.join(pbt_dir, CHECKPOINTS_DIR)
    names = os.listdir(root) if os.path.isdir(root) else []
    return {int(n[4:]): os.path.join(root, n) for n in names if re.fullmatch(r"gen_\d+", n)}


def checkpoint_file(pbt_dir: str, generation: int, member_id: int, ext: str = "npz") -> str:
    return os.path.join(checkpoint_generation_dir(pbt_dir, generation),
                        f"member_{check_index(member_id, 'member id'):04d}.{ext}")


def parse_checkpoint_file(path: str) -> tuple[int, int]:
    """``(generation, member_id)`` of a path written by :func:`checkpoint_file`."""
    match = _CHECKPOINT.search(path)
    if match is None:
        raise ValueError(f"{path} is not a PBT member checkpoint (.../gen_XXXXX/member_YYYY.npz).")
    return int(match.group(1)), int(match.group(2))


# --- an rPU-VAE run -----------------------------------------------------------------------------
MANIFEST_FILE, SUMMARY_FILE = "manifest.json", "summary.json"
STAGES_DIR = "stages"
#: In a stage's folder: its surrogate labels and its figures.
LABELS_FILE, TRAVERSALS_FIGURE, REDUCTION_FIGURE = "labels.npz", "traversals.png", "reduction.png"
RECONSTRUCTIONS_FIGURE = "reconstructions.png"
#: The stage's figures as TensorBoard images: ``stages/<stage>/tensorboard/figures/``.
FIGURES_BOARD = "figures"


def stage_dir(run_dir: str, name: str) -> str:
    """The folder of stage ``name`` (``initial``, ``leaf1_meta1``, ...; any other name is
    refused: :func:`rpu_tf.layout.names.check_stage_name`)."""
    return os.path.join(run_dir, STAGES_DIR, check_stage_name(name, "stage name"))


def stage_labels_file(run_dir: str, name: str) -> str:
    return os.path.join(stage_dir(run_dir, name), LABELS_FILE)
