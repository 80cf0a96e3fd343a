"""A study in TensorBoard's HPARAMS tab, written with its report.

``STUDY_DIR/report/tensorboard/<method>/seed<k>/`` holds one session per reported run
(``tensorboard --logdir STUDY_DIR/report/tensorboard``): its method, Fig. 4 group, seed,
leaf-runs (rPU-VAE variants) and the method's own bindings (``beta_tc_vae.beta = 6.`` is the
hyperparameter ``beta_tc_vae.beta`` = 6) against its metrics: MIG and DCI of the mean
representation, training images and wall seconds. The folder is rewritten with each report
(TensorBoard reads a session's first start only). Each run's own curves stay in its run
directory (``RUN/tensorboard/``).
"""

from __future__ import annotations

import math
import os
import shutil
from typing import Sequence, Union

from rpu_tf.studies.spec import Study, slug
from rpu_tf.training.summaries import SummaryWriter, write_session

#: The report's TensorBoard folder, in ``STUDY_DIR/report/``.
BOARD_DIR = "tensorboard"


def binding_value(text: str) -> Union[float, str]:
    """A binding's value as a hyperparameter: a number when it reads as one, else the text
    (quotes removed)."""
    try:
        value = float(text)
    except ValueError:
        return text.strip().strip("'\"")
    return value if math.isfinite(value) else text.strip()


def write_study_board(study: Study, results: Sequence, report_dir: str) -> str:
    """Writes one session per :class:`~rpu_tf.studies.report.RunResult` of ``results`` to
    ``report_dir/tensorboard`` (replacing what an earlier report wrote); returns the folder."""
    logdir = os.path.join(report_dir, BOARD_DIR)
    shutil.rmtree(logdir, ignore_errors=True)
    methods = {method.name: method for method in study.methods}
    for result in results:
        folder = os.path.join(logdir, slug(result.name), f"seed{int(result.seed)}")
        hparams: dict = {"method": result.name, "group": result.label, "seed": float(result.seed)}
        if result.leaf_runs is not None:
            hparams["leaf_runs"] = float(result.leaf_runs)
        method = methods.get(result.name)
        for binding in (method.bindings if method is not None else ()):
            name, equals, value = binding.partition("=")
            if equals and name.strip() and not name.strip().startswith("include"):
                hparams[name.strip()] = binding_value(value.strip())
        write_session(folder, hparams, group_name=f"{study.name}/{slug(result.name)}/seed{int(result.seed)}")
        writer = SummaryWriter(folder)
        writer.write(0, {"mig": result.value("mig"), "dci": result.value("dci"),
                         "training_images": float(result.training_images), "wall_seconds": result.wall_seconds})
        writer.close()
    return logdir
