"""``rpu_train`` parses its gin configs once: the pipeline runs on the parse that chose it."""

import collections
import json
import os

import gin
import pytest

from rpu_tf.cli import train as cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASELINE = os.path.join(ROOT, "gin_configs", "baselines", "beta_tc_vae.gin")
PBT_SMALL = os.path.join(ROOT, "gin_configs", "pbt", "pbt_s_vae_mig_small.gin")
QUICKSTART = os.path.join(ROOT, "gin_configs", "quickstart.gin")
TINY_SINGLE = ["model.training_steps = 3", "model.batch_size = 8", "model.eval_steps = 2",
               "sprites.num_orientations = 2", "sprites.num_positions_x = 4", "sprites.num_positions_y = 4",
               "training.progress = False"]


@pytest.fixture
def parses(monkeypatch):
    """Counts the top-level parses: config files by path, binding lists by their text."""
    counted = collections.Counter()
    parse_file, parse_bindings = gin.parse_config_file, gin.parse_config

    def file(path, *args, **kwargs):
        counted[os.path.abspath(path)] += 1
        return parse_file(path, *args, **kwargs)

    def bindings(lines, *args, **kwargs):
        for line in [lines] if isinstance(lines, str) else list(lines):
            counted[line] += 1
        return parse_bindings(lines, *args, **kwargs)

    monkeypatch.setattr(gin, "parse_config_file", file)
    monkeypatch.setattr(gin, "parse_config", bindings)
    return counted


def _flags(config, run_dir, bindings):
    return ["rpu_train", f"--gin_config={config}", f"--model_dir={run_dir}"] + [f"--gin_bindings={b}" for b in bindings]


def test_single_model_run_parses_its_config_once(parses, tmp_path):
    run_dir = str(tmp_path / "btc")
    assert cli.main(_flags(BASELINE, run_dir, TINY_SINGLE + ["beta_tc_vae.beta = 3."])) == 0
    assert parses[BASELINE] == 1
    assert all(parses[b] == 1 for b in TINY_SINGLE + ["beta_tc_vae.beta = 3."])
    with open(os.path.join(run_dir, "model", "results", "json", "train_config.json")) as f:
        assert json.load(f)["beta_tc_vae.beta"] == "3.0"  # the one parse is what trained


@pytest.mark.parametrize("config, mechanism, parameter", [
    (PBT_SMALL, "rpu_tf.pipelines.pbt_vae.run_pbt_vae", "pbt_vae.num_replicas"),
    (QUICKSTART, "rpu_tf.pipelines.rpu_vae.run_rpu_vae", "rpu_vae.max_leaf_runs"),
])
def test_population_runs_parse_their_config_once(parses, monkeypatch, tmp_path, config, mechanism, parameter):
    seen = []

    def recorded(run_dir, data):
        seen.append((run_dir, gin.query_parameter(parameter)))
        return {}

    monkeypatch.setattr(mechanism, recorded)
    run_dir = str(tmp_path / "run")
    binding = f"{parameter} = 1"
    assert cli.main(_flags(config, run_dir, [binding, "training.progress = False"])) == 0
    assert seen == [(run_dir, 1)]  # the mechanism ran on the parsed config, the binding applied
    assert parses[config] == 1 and parses[binding] == 1


def test_a_model_swapped_by_a_binding_trains_and_is_named_in_the_same_parse(parses, tmp_path):
    run_dir = str(tmp_path / "swapped")
    swap = "model.model = @vae()"
    assert cli.main(_flags(BASELINE, run_dir, TINY_SINGLE + [swap, "vae.beta = 1."])) == 0
    assert parses[BASELINE] == 1 and parses[swap] == 1
    with open(os.path.join(run_dir, "model", "results", "json", "train_config.json")) as f:
        config = json.load(f)
    assert config["model.model"] == "@vae()" and config["model.name"] == "'vae'"  # not beta_tc_vae's label
