"""One writer per run directory: the run lock, a killed holder, two commands at once."""

import os
import re
import signal
import subprocess
import sys

import pytest

from rpu_tf.layout import RunLockedError, prepare_directory, run_lock
from rpu_tf.layout.lock import LOCK_FILE

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOLD = ("import sys, time; sys.path.insert(0, {root!r}); from rpu_tf.layout.lock import run_lock\n"
        "with run_lock({path!r}):\n    print('held', flush=True); time.sleep(120)\n")


def _holder(path):
    proc = subprocess.Popen([sys.executable, "-c", HOLD.format(root=ROOT, path=str(path))], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_writer_is_refused_until_the_first_lets_go(tmp_path):
    run = str(tmp_path / "run")
    with run_lock(run):
        with pytest.raises(RunLockedError, match=rf"being written by another command \(pid {os.getpid()} on "):
            with run_lock(run):
                pass
    with run_lock(run):  # released
        assert os.path.exists(os.path.join(run, LOCK_FILE))


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    run = tmp_path / "run"
    holder = _holder(run)
    with pytest.raises(RunLockedError, match=f"pid {holder.pid}"):
        with run_lock(str(run)):
            pass
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    with run_lock(str(run)):
        pass


def test_overwriting_keeps_the_lock_file_and_a_lock_alone_is_an_empty_folder(tmp_path):
    run = tmp_path / "run"
    with run_lock(str(run)):
        prepare_directory(str(run), overwrite=False, marker="model")  # only the lock: empty
        (run / "model").mkdir()
        (run / "model" / "weights").write_text("x")
        prepare_directory(str(run), overwrite=True, marker="model")
        assert os.listdir(run) == [LOCK_FILE]


def test_two_commands_on_one_directory_one_proceeds_the_other_says_so_in_one_line(tmp_path):
    run = tmp_path / "run"
    holder = _holder(run)  # the first command, still writing
    try:
        done = subprocess.run(
            [sys.executable, "-m", "rpu_tf.cli.train", f"--model_dir={run}",
             f"--gin_config={os.path.join(ROOT, 'gin_configs', 'quickstart_single_model.gin')}",
             "--gin_bindings=model.training_steps = 2"],
            capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": ROOT})
        assert done.returncode == 1
        errors = [line for line in done.stderr.splitlines() if re.match(r"\d{4}-\d\d-\d\d [\d:,]+ ERROR ", line)]
        assert len(errors) == 1 and "is being written by another command" in errors[0], done.stderr[-2000:]
        assert "Traceback" not in done.stderr
        assert not os.path.exists(run / "model")
    finally:
        holder.kill()
        holder.wait(timeout=30)


def test_a_resumed_run_is_cleaned_of_what_killed_writers_left_and_nothing_else(tmp_path):
    from rpu_tf.utils.files import atomic_write_text

    run = tmp_path / "run"
    (run / "pbt" / "checkpoints").mkdir(parents=True)
    left = [run / "pbt" / ".result.json.abc12_xy.tmp", run / "model" / ".model.keras.tmp.keras",
            run / "model" / ".saved_model.x1y2z3w4.tmp"]
    for path in left:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.mkdir() if path.name.startswith(".saved_model") else path.write_text("half")
    # A folder replaced half way: the old copy moved aside, the complete new one not yet in place.
    (run / "stages" / ".model.q9w8e7r6.tmp").mkdir(parents=True)
    (run / "stages" / ".model.q9w8e7r6.tmp" / "weights").write_text("new")
    (run / "stages" / ".model.q9w8e7r6.tmp.old").mkdir()
    # ... and one where only the old copy is left.
    (run / "stages" / ".labels.a1b2c3d4.tmp.old").mkdir()
    (run / "stages" / ".labels.a1b2c3d4.tmp.old" / "x").write_text("old")
    kept = [run / "pbt" / "result.json", run / "pbt" / "checkpoints" / "member_0000.npz", run / ".hidden.tmp",
            run / "metrics" / ".evaluation.json.k1k2k3k4.tmp"]  # not ours: rpu_evaluate may be writing it
    for path in kept:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("whole")
    with run_lock(str(run)):
        assert all(path.exists() for path in left)  # the lock alone touches nothing
        prepare_directory(str(run), overwrite=False, marker="pbt", resumable=True)
        assert not any(path.exists() for path in left)
        assert all(path.read_text() == "whole" for path in kept)
        assert (run / "stages" / "model" / "weights").read_text() == "new"
        assert (run / "stages" / "labels" / "x").read_text() == "old"
        assert sorted(os.listdir(run / "stages")) == ["labels", "model"]
        atomic_write_text(str(run / "pbt" / "result.json"), "new")  # atomic writes still work
    assert (run / "pbt" / "result.json").read_text() == "new"


def test_a_foreign_folder_is_refused_untouched(tmp_path):
    foreign = tmp_path / "home"
    foreign.mkdir()
    (foreign / ".notes.abcdefgh.tmp").write_text("mine")
    with run_lock(str(foreign)):
        with pytest.raises(FileExistsError, match="holds no pbt/ run to resume"):
            prepare_directory(str(foreign), overwrite=False, marker="pbt", resumable=True)
    assert (foreign / ".notes.abcdefgh.tmp").read_text() == "mine"
