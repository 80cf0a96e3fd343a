"""PBT-VAE end to end on tiny sprites: scoring, export, resume, CLI pipeline selection."""

import json
import os

import numpy as np
import pytest

from rpu_tf.pbt import read_generation_log
from rpu_tf.pipelines.pbt_vae import pbt_vae_with_gin

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMALL = os.path.join(ROOT, "gin_configs", "pbt", "pbt_s_vae_mig_small.gin")
TINY = [
    "sprites.num_scales = 2", "sprites.num_orientations = 2", "sprites.num_positions_x = 4",
    "sprites.num_positions_y = 4", "pbt.population_size = 3", "pbt_vae.generation_images = 96",
    "pbt_stopping.max_generations = 2", "mig_score.num_train = 200", "encoder.num_latent = 4",
    "batch_size_choices.high_exponent = 5",
]


pytestmark = pytest.mark.usefixtures("clean_gin")


@pytest.mark.slow
def test_small_pbt_s_vae_mig_runs_exports_and_resumes(tmp_path):
    run_dir = str(tmp_path / "run")
    result = pbt_vae_with_gin(run_dir, False, [SMALL], TINY)
    log = read_generation_log(os.path.join(run_dir, "pbt"))
    assert len(log) == 6 and {r["generation"] for r in log} == {0, 1}
    scores = [r["score"] for r in log if r["score"] is not None]
    assert all(0.0 <= s <= 1.0 for s in scores)
    last = [r["score"] for r in log if r["generation"] == 1 and r["score"] is not None]
    assert result.pbt.best_score == max(last)
    # Batch sizes were drawn from {8, 16, 32}; each member trained 96 images per generation.
    for r in log:
        assert r["hyperparameters"]["batch_size"] in (8, 16, 32) or r["parent"] is not None
        assert r["num_steps"] == round(96 / r["hyperparameters"]["batch_size"])
    # The best member's replica is exported in rpu_train's layout and reloads.
    model_dir = os.path.join(run_dir, "model")
    results = json.load(open(os.path.join(model_dir, "results", "json", "train_results.json")))
    assert results["score"] == pytest.approx(result.pbt.best_score)
    assert results["stop_reason"] == "max_generations"
    import tensorflow as tf

    loaded = tf.saved_model.load(os.path.join(model_dir, "saved_model"))
    x = np.zeros((2, 64, 64, 1), np.float32)
    mean = loaded.signatures["gaussian_encoder"](images=tf.constant(x))
    member = result.load_best_member()
    from rpu_tf.models import as_float32

    # Exports are float32 copies of the (possibly bfloat16-trained) replica.
    ours = as_float32(member.group.model(result.best_replica)).encode(x)[0].numpy()
    np.testing.assert_allclose(mean["mean"].numpy(), ours, atol=1e-5)
    representation = loaded.signatures["representation"](images=tf.constant(x))["default"].numpy()
    np.testing.assert_allclose(representation, ours, atol=1e-5)
    # TensorBoard: per member and generation its score, hyperparameters and training loss;
    # the population's best score per generation.
    from rpu_tf.training.summaries import read_scalars

    curves = read_scalars(os.path.join(run_dir, "tensorboard", "member_0000"))
    first = [r for r in log if r["member_id"] == 0]
    assert [v for _, v in curves["score"]] == pytest.approx([r["score"] for r in first])
    assert [v for _, v in curves["hyperparameters/batch_size"]] == [r["hyperparameters"]["batch_size"] for r in first]
    assert [step for step, _ in curves["train/loss"]] == [0, 1]
    best = read_scalars(os.path.join(run_dir, "tensorboard", "population"))["best_score"]
    assert best[-1] == (1, pytest.approx(max(last)))
    # Running the same command again resumes: nothing is recomputed, the result is the same.
    before = os.path.getmtime(os.path.join(run_dir, "pbt", "generations.jsonl"))
    again = pbt_vae_with_gin(run_dir, False, [SMALL], TINY)
    assert again.pbt == result.pbt
    assert os.path.getmtime(os.path.join(run_dir, "pbt", "generations.jsonl")) == before


@pytest.mark.slow
def test_resume_with_other_settings_is_refused(tmp_path):
    from rpu_tf.pbt import ConfigMismatchError

    run_dir = str(tmp_path / "run")
    pbt_vae_with_gin(run_dir, False, [SMALL], TINY[:-1] + ["pbt_stopping.max_generations = 1"])
    with pytest.raises(ConfigMismatchError, match="population_size"):
        pbt_vae_with_gin(run_dir, False, [SMALL], TINY + ["pbt.population_size = 4"])


def test_a_stopped_run_continues_only_in_its_precision_a_finished_one_reads_in_any(tmp_path):
    from rpu_tf.training import PrecisionChangeError

    run_dir = str(tmp_path / "run")
    one = TINY + ["pbt_stopping.max_generations = 1"]
    first = pbt_vae_with_gin(run_dir, False, [SMALL], one + ['training.precision = "float32"'])
    again = pbt_vae_with_gin(run_dir, False, [SMALL], one + ['training.precision = "mixed_bfloat16"'])
    assert again.pbt == first.pbt  # finished: nothing trains, the result reads in any precision
    os.remove(os.path.join(run_dir, "pbt", "result.json"))  # as if stopped after its generation
    with pytest.raises(PrecisionChangeError, match=r"PBT run in .*run trained in float32 so far.*continue it in "
                                                   r'mixed_bfloat16.*training.precision = "float32"'):
        pbt_vae_with_gin(run_dir, False, [SMALL], one + ['training.precision = "mixed_bfloat16"'])
    resumed = pbt_vae_with_gin(run_dir, False, [SMALL], one + ['training.precision = "float32"'])
    assert resumed.pbt.best_score == first.pbt.best_score  # its own precision continues it


def test_pipeline_is_chosen_by_the_gin_config(monkeypatch, tmp_path):
    from rpu_tf.pipelines import choice

    monkeypatch.setattr(choice, "PIPELINES", {name: (lambda model_dir, overwrite, _name=name: _name)
                                              for name in choice.PIPELINES})
    run_dir = str(tmp_path / "run")
    assert choice.run_pipeline(run_dir, [SMALL], []) == ("pbt_vae", "pbt_vae")
    baseline = os.path.join(ROOT, "gin_configs", "baselines", "beta_tc_vae.gin")
    assert choice.run_pipeline(run_dir, [baseline], []).name == "single_model"
    with pytest.raises(ValueError, match="unknown pipeline.name"):
        choice.run_pipeline(run_dir, [baseline], ['pipeline.name = "nope"'])
    with pytest.raises(ValueError, match="--redo_from is for rPU-VAE runs"):
        choice.run_pipeline(run_dir, [SMALL], [], redo_from="final")


def test_non_pbt_directory_is_not_touched(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="no pbt/ run to resume"):
        pbt_vae_with_gin(str(tmp_path / "run"), True, [SMALL], TINY)
    assert (tmp_path / "run" / "notes.txt").exists()


def test_thread_pools_are_sized_for_a_members_replicas():
    import gin

    from rpu_tf.pipelines.pbt_vae import models_per_step
    from rpu_tf.utils.gin_files import parse_gin

    parse_gin([SMALL], ["pbt_vae.num_replicas = 3"])
    assert models_per_step() == 3
    gin.clear_config()
    parse_gin([SMALL], ["pbt_vae.num_replicas = 3", "local_executor.members_together = 2"])
    assert models_per_step() == 6
    gin.clear_config()
    parse_gin([SMALL], [])
    assert models_per_step() == 1  # PBT-S-VAE: single models
