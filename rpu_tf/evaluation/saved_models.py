"""Numpy functions from SavedModel signatures, and representation SavedModels.

A trained model's SavedModel (:mod:`rpu_tf.training.export`) has disentanglement_lib's
TF-Hub signatures ``gaussian_encoder`` (``images`` -> ``mean``, ``logvar``), ``decoder``
(``latent_vectors`` -> ``images`` logits) and ``reconstructions``. Postprocessing adds what
disentanglement_lib's ``convolute_hub`` adds: a SavedModel whose ``representation``
signature maps ``images`` float32 ``(N,) + observation_shape`` in [0, 1] to ``default``
float32 ``(N, num_latent)``, i.e. the encoder followed by a transform of (mean, logvar).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np
import tensorflow as tf

from rpu_tf.utils.files import atomic_write_dir

#: Largest batch passed to a signature at once (metrics may ask for thousands of codes).
MAX_BATCH = 256
REPRESENTATION_SIGNATURE = "representation"

Transform = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]


def load(path: str, signatures: tuple[str, ...] = ()) -> Any:
    """``tf.saved_model.load(path)``, checking that it has ``signatures``."""
    loaded = tf.saved_model.load(path)
    missing = [name for name in signatures if name not in loaded.signatures]
    if missing:
        raise ValueError(f"The SavedModel {path} lacks the signature(s) {', '.join(missing)}; "
                         f"it has: {', '.join(sorted(loaded.signatures)) or 'none'}.")
    return loaded


def input_shape(signature) -> tuple:
    """Shape of the single input of ``signature`` (the batch dimension is None)."""
    spec = next(iter(signature.structured_input_signature[1].values()))
    return tuple(spec.shape)


def numpy_function(signature, input_name: str,
                   max_batch: int = MAX_BATCH) -> Callable[[np.ndarray], dict[str, np.ndarray]]:
    """``f(x) -> {output: array}`` calling ``signature`` in batches of at most ``max_batch``."""

    def call(x: np.ndarray) -> dict[str, np.ndarray]:
        x = np.asarray(x, dtype=np.float32)
        parts: dict[str, list[np.ndarray]] = {}
        for start in range(0, max(len(x), 1), max_batch):
            outputs = signature(**{input_name: tf.constant(x[start:start + max_batch])})
            for key, value in outputs.items():
                parts.setdefault(key, []).append(value.numpy())
        return {key: np.concatenate(values) for key, values in parts.items()}

    return call


def gaussian_encoder_function(loaded) -> Callable[[np.ndarray], dict[str, np.ndarray]]:
    """Images -> ``{"mean": (N, D), "logvar": (N, D)}`` (disentanglement_lib's gaussian_encoder)."""
    return numpy_function(loaded.signatures["gaussian_encoder"], "images")


def decoder_function(loaded) -> Callable[[np.ndarray], np.ndarray]:
    """Latent codes ``(N, D)`` -> decoder outputs (logits) ``(N,) + observation_shape``."""
    call = numpy_function(loaded.signatures["decoder"], "latent_vectors")
    return lambda z: call(z)["images"]


def representation_function(path: str) -> Callable[[np.ndarray], np.ndarray]:
    """The ``representation`` signature of a postprocessed SavedModel as a metric's
    ``representation_function(observations) -> codes`` (float32 ``(N, num_latent)``)."""
    call = numpy_function(load(path, (REPRESENTATION_SIGNATURE,)).signatures[REPRESENTATION_SIGNATURE],
                          "images")
    return lambda x: call(x)["default"]


class _RepresentationModule(tf.Module):
    """A trained model's encoder followed by ``transform``, as one ``representation`` signature."""

    def __init__(self, source, transform: Transform):
        super().__init__(name="representation")
        self.source = source  # tracked: the encoder's variables are saved with this module
        self.transform = transform  # tracked when it is a tf.Module (variables, e.g. RNG state)
        encoder = source.signatures["gaussian_encoder"]
        spec = tf.TensorSpec(input_shape(encoder), tf.float32, name="images")

        @tf.function(input_signature=[spec])
        def representation(images):
            outputs = self.source.signatures["gaussian_encoder"](images=images)
            return {"default": self.transform(outputs["mean"], outputs["logvar"])}

        self.representation = representation


def save_representation(source, transform: Transform, path: str) -> str:
    """Writes the encoder of ``source`` (a loaded model SavedModel) followed by ``transform``
    as a SavedModel with a ``representation`` signature at ``path`` (atomically)."""
    module = _RepresentationModule(source, transform)
    signatures: Mapping[str, Any] = {REPRESENTATION_SIGNATURE: module.representation}
    atomic_write_dir(path, lambda tmp: tf.saved_model.save(module, tmp, signatures=signatures))
    return path
