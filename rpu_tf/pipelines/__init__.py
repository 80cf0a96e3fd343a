"""Pipelines that drive several layers: the rPU-VAE run with its figures and evaluation.

They sit between the CLIs and the evaluation/visualize layers (``rpu_train`` picks one by
``pipeline.name`` through :mod:`rpu_tf.registry`).
"""
