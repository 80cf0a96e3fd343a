"""Where trained models, representations and their outputs live in a run directory.

A run directory (``rpu_train --model_dir=RUN``; the rPU-VAE and PBT runs export their final
model the same way) is disentanglement_lib's "output directory": :mod:`rpu_tf.layout.paths`
owns its names, :mod:`rpu_tf.layout.run_state` says what it holds.

Every folder below a run that has this ``model/`` layout (e.g. each metaEpoch's best
replica, once a run exports them) can be evaluated with a glob (:func:`find_models`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import logging
import os
from typing import Iterator, Optional

from rpu_tf.layout import paths
from rpu_tf.layout.guard import check_directory, prepare_directory
from rpu_tf.layout.paths import MODEL_DIR as MODEL_SUBDIR
from rpu_tf.layout.paths import RESULTS_DIR, SAVED_MODEL_DIR, VISUALIZATIONS_DIR
from rpu_tf.layout.replace import replaced_on_success
from rpu_tf.layout.run_state import has_model, missing_model_files

logger = logging.getLogger(__name__)


class NotATrainedModelError(FileNotFoundError):
    """A folder lacks the files of a trained model or of a postprocessed representation."""


class _SavedModelFolder:
    """A folder holding a SavedModel and a disentanglement_lib result directory."""

    @property
    def folder(self) -> str:
        raise NotImplementedError

    @property
    def saved_model(self) -> str:
        return os.path.join(self.folder, SAVED_MODEL_DIR)

    @property
    def results_dir(self) -> str:
        return paths.results_dir(self.folder)


@dataclasses.dataclass(frozen=True)
class TrainedModel(_SavedModelFolder):
    """A trained model inside its run directory."""

    run_dir: str  # outputs (postprocessed/, metrics/, visualizations/) go here
    model_dir: str  # run_dir/model

    folder = property(lambda self: self.model_dir)
    #: The train step's operative gin config and results.
    train_gin = property(lambda self: paths.step_gin(self.results_dir, "train"))
    train_results = property(lambda self: paths.step_results_json(self.results_dir, "train"))

    def postprocessed_dir(self, representation: str) -> str:
        return paths.postprocessed_dir(self.run_dir, representation)

    def metric_dir(self, representation: str, metric: str) -> str:
        return paths.metric_dir(self.run_dir, representation, metric)

    @property
    def visualizations_dir(self) -> str:
        return os.path.join(self.run_dir, VISUALIZATIONS_DIR)


def locate_model(path: str) -> TrainedModel:
    """The trained model of run directory ``path`` (or of ``path`` = ``RUN/model``).

    Raises:
      NotATrainedModelError: saying which files were expected and which are missing.
    """
    if not os.path.isdir(path):
        raise NotATrainedModelError(
            f"--model_dir {path} does not exist. Expected a run directory written by "
            f"rpu_train --model_dir={path}.")
    nested = os.path.join(path, MODEL_SUBDIR)
    if not missing_model_files(nested):
        return TrainedModel(run_dir=path, model_dir=nested)
    if not missing_model_files(path) and os.path.basename(os.path.normpath(path)) == MODEL_SUBDIR:
        return TrainedModel(run_dir=os.path.dirname(os.path.normpath(path)), model_dir=path)
    # Report against RUN/model, unless the user pointed at a model folder itself.
    looks_like_model = os.path.isdir(os.path.join(path, SAVED_MODEL_DIR)) and not os.path.isdir(nested)
    checked = path if looks_like_model else nested
    missing = ", ".join(os.path.join(checked, rel) for rel in missing_model_files(checked))
    raise NotATrainedModelError(
        f"{path} is not a trained model: expected {os.path.join(path, MODEL_SUBDIR, SAVED_MODEL_DIR)}/ "
        f"(a SavedModel with a gaussian_encoder signature) and "
        f"{os.path.join(path, MODEL_SUBDIR, RESULTS_DIR, 'gin', 'train.gin')}, as "
        f"rpu_train --model_dir={path} writes them; missing: {missing}.")


def find_models(run_dir: str, model_subdir: Optional[str] = None) -> list[TrainedModel]:
    """The trained models to work on.

    Args:
      run_dir: a run directory (see the module docstring).
      model_subdir: None for the run's own model; else a glob relative to ``run_dir``
        (``**`` allowed, e.g. ``stages/*`` or ``**``): every matching folder
        that has the model layout, sorted.

    Raises:
      NotATrainedModelError: no model found (the message says what was expected).
    """
    if model_subdir is None:
        return [locate_model(run_dir)]
    if not os.path.isdir(run_dir):
        raise NotATrainedModelError(f"--model_dir {run_dir} does not exist.")
    matches = sorted(glob.glob(os.path.join(run_dir, model_subdir), recursive=True))
    models, seen = [], set()
    for match in matches:
        if not os.path.isdir(match) or os.path.basename(os.path.normpath(match)) == MODEL_SUBDIR:
            continue
        if has_model(match):
            model = locate_model(match)
            if model.model_dir not in seen:
                seen.add(model.model_dir)
                models.append(model)
    if not models:
        raise NotATrainedModelError(
            f"No folder matching {os.path.join(run_dir, model_subdir)} holds a trained model "
            f"(<folder>/{MODEL_SUBDIR}/{SAVED_MODEL_DIR}/ and "
            f"<folder>/{MODEL_SUBDIR}/{RESULTS_DIR}/gin/train.gin); {len(matches)} paths matched.")
    logger.info("Found %d trained models below %s.", len(models), run_dir)
    return models


@dataclasses.dataclass(frozen=True)
class Representation(_SavedModelFolder):
    """A postprocessed representation (disentanglement_lib's postprocessing output)."""

    path: str

    folder = property(lambda self: self.path)
    #: The postprocess step's operative gin config and aggregated results.
    postprocess_gin = property(lambda self: paths.step_gin(self.results_dir, "postprocess"))
    aggregate = property(lambda self: paths.step_aggregate_json(self.results_dir, "postprocess"))


def locate_representation(path: str) -> Representation:
    """The representation in ``path`` (``RUN/postprocessed/<name>``).

    Raises:
      NotATrainedModelError: saying what was expected.
    """
    rep = Representation(path)
    required = [os.path.join(rep.saved_model, "saved_model.pb"), rep.postprocess_gin, rep.aggregate]
    missing = [p for p in required if not os.path.isfile(p)]
    if missing:
        raise NotATrainedModelError(
            f"{path} is not a postprocessed representation: expected a SavedModel with a "
            f"'representation' signature in {rep.saved_model}/ and the postprocess results "
            f"in {rep.results_dir}/ (written by postprocess_with_gin, or rpu_evaluate on the "
            f"run directory); missing: {', '.join(missing)}.")
    return rep


def prepare_output_dir(path: str, overwrite: bool, marker: str = RESULTS_DIR,
                       flag: str = "--overwrite") -> None:
    """Refuses an existing non-empty output folder unless ``overwrite``; then removes it
    (only if it has ``marker``, by default ``results/``: see :func:`rpu_tf.layout.prepare_directory`)."""
    prepare_directory(path, overwrite, marker, what="Output", flag=flag)


@contextlib.contextmanager
def replaced_output(path: str, overwrite: bool, marker: str = RESULTS_DIR,
                    flag: str = "--overwrite") -> Iterator[str]:
    """Refuses ``path`` as :func:`prepare_output_dir` does, then yields an empty folder beside
    it for the new output, which replaces ``path`` only when the body succeeds: a failed
    attempt leaves the old output byte for byte (:mod:`rpu_tf.layout.replace`)."""
    check_directory(path, overwrite, marker, what="Output", flag=flag)
    with replaced_on_success() as replacement:
        yield replacement.stage(path)
