"""Gaussian-encoder VAEs of disentanglement_lib as Keras 3 models.

Gin scopes and hyperparameter names are disentanglement_lib's, selected with
``model.model = @beta_tc_vae()`` etc.:

========================  ==================================================  ==============
gin scope                 regulariser (added to the mean reconstruction loss)  hyperparameters
========================  ==================================================  ==============
``vae``                   ``beta * KL``                                        ``beta``
``beta_tc_vae``           ``KL + (beta - 1) * TC``                             ``beta``
``factor_vae``            ``KL + gamma * TC_discriminator``                    ``gamma``
``dip_vae``               ``KL + DIP(cov)`` (``dip_type`` "i" or "ii")         ``lambda_od``, ``lambda_d_factor``
``annealed_vae``          ``gamma * |KL - C(step)|``                           ``gamma``, ``c_max``, ``iteration_threshold``
========================  ==================================================  ==============

Every model maps images ``(batch,) + observation_shape`` (float32 in [0, 1]) with
:meth:`BaseVAE.encode` to ``(mean, log_var)`` of shape ``(batch, num_latent)`` and latents
with :meth:`BaseVAE.decode` to logits of the image shape. :meth:`BaseVAE.loss_terms` returns
the scalar loss terms of one batch (nats per image): ``loss``, ``reconstruction_loss``,
``kl_loss``, ``regularizer`` and, where defined, ``elbo`` (reported as disentanglement_lib
reports it: ``-(reconstruction_loss + kl_loss)``).

Hyperparameters are non-trainable ``keras.Variable`` s, so a trainer can change them between
steps without retracing its ``tf.function`` (:meth:`BaseVAE.set_hyperparameters`). The
encoder, decoder (and discriminator) are built on the first :meth:`build` from the
architecture names, so a model built from gin can be cloned without gin
(``type(m).from_config(m.get_config())``).
"""
from __future__ import annotations

from typing import Optional, Sequence

import gin
import keras
import tensorflow as tf

from rpu_tf.models import architectures
from rpu_tf.models.base_vae import BaseVAE
from rpu_tf.models.regularizers import (_sub_seed, anneal, compute_covariance_z_mean, compute_gaussian_kl,
                                        regularize_diag_off_diag_dip, shuffle_codes, total_correlation)

__all__ = ["AnnealedVAE", "BaseVAE", "BetaTCVAE", "BetaVAE", "DIPVAE", "FactorVAE", "MODELS", "anneal",
           "annealed_vae", "as_float32", "beta_tc_vae", "clone_model", "compute_covariance_z_mean",
           "compute_gaussian_kl", "dip_vae", "factor_vae", "get_model_class", "make_model",
           "regularize_diag_off_diag_dip", "shuffle_codes", "total_correlation", "vae"]

_PACKAGE = "rpu_tf"


class _BetaModel(BaseVAE):
    """A model whose one hyperparameter is ``beta``."""

    hyperparameter_names = ("beta",)
    regularizer_weight_name = "beta"

    def __init__(self, beta, **kwargs):
        super().__init__(hyperparameters={"beta": beta}, **kwargs)


@keras.saving.register_keras_serializable(package=_PACKAGE, name="vae")
class BetaVAE(_BetaModel):
    """beta-VAE (Higgins et al. 2017, Eq. 4): regulariser ``beta * KL``."""

    gin_name = "vae"

    def regularizer(self, kl_loss, z_mean, z_logvar, z_sampled, step, seed=None):
        return self._hparams["beta"] * kl_loss


@keras.saving.register_keras_serializable(package=_PACKAGE, name="beta_tc_vae")
class BetaTCVAE(_BetaModel):
    """beta-TCVAE (Chen et al. 2018, Eq. 4 with alpha = gamma = 1): ``KL + (beta - 1) * TC``."""

    gin_name = "beta_tc_vae"

    def regularizer(self, kl_loss, z_mean, z_logvar, z_sampled, step, seed=None):
        tc = total_correlation(z_sampled, z_mean, z_logvar)
        return (self._hparams["beta"] - 1.0) * tc + kl_loss


@keras.saving.register_keras_serializable(package=_PACKAGE, name="annealed_vae")
class AnnealedVAE(BaseVAE):
    """AnnealedVAE (Burgess et al. 2018, Eq. 8): ``gamma * |KL - C(step)|``.

    The capacity ``C`` grows linearly from 0 at step 0 to ``c_max`` at ``iteration_threshold``.
    """

    hyperparameter_names = ("gamma", "c_max", "iteration_threshold")
    regularizer_weight_name = "gamma"
    gin_name = "annealed_vae"

    def __init__(self, gamma, c_max, iteration_threshold,
                 **kwargs):
        if float(iteration_threshold) <= 0:
            raise ValueError(f"annealed_vae.iteration_threshold must be > 0, got {iteration_threshold}.")
        super().__init__(hyperparameters={"gamma": gamma, "c_max": c_max,
                                          "iteration_threshold": iteration_threshold}, **kwargs)

    def regularizer(self, kl_loss, z_mean, z_logvar, z_sampled, step, seed=None):
        c = anneal(self._hparams["c_max"], step, self._hparams["iteration_threshold"])
        return self._hparams["gamma"] * tf.abs(kl_loss - c)


@keras.saving.register_keras_serializable(package=_PACKAGE, name="dip_vae")
class DIPVAE(BaseVAE):
    """DIP-VAE (Kumar et al. 2018, Eqs. 6 and 7): ``KL + DIP`` on cov of means ("i") or of z ("ii").

    ``lambda_d = lambda_d_factor * lambda_od`` weights the diagonal, ``lambda_od`` the off-diagonal.
    """

    hyperparameter_names = ("lambda_od", "lambda_d_factor")
    regularizer_weight_name = "lambda_od"
    gin_name = "dip_vae"
    DIP_TYPES = ("i", "ii")

    def __init__(self, lambda_od, lambda_d_factor, dip_type: str = "i",
                 **kwargs):
        if dip_type not in self.DIP_TYPES:
            raise ValueError(f"Unknown dip_vae.dip_type {dip_type!r}; known: "
                             f"{', '.join(repr(t) for t in self.DIP_TYPES)}.")
        self.dip_type = dip_type
        super().__init__(hyperparameters={"lambda_od": lambda_od,
                                          "lambda_d_factor": lambda_d_factor}, **kwargs)

    def get_config(self):
        config = super().get_config()
        config["dip_type"] = self.dip_type
        return config

    def regularizer(self, kl_loss, z_mean, z_logvar, z_sampled, step, seed=None):
        lambda_od = self._hparams["lambda_od"]
        lambda_d = self._hparams["lambda_d_factor"] * lambda_od
        cov = compute_covariance_z_mean(z_mean)
        if self.dip_type == "ii":
            cov = cov + tf.reduce_mean(tf.linalg.diag(tf.exp(z_logvar)), axis=0)
        return kl_loss + regularize_diag_off_diag_dip(cov, lambda_od, lambda_d)


@keras.saving.register_keras_serializable(package=_PACKAGE, name="factor_vae")
class FactorVAE(BaseVAE):
    """FactorVAE (Kim & Mnih 2018, Eq. 2): ``KL + gamma * TC``, TC from a discriminator.

    The discriminator (``discriminator.discriminator_fn``, default ``fc_discriminator``) is
    trained by its own optimizer (``discriminator_optimizer``) to tell codes z ~ q(z) (class 0)
    from codes shuffled per dimension (class 1); ``loss_terms`` adds
    ``discriminator_loss`` (disentanglement_lib's log-likelihood, maximised) and
    ``discriminator_objective`` (its negative, minimised). There is no ``elbo`` term.
    """

    hyperparameter_names = ("gamma",)
    regularizer_weight_name = "gamma"
    reports_elbo = False
    gin_name = "factor_vae"

    def __init__(self, gamma, discriminator_fn: Optional[str] = None, **kwargs):
        if discriminator_fn is None:
            discriminator_fn = architectures.resolve_discriminator()
        self.discriminator_fn = architectures.architecture_name(
            discriminator_fn, "discriminator", architectures.DISCRIMINATORS)
        super().__init__(hyperparameters={"gamma": gamma}, **kwargs)

    def get_config(self):
        config = super().get_config()
        config["discriminator_fn"] = self.discriminator_fn
        return config

    def _build_extra(self) -> None:
        self.discriminator = architectures.build_discriminator(
            self.discriminator_fn, self.num_latent, seed=self._component_seed(3), dtype=self.precision)

    def _discriminate(self, codes: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        logits = self.discriminator(codes)
        return logits, tf.clip_by_value(tf.nn.softmax(logits), 1e-6, 1 - 1e-6)

    def terms_from_codes(self, images, z_mean, z_logvar, z_sampled, reconstructions, seed=None,
                         step=None):
        z_shuffled = shuffle_codes(z_sampled, _sub_seed(seed, 1))
        logits_z, probs_z = self._discriminate(z_sampled)
        _, probs_z_shuffled = self._discriminate(z_shuffled)
        reconstruction_loss = tf.reduce_mean(self.reconstruction_loss(images, reconstructions))
        kl_loss = compute_gaussian_kl(z_mean, z_logvar)
        tc_loss = tf.reduce_mean(logits_z[:, 0] - logits_z[:, 1])
        gamma = self._hparams["gamma"]
        discriminator_loss = (0.5 * tf.reduce_mean(tf.math.log(probs_z[:, 0]))
                              + 0.5 * tf.reduce_mean(tf.math.log(probs_z_shuffled[:, 1])))
        return {
            "loss": reconstruction_loss + kl_loss + gamma * tc_loss,
            "reconstruction_loss": reconstruction_loss,
            "regularizer": kl_loss + gamma * tc_loss,
            "kl_loss": kl_loss,
            "tc_loss": tc_loss,
            "discriminator_loss": discriminator_loss,
            "discriminator_objective": -discriminator_loss,
        }

    def optimizer_objectives(self):
        return super().optimizer_objectives() + [
            ("discriminator", "discriminator_objective",
             list(self.discriminator.trainable_variables))]


# Gin entry points with disentanglement_lib's scopes: ``model.model = @beta_tc_vae()``.

@gin.configurable("vae", allowlist=["beta"])
def vae(beta: float = gin.REQUIRED) -> BetaVAE:
    """gin ``vae``: a :class:`BetaVAE`; architecture from ``encoder.*``/``decoder.*``."""
    return BetaVAE(beta=beta)


@gin.configurable("beta_tc_vae", allowlist=["beta"])
def beta_tc_vae(beta: float = gin.REQUIRED) -> BetaTCVAE:
    """gin ``beta_tc_vae``: a :class:`BetaTCVAE`."""
    return BetaTCVAE(beta=beta)


@gin.configurable("factor_vae", allowlist=["gamma"])
def factor_vae(gamma: float = gin.REQUIRED) -> FactorVAE:
    """gin ``factor_vae``: a :class:`FactorVAE` (``discriminator.discriminator_fn``)."""
    return FactorVAE(gamma=gamma)


@gin.configurable("dip_vae", allowlist=["lambda_od", "lambda_d_factor", "dip_type"])
def dip_vae(lambda_od: float = gin.REQUIRED, lambda_d_factor: float = gin.REQUIRED,
            dip_type: str = "i") -> DIPVAE:
    """gin ``dip_vae``: a :class:`DIPVAE`."""
    return DIPVAE(lambda_od=lambda_od, lambda_d_factor=lambda_d_factor, dip_type=dip_type)


@gin.configurable("annealed_vae", allowlist=["gamma", "c_max", "iteration_threshold"])
def annealed_vae(gamma: float = gin.REQUIRED, c_max: float = gin.REQUIRED,
                 iteration_threshold: float = gin.REQUIRED) -> AnnealedVAE:
    """gin ``annealed_vae``: an :class:`AnnealedVAE`."""
    return AnnealedVAE(gamma=gamma, c_max=c_max, iteration_threshold=iteration_threshold)


MODELS: dict[str, type[BaseVAE]] = {
    cls.gin_name: cls for cls in (BetaVAE, BetaTCVAE, FactorVAE, DIPVAE, AnnealedVAE)
}


def get_model_class(name: str) -> type[BaseVAE]:
    """The model class registered under gin scope ``name``; lists the known ones otherwise."""
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"Unknown model {name!r}; known: {', '.join(sorted(MODELS))}.") from None


def make_model(name: str, observation_shape: Optional[Sequence[int]] = None, **kwargs) -> BaseVAE:
    """Creates model ``name`` with ``kwargs`` (hyperparameters, architecture, seed).

    With ``observation_shape`` the model is also built, so its weights exist.
    """
    model = get_model_class(name)(**kwargs)
    if observation_shape is not None:
        model.build((None,) + tuple(int(s) for s in observation_shape))
    return model


def clone_model(model: BaseVAE, seed: Optional[int] = None,
                observation_shape: Optional[Sequence[int]] = None,
                precision: Optional[str] = None) -> BaseVAE:
    """A new model with ``model``'s configuration and a different initialisation ``seed``.

    The clone is built for ``observation_shape`` (default: ``model``'s, if it is built) and
    computes in ``precision`` (default: ``model``'s).
    """
    config = model.get_config()
    config["seed"] = seed
    config.pop("name", None)
    if precision is not None:
        config["precision"] = architectures.check_precision(precision)
    clone = type(model).from_config(config)
    shape = observation_shape if observation_shape is not None else model.observation_shape
    if shape is not None:
        clone.build((None,) + tuple(int(s) for s in shape))
    return clone


def as_float32(model: BaseVAE) -> BaseVAE:
    """``model`` itself if it computes in float32, else a float32 copy with the same weights.

    Variables are float32 in every precision, so the copy is the same function up to the
    16-bit rounding of the activations; exported models use it, so they run at full speed on
    hardware without bfloat16/float16 arithmetic and match float32 evaluation code.
    """
    if model.precision == "float32":
        return model
    copy = clone_model(model, seed=model.seed, precision="float32")
    copy.set_weights(model.get_weights())
    return copy

