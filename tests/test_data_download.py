"""rpu_download_data without a network: file:// URLs of small files stand for the servers. A
file lands only with its published checksum, a mismatch leaves nothing, a file in place is
checked instead of fetched; the git-blob checksum equals git's own."""

import logging
import os
import subprocess

import pytest

from rpu_tf.cli import download_data
from rpu_tf.data.download import FILES, ChecksumError, DataFile, download, file_digest

CONTENT = b"\x93NUMPY a small stand-in for a data file\n" * 100


def _spec(tmp_path, content=CONTENT, algorithm="git-blob-sha1", **changes):
    source = tmp_path / "server" / "file.bin"
    source.parent.mkdir(exist_ok=True)
    source.write_bytes(content)
    fields = dict(name="toy", url=source.as_uri(), relative_path=("toy", "file.bin"), algorithm=algorithm,
                  digest=file_digest(str(source), algorithm), size=len(content), used_by=("toy",))
    fields.update(changes)
    return DataFile(**fields)


def test_git_blob_checksum_is_gits_own(tmp_path):
    path = tmp_path / "blob"
    path.write_bytes(CONTENT)
    git = subprocess.run(["git", "hash-object", str(path)], capture_output=True, text=True)
    if git.returncode != 0:
        pytest.skip("git is not installed")
    assert file_digest(str(path), "git-blob-sha1") == git.stdout.strip()
    assert file_digest(str(path), "sha256") == __import__("hashlib").sha256(CONTENT).hexdigest()


def test_a_matching_file_lands_in_dlib_layout_and_is_then_checked_not_fetched(tmp_path):
    spec = _spec(tmp_path)
    data = tmp_path / "data"
    path = download(spec, str(data))
    assert path == str(data / "toy" / "file.bin") and open(path, "rb").read() == CONTENT
    assert os.listdir(data / "toy") == ["file.bin"]  # no partial file left

    def no_network(*args, **kwargs):
        raise AssertionError("a file in place must not be downloaded again")

    assert download(spec, str(data), opener=no_network) == path


@pytest.mark.parametrize("change", [{"digest": "0" * 40}, {"size": len(CONTENT) + 1}])
def test_a_mismatch_keeps_nothing(tmp_path, change):
    spec = _spec(tmp_path, **change)
    with pytest.raises(ChecksumError, match="the published file"):
        download(spec, str(tmp_path / "data"))
    assert os.listdir(tmp_path / "data" / "toy") == []


def test_a_corrupt_file_in_place_is_reported_and_left_alone(tmp_path):
    spec = _spec(tmp_path, algorithm="sha256")
    target = tmp_path / "data" / "toy" / "file.bin"
    target.parent.mkdir(parents=True)
    target.write_bytes(CONTENT[:-1] + b"?")
    with pytest.raises(ChecksumError, match="sha256 .* corrupt or another file. Delete it"):
        download(spec, str(tmp_path / "data"))
    assert target.read_bytes().endswith(b"?")


def test_the_known_files_are_where_the_loaders_read_them():
    from rpu_tf.data.dsprites import DSPRITES_FILE
    from rpu_tf.data.shapes3d import SHAPES3D_FILE

    assert FILES["dsprites"].relative_path == DSPRITES_FILE and FILES["shapes3d"].relative_path == SHAPES3D_FILE
    assert FILES["dsprites"].url.endswith(DSPRITES_FILE[1]) and FILES["shapes3d"].url.endswith("3dshapes.h5")
    for spec in FILES.values():
        assert len(spec.digest) == {"sha256": 64, "git-blob-sha1": 40}[spec.algorithm]


def test_the_command_refuses_a_wrong_file_in_one_line_and_keeps_nothing(tmp_path, caplog):
    fake = tmp_path / "fake.h5"
    fake.write_bytes(CONTENT)
    caplog.set_level(logging.INFO)
    code = download_data.main(["rpu_download_data", "--dataset=shapes3d", f"--url={fake.as_uri()}",
                               f"--data_dir={tmp_path / 'data'}"])
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert code == 1 and len(errors) == 1 and "267,573,662" in errors[0], errors
    assert os.listdir(tmp_path / "data" / "3dshapes") == []
    assert download_data.main(["rpu_download_data", f"--url={fake.as_uri()}"]) == 2  # --url needs one --dataset
    code = download_data.main(["rpu_download_data", "--dataset=dsprites", f"--url={(tmp_path / 'gone').as_uri()}",
                               f"--data_dir={tmp_path / 'data'}"])
    assert code == 1 and "gone" in caplog.records[-1].getMessage()  # a failed download is one line too
