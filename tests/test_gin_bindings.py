"""Bindings cannot silently do nothing: a binding the chosen pipeline never reads is refused
before anything is written, naming it and the pipelines that read it; a required model
hyperparameter that nothing sets is one line naming the binding to add; ``model.name`` follows
a swapped model unless it is set."""

import logging
import os

import gin
import pytest

from rpu_tf import registry
from rpu_tf.utils.gin_files import bound_configurables, check_bindings_are_read, with_model_name

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SINGLE = os.path.join(ROOT, "gin_configs", "quickstart_single_model.gin")
PBT = os.path.join(ROOT, "gin_configs", "pbt", "pbt_u_vae_udr_small.gin")
TINY = ["model.training_steps = 2", "model.batch_size = 8", "model.eval_steps = 1", "training.progress = False"]


def test_bindings_name_their_configurable_whatever_the_scope():
    assert bound_configurables(["final/pbt_vae.generation_images = 3\nmodel.model = @vae()",
                                "A_MACRO = 3", "include 'x.gin'", "  vae/AdamOptimizer.learning_rate = 1e-4"]) == [
        ("final/pbt_vae.generation_images", "pbt_vae"), ("model.model", "model"),
        ("vae/AdamOptimizer.learning_rate", "AdamOptimizer")]


@pytest.mark.parametrize("pipeline, binding, readers", [
    ("single_model", "pbt_vae.model = @factor_vae()", "pbt_vae and rpu_vae"),
    ("single_model", "final/pbt_stopping.max_generations = 3", "pbt_vae and rpu_vae"),
    ("pbt_vae", "model.training_steps = 10", "single_model"),
    ("pbt_vae", "reduction.peak_height_std = 3.", "rpu_vae"),
    ("rpu_vae", "supervision.num_labelled = 10", "single_model"),
    ("rpu_vae", "study.seeds = [0]", "rpu_study only"),
])
def test_a_binding_the_pipeline_never_reads_is_refused_naming_it(pipeline, binding, readers):
    with pytest.raises(ValueError) as caught:
        check_bindings_are_read(pipeline, ["encoder.num_latent = 4", binding])
    message = str(caught.value)
    assert f"pipeline {pipeline!r} never reads {binding.split(' =')[0]} (read by {readers})" in message


@pytest.mark.parametrize("pipeline, bindings", [
    ("single_model", ["model.training_steps = 2", "beta_tc_vae.beta = 4.", "supervision.weight = 1."]),
    ("pbt_vae", ["pbt_vae.num_replicas = 2", "udr_score.num_data_points = 10", "encoder.num_latent = 4"]),
    ("rpu_vae", ["final/pbt_vae.generation_images = 3", "reduction.peak_height_std = 3.", "rpu_vae.seed = 1"]),
])
def test_bindings_the_pipeline_reads_pass(pipeline, bindings):
    check_bindings_are_read(pipeline, bindings)


def test_every_pipeline_only_name_is_a_configurable_and_names_real_pipelines():
    from rpu_tf.pipelines.choice import PIPELINES
    from rpu_tf.utils.gin_files import PIPELINE_ONLY

    configurables = {name for names in registry.GIN_CONFIGURABLES.values() for name in names}
    assert set(PIPELINE_ONLY) <= configurables
    assert {p for users in PIPELINE_ONLY.values() for p in users} <= set(PIPELINES)


def test_the_pipelines_refuse_before_writing_anything(tmp_path):
    from rpu_tf.pipelines.pbt_vae import pbt_vae_with_gin
    from rpu_tf.pipelines.single_model import train_with_gin

    with pytest.raises(ValueError, match=r"'single_model' never reads pbt_vae.model"):
        train_with_gin(str(tmp_path / "single"), False, [SINGLE], TINY + ["pbt_vae.model = @factor_vae()"])
    with pytest.raises(ValueError, match=r"'pbt_vae' never reads model.training_steps"):
        pbt_vae_with_gin(str(tmp_path / "pbt"), False, [PBT], ["model.training_steps = 5"])
    assert not os.listdir(tmp_path)
    gin.clear_config()


def _train_together(caplog, model_dir, *bindings):
    from rpu_tf.cli import train_together

    caplog.clear()
    caplog.set_level(logging.INFO)
    code = train_together.main(["rpu_train_together", f"--gin_config={SINGLE}", f"--run={model_dir}::",
                                *[f"--gin_bindings={b}" for b in bindings]])
    return code, [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_missing_required_hyperparameter_is_one_line_naming_the_binding(tmp_path, caplog):
    code, errors = _train_together(caplog, tmp_path / "run", *TINY, "model.model = @factor_vae()")
    assert code == 1 and errors == ["factor_vae needs factor_vae.gamma, which no config or binding sets: add "
                                    "--gin_bindings='factor_vae.gamma = ...'."]


def test_model_name_follows_a_swapped_model_unless_set(tmp_path, caplog):
    assert with_model_name(["model.model = @vae()"])[-1] == "model.name = 'vae'"
    assert with_model_name(["model.model = @vae()", "model.name = 'mine'"]) == ["model.model = @vae()",
                                                                                 "model.name = 'mine'"]
    assert with_model_name(["beta_tc_vae.beta = 3."]) == ["beta_tc_vae.beta = 3."]
    code, errors = _train_together(caplog, tmp_path / "run", *TINY, "model.model = @vae()", "vae.beta = 1.")
    assert code == 0, errors
    config = open(tmp_path / "run" / "model" / "results" / "gin" / "train.gin").read()
    assert "model.name = 'vae'" in config and "model.model = @vae()" in config
