"""The lazy registry names every gin configurable of the package; the pipelines and known names load."""

import importlib
import pkgutil

import gin
import pytest

import rpu_tf
from rpu_tf import registry


def _gin_names_by_module() -> dict[str, set[str]]:
    for info in pkgutil.walk_packages(rpu_tf.__path__, "rpu_tf."):
        importlib.import_module(info.name)
    out: dict[str, set[str]] = {}
    for _, configurable in gin.config._REGISTRY.items():  # noqa: SLF001 (gin has no public listing)
        if configurable.module.startswith("rpu_tf."):
            out.setdefault(configurable.module, set()).add(configurable.name)
    return out


def test_the_registry_lists_every_gin_configurable_where_it_is_defined():
    assert {m: set(names) for m, names in registry.GIN_CONFIGURABLES.items()} == _gin_names_by_module()


def test_pipelines_and_known_names_load():
    from rpu_tf.pipelines.choice import PIPELINES, known_names, pipeline
    from rpu_tf.utils.gin_files import PIPELINE_NAMES

    assert set(PIPELINES) == set(PIPELINE_NAMES)  # every pipeline.name a config may give runs one
    for name in PIPELINES:
        assert callable(pipeline(name))
    with pytest.raises(ValueError, match="unknown pipeline"):
        pipeline("nope")
    names = known_names()
    assert "models: annealed_vae, beta_tc_vae, dip_vae, factor_vae, vae" in names
    assert "pipelines: pbt_vae, rpu_vae, single_model" in names
