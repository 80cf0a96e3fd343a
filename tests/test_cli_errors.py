"""Every expected failure of a CLI is one line naming what was wrong, exit code 1, no traceback
(issue 12, items 6 and 7): missing data, an unusable output folder, gin syntax errors, corrupt
zip members and HDF5 chunks, broken image files, every PBT member failing, an initial metaEpoch
that learned nothing; and a full disk."""

import io
import logging
import os
import re
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from rpu_tf.cli.failures import report_failures
from rpu_tf.utils.errors import RunFailedError, one_line

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SINGLE = os.path.join(ROOT, "gin_configs", "quickstart_single_model.gin")
TINY = ["model.training_steps = 2", "model.batch_size = 8", "model.eval_steps = 1", "training.progress = False"]


#: An error logged by rpu_tf: every CLI, rpu_train included, logs in Python's format
#: (``2026-12-06 06:45:29,664 ERROR rpu_train: ...``); not TensorFlow's C++ lines
#: (``E0000 ... cuda_platform.cc:52] ...``).
ERROR_LINE = re.compile(r"^\d{4}-\d\d-\d\d [\d:,]+ ERROR ")


def _rpu_train(tmp_path, *args, env=None):
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **(env or {}))
    done = subprocess.run([sys.executable, os.path.join(ROOT, "bin", "rpu_train"), *args], capture_output=True,
                          text=True, cwd=str(tmp_path), env=environment, timeout=300)
    errors = [line for line in done.stderr.splitlines() if ERROR_LINE.match(line)]
    return done, errors


class _Done:
    def __init__(self, returncode, stderr):
        self.returncode, self.stderr = returncode, stderr


def _train_in_process(caplog, gin_config, model_dir, *bindings):
    """rpu_train_together with one run, in this process (its flags are parsed per call): the
    same error path as every CLI (rpu_tf.cli.failures), without a process start."""
    from rpu_tf.cli import train_together

    caplog.clear()
    caplog.set_level(logging.INFO)
    code = train_together.main(["rpu_train_together", f"--gin_config={gin_config}", f"--run={model_dir}::",
                                *[f"--gin_bindings={b}" for b in bindings]])
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    return _Done(code, caplog.text), errors


def _assert_one_line(done, errors, *fragments):
    assert done.returncode == 1, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert len(errors) == 1, errors
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


def _bindings(*bindings):
    return [f"--gin_bindings={b}" for b in bindings]


def test_missing_dsprites_is_one_line_naming_the_file_and_where_to_get_it(tmp_path, caplog, monkeypatch):
    monkeypatch.setenv("DISENTANGLEMENT_LIB_DATA", str(tmp_path / "data"))
    done, errors = _train_in_process(caplog, SINGLE, tmp_path / "run", *TINY, "dataset.name = 'dsprites_full'")
    _assert_one_line(done, errors, "data file not found", str(tmp_path / "data"),
                     "`rpu_download_data --dataset=dsprites` downloads it", "download it from")
    assert "In call to configurable" not in errors[0]  # gin's call chain is not part of the message


def test_an_output_folder_that_cannot_be_created_is_one_line(tmp_path, caplog):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    done, errors = _train_in_process(caplog, SINGLE, blocker / "run", *TINY)
    _assert_one_line(done, errors, str(blocker))


def test_a_gin_syntax_error_names_the_file_and_line(tmp_path, caplog):
    bad = tmp_path / "bad.gin"
    bad.write_text("model.training_steps = 3 3\n")
    done, errors = _train_in_process(caplog, str(bad), tmp_path / "run")
    _assert_one_line(done, errors, "Gin syntax error at", "bad.gin:1")
    bad.write_text("model.training_steps = (3\nmodel.batch_size = 8\n")  # unclosed: gin names nothing itself
    done, errors = _rpu_train(tmp_path, f"--gin_config={bad}", f"--model_dir={tmp_path / 'run'}")
    _assert_one_line(done, errors, "Gin syntax error at", "bad.gin:2")


def test_a_gin_syntax_error_in_a_binding_says_so():
    import gin

    from rpu_tf.utils.gin_files import parse_gin

    with pytest.raises(SyntaxError) as caught:
        parse_gin([], ["model.training_steps = (3"])
    gin.clear_config()
    assert one_line(caught.value).startswith("Gin syntax error at --gin_bindings (line ")


def _corrupt_dsprites_file(path):
    """A small dSprites-format file whose compressed ``imgs`` member has 64 flipped bytes (the
    zip directory intact, so the file opens and fails when the member is read)."""
    import struct

    from tests.helpers.data_helpers import write_small_dsprites

    write_small_dsprites(str(path))
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(raw))) as zf:
        info = zf.getinfo("imgs.npy")
    name_length, extra_length = struct.unpack("<HH", raw[info.header_offset + 26:info.header_offset + 30])
    start = info.header_offset + 30 + name_length + extra_length + info.compress_size // 2
    for i in range(start, start + 64):
        raw[i] ^= 0xFF
    path.write_bytes(bytes(raw))


def test_a_corrupt_zip_member_is_one_line_naming_the_file(tmp_path, caplog, monkeypatch):
    data = tmp_path / "data" / "dsprites"
    data.mkdir(parents=True)
    target = data / "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"
    _corrupt_dsprites_file(target)
    monkeypatch.setenv("DISENTANGLEMENT_LIB_DATA", str(tmp_path / "data"))
    done, errors = _train_in_process(caplog, SINGLE, tmp_path / "run", *TINY, "dataset.name = 'dsprites_full'")
    _assert_one_line(done, errors, str(target), "corrupt")


def _h5_with_a_corrupt_chunk(path):
    import h5py

    images = np.random.RandomState(0).randint(0, 255, size=(64, 8, 8, 3)).astype(np.uint8)
    with h5py.File(path, "w") as f:
        f.create_dataset("images", data=images, chunks=(1, 8, 8, 3), compression="gzip")
    with h5py.File(path, "r") as f:
        offset, size = f["images"].id.get_chunk_info(0).byte_offset, f["images"].id.get_chunk_info(0).size
    raw = bytearray(path.read_bytes())
    raw[offset:offset + size] = bytes(size)  # the first row's chunk zeroed: gzip cannot inflate it
    path.write_bytes(bytes(raw))


def test_a_corrupt_hdf5_chunk_fails_when_the_data_set_is_built_naming_the_file(tmp_path):
    from rpu_tf.data.images import ImageArray

    path = tmp_path / "images.h5"
    _h5_with_a_corrupt_chunk(path)
    with pytest.raises(ValueError, match=rf"{path} cannot be read at row 0 of 64 .*corrupt"):
        ImageArray(str(path), image_size=8)


def test_a_broken_image_file_fails_when_the_folder_is_read(tmp_path):
    from rpu_tf.data.images import ImageFolder

    folder = tmp_path / "imgs"
    folder.mkdir()
    import tensorflow as tf

    png = tf.io.encode_png(np.zeros((8, 8, 3), np.uint8)).numpy()
    for k in range(3):
        (folder / f"{k}.png").write_bytes(png)
    (folder / "3.png").write_bytes(b"")  # empty
    (folder / "4.jpg").write_bytes(png)  # a png called .jpg
    with pytest.raises(ValueError, match=r"2 of 5 image files cannot be images: .*3.png \(empty\), .*4.jpg "
                                         r"\(not a jpg file\)"):
        ImageFolder(str(folder), image_size=8)


def test_every_member_failing_is_one_line(tmp_path, caplog):
    from tests.helpers.pbt_toy import ToyTrainable, make_pbt

    from rpu_tf.pbt import LocalExecutor

    pbt = make_pbt(str(tmp_path / "pbt"), executor=LocalExecutor(lambda: ToyTrainable(diverge_above=0.0)))
    caplog.set_level(logging.ERROR)
    assert report_failures(pbt.run, logging.getLogger("rpu_train")) == 1
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors[-1].startswith("PBT generation 0: every member failed") and "\n" not in errors[-1]


@pytest.mark.slow
def test_an_initial_metaepoch_that_learned_nothing_is_one_line(tmp_path):
    quickstart = os.path.join(ROOT, "gin_configs", "quickstart.gin")
    tiny = ["sprites.num_scales = 2", "sprites.num_orientations = 2", "sprites.num_positions_x = 4",
            "sprites.num_positions_y = 4", "encoder.num_latent = 2", "pbt_vae.num_replicas = 2",
            "vae_hyperparameters.batch_sizes = [8]", "metaepoch/initial/pbt_vae.generation_images = 16",
            "metaepoch/initial/pbt_stopping.max_generations = 1", "udr_score.num_data_points = 50",
            "active_latents.active_kl_threshold = 1e9", "training.progress = False"]
    done, errors = _rpu_train(tmp_path, f"--gin_config={quickstart}", f"--model_dir={tmp_path / 'run'}",
                              *_bindings(*tiny))
    _assert_one_line(done, errors, "the initial metaEpoch learned nothing to label", "active_kl_threshold")


def test_unexpected_errors_keep_their_traceback():
    def bug():
        raise AssertionError("a bug")

    with pytest.raises(AssertionError):
        report_failures(bug, logging.getLogger("test"))
    assert issubclass(RunFailedError, RuntimeError)


def _mount_tmpfs(path, size, read_only=False):
    path.mkdir()
    options = f"size={size}" + (",ro" if read_only else "")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True)
    return done.returncode == 0


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_a_read_only_output_folder_is_one_line_before_training(tmp_path, caplog):
    disk = tmp_path / "readonly"
    if not _mount_tmpfs(disk, "1m", read_only=True):
        pytest.skip("tmpfs cannot be mounted here")
    try:
        done, errors = _train_in_process(caplog, SINGLE, disk / "run", *TINY)
        _assert_one_line(done, errors, "read-only file system", str(disk / "run"), "run the same command again")
        assert "Training 1 x" not in done.stderr  # refused before the first step
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="mounting a tmpfs needs root")
@pytest.mark.slow
def test_a_full_disk_is_one_line_and_the_run_resumes_once_space_is_freed(tmp_path):
    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk, "32m"):
        pytest.skip("tmpfs cannot be mounted here")
    try:
        filler = disk / "filler"
        filler.write_bytes(b"\0" * (31 * 2**20 + 2**19))  # 31.5 MiB of the 32; the run needs ~13
        run = disk / "run"
        bindings = _bindings("model.training_steps = 4", "model.batch_size = 8", "model.eval_steps = 1",
                             "model.checkpoint_every = 2", "encoder.num_latent = 2", "training.progress = False")
        done, errors = _rpu_train(tmp_path, f"--gin_config={SINGLE}", f"--model_dir={run}", *bindings)
        _assert_one_line(done, errors, "Not enough free space in", str(run), "MiB are free")
        filler.unlink()  # space freed: the same command now trains the run it claimed
        done, errors = _rpu_train(tmp_path, f"--gin_config={SINGLE}", f"--model_dir={run}", *bindings)
        assert done.returncode == 0 and not errors, done.stderr[-3000:]
        assert (run / "model" / "results" / "json" / "train_results.json").exists()
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)
