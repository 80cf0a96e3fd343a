"""Shared fixtures of the test suite."""

import gin
import pytest


@pytest.fixture
def clean_gin():
    """An empty gin config before and after the test (gin's registry is process-global)."""
    gin.clear_config()
    yield
    gin.clear_config()


@pytest.fixture
def ray_tmp():
    """A temporary folder of the test with a short path, for RAY_TMPDIR: Ray's socket paths
    (``RAY_TMPDIR/session_<date>_<pid>/sockets/plasma_store``) must stay under 108 bytes,
    which pytest's own folders (deeper still under pytest-xdist) can exceed. Removed after."""
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="ray", dir="/tmp")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def can_isolate() -> bool:
    """Whether ``unshare --net`` works here (root): Ray tests run only inside it."""
    import shutil
    import subprocess

    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    return subprocess.run(["unshare", "--net", "true"], capture_output=True).returncode == 0


def run_isolated(args, ray_tmp: str, timeout: float):
    """Runs ``python ARGS`` in a loopback-only network namespace with Ray's usage stats off
    and its temporary files in ``ray_tmp``; returns the CompletedProcess (text output)."""
    import os
    import shlex
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, os.path.join(root, "tests")]),
               RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="disabled", RAY_TMPDIR=ray_tmp,
               RAY_DISABLE_DOCKER_CPU_WARNING="1")
    script = f"ip link set lo up && exec {shlex.join([sys.executable, *map(str, args)])}"
    return subprocess.run(["unshare", "--net", "bash", "-c", script], env=env, capture_output=True, text=True,
                          timeout=timeout)
