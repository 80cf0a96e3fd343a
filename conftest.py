"""Root conftest: makes ``import rpu_tf`` resolve to this checkout when run from source."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
