"""Bridges to other libraries' code running in the same process as rpu_tf.

- :mod:`rpu_tf.compat.dlib`: disentanglement_lib 1.5 on TF 2 / NumPy 2, its own gin configs
  unchanged, never ambiguous with rpu_tf's gin names.
"""

from rpu_tf.compat.dlib import dlib_gin, dlib_metric, import_dlib

__all__ = ["dlib_gin", "dlib_metric", "import_dlib"]
