"""Adam optimizers configured with disentanglement_lib's gin names.

disentanglement_lib's shared model config reads::

    vae_optimizer.optimizer_fn = @vae/AdamOptimizer
    vae/AdamOptimizer.learning_rate = 0.0001
    vae/AdamOptimizer.beta1 = 0.9
    vae/AdamOptimizer.beta2 = 0.999
    vae/AdamOptimizer.epsilon = 1e-08
    discriminator_optimizer.optimizer_fn = @discriminator/AdamOptimizer
    discriminator/AdamOptimizer.beta1 = 0.5
    discriminator/AdamOptimizer.beta2 = 0.9
    ...

These lines parse unchanged: ``AdamOptimizer`` here returns an :class:`AdamSpec` (plain
values) from which trainers build ``keras.optimizers.Adam`` (the same update as TF1's
``AdamOptimizer``: ``lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)``,
``var -= lr_t * m / (sqrt(v) + epsilon)``). Without gin bindings the defaults are those of
the shared config above.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Optional

import gin
import keras

from rpu_tf.models.vae import clone_model


@dataclasses.dataclass(frozen=True)
class AdamSpec:
    """Adam settings: learning rate (per step), moment decays and epsilon (TF1 names)."""

    learning_rate: float = 1e-4
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8

    def __post_init__(self):
        if not self.learning_rate > 0:
            raise ValueError(f"Adam learning_rate must be > 0, got {self.learning_rate}.")
        for name in ("beta1", "beta2"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise ValueError(f"Adam {name} must be in [0, 1), got {value}.")
        if not self.epsilon > 0:
            raise ValueError(f"Adam epsilon must be > 0, got {self.epsilon}.")

    def build(self, name: Optional[str] = None) -> keras.optimizers.Optimizer:
        """``keras.optimizers.Adam`` with these settings."""
        return keras.optimizers.Adam(learning_rate=self.learning_rate, beta_1=self.beta1,
                                     beta_2=self.beta2, epsilon=self.epsilon, name=name)


VAE_DEFAULT = AdamSpec(learning_rate=1e-4, beta1=0.9, beta2=0.999, epsilon=1e-8)
DISCRIMINATOR_DEFAULT = AdamSpec(learning_rate=1e-4, beta1=0.5, beta2=0.9, epsilon=1e-8)


@gin.configurable("AdamOptimizer", allowlist=["learning_rate", "beta1", "beta2", "epsilon",
                                               "use_locking", "name"])
def AdamOptimizer(learning_rate: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,  # noqa: N802
                  epsilon: float = 1e-8, use_locking: bool = False,
                  name: str = "Adam") -> AdamSpec:
    """TF1 ``AdamOptimizer``'s gin name and defaults; returns an :class:`AdamSpec`.

    ``use_locking`` and ``name`` are accepted so disentanglement_lib's configs parse; they
    have no effect.
    """
    del use_locking, name
    return AdamSpec(learning_rate=float(learning_rate), beta1=float(beta1), beta2=float(beta2),
                    epsilon=float(epsilon))


def _resolve(optimizer_fn: Optional[Callable[..., AdamSpec]], learning_rate,
             default: AdamSpec, scope: str) -> AdamSpec:
    if optimizer_fn is None:
        spec = default
    else:
        spec = optimizer_fn() if learning_rate is None else optimizer_fn(learning_rate=learning_rate)
        if not isinstance(spec, AdamSpec):
            raise ValueError(f"{scope}.optimizer_fn must be @AdamOptimizer (optionally scoped, "
                             f"e.g. @vae/AdamOptimizer); got {optimizer_fn!r}.")
        return spec
    if learning_rate is not None:
        spec = dataclasses.replace(spec, learning_rate=float(learning_rate))
    return spec


@gin.configurable("vae_optimizer", allowlist=["optimizer_fn", "learning_rate"])
def resolve_vae_optimizer(optimizer_fn=None, learning_rate=None) -> AdamSpec:
    """Settings of the VAE's optimizer (``vae_optimizer.*``); default: Adam, lr 1e-4."""
    return _resolve(optimizer_fn, learning_rate, VAE_DEFAULT, "vae_optimizer")


@gin.configurable("discriminator_optimizer", allowlist=["optimizer_fn", "learning_rate"])
def resolve_discriminator_optimizer(optimizer_fn=None, learning_rate=None) -> AdamSpec:
    """Settings of FactorVAE's discriminator optimizer; default Adam(1e-4, 0.5, 0.9)."""
    return _resolve(optimizer_fn, learning_rate, DISCRIMINATOR_DEFAULT, "discriminator_optimizer")


OPTIMIZER_RESOLVERS: dict[str, Callable[[], AdamSpec]] = {
    "vae": resolve_vae_optimizer,
    "discriminator": resolve_discriminator_optimizer,
}


def resolve_model_optimizers(model, observation_shape) -> dict[str, AdamSpec]:
    """The Adam settings (from gin, now) of every optimizer ``model`` trains with, e.g.
    ``{"vae": ...}`` or ``{"vae": ..., "discriminator": ...}`` for FactorVAE."""
    built = clone_model(model, seed=0, observation_shape=observation_shape)
    return {name: OPTIMIZER_RESOLVERS[name]() for name, _, _ in built.optimizer_objectives()}
