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
from typing import Sequence

from absl import flags

from rpu_tf.cli.failures import report_failures
from rpu_tf.cli.flag_parsing import UsageError, parse_command_line, run_main
from rpu_tf.layout.paths import MODEL_DIR
from rpu_tf.utils.gin_files import resolve_gin_config, shipped_config_dir
from rpu_tf.utils.gin_imports import allow_imports
from rpu_tf.utils.tf_startup import import_tensorflow_quietly

logger = logging.getLogger("rpu_train")


def define_flags(values: flags.FlagValues) -> None:
    flags.DEFINE_multi_string("gin_config", [], "Gin config file(s), applied in order.", flag_values=values)
    flags.DEFINE_multi_string("gin_bindings", [],
                              'Gin binding(s) applied after the files, e.g. "beta_tc_vae.beta = 6."',
                              flag_values=values)
    flags.DEFINE_string("model_dir", None, "Run directory (default: runs/<first gin config's name>).",
                        flag_values=values)
    flags.DEFINE_boolean("overwrite", False, "Replace an existing run directory.", flag_values=values)
    flags.DEFINE_boolean("allow_gin_imports", False,
                         "Let the gin configs' 'import' lines import Python modules (they run code; only for "
                         "configs you trust: docs/security.md).", flag_values=values)
    flags.DEFINE_string("redo_from", None,
                        "rPU-VAE runs: recompute from this stage on (it, every later stage and the final "
                        "stage, with the current settings; earlier stages are kept), e.g. leaf1_meta1, or "
                        "'final' for the final stage alone.", flag_values=values)


def default_model_dir(gin_configs) -> str:
    """``runs/<stem of the first gin config>``."""
    if not gin_configs:
        raise UsageError("Give --gin_config (and optionally --model_dir).")
    stem = os.path.splitext(os.path.basename(gin_configs[0]))[0]
    return os.path.join("runs", stem)


def explain(message: str) -> str:
    """The error message, plus the known names when gin did not recognise a name."""
    if "No configurable matching" in message:
        from rpu_tf.pipelines.choice import known_names  # loads TensorFlow: only when needed

        message += f" Known names: {known_names()}."
    return message


def main(argv: Sequence[str]) -> int:
    values = parse_command_line(argv, define_flags, __doc__, logger)
    if isinstance(values, int):
        return values
    try:
        model_dir = values.model_dir or default_model_dir(values.gin_config)
    except UsageError as error:
        logger.error("%s", error)
        return 2
    if values.allow_gin_imports:
        allow_imports()
    configs = [resolve_gin_config(path) for path in values.gin_config]
    for path in configs:
        if not os.path.isfile(path):
            logger.error("Gin config %s not found (neither there nor among the shipped configs in %s).",
                         path, shipped_config_dir())
            return 2
    import_tensorflow_quietly()  # before the pipelines load the models: no C++ start-up noise
    from rpu_tf.pipelines.choice import run_pipeline

    def train() -> int:
        run_pipeline(model_dir, configs, values.gin_bindings, values.overwrite, values.redo_from)  # parses once
        logger.info("Done: %s", os.path.join(model_dir, MODEL_DIR))
        return 0

    return report_failures(train, logger, explain)  # read-only, disk full, bad settings: one line


def run() -> None:
    """Console entry point."""
    run_main(main)


if __name__ == "__main__":
    run()
