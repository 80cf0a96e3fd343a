"""Keras 3 VAEs, architectures and losses with disentanglement_lib's gin names.

Importing this package registers the gin configurables (``encoder``, ``decoder``,
``conv_encoder``, ``deconv_decoder``, ``fc_encoder``, ``fc_decoder``, ``fc_discriminator``,
``discriminator``, ``reconstruction_loss``, ``bernoulli_loss``, ``l2_loss``, ``vae``,
``beta_tc_vae``, ``factor_vae``, ``dip_vae``, ``annealed_vae``) and the Keras serializable
model classes.
"""

from rpu_tf.utils.tf_startup import import_tensorflow_quietly

import_tensorflow_quietly()  # first: TensorFlow's C++ start-up notices filtered (rpu_tf.utils.tf_startup)

from rpu_tf.models.architectures import (
    DECODERS,
    DISCRIMINATORS,
    ENCODERS,
    PRECISIONS,
    build_decoder,
    build_discriminator,
    build_encoder,
    check_observation_shape,
)
from rpu_tf.models.losses import (
    RECONSTRUCTION_LOSSES,
    ReconstructionLoss,
    bernoulli_loss,
    gaussian_log_density,
    l2_loss,
)
from rpu_tf.models.vae import (
    MODELS,
    AnnealedVAE,
    BaseVAE,
    BetaTCVAE,
    BetaVAE,
    DIPVAE,
    FactorVAE,
    as_float32,
    clone_model,
    compute_gaussian_kl,
    get_model_class,
    make_model,
    total_correlation,
)

__all__ = [
    "DECODERS", "DISCRIMINATORS", "ENCODERS", "MODELS", "RECONSTRUCTION_LOSSES",
    "AnnealedVAE", "BaseVAE", "BetaTCVAE", "BetaVAE", "DIPVAE", "FactorVAE",
    "PRECISIONS", "ReconstructionLoss", "as_float32", "bernoulli_loss", "build_decoder", "build_discriminator",
    "build_encoder", "check_observation_shape", "clone_model", "compute_gaussian_kl",
    "gaussian_log_density", "get_model_class", "l2_loss", "make_model", "total_correlation",
]
