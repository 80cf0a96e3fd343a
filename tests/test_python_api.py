"""The Python API without gin: tf.data pipelines of our data sets, Keras-native training of
the VAE objective (model.fit / model.evaluate), and the README's Python example, executed as
written."""

import os
import re

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


def test_the_readme_python_example_runs_as_written(capsys):
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    assert blocks, "the README has a Python example"
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {"__name__": "readme"})
    mig = float(re.search(r"MIG (\d\.\d+)", capsys.readouterr().out).group(1))
    assert 0.0 <= mig <= 1.0
