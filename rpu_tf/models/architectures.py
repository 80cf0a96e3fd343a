"""Encoders, decoders and the FactorVAE discriminator of disentanglement_lib, in Keras 3.

Architectures (rows 1 and 3 of Table 1 in the beta-VAE paper, as in disentanglement_lib):

- ``conv_encoder``: conv 32x4x4/2, 32x4x4/2, 64x2x2/2, 64x2x2/2 (ReLU, "same"), dense 256
  (ReLU), then two dense heads ``means`` and ``log_var`` of size ``num_latent``.
- ``deconv_decoder``: dense 256, 1024 (ReLU), reshape 4x4x64, transposed conv 64, 32, 32
  (4x4/2, ReLU) and ``channels`` (4x4/2, no activation).
- ``fc_encoder``: dense 1200, 1200 (ReLU), heads ``means``/``log_var``.
- ``fc_decoder``: dense 1200, 1200, 1200 (tanh), dense ``prod(observation_shape)``.
- ``fc_discriminator``: six dense 1000 (leaky ReLU, slope 0.2), dense 2 logits.

Builders take plain arguments ``(observation_shape, num_latent, seed)`` and return a
``keras.Model``: encoders map ``(batch,) + observation_shape`` float32 images in [0, 1] to
``(mean, log_var)``, each ``(batch, num_latent)``; decoders map ``(batch, num_latent)`` to
logits of shape ``(batch,) + observation_shape``. Weights are Glorot-uniform with zero biases
(TensorFlow's ``tf.layers`` defaults that disentanglement_lib used); ``seed`` makes them
reproducible.

Gin names are disentanglement_lib's: ``encoder.encoder_fn = @conv_encoder``,
``encoder.num_latent``, ``decoder.decoder_fn = @deconv_decoder``,
``discriminator.discriminator_fn = @fc_discriminator``.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Optional, Sequence

import gin
import keras
import numpy as np

Shape = tuple[int, int, int]


class _SeedSequence:
    """Successive initializer seeds drawn from one integer seed (None: Keras' global RNG)."""

    def __init__(self, seed: Optional[int]):
        self._rng = None if seed is None else np.random.RandomState(seed % 2**32)

    def kernel(self) -> keras.initializers.Initializer:
        seed = None if self._rng is None else int(self._rng.randint(2**31 - 1))
        return keras.initializers.GlorotUniform(seed=seed)


def _dense(units: int, seeds: _SeedSequence, activation=None, name=None) -> keras.layers.Dense:
    return keras.layers.Dense(units, activation=activation, kernel_initializer=seeds.kernel(),
                              name=name)


def _conv_shape_error(name: str, observation_shape: Sequence[int]) -> Optional[str]:
    shape = tuple(observation_shape)
    if len(shape) != 3 or shape[0] != 64 or shape[1] != 64 or shape[2] < 1:
        return (f"{name} supports observations of shape (64, 64, channels), got {shape}; "
                "resize the data to 64x64 or use fc_encoder/fc_decoder.")
    return None


def _fc_shape_error(name: str, observation_shape: Sequence[int]) -> Optional[str]:
    shape = tuple(observation_shape)
    if len(shape) != 3 or min(shape) < 1:
        return f"{name} needs observations of shape (height, width, channels), got {shape}."
    return None


def conv_encoder(observation_shape: Shape, num_latent: int, seed: Optional[int] = None,
                 name: str = "encoder") -> keras.Model:
    """Convolutional Gaussian encoder (beta-VAE paper, chairs architecture)."""
    seeds = _SeedSequence(seed)
    x = keras.Input(tuple(observation_shape), name="images")
    h = x
    for i, (filters, size) in enumerate([(32, 4), (32, 4), (64, 2), (64, 2)], start=1):
        h = keras.layers.Conv2D(filters, size, strides=2, padding="same", activation="relu",
                                kernel_initializer=seeds.kernel(), name=f"e{i}")(h)
    h = keras.layers.Flatten()(h)
    h = _dense(256, seeds, "relu", name="e5")(h)
    means = _dense(num_latent, seeds, name="means")(h)
    log_var = _dense(num_latent, seeds, name="log_var")(h)
    return keras.Model(x, [means, log_var], name=name)


def fc_encoder(observation_shape: Shape, num_latent: int, seed: Optional[int] = None,
               name: str = "encoder") -> keras.Model:
    """Fully connected Gaussian encoder (beta-VAE paper, dSprites architecture)."""
    seeds = _SeedSequence(seed)
    x = keras.Input(tuple(observation_shape), name="images")
    h = keras.layers.Flatten()(x)
    h = _dense(1200, seeds, "relu", name="e1")(h)
    h = _dense(1200, seeds, "relu", name="e2")(h)
    means = _dense(num_latent, seeds, name="means")(h)
    log_var = _dense(num_latent, seeds, name="log_var")(h)
    return keras.Model(x, [means, log_var], name=name)


def deconv_decoder(observation_shape: Shape, num_latent: int, seed: Optional[int] = None,
                   name: str = "decoder") -> keras.Model:
    """Transposed-convolution decoder (beta-VAE paper, chairs architecture); outputs logits."""
    seeds = _SeedSequence(seed)
    z = keras.Input((num_latent,), name="latent_vectors")
    h = _dense(256, seeds, "relu", name="d1")(z)
    h = _dense(1024, seeds, "relu", name="d2")(h)
    h = keras.layers.Reshape((4, 4, 64))(h)
    for i, filters in enumerate([64, 32, 32], start=3):
        h = keras.layers.Conv2DTranspose(filters, 4, strides=2, padding="same", activation="relu",
                                         kernel_initializer=seeds.kernel(), name=f"d{i}")(h)
    logits = keras.layers.Conv2DTranspose(int(observation_shape[2]), 4, strides=2, padding="same",
                                          kernel_initializer=seeds.kernel(), name="d6")(h)
    return keras.Model(z, logits, name=name)


def fc_decoder(observation_shape: Shape, num_latent: int, seed: Optional[int] = None,
               name: str = "decoder") -> keras.Model:
    """Fully connected decoder (beta-VAE paper, dSprites architecture); outputs logits."""
    seeds = _SeedSequence(seed)
    z = keras.Input((num_latent,), name="latent_vectors")
    h = z
    for i in range(1, 4):
        h = _dense(1200, seeds, "tanh", name=f"d{i}")(h)
    h = _dense(int(np.prod(observation_shape)), seeds, name="d4")(h)
    logits = keras.layers.Reshape(tuple(int(s) for s in observation_shape))(h)
    return keras.Model(z, logits, name=name)


def fc_discriminator(num_latent: int, seed: Optional[int] = None,
                     name: str = "discriminator") -> keras.Model:
    """FactorVAE's discriminator: ``(batch, num_latent)`` codes to ``(batch, 2)`` logits.

    Logit 0 scores "sample of q(z)", logit 1 "sample of prod_j q(z_j)" (shuffled codes).
    """
    seeds = _SeedSequence(seed)
    z = keras.Input((num_latent,), name="codes")
    h = z
    for i in range(1, 7):
        h = _dense(1000, seeds, name=f"d{i}")(h)
        h = keras.layers.LeakyReLU(negative_slope=0.2)(h)
    logits = _dense(2, seeds, name="logits")(h)
    return keras.Model(z, logits, name=name)


@dataclasses.dataclass(frozen=True)
class _Architecture:
    build: Callable[..., keras.Model]
    shape_error: Callable[[str, Sequence[int]], Optional[str]]


ENCODERS: dict[str, _Architecture] = {
    "conv_encoder": _Architecture(conv_encoder, _conv_shape_error),
    "fc_encoder": _Architecture(fc_encoder, _fc_shape_error),
}
DECODERS: dict[str, _Architecture] = {
    "deconv_decoder": _Architecture(deconv_decoder, _conv_shape_error),
    "fc_decoder": _Architecture(fc_decoder, _fc_shape_error),
}
DISCRIMINATORS: dict[str, Callable[..., keras.Model]] = {"fc_discriminator": fc_discriminator}

# Gin names for ``encoder.encoder_fn = @conv_encoder`` etc. The builders themselves stay
# undecorated: gin only supplies them by reference, it never configures their arguments.
_GIN_BUILDERS = {
    name: gin.external_configurable(fn, name=name, module=__name__, allowlist=[])
    for name, fn in [(n, a.build) for n, a in ENCODERS.items()]
    + [(n, a.build) for n, a in DECODERS.items()] + list(DISCRIMINATORS.items())
}


def architecture_name(fn, kind: str, known: Sequence[str]) -> str:
    """Name of a gin-supplied builder (``@conv_encoder``) or a name string; checks it is known."""
    name = fn if isinstance(fn, str) else getattr(fn, "__name__", repr(fn))
    if name not in known:
        raise ValueError(f"Unknown {kind} {name!r}; known: {', '.join(sorted(known))}.")
    return name


def check_observation_shape(observation_shape: Sequence[int], encoder_fn: str,
                            decoder_fn: str) -> Shape:
    """Returns ``observation_shape`` as a tuple or raises ``ValueError`` saying what fits."""
    encoder = architecture_name(encoder_fn, "encoder", ENCODERS)
    decoder = architecture_name(decoder_fn, "decoder", DECODERS)
    for name, arch in ((encoder, ENCODERS[encoder]), (decoder, DECODERS[decoder])):
        error = arch.shape_error(name, observation_shape)
        if error:
            raise ValueError(error)
    return tuple(int(s) for s in observation_shape)


def build_encoder(encoder_fn: str, observation_shape: Shape, num_latent: int,
                  seed: Optional[int] = None) -> keras.Model:
    """Builds the named encoder: images ``(batch,) + observation_shape`` to (mean, log_var)."""
    arch = ENCODERS[architecture_name(encoder_fn, "encoder", ENCODERS)]
    return arch.build(tuple(observation_shape), int(num_latent), seed=seed)


def build_decoder(decoder_fn: str, observation_shape: Shape, num_latent: int,
                  seed: Optional[int] = None) -> keras.Model:
    """Builds the named decoder: ``(batch, num_latent)`` to logits of the observation shape."""
    arch = DECODERS[architecture_name(decoder_fn, "decoder", DECODERS)]
    return arch.build(tuple(observation_shape), int(num_latent), seed=seed)


def build_discriminator(discriminator_fn: str, num_latent: int,
                        seed: Optional[int] = None) -> keras.Model:
    """Builds the named discriminator: ``(batch, num_latent)`` to ``(batch, 2)`` logits."""
    build = DISCRIMINATORS[architecture_name(discriminator_fn, "discriminator", DISCRIMINATORS)]
    return build(int(num_latent), seed=seed)


@gin.configurable("encoder", allowlist=["num_latent", "encoder_fn"])
def resolve_encoder(num_latent=gin.REQUIRED, encoder_fn=gin.REQUIRED) -> tuple[str, int]:
    """Reads ``encoder.encoder_fn`` and ``encoder.num_latent`` from gin: ``(name, num_latent)``."""
    name = architecture_name(encoder_fn, "encoder (encoder.encoder_fn)", ENCODERS)
    if int(num_latent) < 1:
        raise ValueError(f"encoder.num_latent must be a positive integer, got {num_latent}.")
    return name, int(num_latent)


@gin.configurable("decoder", allowlist=["decoder_fn"])
def resolve_decoder(decoder_fn=gin.REQUIRED) -> str:
    """Reads ``decoder.decoder_fn`` from gin and returns the decoder's name."""
    return architecture_name(decoder_fn, "decoder (decoder.decoder_fn)", DECODERS)


@gin.configurable("discriminator", allowlist=["discriminator_fn"])
def resolve_discriminator(discriminator_fn="fc_discriminator") -> str:
    """Reads ``discriminator.discriminator_fn`` from gin (default ``fc_discriminator``)."""
    return architecture_name(discriminator_fn, "discriminator (discriminator.discriminator_fn)",
                             DISCRIMINATORS)
