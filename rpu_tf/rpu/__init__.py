"""The rPU-VAE recursion (Algorithm 1): metaEpochs, dataset reduction, leaf-runs, surrogate labels.

``rpu_tf.rpu.reduction`` is pure numpy and imported eagerly; the TensorFlow pipelines
(``pbt_vae``, ``recursive``) load on first use of their names (importing them registers
their gin configurables ``pbt_vae`` and ``rpu_vae``).
"""

import importlib

from rpu_tf.rpu.reduction import (
    LatentIntervals,
    ReductionResult,
    active_latents,
    find_intervals,
    reduce_indices,
)

_LAZY = {
    "PBTVAEResult": "rpu_tf.rpu.pbt_vae", "pbt_vae_with_gin": "rpu_tf.rpu.pbt_vae",
    "run_pbt_vae": "rpu_tf.rpu.pbt_vae", "RPUVAE": "rpu_tf.rpu.recursive",
    "rpu_vae_with_gin": "rpu_tf.rpu.recursive", "run_rpu_vae": "rpu_tf.rpu.recursive",
}

__all__ = ["LatentIntervals", "ReductionResult", "active_latents", "find_intervals", "reduce_indices",
           *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'rpu_tf.rpu' has no attribute {name!r}")
