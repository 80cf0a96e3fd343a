"""Installs rpu_tf: robust unsupervised disentanglement (rPU-VAE) in TensorFlow/Keras."""
import glob
import os

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def _version() -> str:
    with open(os.path.join(HERE, "rpu_tf", "__init__.py")) as f:
        for line in f:
            if line.startswith("__version__"):
                return line.split("=")[1].strip().strip('"')
    raise RuntimeError("rpu_tf/__init__.py has no __version__ line")


def _readme() -> str:
    with open(os.path.join(HERE, "README.md"), encoding="utf-8") as f:
        return f.read()


setup(
    name="rpu_tf",
    version=_version(),
    description=(
        "Robust unsupervised disentanglement (rPU-VAE, PBT-VAE) in TensorFlow/Keras, "
        "compatible with disentanglement_lib."
    ),
    long_description=_readme(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["rpu_tf", "rpu_tf.*"]),
    include_package_data=True,
    scripts=sorted(glob.glob("bin/rpu_*")),
    install_requires=[
        "tensorflow>=2.16,<3",  # Keras 3 as shipped with TF; no tf-keras.
        "keras>=3",  # imported directly (models, export); TensorFlow pulls it in too
        "tensorflow-probability>=0.24",
        "gin-config>=0.5",
        "numpy>=2.0",
        "scipy>=1.10",
        "scikit-learn>=1.3",
        "h5py>=3.8",
        "absl-py>=1.4",
    ],
    extras_require={
        # disentanglement_lib 1.5 is the metric oracle of the tests. Its metadata pins
        # TF 1.14, so .ci/run installs it with --no-deps; these are what its metric and
        # data modules import besides our own dependencies.
        # pytest-xdist runs the suite in two processes (README: -n 2); pillow writes the
        # tests' image files; ray runs the Ray executor's test; matplotlib draws the figures
        # under test; pandas and simplejson are what disentanglement_lib's
        # aggregate_results (the aggregated-results oracle) imports.
        "test": ["pytest>=7", "pytest-xdist", "pillow", "six", "simplejson", "ray>=2.9", "matplotlib", "pandas"],
        # NVIDIA GPUs: TensorFlow with its CUDA libraries (benchmarks/device_check.sh uses it).
        "gpu": ["tensorflow[and-cuda]>=2.16,<3"],
        # Distributed PBT: members in Ray actors (rpu_tf.pbt.ray_executor).
        "ray": ["ray>=2.9"],
        # Figures and images: rpu_visualize, rpu_compare, rPU-VAE reduction plots.
        "viz": ["matplotlib", "pillow"],
    },
)
