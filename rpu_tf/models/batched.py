"""K models of one architecture computed as one batched network (models as a leading axis).

The K Keras models of a replica group (or of PBT members trained together) keep their own
variables, so checkpoints, exports and per-model use are unchanged. Inside a compiled step
:func:`encode` and :func:`decode` read the K models' kernels, stack them along a leading
model axis and run every layer once for all K models:

- ``Dense``: one batched matmul ``(K, batch, in) @ (K, in, out)``;
- ``Conv2D`` / ``Conv2DTranspose``: one grouped convolution with ``K`` groups. Activations
  between convolutions stay in the grouped layout ``(batch, H, W, K * C)`` (model ``k``'s
  channels at ``k * C ... (k + 1) * C``), where row ``b`` of every group is that model's own
  ``b``-th image, so each model still sees its own data;
- ``Flatten`` / ``Reshape`` / the float32 output cast: reshapes and transposes between the
  grouped and the ``(K, batch, ...)`` layout, in Keras' element order.

This is the same function as running the K models one by one (tests compare codes, logits,
losses and trained weights); the gradients flow through the stack back to each model's
own variables. It replaces ``K x layers`` small kernels by ``layers`` bigger ones: one cuDNN
grouped convolution per layer on a GPU instead of K launches (tracing the step takes as long
either way: 7-8 s for K = 5 or 6 on 2 cores). On a 2-core CPU it measured 0.61-0.80x the images/s of K sub-graphs (oneDNN's grouped
convolutions are no faster than K separate ones; ``benchmarks/train_throughput.py``,
docs/results.md "Training speed"), so ``training.model_batching = "auto"``
(:mod:`rpu_tf.training.model_batching`) picks this path on GPUs only.

Shapes: ``images`` ``(K, batch) + observation_shape`` float32; codes ``(K, batch,
num_latent)`` float32; logits ``(K, batch) + observation_shape`` float32. Layers compute in
each model's Keras dtype policy (float32, or bfloat16/float16 with float32 variables), as
the models themselves do.
"""

from __future__ import annotations

from typing import Sequence

import keras
import tensorflow as tf

__all__ = ["can_batch", "decode", "encode"]

_SKIPPED = ("InputLayer",)
_SUPPORTED = ("Conv2D", "Conv2DTranspose", "Dense", "Flatten", "Reshape", "Activation") + _SKIPPED


def _layers(network: keras.Model) -> list:
    return [layer for layer in network.layers if type(layer).__name__ not in _SKIPPED]


def can_batch(models: Sequence) -> bool:
    """Whether ``models`` (built VAEs) share one architecture this module computes batched:
    same encoder, decoder, latent size and observation shape, and only the layer kinds above
    (every built-in encoder and decoder)."""
    first = models[0]
    for model in models:
        if (model.encoder_fn, model.decoder_fn, model.num_latent, model.observation_shape,
                model.precision) != (first.encoder_fn, first.decoder_fn, first.num_latent,
                                     first.observation_shape, first.precision):
            return False
    for network in (first.encoder, first.decoder):
        for layer in network.layers:
            if type(layer).__name__ not in _SUPPORTED:
                return False
            if type(layer).__name__.startswith("Conv") and (
                    getattr(layer, "groups", 1) != 1 or layer.data_format != "channels_last"):
                return False
    return True


class _Stacked:
    """One layer position across the K models: stacked kernels in the layer's compute dtype."""

    def __init__(self, layers: Sequence):
        self.layer = layers[0]
        self.kind = type(self.layer).__name__
        self.count = len(layers)
        dtype = self.layer.compute_dtype
        if self.kind in ("Conv2D", "Conv2DTranspose", "Dense"):
            self.kernel = tf.cast(tf.stack([l.kernel.value for l in layers]), dtype)
            self.bias = (tf.cast(tf.stack([l.bias.value for l in layers]), dtype)
                         if self.layer.use_bias else None)

    def activate(self, x: tf.Tensor) -> tf.Tensor:
        activation = getattr(self.layer, "activation", None)
        return x if activation is None else activation(x)


def _to_grouped(x: tf.Tensor) -> tf.Tensor:
    """``(K, B, H, W, C)`` to the grouped layout ``(B, H, W, K * C)``."""
    k, h, w, c = x.shape[0], x.shape[2], x.shape[3], x.shape[4]
    return tf.reshape(tf.transpose(x, [1, 2, 3, 0, 4]), [-1, h, w, k * c])


def _from_grouped(x: tf.Tensor, count: int) -> tf.Tensor:
    """The grouped layout ``(B, H, W, K * C)`` back to ``(K, B, H, W, C)``."""
    h, w, kc = x.shape[1], x.shape[2], x.shape[3]
    return tf.transpose(tf.reshape(x, [-1, h, w, count, kc // count]), [3, 0, 1, 2, 4])


def _grouped_bias(x: tf.Tensor, stacked: _Stacked) -> tf.Tensor:
    if stacked.bias is None:
        return x
    return tf.nn.bias_add(x, tf.reshape(stacked.bias, [-1]))


def _conv(x: tf.Tensor, stacked: _Stacked) -> tf.Tensor:
    """Grouped ``Conv2D``: kernels ``(K, kh, kw, C, O)`` as one ``(kh, kw, C, K * O)`` filter."""
    layer = stacked.layer
    k, kh, kw, c, o = stacked.kernel.shape
    kernel = tf.reshape(tf.transpose(stacked.kernel, [1, 2, 3, 0, 4]), [kh, kw, c, k * o])
    y = tf.nn.conv2d(x, kernel, strides=layer.strides, padding=layer.padding.upper(),
                     dilations=layer.dilation_rate)
    return stacked.activate(_grouped_bias(y, stacked))


def _conv_transpose(x: tf.Tensor, stacked: _Stacked) -> tf.Tensor:
    """Grouped ``Conv2DTranspose``: Keras kernels ``(K, kh, kw, O, C)`` as one
    ``(kh, kw, O, K * C)`` filter of the transposed (input-gradient) convolution."""
    layer = stacked.layer
    k, kh, kw, o, c = stacked.kernel.shape
    if layer.padding != "same" or tuple(layer.dilation_rate) != (1, 1) or layer.output_padding is not None:
        raise ValueError(f"Batched models support Conv2DTranspose with 'same' padding only; layer "
                         f"{layer.name!r} has padding={layer.padding!r}. Use training.model_batching = "
                         "\"replicas\".")
    kernel = tf.reshape(tf.transpose(stacked.kernel, [1, 2, 3, 0, 4]), [kh, kw, o, k * c])
    sh, sw = layer.strides
    shape = tf.stack([tf.shape(x)[0], x.shape[1] * sh, x.shape[2] * sw, k * o])
    y = tf.nn.conv2d_transpose(x, kernel, shape, strides=layer.strides, padding="SAME")
    y = tf.ensure_shape(y, [None, x.shape[1] * sh, x.shape[2] * sw, k * o])
    return stacked.activate(_grouped_bias(y, stacked))


def _dense(x: tf.Tensor, stacked: _Stacked) -> tf.Tensor:
    """Batched ``Dense``: ``(K, B, in) @ (K, in, out)`` plus ``(K, 1, out)`` biases."""
    y = tf.matmul(x, stacked.kernel)
    if stacked.bias is not None:
        y = y + stacked.bias[:, None, :]
    return stacked.activate(y)


def _run(layers_per_model: Sequence[Sequence], x: tf.Tensor, grouped: bool):
    """Runs the stacked layers on ``x``; returns ``(output, grouped)`` (the output's layout)."""
    count = len(layers_per_model)
    for position in zip(*layers_per_model):
        stacked = _Stacked(position)
        if stacked.kind in ("Conv2D", "Conv2DTranspose"):
            if not grouped:
                x, grouped = _to_grouped(x), True
            x = (_conv if stacked.kind == "Conv2D" else _conv_transpose)(x, stacked)
            continue
        if grouped:
            x, grouped = _from_grouped(x, count), False
        if stacked.kind == "Dense":
            x = _dense(x, stacked)
        elif stacked.kind == "Flatten":
            x = tf.reshape(x, [count, -1, x.shape[2] * x.shape[3] * x.shape[4]])
        elif stacked.kind == "Reshape":
            x = tf.reshape(x, [count, -1] + list(stacked.layer.target_shape))
        elif stacked.kind == "Activation":
            x = stacked.activate(x)
        x = tf.cast(x, stacked.layer.compute_dtype)
    return x, grouped


def encode(models: Sequence, images: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """``(mean, log_var)``, each ``(K, batch, num_latent)`` float32, of the K models' encoders
    on their own images ``(K, batch) + observation_shape``."""
    per_model = [_layers(model.encoder) for model in models]
    heads = [layers[-2:] for layers in per_model]
    if [layer.name for layer in heads[0]] != ["means", "log_var"]:
        raise ValueError(f"Batched encoders need the heads 'means' and 'log_var' last; "
                         f"{models[0].encoder_fn} ends in {[l.name for l in heads[0]]}.")
    x = tf.cast(images, per_model[0][0].compute_dtype)
    hidden, grouped = _run([layers[:-2] for layers in per_model], x, grouped=False)
    if grouped:
        hidden = _from_grouped(hidden, len(models))
    mean = _dense(tf.cast(hidden, heads[0][0].compute_dtype), _Stacked([h[0] for h in heads]))
    log_var = _dense(tf.cast(hidden, heads[0][1].compute_dtype), _Stacked([h[1] for h in heads]))
    return tf.cast(mean, tf.float32), tf.cast(log_var, tf.float32)


def decode(models: Sequence, latents: tf.Tensor) -> tf.Tensor:
    """Logits ``(K, batch) + observation_shape`` float32 of the K models' decoders on their
    own latents ``(K, batch, num_latent)``."""
    per_model = [_layers(model.decoder) for model in models]
    x = tf.cast(latents, per_model[0][0].compute_dtype)
    logits, grouped = _run(per_model, x, grouped=False)
    if grouped:
        logits = _from_grouped(logits, len(models))
    return tf.cast(logits, tf.float32)
