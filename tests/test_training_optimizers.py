"""Adam through disentanglement_lib's gin names reaches keras.optimizers.Adam unchanged."""

import gin
import keras
import pytest

from rpu_tf.training import ReplicaGroup
from rpu_tf.training.optimizers import AdamSpec, resolve_discriminator_optimizer, resolve_vae_optimizer
from tests.helpers.training_helpers import BlobData, fc_model

pytestmark = pytest.mark.usefixtures("clean_gin")


def test_scoped_adam_optimizer_bindings_give_keras_adam_with_those_settings():
    gin.parse_config([
        "vae_optimizer.optimizer_fn = @vae/AdamOptimizer", "vae/AdamOptimizer.learning_rate = 0.003",
        "vae/AdamOptimizer.beta1 = 0.8", "vae/AdamOptimizer.beta2 = 0.99", "vae/AdamOptimizer.epsilon = 1e-6",
        "discriminator_optimizer.optimizer_fn = @discriminator/AdamOptimizer",
        "discriminator/AdamOptimizer.beta1 = 0.5", "discriminator/AdamOptimizer.beta2 = 0.9",
    ])
    assert resolve_vae_optimizer() == AdamSpec(learning_rate=0.003, beta1=0.8, beta2=0.99, epsilon=1e-6)
    assert resolve_discriminator_optimizer() == AdamSpec(learning_rate=0.001, beta1=0.5, beta2=0.9)
    group = ReplicaGroup(fc_model("beta_tc_vae"), BlobData(size=16), num_replicas=1, batch_size=8)
    optimizer = group.optimizers["vae"]
    assert type(optimizer) is keras.optimizers.Adam
    assert (optimizer.beta_1, optimizer.beta_2, optimizer.epsilon) == (0.8, 0.99, 1e-6)
    assert float(optimizer.learning_rate.numpy()) == pytest.approx(0.003)


def test_adam_settings_are_checked():
    with pytest.raises(ValueError, match="beta1"):
        AdamSpec(beta1=1.0)
    with pytest.raises(ValueError, match="learning_rate"):
        AdamSpec(learning_rate=0.0)
