"""rpu_evaluate's inputs: model discovery, metric configs and study lists, bad input messages,
and our gin configs against disentanglement_lib 1.5's study files."""

from __future__ import annotations

import os

import gin
import pytest

from tests.helpers.dlib_oracle import import_dlib
from rpu_tf.cli import evaluate as cli
from rpu_tf.evaluation import auto_dataset, known_metrics
from rpu_tf.evaluation.metric_configs import expand_metric_configs, read_study_list
from rpu_tf.evaluation.model_dirs import (NotATrainedModelError, find_models, locate_model,
                                          locate_representation, prepare_output_dir)
from rpu_tf.evaluation.postprocess import POSTPROCESS_CONFIGS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
METRICS = os.path.join(ROOT, "gin_configs", "metrics")
STUDY = ("beta_vae_sklearn", "dci", "downstream_task_boosted_trees", "downstream_task_logistic_regression",
         "factor_vae_metric", "mig", "modularity_explicitness", "sap_score", "unsupervised")


def _fake_model(run):
    """The files that make a folder look like an rpu_train run (contents are not read)."""
    for rel in ("model/saved_model/saved_model.pb", "model/results/gin/train.gin"):
        path = os.path.join(run, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "w").close()
    return run


def _bindings(path):
    """Non-comment lines of a gin file, whitespace around '=' normalised."""
    with open(path, encoding="utf-8") as f:
        lines = [ln.split("#", 1)[0].strip() for ln in f]
    return ["=".join(part.strip() for part in ln.split("=", 1)) for ln in lines if ln]


def test_metric_configs_are_dlibs_study_configs():
    dlib = import_dlib("disentanglement_lib")
    folder = os.path.join(os.path.dirname(dlib.__file__), "config", "unsupervised_study_v1")
    for name in STUDY:
        assert _bindings(os.path.join(METRICS, f"{name}.gin")) == \
            _bindings(os.path.join(folder, "metric_configs", f"{name}.gin")), name
    for name in ("mean", "sampled"):
        ours = _bindings(os.path.join(ROOT, "gin_configs", "postprocess", f"{name}.gin"))
        assert ours == _bindings(os.path.join(folder, "postprocess_configs", f"{name}.gin"))
        assert ours == ["=".join(p.strip() for p in b.split("=", 1)) for b in POSTPROCESS_CONFIGS[name]]


def test_study_list_expands_to_the_nine_metric_configs():
    configs = expand_metric_configs([os.path.join(METRICS, "study.txt")])
    assert [c.name for c in configs] == list(STUDY)
    assert all(os.path.isfile(c.path) for c in configs)
    assert [c.name for c in expand_metric_configs([os.path.join(METRICS, "fig4.txt")])] == ["mig", "dci"]
    gin_files = [p[:-len(".gin")] for p in os.listdir(METRICS) if p.endswith(".gin")]
    # dlib's nine, rpu_tf's per-factor MIG, and DCI on fewer points for CPU-sized studies
    assert sorted(gin_files) == sorted(STUDY + ("mig_gaps", "dci_small"))


def test_metric_config_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"migg.gin not found; configs in .*: beta_vae_sklearn.gin, "
                                                r"dci.gin, .*study.txt"):
        expand_metric_configs([os.path.join(METRICS, "migg.gin")])
    listing = tmp_path / "mine.txt"
    listing.write_text("# comment\nmig.gin\n\nnope.gin  # missing\n")
    (tmp_path / "mig.gin").write_text("evaluation.evaluation_fn = @mig\n")
    assert read_study_list(str(listing)) == [str(tmp_path / "mig.gin"), str(tmp_path / "nope.gin")]
    with pytest.raises(FileNotFoundError, match="nope.gin .listed in .*mine.txt. not found"):
        expand_metric_configs([str(listing)])
    with pytest.raises(ValueError, match="Several metric configs are named mig"):
        expand_metric_configs([str(tmp_path / "mig.gin"), os.path.join(METRICS, "mig.gin")])
    (tmp_path / "empty.txt").write_text("# nothing\n")
    with pytest.raises(ValueError, match="names no metric configs"):
        expand_metric_configs([str(tmp_path / "empty.txt")])


def test_locate_and_find_models(tmp_path):
    run = _fake_model(str(tmp_path / "run"))
    model = locate_model(run)
    assert (model.run_dir, model.model_dir) == (run, os.path.join(run, "model"))
    assert locate_model(os.path.join(run, "model")).run_dir == run  # RUN/model works too
    assert model.metric_dir("mean", "mig") == os.path.join(run, "metrics", "mean", "mig")
    for meta_epoch in (1, 2):
        _fake_model(str(tmp_path / "run" / f"meta_epoch_{meta_epoch}" / "best"))
    found = find_models(run, "meta_epoch_*/best")
    assert [m.run_dir for m in found] == [os.path.join(run, f"meta_epoch_{i}", "best") for i in (1, 2)]
    assert len(find_models(run, "**")) == 3  # the run's own model and both replicas
    with pytest.raises(NotATrainedModelError, match=r"No folder matching .*nothing_\* holds a trained "
                                                    r"model .*0 paths matched"):
        find_models(run, "nothing_*")


def test_every_documented_model_subdir_finds_the_stages_of_an_rpu_vae_run(tmp_path):
    import glob
    import re

    from rpu_tf.layout import paths

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    run = _fake_model(str(tmp_path / "rpu"))
    for stage in ("initial", "leaf1_meta1"):
        _fake_model(paths.stage_dir(run, stage))  # where rPU-VAE writes each stage's best replica
    sources = [os.path.join(root, "README.md"), *glob.glob(os.path.join(root, "docs", "*.md")),
               *glob.glob(os.path.join(root, "rpu_tf", "cli", "*.py"))]
    documented = {m.group(1) for path in sources for m in re.finditer(r"model_subdir='([^']+)'",
                                                                      open(path, encoding="utf-8").read())}
    documented |= {m.group(1) for m in re.finditer(r"e\.g\. '([^']+)'", cli.__doc__ + open(cli.__file__).read())}
    assert "stages/*" in documented
    for pattern in documented:
        assert len(find_models(run, pattern)) >= 2, pattern


def test_not_a_model_says_what_it_expected(tmp_path, caplog):
    (tmp_path / "notes").mkdir()
    with pytest.raises(NotATrainedModelError) as error:
        locate_model(str(tmp_path / "notes"))
    message = str(error.value)
    assert "is not a trained model: expected" in message
    assert os.path.join("notes", "model", "saved_model") in message and "train.gin" in message
    assert "rpu_train --model_dir=" in message
    with pytest.raises(NotATrainedModelError, match="does not exist"):
        locate_model(str(tmp_path / "missing"))
    with pytest.raises(NotATrainedModelError, match="not a postprocessed representation: expected a "
                                                    "SavedModel with a 'representation' signature"):
        locate_representation(str(tmp_path / "notes"))
    code = cli.main(["rpu_evaluate", f"--model_dir={tmp_path / 'notes'}",
                     f"--gin_config={os.path.join(METRICS, 'mig.gin')}"])
    assert code == 1 and "is not a trained model" in caplog.text
    assert not os.listdir(tmp_path / "notes")  # nothing written


def test_unknown_metric_lists_the_known_ones(tmp_path, caplog):
    run = _fake_model(str(tmp_path / "run"))
    config = tmp_path / "foo.gin"
    config.write_text('evaluation.evaluation_fn = @foo\ndataset.name = "auto"\nevaluation.random_seed = 0\n')
    code = cli.main(["rpu_evaluate", f"--model_dir={run}", f"--gin_config={config}"])
    assert code == 1
    assert f"Unknown metric 'foo' (evaluation.evaluation_fn = @foo) in {config}; known metrics: " \
           f"{', '.join(known_metrics())}." in caplog.text
    assert known_metrics() == ["beta_vae_sklearn", "dci", "downstream_task", "factor_vae_score", "irs", "mig",
                               "mig_gaps", "modularity_explicitness", "sap_score", "unsupervised_metrics"]
    assert sorted(os.listdir(run)) == ["model"]  # nothing written
    assert gin.config_str() == ""


def test_existing_output_is_refused_before_any_work(tmp_path, caplog):
    run = _fake_model(str(tmp_path / "run"))
    existing = tmp_path / "run" / "metrics" / "sampled" / "dci" / "results"
    existing.mkdir(parents=True)
    (existing / "keep.json").write_text("{}")
    code = cli.main(["rpu_evaluate", f"--model_dir={run}",
                     f"--gin_config={os.path.join(METRICS, 'fig4.txt')}"])
    assert code == 1
    assert f"Evaluation output already exists: {os.path.join(run, 'metrics', 'sampled', 'dci')}; pass " \
           "--overwrite" in caplog.text
    assert (existing / "keep.json").read_text() == "{}"
    assert not (tmp_path / "run" / "postprocessed").exists()


def test_prepare_output_dir_only_removes_its_own_outputs(tmp_path):
    output = tmp_path / "out"
    output.mkdir()
    (output / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="pass --overwrite"):
        prepare_output_dir(str(output), overwrite=False)
    with pytest.raises(FileExistsError, match="does not look like an output of this step"):
        prepare_output_dir(str(output), overwrite=True)
    assert (output / "notes.txt").read_text() == "mine"
    (output / "results").mkdir()
    prepare_output_dir(str(output), overwrite=True)
    assert list(output.iterdir()) == []  # its outputs are gone (the folder stays, for a run lock)


def test_cli_usage_errors(caplog):
    assert cli.main(["rpu_evaluate"]) == 2
    assert "Give --model_dir and at least one --gin_config" in caplog.text
    assert cli.main(["rpu_evaluate", "--model_dirr=x"]) == 2
    assert cli.main(["rpu_evaluate", "positional"]) == 2
    assert cli.main(["rpu_evaluate", "--help"]) == 0


def test_data_configurables_are_the_registered_data_sets():
    """auto_dataset.DATA_CONFIGURABLES lists every gin configurable of rpu_tf.data."""
    registered = {c.name for _, c in gin.config._REGISTRY.items()
                  if c.module.startswith("rpu_tf.data")}
    assert registered == set(auto_dataset.DATA_CONFIGURABLES)
