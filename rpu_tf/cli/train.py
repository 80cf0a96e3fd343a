"""``rpu_train``: trains a model from gin configs and writes disentanglement_lib's layout.

Example::

    rpu_train --gin_config=gin_configs/baselines/beta_tc_vae.gin \\
        --gin_bindings="beta_tc_vae.beta = 6." --model_dir=runs/btc

Without ``--model_dir`` the run goes to ``runs/<name of the first gin config>``. A config
that is not where its path says is looked up among the configs shipped with rpu_tf, so
``rpu_train --gin_config=quickstart.gin`` runs from any folder.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Sequence

import gin
from absl import app, flags

from rpu_tf import registry
from rpu_tf.cli.errors import report_failures
from rpu_tf.cli.flag_parsing import configure_logging
from rpu_tf.layout.paths import MODEL_DIR
from rpu_tf.utils.gin_files import parse_gin, pipeline_name, resolve_gin_config, shipped_config_dir
from rpu_tf.utils.gin_imports import allow_imports
from rpu_tf.utils.tf_startup import import_tensorflow_quietly

FLAGS = flags.FLAGS

flags.DEFINE_multi_string("gin_config", [], "Gin config file(s), applied in order.")
flags.DEFINE_multi_string("gin_bindings", [],
                          'Gin binding(s) applied after the files, e.g. "beta_tc_vae.beta = 6."')
flags.DEFINE_string("model_dir", None,
                    "Run directory (default: runs/<first gin config's name>).")
flags.DEFINE_boolean("overwrite", False, "Replace an existing run directory.")
flags.DEFINE_boolean("allow_gin_imports", False,
                     "Let the gin configs' 'import' lines import Python modules (they run code; only for "
                     "configs you trust: docs/security.md).")
flags.DEFINE_string("redo_from", None,
                    "rPU-VAE runs: recompute from this stage on (it, every later stage and the final "
                    "stage, with the current settings; earlier stages are kept), e.g. leaf1_meta1, or "
                    "'final' for the final stage alone.")

logger = logging.getLogger("rpu_train")


def default_model_dir(gin_configs) -> str:
    """``runs/<stem of the first gin config>``."""
    if not gin_configs:
        raise app.UsageError("Give --gin_config (and optionally --model_dir).")
    stem = os.path.splitext(os.path.basename(gin_configs[0]))[0]
    return os.path.join("runs", stem)


def select_pipeline(gin_config_files: Sequence[str], gin_bindings: Sequence[str]) -> str:
    """Parses the config once to read ``pipeline.name``; leaves gin cleared."""
    registry.register_gin_configurables()
    parse_gin(gin_config_files, gin_bindings)
    try:
        return pipeline_name()
    finally:
        gin.clear_config()


def explain(message: str) -> str:
    """The error message, plus the known names when gin did not recognise a name."""
    if "No configurable matching" in message:
        message += f" Known names: {registry.known_names()}."
    return message


def main(argv) -> int:
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
    configure_logging()  # the format every command logs in
    if FLAGS.allow_gin_imports:
        allow_imports()
    model_dir = FLAGS.model_dir or default_model_dir(FLAGS.gin_config)
    configs = [resolve_gin_config(path) for path in FLAGS.gin_config]
    for path in configs:
        if not os.path.isfile(path):
            logger.error("Gin config %s not found (neither there nor among the shipped configs in %s).",
                         path, shipped_config_dir())
            return 2
    import_tensorflow_quietly()  # before the registry loads the models: no C++ start-up noise

    def train() -> int:
        name = select_pipeline(configs, FLAGS.gin_bindings)
        logger.info("Pipeline %s -> %s", name, model_dir)
        options = {}
        if FLAGS.redo_from:
            if name != "rpu_vae":
                raise ValueError(f"--redo_from is for rPU-VAE runs (pipeline.name = 'rpu_vae'); this config runs "
                                 f"{name!r}.")
            options["redo_from"] = FLAGS.redo_from
        registry.pipeline(name)(model_dir, FLAGS.overwrite, configs, FLAGS.gin_bindings, **options)
        logger.info("Done: %s", os.path.join(model_dir, MODEL_DIR))
        return 0

    return report_failures(train, logger, explain)  # read-only, disk full, bad settings: one line


def help_text() -> str:
    """This module's docstring and its flags (absl's own ``--help`` lists only the flags of
    the script it runs, which defines none: ``bin/rpu_train`` or the entry point's wrapper)."""
    return __doc__.strip() + "\n\nFlags:\n" + FLAGS.module_help(__name__) + "\n"


def run() -> None:
    """Console entry point."""
    if any(arg in ("-h", "--help", "--helpshort", "-?") for arg in sys.argv[1:]):
        sys.stdout.write(help_text())
        sys.exit(0)
    app.run(lambda argv: sys.exit(main(argv)))


if __name__ == "__main__":
    run()
