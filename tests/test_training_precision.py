"""Mixed precision: the auto choice, float32 codes and losses, state across precisions, fp16
loss scaling, export and encoding."""

import numpy as np
import pytest
import tensorflow as tf

from rpu_tf.models import make_model
from rpu_tf.training import ReplicaGroup, precision, runtime
from rpu_tf.training.export import export_saved_model
from rpu_tf.training.representation import encode
from tests.helpers.training_helpers import BERNOULLI, BlobData, fc_model, weights_equal

DATA = BlobData(size=16)


def _group(prec, name="beta_tc_vae", seed=0, num_replicas=2, **kwargs):
    return ReplicaGroup(fc_model(name), DATA, num_replicas=num_replicas, batch_size=8,
                        random_seed=seed, precision=prec, **kwargs)


@pytest.mark.parametrize("flags, gpus, expected", [
    (frozenset({"avx2", "avx512_bf16"}), [], "mixed_bfloat16"),
    (frozenset({"amx_bf16", "amx_tile"}), [], "mixed_bfloat16"),
    (frozenset({"avx2", "avx512f"}), [], "float32"),
    (frozenset(), [(8, 0), (9, 0)], "mixed_bfloat16"),
    (frozenset({"avx512_bf16"}), [(7, 5)], "float32"),
])
def test_auto_precision_follows_the_hardware(flags, gpus, expected):
    chosen, reason = precision.auto_precision(flags=flags, gpu_capabilities=gpus)
    assert chosen == expected
    assert reason


def test_cpu_flags_read_from_cpuinfo(tmp_path):
    path = tmp_path / "cpuinfo"
    path.write_text("processor\t: 0\nflags\t\t: fpu sse avx512_bf16\n\nprocessor\t: 1\n")
    precision.cpu_flags.cache_clear()
    try:
        assert "avx512_bf16" in precision.cpu_flags(str(path))
    finally:
        precision.cpu_flags.cache_clear()
    assert precision.cpu_flags(str(tmp_path / "missing")) == frozenset()
    precision.cpu_flags.cache_clear()


def test_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="training.precision"):
        precision.resolve_precision("float8")
    with pytest.raises(ValueError, match="training.precision"):
        runtime.runtime_options(precision="half")
    with pytest.raises(ValueError, match="precision"):
        _group("bfloat16")


def test_default_precision_is_set_by_configure():
    before = precision.default_precision()
    try:
        chosen = runtime.configure(1, runtime.RuntimeOptions(precision="mixed_bfloat16"))
        assert chosen == "mixed_bfloat16" == precision.default_precision()
        assert _group(None).precision == "mixed_bfloat16"
        runtime.configure(1, runtime.RuntimeOptions(precision="auto"))
        assert precision.default_precision() == precision.auto_precision()[0]
    finally:
        precision.set_default_precision(before)


@pytest.mark.parametrize("prec", ["mixed_bfloat16", "mixed_float16"])
def test_codes_logits_losses_and_variables_stay_float32(prec):
    group = _group(prec)
    model = group.model(0)
    images = tf.constant(DATA.sample_observations(4, np.random.RandomState(0)))
    mean, logvar = model.encode(images)
    assert mean.dtype == logvar.dtype == model.decode(mean).dtype == tf.float32
    terms = model.loss_terms(images)
    assert all(v.dtype == tf.float32 for v in terms.values())
    assert all(v.dtype == "float32" for v in model.weights)
    assert all(v.dtype == "float32" for v in group.optimizers["vae"].variables if "int" not in v.dtype)
    assert model.encoder.get_layer("e1").compute_dtype == prec.split("_")[1]


def test_bfloat16_matches_float32_at_the_same_weights():
    f32, bf16 = _group("float32", seed=5), _group("mixed_bfloat16", seed=5)
    assert weights_equal([w for m in f32.models for w in m.get_weights()],
                         [w for m in bf16.models for w in m.get_weights()])
    a = f32.evaluate(3, seed=1)
    b = bf16.evaluate(3, seed=1)
    for key in ("reconstruction_loss", "kl_loss"):
        np.testing.assert_allclose(b[key], a[key], rtol=0.02, atol=0.05)


@pytest.mark.slow
@pytest.mark.parametrize("prec, steps", [("mixed_bfloat16", 60), ("mixed_float16", 15)])
def test_sixteen_bit_groups_learn(prec, steps):
    # float16 has no fast CPU kernels (about 15x bfloat16's step time here), so fewer steps;
    # with these seeds the reconstruction loss falls by 12 nats in 15 steps
    group = _group(prec, seed=1)
    first = group.train(1)["reconstruction_loss"]
    last = group.train(steps)
    assert np.isfinite(last["loss"])
    assert last["reconstruction_loss"] < first
    assert group.step == steps + 1 - group.skipped_steps


def test_state_moves_between_precisions():
    bf16 = _group("mixed_bfloat16", seed=2)
    bf16.train(3)
    f32 = _group("float32", seed=9)
    f32.set_state(bf16.get_state())
    assert weights_equal([w for m in f32.models for w in m.get_weights()],
                         [w for m in bf16.models for w in m.get_weights()])
    assert f32.step == bf16.step == 3


def test_float16_overflow_skips_the_step_and_halves_the_scale():
    group = _group("mixed_float16", seed=3)
    group.train(2)
    state = group.get_state()
    assert state["counters"]["loss_scale"] == np.float32(2.0 ** 15)
    weights = [w.copy() for m in group.models for w in m.get_weights()]
    group._loss_scale.scale.assign(3e38)  # scaled gradients overflow for sure
    group.train(1)
    assert group.skipped_steps == 1 and group.step == 2
    assert float(group._loss_scale.scale.numpy()) == pytest.approx(1.5e38)
    assert weights_equal([w for m in group.models for w in m.get_weights()], weights)
    restored = _group("mixed_float16", seed=4)
    restored.set_state(group.get_state())
    assert float(restored._loss_scale.scale.numpy()) == pytest.approx(1.5e38)


def test_float16_loss_scale_grows_after_finite_steps():
    scale = precision.DynamicLossScale(initial_scale=4.0, growth_steps=2)
    for finite, expected in ((True, 4.0), (True, 8.0), (False, 4.0), (True, 4.0), (True, 8.0)):
        scale.update(tf.constant(finite))
        assert float(scale.scale.numpy()) == expected


def test_bfloat16_encoding_is_float_noise_not_quantisation():
    f32 = make_model("beta_tc_vae", (64, 64, 1), beta=4.0, num_latent=6, encoder_fn="conv_encoder",
                     decoder_fn="deconv_decoder", reconstruction_loss=BERNOULLI, seed=3)
    from rpu_tf.models import clone_model

    bf16 = clone_model(f32, seed=3, precision="mixed_bfloat16")
    assert weights_equal(f32.get_weights(), bf16.get_weights())
    rs = np.random.RandomState(0)
    images = (rs.uniform(size=(300, 64, 64, 1)) > 0.7).astype(np.float32)
    mean_a, logvar_a = encode(f32, images)
    mean_b, logvar_b = encode(bf16, images)
    assert mean_b.dtype == np.float32
    scale = np.std(mean_a, axis=0).max()
    assert np.max(np.abs(mean_a - mean_b)) < 0.05 * scale
    # Codes are not rounded to 16 bits: (almost) every image keeps its own code.
    assert min(len(np.unique(mean_b[:, j])) for j in range(mean_b.shape[1])) >= 295


def test_sixteen_bit_models_are_exported_as_float32(tmp_path):
    from rpu_tf.models import as_float32
    from rpu_tf.training.export import export_keras, load_keras

    group = _group("mixed_bfloat16", num_replicas=1)
    group.train(2)
    model = group.model(0)
    float32 = as_float32(model)
    assert float32.precision == "float32" and as_float32(float32) is float32
    assert weights_equal(float32.get_weights(), model.get_weights())
    path = export_saved_model(model, str(tmp_path / "saved_model"))
    loaded = tf.saved_model.load(path)
    images = tf.constant(DATA.sample_observations(3, np.random.RandomState(0)))
    out = loaded.signatures["gaussian_encoder"](images=images)
    assert out["mean"].dtype == tf.float32 and out["mean"].shape == (3, 4)
    np.testing.assert_allclose(out["mean"].numpy(), float32.encode(images)[0].numpy(), rtol=1e-5, atol=1e-6)
    decoded = loaded.signatures["decoder"](latent_vectors=out["mean"])
    assert decoded["images"].dtype == tf.float32
    keras_file = load_keras(export_keras(model, str(tmp_path / "model.keras")))
    assert keras_file.precision == "float32"
    assert weights_equal(keras_file.get_weights(), model.get_weights())


def test_flops_counted_from_the_layers():
    from rpu_tf.models.flops import training_flops_per_image, vae_forward_flops

    model = make_model("beta_tc_vae", (64, 64, 1), beta=4.0, num_latent=10, encoder_fn="conv_encoder",
                       decoder_fn="deconv_decoder", reconstruction_loss=BERNOULLI, seed=0)
    encoder = 2 * (32 * 32 * 16 * 1 * 32 + 16 * 16 * 16 * 32 * 32 + 8 * 8 * 4 * 32 * 64 + 4 * 4 * 4 * 64 * 64
                   + 1024 * 256 + 2 * 256 * 10)
    decoder = 2 * (10 * 256 + 256 * 1024 + 4 * 4 * 16 * 64 * 64 + 8 * 8 * 16 * 64 * 32 + 16 * 16 * 16 * 32 * 32
                   + 32 * 32 * 16 * 32 * 1)
    assert vae_forward_flops(model) == encoder + decoder
    assert training_flops_per_image(model) == 3 * (encoder + decoder)
    fc = fc_model()
    fc.build((None, 16, 16, 1))
    assert vae_forward_flops(fc) > 0


def test_a_pipeline_run_does_not_leave_its_precision_behind():
    from rpu_tf.training.gin_context import parsed_gin, run_context

    assert precision.default_precision() == "float32"
    with parsed_gin([], ['training.precision = "mixed_bfloat16"']), run_context():
        assert precision.default_precision() == "mixed_bfloat16"
    assert precision.default_precision() == "float32"
