"""The rPU-VAE recursion (Algorithm 1): metaEpochs, dataset reduction, leaf-runs, surrogate labels."""

from rpu_tf.rpu.reduction import (
    LatentIntervals,
    ReductionResult,
    active_latents,
    find_intervals,
    reduce_indices,
)

__all__ = ["LatentIntervals", "ReductionResult", "active_latents", "find_intervals", "reduce_indices"]
