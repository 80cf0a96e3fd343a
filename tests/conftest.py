"""Shared fixtures of the test suite."""

import gin
import pytest


@pytest.fixture
def clean_gin():
    """An empty gin config before and after the test (gin's registry is process-global)."""
    gin.clear_config()
    yield
    gin.clear_config()
