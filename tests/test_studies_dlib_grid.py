"""`gin_configs/studies/dlib_unsupervised_v1.gin` is disentanglement_lib 1.5's
unsupervised_study_v1, value for value: the grid of its sweep module (data sets x methods x
hyperparameters x seeds), the fixed settings of its shared model config and its metric configs,
derived from disentanglement_lib's own files (the oracle installed in the test environment)."""

from __future__ import annotations

import dataclasses
import os

import pytest
from gin import config_parser

from tests.helpers.dlib_oracle import import_dlib
from rpu_tf.cli.study import load_study
from rpu_tf.studies.runner import plan_runs, train_job

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STUDY = os.path.join(REPO, "gin_configs", "studies", "dlib_unsupervised_v1.gin")


class _Delegate(config_parser.ParserDelegate):
    """Keeps references and macros as their text (``"@vae()"``), so no configurable is needed."""

    def configurable_reference(self, scoped_name, evaluate):
        return "@" + scoped_name + ("()" if evaluate else "")

    def macro(self, name):
        return "%" + name


def _bindings(text: str) -> dict:
    """``{"scope/selector.arg": value}`` of gin text's binding statements, later ones winning."""
    out = {}
    for statement in config_parser.ConfigParser(text, _Delegate()):
        if not isinstance(statement, config_parser.BindingStatement):
            raise AssertionError(f"unexpected gin statement {statement!r} in a study config")
        scope = f"{statement.scope}/" if statement.scope else ""
        out[f"{scope}{statement.selector}.{statement.arg_name}"] = statement.value
    return out


_FILES: dict = {}


def _file_bindings(path: str) -> dict:
    if path not in _FILES:
        with open(path, encoding="utf-8") as f:
            _FILES[path] = _bindings(f.read())
    return _FILES[path]


def _run_settings(job) -> dict:
    """What one of our study's training runs is configured with (its files, then bindings)."""
    settings = {}
    for config in job.configs:
        settings.update(_file_bindings(config))
    settings.update(_bindings("\n".join(job.bindings)))
    return settings


@pytest.fixture(scope="module")
def dlib_study():
    sweep = import_dlib("disentanglement_lib.config.unsupervised_study_v1.sweep")
    root = os.path.dirname(os.path.dirname(sweep.__file__))
    return sweep, os.path.join(root, "unsupervised_study_v1")


def _grid_of(study, tmp_path) -> list[dict]:
    study = dataclasses.replace(study, precision="auto")  # (its value is checked below; skips a parse per run)
    return [_run_settings(train_job(study, run, study.budget_images)) for run in plan_runs(study, str(tmp_path))]


def test_every_data_set_has_dlib_grid_value_for_value(dlib_study, tmp_path):
    sweep, _ = dlib_study
    grid = sweep.get_config()
    datasets = sorted({c["dataset.name"] for c in grid})
    assert len(datasets) == 7
    for dataset in datasets:
        study = load_study(STUDY, [f'study.dataset = "{dataset}"'])
        expected = [c for c in grid if c["dataset.name"] == dataset]
        ours = _grid_of(study, tmp_path)
        assert len(ours) == len(expected) == 36 * 50
        keys = sorted({k for c in expected for k in c})
        projected = sorted((tuple((k, s.get(k)) for k in keys) for s in ours), key=repr)
        assert projected == sorted((tuple((k, c.get(k)) for k in keys) for c in expected), key=repr), dataset
        # the sweep's keys a run leaves unset fall back to the shared config's values
        for settings in ours:
            assert {k for k in keys if k in settings} >= {"dataset.name", "model.model", "model.random_seed"}


def test_fixed_settings_equal_dlib_shared_config(dlib_study, tmp_path):
    _, folder = dlib_study
    shared = _file_bindings(os.path.join(folder, "model_configs", "shared.gin"))
    study = load_study(STUDY)
    swept = {"dataset.name", "model.model", "model.random_seed", "vae.beta"}
    runs = plan_runs(study, str(tmp_path))
    for run in runs[:: 50]:  # one run per method and setting
        settings = _run_settings(train_job(study, run, study.budget_images))
        for key, value in shared.items():
            if key not in swept:
                assert settings.get(key) == value, (run.name, key)
    assert study.budget_images == shared["model.training_steps"] * shared["model.batch_size"]
    assert study.precision == "float32"


def test_metric_configs_equal_dlib_ones(dlib_study):
    _, folder = dlib_study
    study = load_study(STUDY)
    ours = {os.path.splitext(os.path.basename(m))[0]: os.path.normpath(os.path.join(study.base_dir, m))
            for m in study.metrics}
    theirs_dir = os.path.join(folder, "metric_configs")
    theirs = {os.path.splitext(f)[0]: os.path.join(theirs_dir, f) for f in os.listdir(theirs_dir) if f.endswith(".gin")}
    assert set(ours) == set(theirs)
    for name, path in theirs.items():
        assert _file_bindings(ours[name]) == _file_bindings(path), name


def test_runs_are_scored_on_dlib_postprocessings(dlib_study):
    _, folder = dlib_study
    theirs = {os.path.splitext(f)[0] for f in os.listdir(os.path.join(folder, "postprocess_configs"))
              if f.endswith(".gin")}
    assert set(load_study(STUDY).representations) == theirs == {"mean", "sampled"}


def test_the_cpu_size_study_keeps_the_grid_and_changes_only_what_it_says(dlib_study, tmp_path):
    sweep, _ = dlib_study
    cpu = load_study(os.path.join(REPO, "gin_configs", "studies", "dlib_unsupervised_cpu.gin"))
    full = load_study(STUDY)
    assert [m.name for m in cpu.methods] == [m.name for m in full.methods]
    assert [m.bindings for m in cpu.methods] == [m.bindings for m in full.methods]
    assert {m.label for m in cpu.methods} == {"beta-VAE", "FactorVAE", "DIP-VAE-I", "DIP-VAE-II", "beta-TCVAE",
                                              "AnnealedVAE"}
    assert cpu.seeds == (0,) and cpu.dataset == "sprites"
    settings = _grid_of(cpu, tmp_path)
    assert len(settings) == 36
    assert {s["model.training_steps"] for s in settings} == {6000}
    assert {s["annealed_vae.iteration_threshold"] for s in settings} == {2000}
    # its evaluation: MIG as disentanglement_lib's, DCI on fewer points (named in its file), mean only
    assert cpu.representations == ("mean",)
    mig, dci = (os.path.normpath(os.path.join(cpu.base_dir, m)) for m in cpu.metrics)
    folder = os.path.join(os.path.dirname(os.path.dirname(sweep.__file__)), "unsupervised_study_v1", "metric_configs")
    assert _file_bindings(mig) == _file_bindings(os.path.join(folder, "mig.gin"))
    theirs = _file_bindings(os.path.join(folder, "dci.gin"))
    assert _file_bindings(dci) == {**theirs, "dci.num_train": 2000, "dci.num_test": 1000}
    assert (theirs["dci.num_train"], theirs["dci.num_test"]) == (10000, 5000)
