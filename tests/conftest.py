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
