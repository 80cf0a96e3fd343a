"""Replica groups: reproducibility, learning, hyperparameter changes, state, copy, NaN."""

import os

import numpy as np
import pytest

from rpu_tf.training import NonFiniteLossError, ReplicaGroup
from rpu_tf.training.optimizers import AdamSpec
from tests.helpers.training_helpers import BlobData, NaNAfter, fc_model, weights_equal

DATA = BlobData(size=16)


def _group(name="beta_tc_vae", num_replicas=2, seed=0, batch_size=8, data=DATA, **kwargs):
    return ReplicaGroup(fc_model(name), data, num_replicas=num_replicas, batch_size=batch_size,
                        random_seed=seed, **kwargs)


def _all_weights(group):
    return [w for m in group.models for w in m.get_weights()]


def _state_equal(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_state_equal(a[k], b[k]) for k in a)
    return np.array_equal(np.asarray(a), np.asarray(b))


def test_same_seed_same_weights_after_training():
    a, b = _group(seed=3), _group(seed=3)
    assert weights_equal(_all_weights(a), _all_weights(b))
    a.train(4)
    b.train(4)
    assert weights_equal(_all_weights(a), _all_weights(b))
    c = _group(seed=4)
    assert not weights_equal(_all_weights(a)[:4], _all_weights(c)[:4])


def test_replicas_differ_in_initialisation_and_data():
    group = _group(num_replicas=3)
    first = [m.get_weights()[1] for m in group.models]  # an encoder kernel (index 0: beta)
    assert not np.array_equal(first[0], first[1]) and not np.array_equal(first[1], first[2])
    batch = group._stream.next_batch(8)
    assert batch.shape == (3, 8, 16, 16, 1)
    assert not np.array_equal(batch[0], batch[1])


@pytest.mark.slow
def test_initialize_equals_construction_with_that_seed():
    a = _group(seed=7)
    b = _group(seed=1)
    b.train(2)
    b.initialize(7, {"beta": 4.0})
    assert weights_equal(_all_weights(a), _all_weights(b))
    assert b.step == 0
    assert all(not np.any(v.numpy()) for v in b.optimizers["vae"].variables
               if v is not b.optimizers["vae"].learning_rate)
    a.train(3)
    b.train(3)
    assert weights_equal(_all_weights(a), _all_weights(b))


@pytest.mark.slow
def test_training_lowers_the_reconstruction_loss():
    group = _group(num_replicas=2, batch_size=32,
                   optimizers={"vae": AdamSpec(learning_rate=1e-3)})
    before = group.evaluate(4, seed=1)["reconstruction_loss"]
    metrics = group.train(120)
    after = group.evaluate(4, seed=1)["reconstruction_loss"]
    assert metrics["global_step"] == 120
    assert (after < 0.5 * before).all(), (before, after)


def test_hyperparameter_changes_do_not_retrace_or_reset_the_optimizer():
    group = _group()
    group.train(2)
    assert group.tracing_count() == 1
    optimizer = group.optimizers["vae"]
    momentum = [v.numpy().copy() for v in optimizer.variables[2:4]]
    group.set_hyperparameters({"learning_rate": 5e-4, "beta": 9.0, "batch_size": 5})
    assert group.hyperparameters() == pytest.approx(
        {"learning_rate": 5e-4, "batch_size": 5, "beta": 9.0})
    # The optimizer kept its state: iterations and moments are untouched by the change.
    assert int(optimizer.iterations.numpy()) == 2
    assert all(np.array_equal(m, v.numpy()) for m, v in zip(momentum, optimizer.variables[2:4]))
    metrics = group.train(2)
    group.set_hyperparameters(learning_rate=1e-5, beta=1.5, batch_size=11)
    group.train(1)
    assert group.tracing_count() == 1
    assert int(optimizer.iterations.numpy()) == 5
    assert all(m.hyperparameters()["beta"] == 1.5 for m in group.models)
    assert np.isfinite(metrics["loss"])
    with pytest.raises(ValueError, match="known: learning_rate, batch_size, beta"):
        group.set_hyperparameters(gamma=2.0)
    with pytest.raises(ValueError, match="positive integer"):
        group.set_hyperparameters(batch_size=0)


def test_changed_hyperparameters_change_the_update():
    a, b = _group(seed=2), _group(seed=2)
    b.set_hyperparameters(beta=40.0)
    a.train(3)
    b.train(3)
    assert not weights_equal(_all_weights(a), _all_weights(b))


@pytest.mark.slow
def test_copy_from_reproduces_training():
    source = _group(seed=5)
    source.train(3)
    target = _group(seed=9)
    target.set_hyperparameters(learning_rate=1e-2, batch_size=4)
    target.copy_from(source)
    assert _state_equal(target.get_state(), source.get_state())
    assert target.hyperparameters() == source.hyperparameters()
    # Continuing the group's own streams, and with a new generation seed, both match.
    source.train(3)
    target.train(3)
    assert weights_equal(_all_weights(source), _all_weights(target))
    source.train(2, seed=123)
    target.train(2, seed=123)
    assert _state_equal(target.get_state(), source.get_state())


@pytest.mark.slow
def test_save_load_round_trip(tmp_path):
    group = _group(name="factor_vae", seed=4)
    group.set_hyperparameters(gamma=7.0, discriminator_learning_rate=2e-4, batch_size=6)
    group.train(2)
    path = str(tmp_path / "member" / "state.npz")
    group.save(path)
    assert sorted(os.listdir(tmp_path / "member")) == ["state.npz", "state.npz.sha256"]  # no temp files left
    other = _group(name="factor_vae", seed=8)
    other.load(path)
    assert _state_equal(other.get_state(), group.get_state())
    restored = ReplicaGroup.restore(path, DATA)
    assert restored.hyperparameters() == group.hyperparameters()
    assert _state_equal(restored.get_state(), group.get_state())
    group.train(2)
    restored.train(2)
    assert weights_equal(_all_weights(group), _all_weights(restored))


def test_incompatible_state_is_rejected():
    state = _group(num_replicas=2).get_state()
    with pytest.raises(ValueError, match="num_replicas 2 .this group: 3."):
        _group(num_replicas=3).set_state(state)
    with pytest.raises(ValueError, match="model 'beta_tc_vae' .this group: 'vae'."):
        _group(name="vae").set_state(state)


def test_factor_vae_group_trains_vae_and_discriminator():
    group = _group(name="factor_vae")
    discriminator = [w.copy() for w in group.models[0].discriminator.get_weights()]
    metrics = group.train(3)
    assert {"loss", "tc_loss", "discriminator_loss"} <= set(metrics)
    assert int(group.optimizers["vae"].iterations.numpy()) == 3
    assert int(group.optimizers["discriminator"].iterations.numpy()) == 3
    assert group.optimizer_specs["discriminator"].beta1 == 0.5
    assert not weights_equal(discriminator, group.models[0].discriminator.get_weights())


def test_nan_loss_raises_with_step_and_hyperparameters_and_keeps_the_state():
    data = NaNAfter(after=3, size=16)
    group = _group(data=data, num_replicas=1)
    group.set_hyperparameters(beta=3.0)
    group.train(2)
    with pytest.raises(NonFiniteLossError) as info:
        group.train(5)
    error = info.value
    assert isinstance(error, FloatingPointError)
    assert error.step == 3  # two updates before, one more, then the NaN batch
    assert error.hyperparameters["beta"] == 3.0 and error.hyperparameters["batch_size"] == 8
    assert "step 3" in str(error) and "beta=3" in str(error)
    assert group.step == 3
    assert all(np.isfinite(w).all() for w in _all_weights(group))


def test_evaluate_leaves_the_state_alone():
    group = _group()
    group.train(1)
    before = group.get_state()
    result = group.evaluate(2, seed=0)
    assert set(result) >= {"loss", "reconstruction_loss", "kl_loss", "regularizer", "elbo"}
    assert result["loss"].shape == (2,)
    assert _state_equal(before, group.get_state())
    np.testing.assert_array_equal(result["loss"], group.evaluate(2, seed=0)["loss"])


def test_unsupported_observation_shape_is_rejected_before_training():
    from rpu_tf.models import make_model

    model = make_model("beta_tc_vae", beta=2.0, num_latent=4, encoder_fn="conv_encoder",
                       decoder_fn="deconv_decoder", reconstruction_loss={"loss_fn": "l2_loss"})
    with pytest.raises(ValueError, match="conv_encoder supports square observations"):
        ReplicaGroup(model, BlobData(size=16), num_replicas=1)


class _ScoredGroup(ReplicaGroup):
    """A ReplicaGroup with a trivial score, to run it as an rpu_tf.pbt Trainable."""

    def score(self, seed):
        loss = self.evaluate(1, seed=seed)["loss"]
        return -float(np.mean(loss)), {"loss": loss.tolist()}


@pytest.mark.slow
def test_group_runs_as_a_pbt_member_and_its_state_survives_pbt_storage(tmp_path):
    from rpu_tf.utils.state_files import load_state, save_state
    from rpu_tf.pbt.trainable import MemberTask, Trainable, run_member_step

    group = _ScoredGroup(fc_model(), DATA, num_replicas=2, batch_size=8)
    assert isinstance(group, Trainable)
    hyper = {"learning_rate": 3e-4, "beta": 2.0, "batch_size": 6.0}
    first = run_member_step(group, MemberTask(0, 0, hyper, num_steps=2, seed=11, init_seed=5))
    assert first.failed is None and np.isfinite(first.score)
    assert first.metrics["global_step"] == 2
    path = str(tmp_path / "member.npz")
    save_state(path, first.state)
    state = load_state(path)
    assert _state_equal(state, first.state)
    # The same task from the stored state on another worker gives the same result.
    other = _ScoredGroup(fc_model(), DATA, num_replicas=2, batch_size=8, random_seed=99)
    task = MemberTask(0, 1, hyper, num_steps=2, seed=12, start_state=state)
    a, b = run_member_step(group, task), run_member_step(other, task)
    assert a.score == b.score and _state_equal(a.state, b.state)
    # A diverging member is reported failed, not raised.
    bad = run_member_step(_ScoredGroup(fc_model(), NaNAfter(after=0, size=16), num_replicas=1,
                                       batch_size=4),
                          MemberTask(1, 0, hyper, num_steps=2, seed=1, init_seed=2))
    assert bad.failed and "NonFiniteLossError" in bad.failed and bad.state is None


def test_warm_start_gives_every_replica_the_weights_and_keeps_hyperparameters():
    source = _group(num_replicas=1, seed=7)
    source.set_hyperparameters(beta=9.0)
    source.train(3)
    weights = source.model(0).get_weights()
    group = _group(num_replicas=3, seed=1)
    group.set_hyperparameters(learning_rate=2e-3, beta=3.0)
    group.warm_start(weights)
    for k in range(3):  # weights[0] is beta itself, a non-trainable weight
        assert weights_equal(group.model(k).get_weights()[1:], weights[1:])
    assert group.hyperparameters()["beta"] == pytest.approx(3.0)  # not the source's 9
    assert group.hyperparameters()["learning_rate"] == pytest.approx(2e-3)
    assert group.step == 0
    group.train(2)  # trains on from there
    with pytest.raises(ValueError, match="do not fit"):
        ReplicaGroup(fc_model(num_latent=3), DATA, num_replicas=1, batch_size=8).warm_start(weights)


def test_a_warm_started_member_starts_from_the_given_weights():
    from rpu_tf.rpu.vae_member import VAEMemberFactory

    source = _group(num_replicas=1, seed=5)
    source.train(2)
    weights = source.model(0).get_weights()
    factory = VAEMemberFactory(fc_model(), DATA, scorer=lambda group, seed: (0.0, {}), num_replicas=2,
                               initial_weights=weights)
    member = factory()
    member.initialize(11, {"learning_rate": 1e-3, "beta": 4.0, "batch_size": 8})
    for k in range(2):
        assert weights_equal(member.group.model(k).get_weights()[1:], weights[1:])
    assert member.group.hyperparameters()["beta"] == pytest.approx(4.0)
    cold = VAEMemberFactory(fc_model(), DATA, scorer=lambda group, seed: (0.0, {}), num_replicas=2)()
    cold.initialize(11, {"learning_rate": 1e-3, "beta": 4.0, "batch_size": 8})
    assert not weights_equal(cold.group.model(0).get_weights()[1:], weights[1:])
