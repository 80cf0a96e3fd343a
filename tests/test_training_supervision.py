"""Semi-supervised training: supervised losses, labelled sets, replica groups with labels,
the few-labels baseline and rPU-VAE's surrogate labels as a supervised term."""

import numpy as np
import pytest
import tensorflow as tf

from rpu_tf.data.sprites import Sprites
from rpu_tf.models.supervised_losses import supervised_loss
from rpu_tf.rpu.surrogate_supervision import distinct_blocks, surrogate_supervision
from rpu_tf.training.replica_group import ReplicaGroup
from rpu_tf.training.representation import encode_data_set
from rpu_tf.training.supervision import LabelledSet, Supervision, factor_targets, ground_truth_supervision
from tests.helpers.training_helpers import fc_model, weights_equal


def tiny_sprites():
    return Sprites(num_scales=2, num_orientations=2, num_positions_x=4, num_positions_y=4, image_size=16)


def test_supervised_losses_known_values_and_mask():
    codes = tf.constant([[0.0, 2.0], [0.0, -1.0]])
    targets = tf.constant([[0.5, 1.0], [0.5, 0.0]])
    full = tf.ones_like(codes)
    # xent of logit 0 against 0.5 is log 2 per label; column 1: mean of CE(2; 1) and CE(-1; 0).
    ce = lambda z, t: max(z, 0) - z * t + np.log1p(np.exp(-abs(z)))  # noqa: E731
    expected = np.log(2.0) + (ce(2.0, 1.0) + ce(-1.0, 0.0)) / 2
    np.testing.assert_allclose(float(supervised_loss("xent", codes, targets, full)), expected, rtol=1e-6)
    # l2: per column mean squared error, summed over columns.
    np.testing.assert_allclose(float(supervised_loss("l2", codes, targets, full)),
                               (0.25 + 0.25) / 2 + (1.0 + 1.0) / 2, rtol=1e-6)
    # A masked label does not count; a column without any label adds 0.
    mask = tf.constant([[1.0, 0.0], [0.0, 0.0]])
    np.testing.assert_allclose(float(supervised_loss("l2", codes, targets, mask)), 0.25, rtol=1e-6)
    with pytest.raises(ValueError, match="Unknown supervised loss"):
        supervised_loss("hinge", codes, targets, full)


def test_labelled_set_and_supervision_check_their_inputs():
    ok = dict(indices=[0, 1], targets=np.zeros((2, 1)), mask=np.ones((2, 1)), latents=(0,))
    LabelledSet(**ok)
    with pytest.raises(ValueError, match="distinct indices"):
        LabelledSet(**{**ok, "indices": [1, 1]})
    with pytest.raises(ValueError, match="1 label columns but 2 latents"):
        LabelledSet(**{**ok, "latents": (0, 1)})
    with pytest.raises(ValueError, match="mask 0 or 1"):
        LabelledSet(**{**ok, "mask": np.full((2, 1), 0.5)})
    with pytest.raises(ValueError, match="weight must be > 0"):
        Supervision(LabelledSet(**ok), weight=0.0)
    with pytest.raises(ValueError, match="more than the model's 4 latents"):
        ReplicaGroup(fc_model(num_latent=4), tiny_sprites(), num_replicas=1, batch_size=8,
                     supervision=Supervision(LabelledSet(**{**ok, "latents": (4,)}), weight=1.0))


def test_ground_truth_supervision_labels_random_images_with_normalised_factors():
    data = tiny_sprites()
    assert ground_truth_supervision(data) is None  # num_labelled = 0: unsupervised
    sup = ground_truth_supervision(data, num_labelled=20, weight=2.0, seed=3)
    again = ground_truth_supervision(data, num_labelled=20, weight=2.0, seed=3)
    np.testing.assert_array_equal(sup.labelled.indices, again.labelled.indices)
    assert sup.labelled.num_labelled == 20 and len(np.unique(sup.labelled.indices)) == 20
    np.testing.assert_allclose(sup.labelled.targets, factor_targets(data.index_to_factors(sup.labelled.indices),
                                                                    data.factors_num_values))
    assert sup.labelled.latents == (0, 1, 2, 3, 4) and sup.labelled.names[0] == "shape"
    with pytest.raises(ValueError, match="num_labelled must be in 1..192"):
        ground_truth_supervision(data, num_labelled=1000)


def _group(supervision, seed=0):
    return ReplicaGroup(fc_model(num_latent=6), tiny_sprites(), num_replicas=2, batch_size=16, random_seed=seed,
                        supervision=supervision)


@pytest.mark.slow
def test_a_supervised_group_learns_its_labels_and_resumes_exactly():
    data = tiny_sprites()
    sup = ground_truth_supervision(data, num_labelled=96, weight=50.0, loss="l2", batch_size=16, seed=0)
    group = _group(sup)
    first = group.train(5)
    assert "supervised_loss" in first and np.all(np.isfinite(group.last_train_metrics["supervised_loss"]))
    state = group.get_state()
    group.train(200)
    # The supervised latents follow their (standardised) factors on the labelled images.
    means, _ = encode_data_set(group.model(0), data)
    factors = data.index_to_factors(np.arange(data.num_observations))
    for c in (3, 4):  # position x, y: latent c
        assert np.corrcoef(means[:, c], factors[:, c])[0, 1] > 0.8
    # The labelled draws come from the replicas' streams: a restored state continues identically.
    other = _group(sup, seed=5)
    other.set_state(state)
    other.train(200)
    assert weights_equal(other.model(1).get_weights(), group.model(1).get_weights())


@pytest.mark.slow
def test_supervision_changes_training_only_through_its_term():
    sup = ground_truth_supervision(tiny_sprites(), num_labelled=32, weight=1.0, batch_size=8)
    plain, supervised = _group(None), _group(sup)
    assert weights_equal(plain.model(0).get_weights(), supervised.model(0).get_weights())
    plain.train(3)
    supervised.train(3)
    assert "supervised_loss" not in plain.last_train_metrics
    assert not weights_equal(plain.model(0).get_weights(), supervised.model(0).get_weights())
    # Evaluation reports the unsupervised terms.
    assert "supervised_loss" not in supervised.evaluate(2)


def test_surrogate_blocks_become_columns_on_latents():
    n = 40
    rs = np.random.RandomState(0)
    initial = (np.arange(n), rs.normal(size=(n, 2)))
    leaf_a = (np.arange(0, 10), rs.normal(size=(10, 1)))
    leaf_b = (np.arange(20, 30), rs.normal(size=(10, 1)))
    surrogate = [[initial, leaf_a], [initial, leaf_b]]
    assert [name for _, _, name in distinct_blocks(surrogate)] == ["initial", "leaf1_meta1", "leaf2_meta1"]
    # From scratch: every column its own latent, in order.
    sup = surrogate_supervision(surrogate, num_latent=6, weight=1.0, loss="l2")
    assert sup.labelled.latents == (0, 1, 2, 3)
    np.testing.assert_array_equal(sup.labelled.indices, np.arange(n))
    np.testing.assert_array_equal(sup.labelled.mask.sum(axis=0), [n, n, 10, 10])
    np.testing.assert_allclose(sup.labelled.targets[:, 0].std(), 1.0, rtol=1e-5)
    with pytest.raises(ValueError, match="more than the model's 3 latents"):
        surrogate_supervision(surrogate, num_latent=3, weight=1.0)

    # Warm-started: each column goes to the latent that already carries it, in its units; the
    # leaf-runs' columns (one factor in two cells) share latent 5.
    def warm(indices):
        codes = np.zeros((len(indices), 6))
        codes[:, 2] = initial[1][indices, 0]
        codes[:, 4] = -initial[1][indices, 1]
        for start, block in ((0, leaf_a), (20, leaf_b)):
            inside = (indices >= start) & (indices < start + 10)
            codes[inside, 5] = block[1][indices[inside] - start, 0]
        return codes + 1e-3 * np.random.RandomState(1).normal(size=codes.shape)

    sup = surrogate_supervision(surrogate, num_latent=6, weight=1.0, loss="l2", warm_encoder=warm)
    assert sup.labelled.latents == (2, 4, 5)
    column = {k: c for c, k in enumerate(sup.labelled.latents)}
    codes = warm(sup.labelled.indices)
    for latent in (2, 4):  # the initial block's columns: the warm latents' own codes
        np.testing.assert_allclose(sup.labelled.targets[:, column[latent]], codes[:, latent], atol=0.01)
    assert sup.labelled.mask[:, column[5]].sum() == 20
    assert "leaf1_meta1[0]+leaf2_meta1[0]" == sup.labelled.names[column[5]]


def test_a_leaf_block_does_not_relabel_the_initial_blocks_latents_on_its_images():
    rs = np.random.RandomState(0)
    initial = (np.arange(30), rs.normal(size=(30, 1)))
    leaf = (np.arange(10), initial[1][:10] + 0.01 * rs.normal(size=(10, 1)))  # tracks the initial latent again

    def warm(indices):
        codes = 1e-3 * np.random.RandomState(2).normal(size=(len(indices), 3))
        codes[:, 1] += initial[1][indices, 0]
        codes[:, 2] += 0.3 * initial[1][indices, 0] + rs.normal(size=len(indices))
        return codes

    sup = surrogate_supervision([[initial, leaf]], num_latent=3, weight=1.0, warm_encoder=warm)
    assert sup.labelled.latents == (1, 2)  # the leaf's column took the best free latent, not 1
    np.testing.assert_array_equal(sup.labelled.mask[:, 0], np.ones(30))
    # No latent left for the leaf's column: it is not trained on (it still scores), with a warning.
    one = surrogate_supervision([[initial, leaf]], num_latent=1, weight=1.0, warm_encoder=lambda i: warm(i)[:, 1:2])
    assert one.labelled.latents == (0,) and one.labelled.names == ("initial[0]",)
