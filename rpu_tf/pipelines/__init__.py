"""Pipelines that drive several layers: the rPU-VAE run with its figures and evaluation, and
its Python API.

They sit between the CLIs and the evaluation/visualize layers (``rpu_train`` picks one by
``pipeline.name`` through :mod:`rpu_tf.registry`). From Python, without gin files::

    from rpu_tf.pipelines import RPUVAE, Population
    summary = RPUVAE.quickstart("runs/notebook").run()
"""

from rpu_tf.pipelines.python_api import Population, RPUVAE
from rpu_tf.pipelines.rpu_vae import rpu_vae_with_gin, run_rpu_vae

__all__ = ["Population", "RPUVAE", "rpu_vae_with_gin", "run_rpu_vae"]
