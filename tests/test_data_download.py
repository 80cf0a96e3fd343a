"""rpu_download_data without a network: file:// URLs of small files stand for the servers. A
file lands only with its published checksum, a mismatch leaves nothing, a file in place is
checked instead of fetched; the git-blob checksum equals git's own."""

import dataclasses
import logging
import os
import subprocess

import pytest

from rpu_tf.cli import download_data
from rpu_tf.data.download import DOWNLOADS, FILES, ChecksumError, DataFile, download, file_digest

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
        assert len(spec.digest) == {"sha256": 64, "md5": 32, "git-blob-sha1": 40}[spec.algorithm]
    from rpu_tf.data.smallnorb import SMALLNORB_FOLDER, smallnorb_files

    norb = {spec.relative_path for spec in DOWNLOADS["smallnorb"]}
    assert norb == {(SMALLNORB_FOLDER, os.path.basename(p)) for p in smallnorb_files("x").values()}
    for spec in DOWNLOADS["smallnorb"]:
        assert spec.url.endswith(spec.relative_path[1] + ".gz") and spec.unpack == "gzip"
    assert FILES["cars3d"].relative_path == ("cars",) and FILES["cars3d"].unpack == "tar:data/cars/"


def test_a_gzipped_download_is_checked_then_unpacked_and_its_size_checked_in_place(tmp_path):
    import gzip

    spec = _spec(tmp_path, content=gzip.compress(CONTENT), algorithm="sha256", unpack="gzip",
                 unpacked_size=len(CONTENT), relative_path=("toy", "file.mat"))
    path = download(spec, str(tmp_path / "data"))
    assert open(path, "rb").read() == CONTENT and os.listdir(tmp_path / "data" / "toy") == ["file.mat"]
    assert download(spec, str(tmp_path / "data"), opener=None) == path  # in place: its size is checked
    open(path, "ab").write(b"!")
    with pytest.raises(ChecksumError, match="unpacked published file"):
        download(spec, str(tmp_path / "data"))
    os.remove(path)
    wrong = dataclasses.replace(spec, unpacked_size=len(CONTENT) + 1)
    with pytest.raises(ChecksumError, match="unpacked published file"):
        download(wrong, str(tmp_path / "data"))
    assert os.listdir(tmp_path / "data" / "toy") == []


def test_an_archive_download_unpacks_only_its_folders_files(tmp_path):
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in [("data/cars/car_001_mesh.mat", b"one"), ("data/cars/list.txt", b"car_001_mesh"),
                           ("data/sprites/x.mat", b"other"), ("data/cars/sub/deep.mat", b"deep")]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    spec = _spec(tmp_path, content=buf.getvalue(), algorithm="md5", unpack="tar:data/cars/",
                 relative_path=("cars",))
    path = download(spec, str(tmp_path / "data"))
    assert sorted(os.listdir(path)) == ["car_001_mesh.mat", "list.txt"]
    assert sorted(os.listdir(tmp_path / "data")) == ["cars"]
    assert download(spec, str(tmp_path / "data"), opener=None) == path
    empty = _spec(tmp_path, content=buf.getvalue(), algorithm="md5", unpack="tar:data/nothing/",
                  relative_path=("none",))
    with pytest.raises(ChecksumError, match="no files under data/nothing/"):
        download(empty, str(tmp_path / "data"))
    assert sorted(os.listdir(tmp_path / "data")) == ["cars"]


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
    assert download_data.main(["rpu_download_data", "--dataset=smallnorb", f"--url={fake.as_uri()}"]) == 2
    code = download_data.main(["rpu_download_data", "--dataset=dsprites", f"--url={(tmp_path / 'gone').as_uri()}",
                               f"--data_dir={tmp_path / 'data'}"])
    assert code == 1 and "gone" in caplog.records[-1].getMessage()  # a failed download is one line too
