"""The VAE search space of the rPU-VAE populations: the paper's initial distributions."""

import numpy as np
import pytest

from rpu_tf.rpu.search_space import batch_size_choices, beta_choices, learning_rate_choices, vae_hyperparameter_space


def test_paper_distributions_and_their_bad_settings():
    assert batch_size_choices() == [8, 16, 32, 64, 128, 256, 512, 1024]
    lrs = learning_rate_choices()
    assert len(lrs) == 30 and lrs[0] == pytest.approx(1e-5) and lrs[-1] == pytest.approx(1.0)
    assert beta_choices()[:9] == [1, 2, 3, 4, 5, 6, 8, 10, 13] and beta_choices()[-1] == 437
    with pytest.raises(ValueError, match="batch_size_choices"):
        batch_size_choices(6, 5)
    with pytest.raises(ValueError, match="learning_rate_choices"):
        learning_rate_choices(1.0, 0.1)
    with pytest.raises(ValueError, match="beta_choices"):
        beta_choices(num=1)


def test_the_space_draws_from_the_choices_and_names_the_regulariser_weight():
    space = vae_hyperparameter_space(beta_name="gamma")
    assert space.names == ["learning_rate", "gamma", "batch_size"]
    values = space.sample(np.random.RandomState(0))
    assert values["batch_size"] in batch_size_choices() and values["gamma"] in beta_choices()
    assert min(abs(values["learning_rate"] - lr) for lr in learning_rate_choices()) < 1e-12


def test_initial_choices_outside_their_bounds_are_an_error_not_a_clip():
    from rpu_tf.rpu.search_space import learning_rate_choices, vae_hyperparameter_space

    with pytest.raises(ValueError, match=r"learning rate choices \[10.0\] lie outside the bounds \[1e-06, 1\]"):
        vae_hyperparameter_space(learning_rates=[1e-4, 10.0])
    with pytest.raises(ValueError, match="learning_rate_choices"):
        vae_hyperparameter_space(learning_rates=learning_rate_choices(low=10.0, high=20.0, num=2))
    with pytest.raises(ValueError, match="batch size choices \\[2048\\]"):
        vae_hyperparameter_space(batch_sizes=[64, 2048])
    assert "beta" in vae_hyperparameter_space(betas=[1.0, 1000.0]).names  # the bounds themselves are fine
