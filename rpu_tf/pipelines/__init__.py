"""Every training pipeline, each a short function with its gin-reading edge beside it:

- :mod:`~rpu_tf.pipelines.single_model`: one model (disentanglement_lib's baselines),
  ``train_with_gin``;
- :mod:`~rpu_tf.pipelines.train_together`: several single-model runs as one replica group,
  ``train_together_with_gin`` (``rpu_train_together``);
- :mod:`~rpu_tf.pipelines.pbt_vae`: PBT-VAE, ``pbt_vae_with_gin``;
- :mod:`~rpu_tf.pipelines.rpu_vae`: the rPU-VAE run with its figures and evaluation,
  ``rpu_vae_with_gin``; :mod:`~rpu_tf.pipelines.python_api`: the same from Python;
- :mod:`~rpu_tf.pipelines.choice`: which one a command's gin configs ask for
  (``pipeline.name``), parsed once: :func:`run_pipeline`.

They sit between the CLIs and the evaluation/visualize layers. From Python, without gin
files::

    from rpu_tf.pipelines import RPUVAE, Population
    summary = RPUVAE.quickstart("runs/notebook").run()
"""

from rpu_tf.pipelines.choice import PIPELINES, run_pipeline
from rpu_tf.pipelines.pbt_vae import pbt_vae_with_gin
from rpu_tf.pipelines.python_api import Population, RPUVAE
from rpu_tf.pipelines.rpu_vae import rpu_vae_with_gin, run_rpu_vae
from rpu_tf.pipelines.single_model import train_with_gin
from rpu_tf.pipelines.train_together import train_together_with_gin

__all__ = ["PIPELINES", "Population", "RPUVAE", "pbt_vae_with_gin", "rpu_vae_with_gin",
           "run_pipeline", "run_rpu_vae", "train_together_with_gin", "train_with_gin"]
