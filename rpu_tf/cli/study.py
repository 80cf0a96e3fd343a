"""``rpu_study``: runs a whole study (methods x seeds at one budget of training images),
evaluates every model the same way and writes Fig. 4, Fig. 6 and the tables.

Examples::

    rpu_study --gin_config=gin_configs/studies/sprites_cpu.gin --study_dir=/data/studies/sprites_cpu
    rpu_study --gin_config=gin_configs/studies/sprites_cpu.gin --study_dir=... --report_only
    rpu_study --gin_config=gin_configs/studies/sprites_cpu.gin --study_dir=... --status

The study is data: a gin file binding ``study.*`` and one ``<scope>/study_method.*`` per
method (:mod:`rpu_tf.studies.spec`). Every (method, seed) is an ordinary ``rpu_train`` run
directory under ``STUDY_DIR/runs/``, trained in its own process; running the command again
resumes the study where it stopped and retries what failed. The report goes to
``STUDY_DIR/report/{fig4.png, fig6.png, results.md}``. Exit status 0 when every run is done,
1 when some failed or wait (the report covers the finished ones).
"""

from __future__ import annotations

import logging
import os
from typing import Sequence

import gin
from absl import flags

from rpu_tf import registry
from rpu_tf.cli.flag_parsing import parse_command_line, run_main
from rpu_tf.utils.gin_files import parse_gin, resolve_gin_config, shipped_config_dir

logger = logging.getLogger("rpu_study")


def define_flags(values: flags.FlagValues) -> None:
    flags.DEFINE_string("gin_config", None, "The study's gin file (gin_configs/studies/*.gin).", flag_values=values)
    flags.DEFINE_multi_string("gin_bindings", [], "Extra bindings of the study file, e.g. 'study.seeds = [0]'.",
                              flag_values=values)
    flags.DEFINE_string("study_dir", None, "Folder of the study's runs and report (outside the repository).",
                        flag_values=values)
    flags.DEFINE_boolean("report_only", False, "Only write the report of what is finished.", flag_values=values)
    flags.DEFINE_boolean("status", False, "Only print the study's progress (done / running / failed / to do, "
                         "images and run time so far); touches nothing.", flag_values=values)


def load_study(gin_config: str, gin_bindings: Sequence[str] = ()):
    """The :class:`~rpu_tf.studies.spec.Study` of a study gin file (relative configs resolve
    against the file's folder); leaves gin cleared."""
    from rpu_tf.studies import study_spec  # loads TensorFlow: after import_tensorflow_quietly

    registry.register_gin_configurables(["study", "study_method"])
    gin_config = resolve_gin_config(gin_config)
    gin.clear_config()
    try:
        parse_gin([gin_config], list(gin_bindings))  # includes resolve next to the file
        return study_spec(base_dir=os.path.dirname(os.path.abspath(gin_config)))
    finally:
        gin.clear_config()


def main(argv: Sequence[str]) -> int:
    values = parse_command_line(argv, define_flags, __doc__, logger, tensorflow=True)
    if isinstance(values, int):
        return values
    from rpu_tf.studies import plan_runs, run_study, write_report  # TensorFlow is loaded quietly now

    if not values.gin_config or not values.study_dir:
        logger.error("Give --gin_config=<study gin file> and --study_dir=<folder>.")
        return 2
    config = resolve_gin_config(values.gin_config)
    if not os.path.isfile(config):
        logger.error("Study config %s not found (neither there nor among the shipped configs in %s).",
                     values.gin_config, shipped_config_dir())
        return 2
    try:
        study = load_study(config, values.gin_bindings)
    except (ValueError, TypeError) as error:
        logger.error("%s", error)
        return 1
    if values.status:
        from rpu_tf.studies import study_progress

        print(study_progress(study, values.study_dir))  # the answer itself, not a log line
        return 0
    complete = True
    if not values.report_only:
        status = run_study(study, values.study_dir)
        runs = plan_runs(study, values.study_dir)
        pending = [r.key for r in runs if status.get(r.key).get("state") != "done"]
        if pending:
            complete = False
            logger.error("Study %s: %d of %d runs are not done (%s); run the command again to resume.",
                         study.name, len(pending), len(runs), ", ".join(pending))
    try:
        written = write_report(study, values.study_dir)
    except (RuntimeError, ValueError, OSError) as error:
        logger.error("%s", error)
        return 1
    logger.info("Study %s: report in %s.", study.name, ", ".join(written.values()))
    return 0 if complete else 1


def run() -> None:
    """Console entry point."""
    run_main(main)


if __name__ == "__main__":
    run()
