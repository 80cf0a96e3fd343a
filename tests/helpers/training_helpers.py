"""Tiny data sets and models for the model and training tests (sizes chosen for speed)."""

from __future__ import annotations

import numpy as np

from rpu_tf.data.ground_truth_data import GroundTruthData
from rpu_tf.models import make_model

BERNOULLI = {"loss_fn": "bernoulli_loss"}


class BlobData(GroundTruthData):
    """A bright ``blob x blob`` square at one of ``(size - blob + 1)^2`` positions.

    Factors: (x, y) position. Observations float32 ``(size, size, channels)`` in [0, 1].
    """

    def __init__(self, size: int = 16, blob: int = 4, channels: int = 1):
        self.size, self.blob, self.channels = size, blob, channels

    @property
    def num_factors(self) -> int:
        return 2

    @property
    def factors_num_values(self) -> list[int]:
        return [self.size - self.blob + 1] * 2

    @property
    def observation_shape(self) -> list[int]:
        return [self.size, self.size, self.channels]

    def sample_factors(self, num, random_state):
        return np.stack([random_state.randint(n, size=num) for n in self.factors_num_values], 1)

    def sample_observations_from_factors(self, factors, random_state):
        out = np.zeros((len(factors), self.size, self.size, self.channels), np.float32)
        for i, (x, y) in enumerate(factors):
            out[i, y:y + self.blob, x:x + self.blob, :] = 1.0
        return out


class NaNAfter(BlobData):
    """BlobData whose batches contain NaN from the ``after``-th call of sample_observations on."""

    def __init__(self, after: int, **kwargs):
        super().__init__(**kwargs)
        self.after, self.calls = after, 0

    def sample_observations(self, num, random_state):
        obs = super().sample_observations(num, random_state)
        self.calls += 1
        if self.calls > self.after:
            obs[0, 0, 0, 0] = np.nan
        return obs


def fc_model(name: str = "beta_tc_vae", num_latent: int = 4, **hyperparameters):
    """A fully connected model (fast on 16x16 images); default beta 4 for beta-VAEs."""
    if not hyperparameters:
        hyperparameters = {"vae": {"beta": 4.0}, "beta_tc_vae": {"beta": 4.0},
                           "factor_vae": {"gamma": 10.0},
                           "dip_vae": {"lambda_od": 2.0, "lambda_d_factor": 10.0},
                           "annealed_vae": {"gamma": 10.0, "c_max": 5.0,
                                            "iteration_threshold": 100}}[name]
    return make_model(name, num_latent=num_latent, encoder_fn="fc_encoder",
                      decoder_fn="fc_decoder", reconstruction_loss=BERNOULLI, **hyperparameters)


def weights_equal(a, b) -> bool:
    """Whether two lists of arrays are identical."""
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))
