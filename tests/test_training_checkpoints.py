"""Single-model checkpoints: chunks change nothing, killed runs resume to the uninterrupted
result, finished runs are not retrained, changed settings are refused, a stopped run keeps its
precision."""

import json
import logging
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from rpu_tf.pipelines.single_model import train_with_gin
from rpu_tf.training.export import load_keras
from rpu_tf.training.precision import PrecisionChangeError, resolve_precision
from tests.helpers import single_model_run as small

pytestmark = pytest.mark.usefixtures("clean_gin")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMING = ("uuid", "elapsed_time")


def _results(run_dir):
    with open(os.path.join(run_dir, "model", "results", "json", "train_results.json")) as f:
        return {k: v for k, v in json.load(f).items() if k not in TIMING}


def _weights(run_dir):
    return load_keras(os.path.join(run_dir, "model", "model.keras")).get_weights()


def _assert_same_run(a, b, same_settings=True):
    assert _results(a) == _results(b)
    for x, y in zip(_weights(a), _weights(b)):
        np.testing.assert_array_equal(x, y)
    if same_settings:
        assert open(os.path.join(a, "model", "results", "gin", "train.gin")).read() == \
            open(os.path.join(b, "model", "results", "gin", "train.gin")).read()


def _start(run_dir, *extra):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=ROOT)
    script = os.path.join(ROOT, "tests", "helpers", "single_model_run.py")
    return subprocess.Popen([sys.executable, script, run_dir, *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The run, uninterrupted, in its own process (thread pools as in the killed ones)."""
    run = str(tmp_path_factory.mktemp("reference") / "run")
    out, _ = _start(run).communicate(timeout=300)
    assert "finished" in out, out
    return run


@pytest.mark.slow
def test_checkpoint_chunks_do_not_change_the_run(tmp_path):
    chunks, one_chunk = str(tmp_path / "chunks"), str(tmp_path / "one_chunk")
    train_with_gin(chunks, False, small.CONFIG, small.BINDINGS)  # 8 chunks of 30 steps
    train_with_gin(one_chunk, False, small.CONFIG, small.BINDINGS + [f"model.checkpoint_every = {small.STEPS}"])
    _assert_same_run(chunks, one_chunk, same_settings=False)  # train.gin: checkpoint_every
    assert not os.path.exists(os.path.join(one_chunk, "checkpoint"))  # removed once finished


@pytest.mark.slow
def test_three_kills_during_training_resume_to_the_uninterrupted_run(uninterrupted, tmp_path):
    """SIGKILL at known points of training: each process waits after its 1st or 2nd checkpoint
    (a seeded choice; 3 kills take at most 6 of the run's 8 checkpoints, so every kill lands
    before the run finishes, however fast the machine), then the same command until it
    finishes."""
    run = str(tmp_path / "run")
    rng = np.random.RandomState(11)
    kills = 0
    while kills < 3:
        proc = _start(run, "stop_after", str(rng.randint(1, 3)))
        output = []
        for line in proc.stdout:  # until it waits after the checkpoint
            output.append(line)
            if line.startswith(small.STOPPED):
                break
        assert output and output[-1].startswith(small.STOPPED), "".join(output)  # it waits: the kill lands
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        kills += 1
    final = _start(run)
    out, _ = final.communicate(timeout=300)
    assert final.returncode == 0, out
    _assert_same_run(uninterrupted, run)
    assert kills >= 1


# writes: 1-2 claim and its checksum record, 3 group.json, 4-19 the 8 checkpoints (each with its record),
# 20-21 model.keras and record, 22 saved_model, 23- results
@pytest.mark.parametrize("count", [6, 22])  # the 2nd checkpoint; the SavedModel export
@pytest.mark.slow
def test_a_kill_inside_an_atomic_write_resumes_to_the_uninterrupted_run(uninterrupted, tmp_path, count):
    run = str(tmp_path / "run")
    killed = _start(run, "write", str(count))
    out, _ = killed.communicate(timeout=300)
    assert killed.returncode == 137, out
    final = _start(run)
    out, _ = final.communicate(timeout=300)
    assert final.returncode == 0, out
    assert "Resuming from the checkpoint at step" in out
    _assert_same_run(uninterrupted, run)


def test_a_finished_run_is_not_retrained_and_changed_settings_are_refused(uninterrupted, caplog):
    caplog.set_level(logging.INFO)
    before = json.load(open(os.path.join(uninterrupted, "model", "results", "json", "train_results.json")))
    again = train_with_gin(uninterrupted, False, small.CONFIG, small.BINDINGS + ["training.progress = False"])
    assert again["uuid"] == before["uuid"] and "nothing to do" in caplog.text
    with pytest.raises(FileExistsError, match=r"beta_tc_vae.beta: was 6.0, now 2.0.*--overwrite"):
        train_with_gin(uninterrupted, False, small.CONFIG, small.BINDINGS + ["beta_tc_vae.beta = 2."])
    after = json.load(open(os.path.join(uninterrupted, "model", "results", "json", "train_results.json")))
    assert after["uuid"] == before["uuid"]


@pytest.mark.slow
def test_a_stopped_run_with_other_settings_is_refused_and_more_steps_continue_it(uninterrupted, tmp_path):
    run = str(tmp_path / "run")
    killed = _start(run, "write", "6")  # dies writing its 2nd checkpoint (step 60)
    killed.communicate(timeout=300)
    with pytest.raises(FileExistsError, match=r"stopped run with other settings \(model.random_seed: was 4, now 5\)"):
        train_with_gin(run, False, small.CONFIG, small.BINDINGS + ["model.random_seed = 5"])
    longer = train_with_gin(run, False, small.CONFIG, small.BINDINGS + ["model.training_steps = 250"])
    assert longer["global_step"] == 250
    with pytest.raises(FileExistsError, match=r"finished run with other settings \(model.training_steps: was 250, "
                                              r"now 300\)"):
        train_with_gin(run, False, small.CONFIG, small.BINDINGS + ["model.training_steps = 300"])


@pytest.mark.slow
def test_a_stopped_run_continues_only_in_the_precision_it_trained_in(uninterrupted, tmp_path, caplog):
    run = str(tmp_path / "run")
    _start(run, "write", "6").communicate(timeout=300)  # "auto", stopped at step 60
    trained_in = resolve_precision("auto")  # what "auto" is on this machine
    other = "mixed_bfloat16" if trained_in == "float32" else "float32"
    with pytest.raises(PrecisionChangeError, match=rf'trained in {trained_in} so far.*continue it in {other}.*'
                                                   rf'training.precision = "{trained_in}" to continue'):
        train_with_gin(run, False, small.CONFIG, small.BINDINGS + [f'training.precision = "{other}"'])
    # "auto" pinned to the precision it resolved to: the setting may change, the arithmetic not
    pinned = train_with_gin(run, False, small.CONFIG, small.BINDINGS + [f'training.precision = "{trained_in}"'])
    assert pinned["precision"] == trained_in and pinned["global_step"] == small.STEPS
    _assert_same_run(uninterrupted, run, same_settings=False)
    # finished: read whatever the precision now, and the log says what it trained in
    caplog.set_level(logging.INFO)
    again = train_with_gin(run, False, small.CONFIG, small.BINDINGS + [f'training.precision = "{other}"'])
    assert again["uuid"] == pinned["uuid"]
    assert f"already trained with these settings, in {trained_in} (this process would train in {other})" in caplog.text


@pytest.mark.slow
def test_a_renamed_copy_of_a_stopped_run_resumes_at_its_checkpoint(uninterrupted, tmp_path, caplog):
    import shutil

    run = str(tmp_path / "run")
    _start(run, "write", "6").communicate(timeout=300)  # stopped writing its 2nd checkpoint (step 60)
    renamed = str(tmp_path / "renamed")
    shutil.copytree(run, renamed)
    shutil.rmtree(run)
    caplog.set_level(logging.INFO)
    result = train_with_gin(renamed, False, small.CONFIG, small.BINDINGS)
    assert "Resuming from the checkpoint at step 30 " in caplog.text
    assert result["global_step"] == small.STEPS
    _assert_same_run(uninterrupted, renamed)
