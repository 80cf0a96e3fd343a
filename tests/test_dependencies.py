"""Every core dependency of pyproject.toml is installed, importable and imported by rpu_tf;
TensorFlow Probability imports without making tf_keras the library's Keras; every rpu_tf
module imports."""

import ast
import importlib
import importlib.metadata
import os
import pkgutil
import re
import subprocess
import sys

import pytest

import rpu_tf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: Distribution name -> the module it is imported as.
IMPORT_NAMES = {"tensorflow-probability": "tensorflow_probability", "gin-config": "gin",
                "scikit-learn": "sklearn", "absl-py": "absl"}


def _core_dependencies() -> list[str]:
    """Distribution names of ``[project] dependencies`` (extras and versions dropped)."""
    text = open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8").read()
    block = text.split("\ndependencies = [", 1)[1].split("\n]", 1)[0]
    specs = re.findall(r'^\s*"([^"]+)"', block, re.M)
    return [re.split(r"[\[<>=!~; ]", spec, 1)[0] for spec in specs]


def _imported_top_level_modules() -> set[str]:
    """Top-level modules that rpu_tf's source imports anywhere (module level or in functions)."""
    found = set()
    for folder, _, files in os.walk(os.path.join(ROOT, "rpu_tf")):
        for name in (f for f in files if f.endswith(".py")):
            tree = ast.parse(open(os.path.join(folder, name), encoding="utf-8").read())
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    found.update(a.name.split(".")[0] for a in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    found.add(node.module.split(".")[0])
    return found


def test_every_core_dependency_is_installed_importable_and_used():
    dependencies = _core_dependencies()
    assert "tensorflow-probability" in dependencies and "keras" in dependencies
    used = _imported_top_level_modules()
    for dist in dependencies:
        importlib.metadata.version(dist)  # installed (raises PackageNotFoundError otherwise)
        module = IMPORT_NAMES.get(dist, dist)
        importlib.import_module(module)
        assert module in used, f"{dist} is a core dependency but rpu_tf never imports {module}"


def test_tensorflow_probability_imports_on_first_use_and_keras_stays_keras_3():
    # A fresh interpreter, as a user's: rpu_tf.models imports TFP on the first loss, not before.
    probe = ("import os, sys, keras, tensorflow as tf, rpu_tf.models as m\n"
             "print('tensorflow_probability' in sys.modules)\n"
             "log_prob = float(m.gaussian_log_density(0.0, 0.0, 0.0))\n"
             "import tensorflow_probability as tfp\n"
             "print(tfp.__version__, tf.keras.__version__, keras.__version__,"
             " tf.keras.layers.Dense is keras.layers.Dense, os.environ.get('TF_USE_LEGACY_KERAS'), log_prob)")
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    loaded_before, tfp_version, tf_keras, keras_version, same_dense, legacy, log_prob = done.stdout.split()
    assert loaded_before == "False"
    assert tuple(int(x) for x in tfp_version.split(".")[:2]) >= (0, 25)
    assert tf_keras == keras_version and keras_version.startswith("3.")
    assert same_dense == "True" and legacy == "None"
    assert float(log_prob) == pytest.approx(-0.9189385, abs=1e-6)  # -log(2 pi) / 2


def test_every_rpu_tf_module_imports():
    names = [m.name for m in pkgutil.walk_packages(rpu_tf.__path__, "rpu_tf.")]
    assert len(names) > 100
    for name in names:
        importlib.import_module(name)
