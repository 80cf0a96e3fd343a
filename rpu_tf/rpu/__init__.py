"""The rPU-VAE recursion (Algorithm 1): metaEpochs, dataset reduction, leaf-runs, surrogate labels."""

from rpu_tf.rpu.reduction import (
    LatentIntervals,
    ReductionResult,
    active_latents,
    find_intervals,
    reduce_indices,
)

from rpu_tf.rpu.pbt_vae import PBTVAEResult, pbt_vae_with_gin, run_pbt_vae
from rpu_tf.rpu.recursive import RPUVAE, rpu_vae_with_gin, run_rpu_vae

__all__ = ["RPUVAE", "rpu_vae_with_gin", "run_rpu_vae", "PBTVAEResult", "pbt_vae_with_gin", "run_pbt_vae","LatentIntervals", "ReductionResult", "active_latents", "find_intervals", "reduce_indices"]
