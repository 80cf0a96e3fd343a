"""Our data sets inside disentanglement_lib 1.5's own code (the oracle)."""

import numpy as np
import pytest

from rpu_tf.data import ColorVariant, DSprites, NoisyVariant, ReducedData, Sprites
from tests.helpers.data_helpers import write_small_dsprites
from tests.helpers.dlib_oracle import import_dlib


class LastFactors:
    """Representation = ground-truth factors of the last batch ``sample`` returned.

    dlib's metric loop calls ``ground_truth_data.sample(n)`` and then the representation
    function on exactly those observations, so the factors are the true representation.
    """

    def __init__(self, data):
        self.data = data
        self.calls = 0

    def sample(self, num, random_state):
        self._factors, self._obs = self.data.sample(num, random_state)
        return self._factors, self._obs

    def representation(self, observations):
        assert observations is self._obs or np.array_equal(observations, self._obs)
        self.calls += 1
        return self._factors.astype(np.float64)

    def __getattr__(self, item):
        return getattr(self.data, item)


def _subset_left_half(sprites):
    """Kept: every sprite in the left half of the x positions (a structured reduction)."""
    idx = np.arange(sprites.num_observations)
    return ReducedData(sprites, idx[sprites.index_to_factors(idx)[:, 3] < 16])


def _bind_histogram_discretizer(gin, num_bins=20):
    gin.clear_config()
    prefix = "disentanglement_lib.evaluation.metrics.utils"
    utils = import_dlib(prefix)
    gin.bind_parameter(f"{prefix}.discretizer.discretizer_fn", utils._histogram_discretize)
    gin.bind_parameter(f"{prefix}.discretizer.num_bins", num_bins)


@pytest.mark.parametrize("subset", [False, True], ids=["sprites", "reduced_sprites"])
@pytest.mark.slow
def test_dlib_mig_and_dci_on_ground_truth_factors(subset):
    import gin

    mig = import_dlib("disentanglement_lib.evaluation.metrics.mig")
    dci = import_dlib("disentanglement_lib.evaluation.metrics.dci")
    data = Sprites()
    if subset:
        data = _subset_left_half(data)
    rec = LastFactors(data)
    try:
        _bind_histogram_discretizer(gin)
        mig_result = mig.compute_mig(rec, rec.representation, np.random.RandomState(0), num_train=3000,
                                     batch_size=64)
    finally:
        gin.clear_config()
    np.random.seed(0)  # dlib's gradient boosting draws from numpy's global state
    dci_result = dci.compute_dci(rec, rec.representation, np.random.RandomState(1), num_train=600,
                                 num_test=300, batch_size=64)
    assert rec.calls > 0
    # 20-bin histograms merge the 32- and 40-valued factors' classes, so MIG < 1.
    assert 0.8 < mig_result["discrete_mig"] <= 1.0
    assert dci_result["disentanglement"] > 0.9
    assert dci_result["completeness"] > 0.9


def test_sprites_sample_factors_match_dlib_dsprites_full_state_space():
    util = import_dlib("disentanglement_lib.data.ground_truth.util")
    ours = Sprites()
    theirs = util.SplitDiscreteStateSpace([1, 3, 6, 40, 32, 32], [1, 2, 3, 4, 5])
    rs_ours, rs_theirs = np.random.RandomState(7), np.random.RandomState(7)
    for num in (1, 5, 64):
        np.testing.assert_array_equal(ours.sample_factors(num, rs_ours),
                                      theirs.sample_latent_factors(num, rs_theirs))
        # Completing the size-1 colour factor draws nothing, so the streams stay aligned.
        theirs.sample_all_factors(np.zeros((num, 5), np.int64), rs_theirs)
        ours.sample_observations(2, np.random.RandomState(0))
    assert rs_ours.randint(1 << 30) == rs_theirs.randint(1 << 30)


@pytest.mark.parametrize("variant", ["plain", "color", "noisy"])
def test_dsprites_loader_and_variants_match_dlib(tmp_path, monkeypatch, variant):
    """Same small file, same RandomState: dlib's DSprites and ours sample the same data."""
    dsprites = import_dlib("disentanglement_lib.data.ground_truth.dsprites")
    path = str(tmp_path / "dsprites" / "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz")
    write_small_dsprites(path)
    monkeypatch.setattr(dsprites, "DSPRITES_PATH", path)
    cls = {"plain": dsprites.DSprites, "color": dsprites.ColorDSprites, "noisy": dsprites.NoisyDSprites}[variant]
    theirs = cls([1, 2, 3, 4, 5])
    ours = DSprites([1, 2, 3, 4, 5], data_path=path)
    if variant == "color":
        ours = ColorVariant(ours)
    elif variant == "noisy":
        ours = NoisyVariant(ours)
    assert ours.num_factors == theirs.num_factors
    assert list(ours.observation_shape) == list(theirs.observation_shape)
    f_ours, x_ours = ours.sample(50, np.random.RandomState(3))
    f_theirs, x_theirs = theirs.sample(50, np.random.RandomState(3))
    np.testing.assert_array_equal(f_ours, f_theirs)
    assert x_ours.dtype == np.float32
    np.testing.assert_allclose(x_ours, x_theirs, rtol=0, atol=1e-7)
