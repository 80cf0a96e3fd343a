"""Floating-point operations of a Keras network, counted from its layers.

Counts multiply-adds as 2 FLOPs for the layers that dominate these VAEs: ``Dense``
(``2 * in * out``), ``Conv2D`` (``2 * H_out * W_out * k_h * k_w * C_in * C_out / groups``)
and ``Conv2DTranspose`` (``2 * H_in * W_in * k_h * k_w * C_in * C_out``: every input pixel
is scattered through the whole kernel); biases and activations are left out (under 1% here).
A training step costs about three forward passes (forward, gradient with respect to the
activations and to the weights): :func:`training_flops_per_image`.
"""

from __future__ import annotations

import numpy as np


def _dims(shape) -> list[int]:
    return [int(d) for d in tuple(shape)[1:]]


def layer_flops(layer) -> int:
    """Forward FLOPs of one layer for one example (0 for layers that are not counted)."""
    kind = type(layer).__name__
    if kind == "Dense":
        return 2 * int(layer.kernel.shape[0]) * int(layer.kernel.shape[1])
    if kind == "Conv2D":
        h, w, _ = _dims(layer.output.shape)
        kh, kw, cin, cout = (int(d) for d in layer.kernel.shape)
        return 2 * h * w * kh * kw * cin * cout
    if kind == "Conv2DTranspose":
        h, w, _ = _dims(layer.input.shape)
        kh, kw, cout, cin = (int(d) for d in layer.kernel.shape)
        return 2 * h * w * kh * kw * cin * cout
    return 0


def forward_flops(network) -> int:
    """Forward FLOPs per example of a functional Keras model (nested models included)."""
    total = 0
    for layer in network.layers:
        if hasattr(layer, "layers") and layer.layers:
            total += forward_flops(layer)
        else:
            total += layer_flops(layer)
    return int(total)


def vae_forward_flops(model) -> int:
    """Forward FLOPs per image of a built VAE: encoder plus decoder."""
    if getattr(model, "observation_shape", None) is None:
        raise ValueError("Build the model first (it needs its observation shape).")
    return forward_flops(model.encoder) + forward_flops(model.decoder)


def training_flops_per_image(model) -> int:
    """About 3x the forward FLOPs: forward pass plus the two backward products per layer."""
    return int(3 * np.int64(vae_forward_flops(model)))
