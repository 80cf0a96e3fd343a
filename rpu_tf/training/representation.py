"""Numpy-in, numpy-out representation functions of trained encoders, for metric code.

disentanglement_lib's metrics take ``representation_function(observations) -> codes`` with
``observations`` float32 ``(num,) + observation_shape`` in [0, 1] and codes
``(num, num_latent)``; UDR takes functions returning ``(codes, kl_per_latent)``. These
helpers build them from a :class:`~rpu_tf.models.vae.BaseVAE` (or every replica of a
:class:`~rpu_tf.training.replica_group.ReplicaGroup`), encoding in batches of
``batch_size`` with one compiled encoder per model (any number of images, no retracing).
"""

from __future__ import annotations

import weakref
from typing import Any, Callable, Optional

import numpy as np
import tensorflow as tf

from rpu_tf.models.vae import BaseVAE

#: Images per encoder call when whole data sets are encoded. Measured with
#: ``benchmarks/encode_throughput.py`` (2-core AMD EPYC, 64x64 sprites): 1024 is the fastest
#: in bfloat16 (21,975 images/s vs 16,619 at 256) and ties 512 in float32 (13,138 vs 10,440).
DEFAULT_ENCODE_BATCH_SIZE = 1024

RepresentationFunction = Callable[[np.ndarray], np.ndarray]
UDRRepresentationFunction = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]

_COMPILED_ENCODERS: "weakref.WeakKeyDictionary[BaseVAE, Any]" = weakref.WeakKeyDictionary()


class _Encoder:
    """``images -> model.encode(images)`` for one model, holding it weakly (the cache must not
    keep the model alive). A callable object rather than a lambda: TensorFlow's retracing
    detector counts calls per code object, so every model's lambda would count as the same
    function retracing ("N out of the last M calls ... triggered tf.function retracing") when a
    PBT run encodes with many models; each object here counts on its own."""

    def __init__(self, model: BaseVAE):
        self._model = weakref.ref(model)

    def __call__(self, images):
        return self._model().encode(images)


def _compiled_encoder(model: BaseVAE):
    """A ``tf.function`` images -> (mean, log_var) for ``model`` (cached per model)."""
    fn = _COMPILED_ENCODERS.get(model)
    if fn is None:
        if model.observation_shape is None:
            raise ValueError("The model is not built yet: build it (or train it) before encoding.")
        spec = tf.TensorSpec((None,) + tuple(model.observation_shape), tf.float32)
        fn = tf.function(_Encoder(model), input_signature=[spec])
        _COMPILED_ENCODERS[model] = fn
    return fn


def encode(model: BaseVAE, observations: np.ndarray,
           batch_size: int = DEFAULT_ENCODE_BATCH_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """Means and log-variances of q(z|x), each float32 ``(num, num_latent)``."""
    obs = np.asarray(observations, dtype=np.float32)
    expected = tuple(model.observation_shape or ())
    if obs.ndim != len(expected) + 1 or obs.shape[1:] != expected:
        raise ValueError(f"Observations must have shape (num,) + {expected}, got {obs.shape}.")
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
    fn = _compiled_encoder(model)
    means, logvars = [], []
    for start in range(0, obs.shape[0], int(batch_size)):
        mean, logvar = fn(tf.constant(obs[start:start + int(batch_size)]))
        means.append(mean.numpy())
        logvars.append(logvar.numpy())
    if not means:
        empty = np.zeros((0, model.num_latent), np.float32)
        return empty, empty.copy()
    return np.concatenate(means), np.concatenate(logvars)


def gaussian_kl_per_latent(mean: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    """KL(q(z_j|x) || N(0, 1)) per latent, averaged over the batch, ``(num_latent,)`` nats.

    ``0.5 * (mu^2 + sigma^2 - log sigma^2 - 1)``, the real KL (not a proxy).
    """
    mean = np.asarray(mean, np.float64)
    logvar = np.asarray(logvar, np.float64)
    return np.mean(0.5 * (np.square(mean) + np.exp(logvar) - logvar - 1.0), axis=0)


def encode_data_set(model: BaseVAE, data, indices: Optional[np.ndarray] = None, chunk_size: int = 4096,
                    batch_size: int = DEFAULT_ENCODE_BATCH_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """Means and log-variances of every observation of a finite data set (or ``indices``).

    Reads ``chunk_size`` observations at a time through ``observations_from_indices``, so
    memory stays bounded for large data sets. Returns float32 ``(n, num_latent)`` each.
    """
    if indices is None:
        indices = np.arange(data.num_observations)
    means, logvars = [], []
    for start in range(0, len(indices), int(chunk_size)):
        observations = data.observations_from_indices(indices[start:start + int(chunk_size)])
        mean, logvar = encode(model, observations, batch_size)
        means.append(mean)
        logvars.append(logvar)
    return np.concatenate(means), np.concatenate(logvars)


def kl_per_latent(model: BaseVAE, observations: np.ndarray, batch_size: int = DEFAULT_ENCODE_BATCH_SIZE) -> np.ndarray:
    """Per-latent KL to the prior of ``model`` averaged over ``observations``, ``(num_latent,)``."""
    return gaussian_kl_per_latent(*encode(model, observations, batch_size))


def mean_representation_function(model: BaseVAE, batch_size: int = DEFAULT_ENCODE_BATCH_SIZE) -> RepresentationFunction:
    """``f(observations) -> mean of q(z|x)``, float32 ``(num, num_latent)``."""

    def representation(observations: np.ndarray) -> np.ndarray:
        return encode(model, observations, batch_size)[0]

    return representation


def sampled_representation_function(model: BaseVAE, random_state: np.random.RandomState,
                                    batch_size: int = DEFAULT_ENCODE_BATCH_SIZE) -> RepresentationFunction:
    """``f(observations) -> one sample of q(z|x)`` (noise from ``random_state``), float32."""

    def representation(observations: np.ndarray) -> np.ndarray:
        mean, logvar = encode(model, observations, batch_size)
        noise = random_state.normal(size=mean.shape)
        return (mean + np.exp(logvar / 2) * noise).astype(np.float32)

    return representation


def udr_representation_function(model: BaseVAE, batch_size: int = DEFAULT_ENCODE_BATCH_SIZE) -> UDRRepresentationFunction:
    """``f(observations) -> (mean, kl_per_latent)`` as disentanglement_lib's UDR expects."""

    def representation(observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean, logvar = encode(model, observations, batch_size)
        return mean, gaussian_kl_per_latent(mean, logvar)

    return representation


def representation_function(model: BaseVAE, kind: str = "mean", batch_size: int = DEFAULT_ENCODE_BATCH_SIZE,
                            random_state: Optional[np.random.RandomState] = None) -> RepresentationFunction:
    """``kind`` ``"mean"`` or ``"sampled"`` (disentanglement_lib's postprocessing names)."""
    if kind == "mean":
        return mean_representation_function(model, batch_size)
    if kind == "sampled":
        if random_state is None:
            raise ValueError("kind='sampled' needs a random_state for the sampling noise.")
        return sampled_representation_function(model, random_state, batch_size)
    raise ValueError(f"Unknown representation kind {kind!r}; known: 'mean', 'sampled'.")


def group_representation_functions(group, kind: str = "mean", batch_size: int = DEFAULT_ENCODE_BATCH_SIZE,
                                   random_state: Optional[np.random.RandomState] = None
                                   ) -> list[RepresentationFunction]:
    """One representation function per replica of a ``ReplicaGroup``."""
    return [representation_function(m, kind, batch_size, random_state) for m in group.models]


def group_udr_representation_functions(group, batch_size: int = DEFAULT_ENCODE_BATCH_SIZE) -> list[UDRRepresentationFunction]:
    """One ``(mean, kl_per_latent)`` function per replica, for UDR over the group."""
    return [udr_representation_function(m, batch_size) for m in group.models]
