"""The package as a user installs it: a wheel built from pyproject.toml + setup.py holds every
gin config, the commands as entry points, the licence and every dependency; the configs are
found from any folder, in the checkout and in an installed wheel. Offline: the wheel is built
with the virtualenv's setuptools (no build isolation, no index)."""

import glob
import os
import subprocess
import sys
import zipfile

import pytest

from rpu_tf.utils.gin_files import resolve_gin_config, shipped_config_dir

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = os.path.join(ROOT, "gin_configs")
COMMANDS = sorted(os.path.basename(p) for p in glob.glob(os.path.join(ROOT, "bin", "rpu_*")))


def _shipped_files(folder: str) -> set:
    return {os.path.relpath(os.path.join(d, f), folder) for d, _, files in os.walk(folder)
            for f in files if f.endswith((".gin", ".txt"))}


def test_configs_resolve_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert shipped_config_dir() == CONFIGS  # a source checkout: its own gin_configs/
    for name in ("quickstart.gin", "gin_configs/quickstart.gin", "metrics/mig.gin", "gin_configs/metrics/fig4.txt"):
        resolved = resolve_gin_config(name)
        assert os.path.isfile(resolved) and resolved.startswith(CONFIGS), (name, resolved)
    # a file that exists where the path says wins over a shipped one of the same name
    (tmp_path / "quickstart.gin").write_text("# mine\n")
    assert resolve_gin_config("quickstart.gin") == "quickstart.gin"
    assert resolve_gin_config("no_such.gin") == "no_such.gin"  # the caller's error names it


@pytest.mark.slow
def test_rpu_train_runs_a_shipped_config_from_another_folder_and_names_the_folder_when_missing(tmp_path):
    def rpu_train(*args):
        return subprocess.run([sys.executable, os.path.join(ROOT, "bin", "rpu_train"), *args], capture_output=True,
                              text=True, cwd=tmp_path, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))

    missing = rpu_train("--gin_config=no_such.gin")
    assert missing.returncode == 2 and "no_such.gin not found" in missing.stderr and CONFIGS in missing.stderr
    tiny = ["model.training_steps = 2", "model.batch_size = 8", "model.eval_steps = 1", "training.progress = False"]
    done = rpu_train("--gin_config=quickstart_single_model.gin", "--model_dir=run",
                     *[f"--gin_bindings={b}" for b in tiny])
    assert done.returncode == 0, done.stderr[-3000:]
    assert os.path.isfile(tmp_path / "run" / "model" / "model.keras")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The wheel built from a copy of the project's files (no build folders in the checkout)."""
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    src.mkdir()
    for name in ("setup.py", "pyproject.toml", "README.md", "LICENSE"):
        (src / name).write_bytes(open(os.path.join(ROOT, name), "rb").read())
    import shutil

    for folder in ("rpu_tf", "gin_configs"):
        shutil.copytree(os.path.join(ROOT, folder), src / folder, ignore=shutil.ignore_patterns("__pycache__"))
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                           "--no-index", "-w", str(base / "dist"), str(src)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    (path,) = glob.glob(str(base / "dist" / "*.whl"))
    return path


def test_the_wheel_holds_every_config_the_commands_the_licence_and_every_dependency(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        shipped = {n[len("rpu_tf/gin_configs/"):] for n in names if n.startswith("rpu_tf/gin_configs/")}
        assert shipped == _shipped_files(CONFIGS)
        (info,) = {n.split("/")[0] for n in names if ".dist-info/" in n}
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
        metadata = archive.read(f"{info}/METADATA").decode()
        assert "Apache License" in archive.read(f"{info}/LICENSE").decode()
    for command in COMMANDS:  # every bin/ command is an entry point of the same module
        module = open(os.path.join(ROOT, "bin", command)).read().split("from rpu_tf.cli.")[1].split(" import")[0]
        assert f"{command} = rpu_tf.cli.{module}:run" in entry_points
    requires = [line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    for package in ("tensorflow", "keras", "tensorflow-probability", "gin-config", "numpy", "scipy", "scikit-learn",
                    "h5py", "absl-py", "tqdm"):
        assert any(r.split(";")[0].startswith(package) and "extra ==" not in r for r in requires), package


def test_an_installed_wheel_finds_its_configs_from_any_folder(wheel, tmp_path):
    target = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target",
                           str(target), wheel], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    probe = ("import rpu_tf.utils.gin_files as g; print(g.__file__); print(g.shipped_config_dir()); "
             "print(g.resolve_gin_config('gin_configs/quickstart.gin'))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path,
                         env=dict(os.environ, PYTHONPATH=str(target))).stdout.split()
    assert out[0].startswith(str(target)), out  # the installed copy, not the checkout
    assert out[1] == str(target / "rpu_tf" / "gin_configs")
    assert out[2] == str(target / "rpu_tf" / "gin_configs" / "quickstart.gin") and os.path.isfile(out[2])


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_lists_its_flags_under_help(command):
    done = subprocess.run([sys.executable, os.path.join(ROOT, "bin", command), "--help"], capture_output=True,
                          text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"), timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    import re

    own = set(re.findall(r"^\s+--(?:\[no\])?(\w+):", done.stdout, re.M)) - {"flagfile", "undefok"}
    assert len(own) >= 3, done.stdout  # each command defines three or more flags of its own
