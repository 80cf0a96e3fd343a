"""The Gaussian-encoder VAE all models of :mod:`rpu_tf.models.vae` share (see there)."""

from __future__ import annotations

from typing import Any, ClassVar, Mapping, Optional

import keras
import tensorflow as tf

from rpu_tf.models import architectures
from rpu_tf.models.losses import ReconstructionLoss, resolve_reconstruction_loss
from rpu_tf.models.regularizers import Seed, _sub_seed, compute_gaussian_kl


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
        """One sample of N(mean, exp(logvar)); ``seed`` (shape [2]) makes it stateless.

        ``mean + exp(logvar / 2) * eps``, ``eps`` from ``tf.random.stateless_normal`` on the
        seed as given. ``tfd.Normal(...).sample(seed=...)`` draws the same numbers but takes
        int32 seeds only; it refuses the int64 noise seeds of training, and a cast would wrap
        values past 2**31 and change the noise that resumed runs repeat."""
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
        z_sampled = self.sample_latents(z_mean, z_logvar, seed)
        return self.terms_from_codes(images, z_mean, z_logvar, z_sampled, self.decode(z_sampled),
                                     seed=seed, step=step)

    def sample_latents(self, z_mean: tf.Tensor, z_logvar: tf.Tensor, seed: Seed = None) -> tf.Tensor:
        """The latents :meth:`loss_terms` decodes: one sample of q(z|x) drawn from ``seed``."""
        return self.sample_from_latent_distribution(z_mean, z_logvar, _sub_seed(seed, 0))

    def terms_from_codes(self, images: tf.Tensor, z_mean: tf.Tensor, z_logvar: tf.Tensor,
                         z_sampled: tf.Tensor, reconstructions: tf.Tensor, seed: Seed = None,
                         step: Optional[tf.Tensor] = None) -> dict[str, tf.Tensor]:
        """:meth:`loss_terms` given the encoder's codes ``(batch, num_latent)``, the sampled
        latents (:meth:`sample_latents`) and their decoded logits ``(batch,) +
        observation_shape``, so a trainer may compute encoder and decoder for several models
        at once (:mod:`rpu_tf.models.batched`)."""
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

    # -- Keras-native training (model.compile / model.fit) -------------------------------

    def train_step(self, data):
        """One ``model.fit`` step on the model's objective (``loss_terms()["loss"]``):
        ``model.compile(optimizer=keras.optimizers.Adam(1e-4))`` then
        ``model.fit(rpu_tf.data.as_tf_dataset(data, 64), steps_per_epoch=...)``. Returns the
        loss terms, which ``fit`` logs. Models with a second optimizer (FactorVAE's
        discriminator) train with ``rpu_train`` or :class:`rpu_tf.training.ReplicaGroup`."""
        images = self._fit_images(data)
        objectives = self.optimizer_objectives()
        if len(objectives) != 1:
            raise ValueError(f"{type(self).__name__} trains {len(objectives)} objectives with their own optimizers "
                             f"({', '.join(o[0] for o in objectives)}); model.fit has one. Train it with rpu_train "
                             "or rpu_tf.training.ReplicaGroup.")
        _, term, variables = objectives[0]
        with tf.GradientTape() as tape:
            terms = self.loss_terms(images, step=tf.cast(self.optimizer.iterations, tf.int64))
            objective = self.optimizer.scale_loss(terms[term]) if hasattr(self.optimizer, "scale_loss") else terms[term]
        gradients = tape.gradient(objective, variables)
        self.optimizer.apply_gradients(zip(gradients, variables))
        return terms

    def test_step(self, data):
        """``model.evaluate``: the loss terms of a batch, without updating."""
        images = self._fit_images(data)
        return self.loss_terms(images, step=tf.cast(self.optimizer.iterations, tf.int64))

    def _fit_images(self, data) -> tf.Tensor:
        images = data[0] if isinstance(data, (tuple, list)) else data
        if not self.built:
            self.build(images.shape)
        return tf.cast(images, tf.float32)

    def optimizer_objectives(self) -> list[tuple[str, str, list]]:
        """``(optimizer, loss-term key, variables)`` triples a trainer minimises each step.

        ``optimizer`` names a gin optimizer scope: ``"vae"`` (``vae_optimizer``) or
        ``"discriminator"`` (``discriminator_optimizer``).
        """
        return [("vae", "loss",
                 list(self.encoder.trainable_variables) + list(self.decoder.trainable_variables))]
