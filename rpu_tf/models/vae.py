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

from typing import Any, ClassVar, Mapping, Optional, Sequence

import gin
import keras
import tensorflow as tf

from rpu_tf.models import architectures
from rpu_tf.models.losses import ReconstructionLoss, gaussian_log_density, resolve_reconstruction_loss

Seed = Optional[tf.Tensor]  # shape-[2] int32/int64 tensor for stateless random ops, or None


# ----------------------------------------------------------------------------------------
# Loss helpers (TensorFlow, batch-first).
# ----------------------------------------------------------------------------------------

def compute_gaussian_kl(z_mean: tf.Tensor, z_logvar: tf.Tensor) -> tf.Tensor:
    """KL(N(mean, exp(logvar)) || N(0, I)) summed over latents, averaged over the batch (nats)."""
    return tf.reduce_mean(
        0.5 * tf.reduce_sum(tf.square(z_mean) + tf.exp(z_logvar) - z_logvar - 1.0, axis=1))


def total_correlation(z: tf.Tensor, z_mean: tf.Tensor, z_logvar: tf.Tensor) -> tf.Tensor:
    """Minibatch estimate of the total correlation of q(z), as in disentanglement_lib.

    ``mean_j [log sum_i q(z_j | x_i) - sum_l log sum_i q(z_jl | x_i)]``, leaving out the
    constant ``(num_latent - 1) * log(batch_size * dataset_size)`` (irrelevant for training).

    Args:
      z: ``(batch, num_latent)`` samples of q(z|x).
      z_mean, z_logvar: ``(batch, num_latent)`` parameters of q(z|x).

    Returns:
      Scalar tensor (nats).
    """
    # log q(z_j,l | x_i) indexed [j, i, l].
    log_qz_prob = gaussian_log_density(z[:, None, :], z_mean[None, :, :], z_logvar[None, :, :])
    log_qz_product = tf.reduce_sum(tf.reduce_logsumexp(log_qz_prob, axis=1), axis=1)
    log_qz = tf.reduce_logsumexp(tf.reduce_sum(log_qz_prob, axis=2), axis=1)
    return tf.reduce_mean(log_qz - log_qz_product)


def shuffle_codes(z: tf.Tensor, seed: Seed = None) -> tf.Tensor:
    """Permutes each latent dimension of ``z`` ``(batch, num_latent)`` independently over the batch."""
    zt = tf.transpose(z)  # (num_latent, batch)
    shape = tf.shape(zt)
    if seed is None:
        keys = tf.random.uniform(shape)
    else:
        keys = tf.random.stateless_uniform(shape, seed=seed)
    perm = tf.argsort(keys, axis=1)
    return tf.transpose(tf.gather(zt, perm, batch_dims=1))


def compute_covariance_z_mean(z_mean: tf.Tensor) -> tf.Tensor:
    """Covariance of the encoder means over the batch, ``(num_latent, num_latent)``."""
    e_zzt = tf.reduce_mean(z_mean[:, :, None] * z_mean[:, None, :], axis=0)
    e_z = tf.reduce_mean(z_mean, axis=0)
    return e_zzt - e_z[:, None] * e_z[None, :]


def regularize_diag_off_diag_dip(covariance: tf.Tensor, lambda_od, lambda_d) -> tf.Tensor:
    """``lambda_od * sum(offdiag^2) + lambda_d * sum((diag - 1)^2)`` of a covariance matrix."""
    diag = tf.linalg.diag_part(covariance)
    off_diag = covariance - tf.linalg.diag(diag)
    return lambda_od * tf.reduce_sum(off_diag ** 2) + lambda_d * tf.reduce_sum((diag - 1.0) ** 2)


def anneal(c_max, step, iteration_threshold) -> tf.Tensor:
    """Capacity ``min(c_max, c_max * step / iteration_threshold)`` of the AnnealedVAE."""
    step = tf.cast(step, tf.float32)
    return tf.minimum(c_max * 1.0, c_max * step / tf.cast(iteration_threshold, tf.float32))


def _sub_seed(seed: Seed, index: int) -> Seed:
    """A different stateless seed derived from ``seed`` for the ``index``-th random op."""
    if seed is None:
        return None
    seed = tf.cast(seed, tf.int64)
    return tf.stack([seed[0], seed[1] * 4 + index])


# ----------------------------------------------------------------------------------------
# Models.
# ----------------------------------------------------------------------------------------

class BaseVAE(keras.Model):
    """Gaussian-encoder VAE; subclasses define :meth:`regularizer` and their hyperparameters.

    Args:
      num_latent, encoder_fn, decoder_fn: architecture (names as in
        :mod:`rpu_tf.models.architectures`); ``None`` reads ``encoder.*``/``decoder.*`` from gin.
      reconstruction_loss: a :class:`ReconstructionLoss`, its dict, or ``None`` to read
        ``reconstruction_loss.*`` from gin.
      seed: integer seed of the weight initialisation (``None``: Keras' global RNG).
      precision: Keras dtype policy of the networks (``"float32"``, ``"mixed_bfloat16"``,
        ``"mixed_float16"``); variables, codes, logits and every loss term stay float32.
      **kwargs: passed to ``keras.Model`` (``name``, ...).
    """

    #: Hyperparameters stored as variables, in order (PBT may change any of them).
    hyperparameter_names: ClassVar[tuple[str, ...]] = ()
    #: The hyperparameter weighting the regulariser (what "beta" means for this model).
    regularizer_weight_name: ClassVar[str] = ""
    #: Whether ``loss_terms`` reports an ELBO.
    reports_elbo: ClassVar[bool] = True
    #: The gin scope / registry name.
    gin_name: ClassVar[str] = ""

    def __init__(self, num_latent: Optional[int] = None, encoder_fn: Optional[str] = None,
                 decoder_fn: Optional[str] = None, reconstruction_loss=None,
                 seed: Optional[int] = None, hyperparameters: Optional[Mapping[str, float]] = None,
                 precision: str = "float32", **kwargs):
        super().__init__(**kwargs)
        self.precision = architectures.check_precision(precision)
        if num_latent is None or encoder_fn is None:
            gin_encoder, gin_num_latent = architectures.resolve_encoder()
            encoder_fn = gin_encoder if encoder_fn is None else encoder_fn
            num_latent = gin_num_latent if num_latent is None else num_latent
        if decoder_fn is None:
            decoder_fn = architectures.resolve_decoder()
        self.num_latent = int(num_latent)
        self.encoder_fn = architectures.architecture_name(encoder_fn, "encoder", architectures.ENCODERS)
        self.decoder_fn = architectures.architecture_name(decoder_fn, "decoder", architectures.DECODERS)
        if reconstruction_loss is None:
            reconstruction_loss = resolve_reconstruction_loss()
        elif isinstance(reconstruction_loss, Mapping):
            reconstruction_loss = ReconstructionLoss(**reconstruction_loss)
        self.reconstruction_loss: ReconstructionLoss = reconstruction_loss
        self.seed = None if seed is None else int(seed)
        self.observation_shape: Optional[tuple[int, int, int]] = None
        values = dict(hyperparameters or {})
        unknown = set(values) - set(self.hyperparameter_names)
        if unknown:
            raise ValueError(f"{type(self).__name__} has no hyperparameters {sorted(unknown)}; "
                             f"known: {', '.join(self.hyperparameter_names)}.")
        self._hparams: dict[str, keras.Variable] = {}
        for hp_name in self.hyperparameter_names:
            value = values[hp_name]
            self._hparams[hp_name] = self.add_weight(
                shape=(), initializer=keras.initializers.Constant(float(value)), dtype="float32",
                trainable=False, name=hp_name)

    # -- construction --------------------------------------------------------------------

    def _component_seed(self, offset: int) -> Optional[int]:
        return None if self.seed is None else (self.seed + 7919 * offset) % 2**31

    def build(self, input_shape):
        """Builds encoder and decoder for images of shape ``input_shape[1:]``."""
        shape = architectures.check_observation_shape(
            tuple(input_shape)[1:], self.encoder_fn, self.decoder_fn)
        self.observation_shape = shape
        self.encoder = architectures.build_encoder(
            self.encoder_fn, shape, self.num_latent, seed=self._component_seed(1), dtype=self.precision)
        self.decoder = architectures.build_decoder(
            self.decoder_fn, shape, self.num_latent, seed=self._component_seed(2), dtype=self.precision)
        self._build_extra()

    def _build_extra(self) -> None:
        """Hook for models with extra networks (FactorVAE's discriminator)."""

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            num_latent=self.num_latent, encoder_fn=self.encoder_fn, decoder_fn=self.decoder_fn,
            reconstruction_loss=dict(vars(self.reconstruction_loss)), seed=self.seed,
            hyperparameters=self.hyperparameters(), precision=self.precision)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        hyper = config.pop("hyperparameters", {})
        return cls(**hyper, **config)

    # -- hyperparameters -----------------------------------------------------------------

    def hyperparameters(self) -> dict[str, float]:
        """Current hyperparameter values, ``{name: float}``."""
        return {k: float(keras.ops.convert_to_numpy(v)) for k, v in self._hparams.items()}

    def hyperparameter_variable(self, name: str) -> keras.Variable:
        """The variable holding hyperparameter ``name`` (read inside compiled steps)."""
        try:
            return self._hparams[name]
        except KeyError:
            raise ValueError(f"{type(self).__name__} has no hyperparameter {name!r}; "
                             f"known: {', '.join(self.hyperparameter_names)}.") from None

    def set_hyperparameters(self, **values: float) -> None:
        """Assigns hyperparameters by name (no retracing of compiled steps that read them)."""
        for name, value in values.items():
            self.hyperparameter_variable(name).assign(float(value))

    # -- model ---------------------------------------------------------------------------

    def encode(self, images: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Images ``(batch,) + observation_shape`` to ``(mean, log_var)``, ``(batch, num_latent)``."""
        mean, log_var = self.encoder(images)
        return mean, log_var

    def decode(self, latents: tf.Tensor) -> tf.Tensor:
        """Latents ``(batch, num_latent)`` to logits ``(batch,) + observation_shape``."""
        return self.decoder(latents)

    @staticmethod
    def sample_from_latent_distribution(z_mean: tf.Tensor, z_logvar: tf.Tensor,
                                        seed: Seed = None) -> tf.Tensor:
        """One sample of N(mean, exp(logvar)); ``seed`` (shape [2]) makes it stateless."""
        if seed is None:
            eps = tf.random.normal(tf.shape(z_mean))
        else:
            eps = tf.random.stateless_normal(tf.shape(z_mean), seed=seed)
        return z_mean + tf.exp(z_logvar / 2) * eps

    def call(self, images, training=False):
        """Deterministic reconstruction logits: ``decode(mean)``."""
        mean, _ = self.encode(images)
        return self.decode(mean)

    # -- losses --------------------------------------------------------------------------

    def regularizer(self, kl_loss, z_mean, z_logvar, z_sampled, step, seed: Seed = None):
        """The regulariser added to the reconstruction loss (scalar)."""
        raise NotImplementedError

    def loss_terms(self, images: tf.Tensor, seed: Seed = None,
                   step: Optional[tf.Tensor] = None) -> dict[str, tf.Tensor]:
        """Scalar loss terms of one batch (see the module docstring); ``loss`` is minimised."""
        z_mean, z_logvar = self.encode(images)
        z_sampled = self.sample_from_latent_distribution(z_mean, z_logvar, _sub_seed(seed, 0))
        reconstructions = self.decode(z_sampled)
        reconstruction_loss = tf.reduce_mean(self.reconstruction_loss(images, reconstructions))
        kl_loss = compute_gaussian_kl(z_mean, z_logvar)
        step = tf.constant(0, tf.int64) if step is None else step
        regularizer = self.regularizer(kl_loss, z_mean, z_logvar, z_sampled, step,
                                       _sub_seed(seed, 1))
        terms = {
            "loss": reconstruction_loss + regularizer,
            "reconstruction_loss": reconstruction_loss,
            "regularizer": regularizer,
            "kl_loss": kl_loss,
        }
        if self.reports_elbo:
            terms["elbo"] = -(reconstruction_loss + kl_loss)
        return terms

    def optimizer_objectives(self) -> list[tuple[str, str, list]]:
        """``(optimizer, loss-term key, variables)`` triples a trainer minimises each step.

        ``optimizer`` names a gin optimizer scope: ``"vae"`` (``vae_optimizer``) or
        ``"discriminator"`` (``discriminator_optimizer``).
        """
        return [("vae", "loss",
                 list(self.encoder.trainable_variables) + list(self.decoder.trainable_variables))]


_PACKAGE = "rpu_tf"



@keras.saving.register_keras_serializable(package=_PACKAGE, name="vae")
class BetaVAE(BaseVAE):
    """beta-VAE (Higgins et al. 2017, Eq. 4): regulariser ``beta * KL``."""

    hyperparameter_names = ("beta",)
    regularizer_weight_name = "beta"
    gin_name = "vae"

    def __init__(self, beta, **kwargs):
        super().__init__(hyperparameters={"beta": beta}, **kwargs)

    def regularizer(self, kl_loss, z_mean, z_logvar, z_sampled, step, seed=None):
        return self._hparams["beta"] * kl_loss


@keras.saving.register_keras_serializable(package=_PACKAGE, name="beta_tc_vae")
class BetaTCVAE(BaseVAE):
    """beta-TCVAE (Chen et al. 2018, Eq. 4 with alpha = gamma = 1): ``KL + (beta - 1) * TC``."""

    hyperparameter_names = ("beta",)
    regularizer_weight_name = "beta"
    gin_name = "beta_tc_vae"

    def __init__(self, beta, **kwargs):
        super().__init__(hyperparameters={"beta": beta}, **kwargs)

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

    def loss_terms(self, images, seed=None, step=None):
        z_mean, z_logvar = self.encode(images)
        z_sampled = self.sample_from_latent_distribution(z_mean, z_logvar, _sub_seed(seed, 0))
        z_shuffled = shuffle_codes(z_sampled, _sub_seed(seed, 1))
        logits_z, probs_z = self._discriminate(z_sampled)
        _, probs_z_shuffled = self._discriminate(z_shuffled)
        reconstructions = self.decode(z_sampled)
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

