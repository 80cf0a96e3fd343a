"""``rpu_train_together``: trains several single-model runs as one replica group.

Example (a β sweep of one seed, 1.9x the images/s of six separate runs on 2 CPU cores)::

    rpu_train_together --gin_config=gin_configs/quickstart_single_model.gin \\
        --run="runs/b1::beta_tc_vae.beta = 1." --run="runs/b6::beta_tc_vae.beta = 6."

Each ``--run`` is ``MODEL_DIR::binding;binding;...`` (the run's own bindings, after the shared
``--gin_config`` files and ``--gin_bindings``; a binding cannot contain ``;``: put such a
value in a shared gin file). The runs may differ only in their model's
hyperparameters and ``model.random_seed``; each run directory is written as ``rpu_train``
would write it (``train_results.json`` adds ``trained_together``). ``rpu_study`` uses this for
methods that share a ``study_method.train_group``.
"""

from __future__ import annotations

import logging
from typing import Sequence

from absl import flags

from rpu_tf import registry
from rpu_tf.cli.failures import report_failures
from rpu_tf.cli.flag_parsing import parse_command_line, run_main

logger = logging.getLogger("rpu_train_together")


def define_flags(values: flags.FlagValues) -> None:
    flags.DEFINE_multi_string("gin_config", [], "Gin config file(s) all runs share, applied in order.",
                              flag_values=values)
    flags.DEFINE_multi_string("gin_bindings", [], "Bindings all runs share, after the files.", flag_values=values)
    flags.DEFINE_multi_string("run", [], "MODEL_DIR::binding;binding;... one per run (at least one).",
                              flag_values=values)
    flags.DEFINE_boolean("overwrite", False, "Replace existing run directories.", flag_values=values)


def parse_run(text: str) -> tuple[str, list[str]]:
    """``MODEL_DIR::b1;b2`` -> ``(MODEL_DIR, [b1, b2])``; anything else (``dir:binding`` with
    one colon, a binding without ``=``) is refused with the right syntax, never read as a
    folder named after the binding."""
    model_dir, _, bindings = text.partition("::")
    model_dir = model_dir.strip()
    syntax = ('give MODEL_DIR::binding;binding;... (two colons after the run directory), e.g. '
              '--run="runs/b1::beta_tc_vae.beta = 1."')
    if not model_dir:
        raise ValueError(f"--run={text!r}: no run directory; {syntax}.")
    if "=" in model_dir:
        raise ValueError(f"--run={text!r}: the run directory {model_dir!r} holds '=' (a binding after one colon?); "
                         f"{syntax}. A run directory's name may not contain '='.")
    parsed = [b.strip() for b in bindings.split(";") if b.strip()]
    bad = [b for b in parsed if "=" not in b and not b.startswith("include ")]
    if bad:
        raise ValueError(f"--run={text!r}: {bad[0]!r} is not a binding (name = value); {syntax}.")
    return model_dir, parsed


def main(argv: Sequence[str]) -> int:
    values = parse_command_line(argv, define_flags, __doc__, logger, tensorflow=True)
    if isinstance(values, int):
        return values
    from rpu_tf.pipelines.train_together import train_together_with_gin

    def train() -> int:
        runs = [parse_run(text) for text in values.run]
        if not runs:
            raise ValueError("Give at least one --run=MODEL_DIR::bindings.")
        registry.register_gin_configurables()
        train_together_with_gin([d for d, _ in runs], values.overwrite, values.gin_config,
                                [list(values.gin_bindings) + b for _, b in runs])
        return 0

    return report_failures(train, logger)


def run() -> None:
    """Console entry point."""
    run_main(main)


if __name__ == "__main__":
    run()
