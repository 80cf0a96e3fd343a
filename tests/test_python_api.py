"""The Python API without gin: tf.data pipelines of our data sets, Keras-native training of
the VAE objective (model.fit / model.evaluate), and rPU-VAE's arguments. The README's Python
examples run as written in tests/test_docs_blocks.py."""

import contextlib
import dataclasses
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import rpu_tf.data
from rpu_tf.models import BetaTCVAE, FactorVAE

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMALL = dict(image_size=32, num_orientations=2, num_scales=2, num_positions_x=4, num_positions_y=4)
ARCH = dict(num_latent=4, encoder_fn="conv_encoder", decoder_fn="deconv_decoder",
            reconstruction_loss={"loss_fn": "bernoulli_loss"})


def test_as_tf_dataset_draws_seeded_batches():
    data = rpu_tf.data.Sprites(**SMALL)
    batches = [b.numpy() for b in rpu_tf.data.as_tf_dataset(data, batch_size=5, seed=3, num_batches=3)]
    assert len(batches) == 3 and all(b.shape == (5, 32, 32, 1) and b.dtype == np.float32 for b in batches)
    expected = data.sample_observations(5, np.random.RandomState(3))
    np.testing.assert_array_equal(batches[0], expected)  # the same draws as the data set's own
    again = next(iter(rpu_tf.data.as_tf_dataset(data, batch_size=5, seed=3))).numpy()
    np.testing.assert_array_equal(again, batches[0])
    single = next(iter(rpu_tf.data.tf_data_set_from_ground_truth_data(data, 3))).numpy()
    np.testing.assert_array_equal(single, data.sample_observations(1, np.random.RandomState(3))[0])
    with pytest.raises(ValueError, match="batch_size"):
        rpu_tf.data.as_tf_dataset(data, batch_size=0)


def test_model_fit_trains_the_vae_objective():
    data = rpu_tf.data.Sprites(**SMALL)
    model = BetaTCVAE(beta=4.0, seed=0, **ARCH)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    batches = rpu_tf.data.as_tf_dataset(data, batch_size=16, seed=0)
    before = model.evaluate(batches, steps=4, return_dict=True, verbose=0)
    history = model.fit(batches, steps_per_epoch=40, epochs=1, verbose=0)
    after = model.evaluate(batches, steps=4, return_dict=True, verbose=0)
    assert set(history.history) >= {"loss", "reconstruction_loss", "kl_loss", "regularizer", "elbo"}
    assert int(model.optimizer.iterations.numpy()) == 40
    assert after["reconstruction_loss"] < before["reconstruction_loss"]  # it learned to reconstruct
    codes = model.encode(next(iter(batches)))[0]
    assert codes.shape == (16, 4) and bool(tf.reduce_all(tf.math.is_finite(codes)))


def test_model_fit_refuses_models_with_a_second_optimizer():
    model = FactorVAE(gamma=10.0, seed=0, **ARCH)
    model.compile(optimizer=keras.optimizers.Adam(1e-4))
    data = rpu_tf.data.as_tf_dataset(rpu_tf.data.Sprites(**SMALL), batch_size=4)
    with pytest.raises(ValueError, match="FactorVAE trains 2 objectives .* rpu_train"):
        model.fit(data, steps_per_epoch=1, verbose=0)


# --- rPU-VAE from Python (rpu_tf.pipelines.RPUVAE), without gin files --------------------

def test_rpu_vae_from_python_refuses_bad_arguments_in_one_line():
    from rpu_tf.pipelines import RPUVAE, Population

    data = rpu_tf.data.Sprites(**SMALL)
    with pytest.raises(ValueError, match="members must be an integer >= 2"):
        Population(members=1)
    with pytest.raises(ValueError, match="final_warm_start must be one of"):
        RPUVAE("unused", data, final_warm_start="best")
    with pytest.raises(ValueError, match="model 'vae9' is not a registered VAE; known: .*beta_tc_vae"):
        RPUVAE("unused", data, model="vae9")
    with pytest.raises(TypeError, match="needs a FiniteGroundTruthData"):
        RPUVAE("unused", object())


PBT_CONFIGURABLES = ("pbt", "pbt_stopping", "pbt_vae", "vae_hyperparameters")


def _effective_settings(scopes) -> dict:
    """Per stage scope, the value every rPU-VAE setting takes (bound, or the default)."""
    import inspect

    import gin

    from rpu_tf.pbt import PopulationBasedTraining
    from rpu_tf.pbt.stopping import StoppingRule
    from rpu_tf.pipelines.rpu_vae import run_rpu_vae
    from rpu_tf.rpu.pbt_vae import run_pbt_vae
    from rpu_tf.metrics.latent_codes import active_latents
    from rpu_tf.rpu.reduction import reduce_indices
    from rpu_tf.rpu.scoring import SurrogateMIGScore, UDRScore
    from rpu_tf.rpu.search_space import vae_hyperparameter_space

    configurables = {"pbt": PopulationBasedTraining, "pbt_stopping": StoppingRule, "pbt_vae": run_pbt_vae,
                     "rpu_vae": run_rpu_vae, "active_latents": active_latents, "reduction": reduce_indices,
                     "surrogate_mig_score": SurrogateMIGScore, "udr_score": UDRScore,
                     "vae_hyperparameters": vae_hyperparameter_space}
    settings = {}
    for scope in scopes:
        with contextlib.ExitStack() as stack:
            for part in scope:
                stack.enter_context(gin.config_scope(part))
            for name, fn in configurables.items():
                if not scope and name in PBT_CONFIGURABLES:
                    continue  # every population runs under a stage scope: the unscoped values are unused
                defaults = {k: p.default for k, p in inspect.signature(fn).parameters.items()
                            if p.default is not inspect.Parameter.empty}
                bound = gin.get_bindings(name, resolve_references=False)
                for key, value in {**defaults, **bound}.items():
                    settings[("/".join(scope), name, key)] = value if isinstance(value, (int, float, str, type(None))) \
                        else str(value) if not isinstance(value, (list, tuple)) else [float(v) for v in value]
    for key in ("encoder.num_latent", "training.precision", "pbt_vae.model"):
        settings[key] = str(gin.query_parameter(key))
    return settings


def test_the_python_quickstart_is_the_quickstart_config(clean_gin):
    import gin

    from rpu_tf import registry
    from rpu_tf.data.named_data import get_named_ground_truth_data
    from rpu_tf.pipelines import RPUVAE
    from rpu_tf.pipelines.python_api import BASE_CONFIG
    from rpu_tf.pipelines.rpu_vae import describe_data
    from rpu_tf.utils.gin_files import parse_gin, resolve_gin_config

    scopes = [(), ("metaepoch", "initial"), ("metaepoch", "leaf"), ("final",)]
    registry.register_gin_configurables()
    parse_gin([os.path.join(ROOT, "gin_configs", "quickstart.gin")], [])
    from_file, data = _effective_settings(scopes), describe_data(get_named_ground_truth_data())
    gin.clear_config()
    rpu = RPUVAE.quickstart("unused")
    parse_gin([resolve_gin_config(BASE_CONFIG)], rpu.bindings())
    from_python = _effective_settings(scopes)
    assert describe_data(rpu.data) == data
    differ = {k: (from_file.get(k), from_python.get(k)) for k in set(from_file) | set(from_python)
              if from_file.get(k) != from_python.get(k)}
    assert not differ
    assert from_python[("metaepoch/leaf", "pbt_vae", "generation_images")] == 8000  # it did look the values up
