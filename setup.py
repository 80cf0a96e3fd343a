"""Installs rpu_tf (metadata, dependencies and commands: pyproject.toml).

What pyproject.toml cannot say: the top-level ``gin_configs/`` folder is shipped inside the
package as ``rpu_tf/gin_configs`` (every ``.gin`` and ``.txt``), so an installed wheel has its
configs and ``rpu_train --gin_config=quickstart.gin`` finds them from any folder
(``rpu_tf.utils.gin_files.resolve_gin_config``). ``bin/rpu_*`` run the same commands from a
source checkout without installing.
"""
from setuptools import find_packages, setup

CONFIGS = "rpu_tf.gin_configs"

setup(
    packages=find_packages(include=["rpu_tf", "rpu_tf.*"]) + [CONFIGS],
    package_dir={CONFIGS: "gin_configs"},
    package_data={CONFIGS: ["*.gin", "*.txt", "**/*.gin", "**/*.txt"]},
)
