"""Colour and noise variants of single-channel data sets, as disentanglement_lib's.

``ColorVariant`` multiplies the grey-scale observation by one colour per image drawn
from ``uniform(0.5, 1, [n, 1, 1, 3])`` (disentanglement_lib's ``color_dsprites``);
``NoisyVariant`` replaces the black background by ``uniform(0, 1, [n, H, W, 3])`` noise
(``noisy_dsprites``: ``min(x + noise, 1)``). Both draw these numbers after the base data
set's own draws, in disentanglement_lib's order, so the same ``RandomState`` gives the same
observations. Colour and noise are not factors: the finite index addresses the base
images, and ``observations_from_indices`` draws the colour or noise from ``random_state``
(a ``RandomState(0)`` when none is given).
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from rpu_tf.data.ground_truth_data import FactorsOfBase, FiniteGroundTruthData, GroundTruthData


class _ChannelVariant(FactorsOfBase, FiniteGroundTruthData):
    """Wraps a single-channel data set; subclasses turn its images into RGB."""

    suffix = ""

    def __init__(self, base: GroundTruthData):
        shape = list(base.observation_shape)
        if shape[-1] != 1:
            raise ValueError(
                f"{type(self).__name__} needs a single-channel base data set, "
                f"got observation_shape {shape}."
            )
        self.base = base

    @property
    def name(self) -> str:
        return f"{self.suffix}_{self.base.name}"

    @property
    def observation_shape(self) -> list[int]:
        return list(self.base.observation_shape[:-1]) + [3]

    def sample_factors(self, num, random_state):
        return self.base.sample_factors(num, random_state)

    def sample_observations_from_factors(self, factors, random_state):
        grey = self.base.sample_observations_from_factors(factors, random_state)
        return self._colourise(grey, random_state)

    # Finite index: delegated to the base data set.
    def _require_finite(self) -> FiniteGroundTruthData:
        if not isinstance(self.base, FiniteGroundTruthData):
            raise ValueError(f"{self.name}: the base data set {self.base.name} has no finite index.")
        return self.base

    @property
    def num_observations(self) -> int:
        return self._require_finite().num_observations

    def index_to_factors(self, indices):
        return self._require_finite().index_to_factors(indices)

    def factors_to_index(self, factors):
        return self._require_finite().factors_to_index(factors)

    def _observations_from_valid_indices(self, indices, random_state: Optional[np.random.RandomState]):
        if random_state is None:
            random_state = np.random.RandomState(0)
        grey = self._require_finite().observations_from_indices(indices, random_state)
        return self._colourise(grey, random_state)

    def _colourise(self, grey: np.ndarray, random_state) -> np.ndarray:
        raise NotImplementedError()

    def __getattr__(self, item):
        # Descriptive helpers of the base (factor_names, factor_values, ...).
        if item == "base":
            raise AttributeError(item)
        return getattr(self.base, item)


class ColorVariant(_ChannelVariant):
    """Sprite in a random colour with channels in [0.5, 1] on black (``color_dsprites``)."""

    suffix = "color"

    def _colourise(self, grey, random_state):
        colour = random_state.uniform(0.5, 1, [grey.shape[0], 1, 1, 3])
        return (grey * colour).astype(np.float32)


class NoisyVariant(_ChannelVariant):
    """White sprite on uniform noise (``noisy_dsprites``)."""

    suffix = "noisy"

    def _colourise(self, grey, random_state):
        h, w = grey.shape[1:3]
        noise = random_state.uniform(0, 1, [grey.shape[0], h, w, 3])
        return np.minimum(grey + noise, 1.0).astype(np.float32)
