"""Where a study's runs go: the data set and executor settings, the units of work (a train
group is one unit), the resources a unit asks for, and ``rpu_study --status``."""

import json
import os
import subprocess
import sys

import pytest

from rpu_tf.studies import Method, Study, plan_runs, study_progress
from rpu_tf.studies.runner import train_job
from rpu_tf.studies.status import ATTEMPT

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _single(name, beta, **kw):
    return Method(name, configs=("quickstart_single_model.gin",), bindings=(f"beta_tc_vae.beta = {beta}",),
                  seed_binding="model.random_seed = {seed}", budget_binding="model.training_steps = {units}",
                  budget_unit_images=32, **kw)


def test_study_settings_are_checked():
    with pytest.raises(ValueError, match="executor"):
        Study("s", (0,), (_single("a", 1),), ("mig.gin",), budget_images=64, executor="slurm")
    with pytest.raises(ValueError, match="cpus"):
        _single("a", 1, cpus=0)
    with pytest.raises(ValueError, match="gpus"):
        _single("a", 1, gpus=-0.5)


def test_the_study_data_set_comes_after_the_method_bindings(tmp_path):
    study = Study("s", (0,), (_single("a", 1),), ("mig.gin",), budget_images=64, dataset="cars3d",
                  base_dir=os.path.join(ROOT, "gin_configs"))
    bindings = train_job(study, plan_runs(study, str(tmp_path))[0], 64).bindings
    assert bindings.index('dataset.name = \'cars3d\'') > bindings.index("beta_tc_vae.beta = 1")


def test_a_train_group_is_one_unit_that_asks_for_its_largest_resources(tmp_path):
    from rpu_tf.studies.runner import _Scheduler
    from rpu_tf.studies.status import StudyStatus

    study = Study("s", (0, 1), (_single("a", 1, train_group="g", cpus=2), _single("b", 2, train_group="g", gpus=0.5),
                                _single("c", 3)), ("mig.gin",), budget_images=64,
                  base_dir=os.path.join(ROOT, "gin_configs"))
    scheduler = _Scheduler(study, str(tmp_path), StudyStatus(str(tmp_path)), plan_runs(study, str(tmp_path)))
    units = [tuple(r.key for r in unit) for unit in scheduler.pending]
    assert units == [("a/seed0", "b/seed0"), ("a/seed1", "b/seed1"), ("c/seed0",), ("c/seed1",)]
    work, resources = scheduler.start(scheduler.next_ready())
    assert work.together and [r.key for r in work.runs] == ["a/seed0", "b/seed0"]
    assert resources == (2.0, 0.5)
    assert all(r.train is not None and r.evaluate is not None for r in work.runs)
    work, resources = scheduler.start(scheduler.pending[-1])
    assert not work.together and resources == (1.0, None)


def test_status_counts_done_running_failed_and_to_do_without_writing(tmp_path):
    study = Study("s", (0,), tuple(_single(n, 1) for n in "abcde"), ("mig.gin",), budget_images=64)
    log = tmp_path / "logs" / "b.log"
    log.parent.mkdir()
    log.write_text("training\n")
    now = os.path.getmtime(log)
    entries = {"a/seed0": {"state": "done", "training_images": 640, "wall_seconds": 3600.0},
               "b/seed0": {ATTEMPT: {"started": now - 120, "log": str(log), "share": 1.0}},
               "c/seed0": {"state": "failed", "error": "exit status 1; see c.log", "wall_seconds": 1800.0},
               "d/seed0": {ATTEMPT: {"started": now - 7200, "log": str(log), "share": 1.0}}}
    (tmp_path / "status.json").write_text(json.dumps(entries))
    before = sorted(os.listdir(tmp_path))
    text = study_progress(study, str(tmp_path), now=now + 5)
    assert text.splitlines()[0].endswith("1 done, 2 running, 1 failed, 1 to do of 5 runs; 640 training images "
                                         "and 1.50 h of run time so far.")
    assert "failed: c/seed0: exit status 1" in text
    later = study_progress(study, str(tmp_path), now=now + 3600)  # the log went silent: a killed invocation
    assert "0 running" in later and "stopped: b/seed0" in later
    assert sorted(os.listdir(tmp_path)) == before


def test_rpu_study_status_prints_progress(tmp_path):
    study_file = tmp_path / "s.gin"
    study_file.write_text(f'study.name = "tiny"\nstudy.seeds = [0, 1]\nstudy.budget_images = 64\n'
                          f'study.methods = [@a/study_method()]\na/study_method.name = "a"\n'
                          f'a/study_method.configs = ["{ROOT}/gin_configs/quickstart_single_model.gin"]\n'
                          'a/study_method.seed_binding = "model.random_seed = {seed}"\n')
    done = subprocess.run([sys.executable, "-m", "rpu_tf.cli.study", f"--gin_config={study_file}",
                           f"--study_dir={tmp_path / 'study'}", "--status"], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "0 done, 0 running, 0 failed, 2 to do of 2 runs" in done.stdout
    assert not (tmp_path / "study").exists()


def test_a_task_sizes_its_training_for_the_cpus_it_holds(monkeypatch):
    from rpu_tf.studies import jobs
    from rpu_tf.training import runtime

    assert jobs.NUM_CPUS_ENV == runtime.NUM_CPUS_ENV  # named twice so a Ray task loads no TensorFlow
    monkeypatch.setenv(runtime.NUM_CPUS_ENV, "3")
    assert runtime.auto_threads(1) == (3, 2) and runtime.auto_threads(6) == (1, 3)
    monkeypatch.setenv(runtime.NUM_CPUS_ENV, "two")
    with pytest.raises(ValueError, match="RPU_NUM_CPUS must be a whole number"):
        runtime.auto_threads(1)
