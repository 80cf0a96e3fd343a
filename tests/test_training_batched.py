"""Models as a batched axis: a group computed batched trains the same K models as its K
sub-graphs (losses, weights, evaluation, supervision, both precisions, every model kind)."""

import numpy as np
import pytest
import tensorflow as tf

from rpu_tf.data.sprites import Sprites
from rpu_tf.models import batched, make_model
from rpu_tf.training import model_batching
from rpu_tf.training.replica_group import ReplicaGroup
from rpu_tf.training.supervision import ground_truth_supervision
from tests.helpers.training_helpers import BERNOULLI, fc_model

SPRITES = Sprites(num_scales=2, num_orientations=2, num_positions_x=4, num_positions_y=4, image_size=32)


def conv_model(name="beta_tc_vae", **hyperparameters):
    hyperparameters = hyperparameters or {"beta": 6.0}
    return make_model(name, num_latent=5, encoder_fn="conv_encoder", decoder_fn="deconv_decoder",
                      reconstruction_loss=BERNOULLI, **hyperparameters)


def _pair(model_fn, data=SPRITES, num_replicas=3, **kwargs):
    """The same group (same seed) computed as sub-graphs and batched."""
    groups = [ReplicaGroup(model_fn(), data, num_replicas=num_replicas, batch_size=8, random_seed=5,
                           model_batching=choice, **kwargs) for choice in ("replicas", "batched")]
    assert [g.batched for g in groups] == [False, True]
    return groups


def _weights(group):
    return [w for m in group.models for w in m.get_weights()]


def _train_both(groups, steps):
    """Trains both groups step by step; returns their per-step, per-replica losses ``(2, steps, K)``."""
    losses = [[], []]
    for _ in range(steps):
        for g, out in zip(groups, losses):
            g.train(1)
            out.append(g.last_train_metrics["loss"])
    return np.asarray(losses)


def _assert_same_training(groups, steps, rtol, weights_apart=0.02):
    start = _weights(groups[0])
    assert all(np.array_equal(a, b) for a, b in zip(start, _weights(groups[1])))
    losses = _train_both(groups, steps)
    np.testing.assert_allclose(losses[1], losses[0], rtol=rtol)
    # The weights moved the same way: their difference is tiny against how far they moved.
    trained, other = _weights(groups[0]), _weights(groups[1])
    moved = np.sqrt(sum(float(np.sum((a - s) ** 2)) for a, s in zip(trained, start)))
    apart = np.sqrt(sum(float(np.sum((a - b) ** 2)) for a, b in zip(trained, other)))
    assert moved > 0 and apart < weights_apart * moved, (apart, moved)


@pytest.mark.slow
def test_batched_conv_group_trains_like_its_replicas():
    _assert_same_training(_pair(conv_model), steps=4, rtol=1e-5)


@pytest.mark.slow
def test_batched_factor_vae_and_bfloat16_train_like_their_replicas():
    # FactorVAE: its own loss terms from the batched codes (discriminators stay per model).
    small = Sprites(num_scales=2, num_orientations=2, num_positions_x=4, num_positions_y=4, image_size=16)
    _assert_same_training(_pair(lambda: fc_model("factor_vae"), data=small, num_replicas=2), steps=3, rtol=1e-5)
    # bfloat16 rounds differently per layout (grouped vs single kernels): the same losses to
    # bfloat16's precision, weights a few percent of their path apart.
    _assert_same_training(_pair(conv_model, num_replicas=2, precision="mixed_bfloat16"), steps=3, rtol=2e-2,
                          weights_apart=0.1)


def test_batched_forward_equals_each_models_own():
    models = [conv_model() for _ in range(3)]
    for model in models:
        model.build((None, 32, 32, 1))
    for k, model in enumerate(models):
        model.set_weights([w + 0.01 * k for w in models[0].get_weights()])  # distinct weights
    images = SPRITES.sample_observations(12, np.random.RandomState(0)).reshape((3, 4, 32, 32, 1))
    means, log_vars = batched.encode(models, tf.constant(images))
    latents = np.random.RandomState(1).normal(size=(3, 4, 5)).astype(np.float32)
    logits = batched.decode(models, tf.constant(latents))
    for k, model in enumerate(models):
        mean, log_var = model.encode(images[k])
        np.testing.assert_allclose(means[k], mean, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(log_vars[k], log_var, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(logits[k], model.decode(latents[k]), rtol=1e-4, atol=1e-4)


def test_batched_evaluation_and_supervision_match():
    sup = ground_truth_supervision(SPRITES, num_labelled=32, weight=10.0, loss="l2", batch_size=8, seed=0)
    groups = _pair(conv_model, num_replicas=2, supervision=sup)
    _assert_same_training(groups, steps=2, rtol=1e-5)
    sup_losses = [g.last_train_metrics["supervised_loss"] for g in groups]
    np.testing.assert_allclose(sup_losses[1], sup_losses[0], rtol=1e-5)
    evaluated = [g.evaluate(2, seed=3) for g in groups]
    for key in evaluated[0]:
        np.testing.assert_allclose(evaluated[1][key], evaluated[0][key], rtol=1e-5, atol=1e-6)


def test_model_batching_choice():
    assert not model_batching.resolve_model_batching("batched", 1)  # one model: nothing to batch
    assert model_batching.resolve_model_batching("batched", 3)
    assert not model_batching.resolve_model_batching("replicas", 3)
    assert not model_batching.resolve_model_batching("batched", 3, supported=False)
    on_gpu = bool(tf.config.list_physical_devices("GPU"))
    assert model_batching.resolve_model_batching("auto", 3) == on_gpu
    with pytest.raises(ValueError, match="training.model_batching 'grouped'; known: auto, batched, replicas"):
        model_batching.resolve_model_batching("grouped", 3)
    group = ReplicaGroup(conv_model(), SPRITES, num_replicas=2, batch_size=4)
    assert group.model_batching == "auto" and group.batched == on_gpu
    assert batched.can_batch(group.models)
