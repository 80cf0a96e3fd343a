"""Flag parsing for the CLIs that run in-process in tests (own ``FlagValues`` per call).

Each call builds a fresh ``absl.flags.FlagValues``, so several CLIs (and repeated calls of
one) can run in one process without duplicate-flag errors or values left over from an
earlier parse. ``main(argv) -> exit code`` functions use :func:`parse`.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Callable, Sequence

from absl import flags

from rpu_tf.cli.failures import report_failures
from rpu_tf.utils.progress import LOG_FORMAT, keep_log_lines_off_bars
from rpu_tf.utils.tf_startup import import_tensorflow_quietly

HELP_FLAGS = ("-h", "--help", "--helpshort", "--helpfull", "-?")


class UsageError(Exception):
    """Bad command line; the message says what is wrong (exit code 2)."""


class HelpShown(Exception):
    """``--help`` was given and the help text was written (exit code 0)."""


def parse(argv: Sequence[str], define: Callable[[flags.FlagValues], None],
          doc: str) -> flags.FlagValues:
    """Parses ``argv`` (``argv[0]`` is the program) with the flags ``define`` declares.

    Raises:
      HelpShown: after writing ``doc`` and the flag help to stdout.
      UsageError: unknown flags, bad values or positional arguments.
    """
    values = flags.FlagValues()
    define(values)
    argv = list(argv) or ["rpu"]
    if any(arg in HELP_FLAGS for arg in argv[1:]):
        sys.stdout.write(doc.strip() + "\n\nFlags:\n" + values.get_help() + "\n")
        raise HelpShown()
    try:
        rest = values(argv)
    except flags.Error as error:
        raise UsageError(str(error)) from None
    if len(rest) > 1:
        raise UsageError(f"Unexpected arguments: {' '.join(rest[1:])}")
    return values


def parse_command_line(argv: Sequence[str], define: Callable[[flags.FlagValues], None], doc: str,
                       logger: logging.Logger, tensorflow: bool = False):
    """:func:`parse`, then :func:`configure_logging` (and, for commands that use TensorFlow,
    :func:`~rpu_tf.utils.tf_startup.import_tensorflow_quietly`); or the exit code (0 after
    ``--help``, 2 after a usage error, which is logged) for ``main`` to return."""
    try:
        values = parse(argv, define, doc)
    except HelpShown:
        return 0
    except UsageError as error:
        logger.error("%s", error)
        return 2
    configure_logging()
    if tensorflow:
        import_tensorflow_quietly()
    return values




def configure_logging() -> None:
    """INFO log lines with time and logger name, the same for every command (also under
    absl's ``app.run``, whose handler would otherwise write absl's own format); TensorFlow's
    own chatter at WARNING."""
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    from absl import logging as absl_logging

    handler = absl_logging.get_absl_handler()
    if handler in logging.getLogger().handlers:  # app.run installed it: our format, INFO
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        logging.getLogger().setLevel(logging.INFO)
        absl_logging.set_verbosity(absl_logging.INFO)
    for name in ("tensorflow", "absl"):
        logging.getLogger(name).setLevel(logging.WARNING)
    keep_log_lines_off_bars()  # on a terminal: log lines above the progress bar, never glued to it


def run_main(main: Callable[[list[str]], int]) -> None:
    """Console entry point: ``sys.exit(main(sys.argv))``; an expected failure that ``main``
    does not report itself is one logged line and exit code 1 (:mod:`rpu_tf.cli.failures`)."""
    sys.exit(report_failures(lambda: main(sys.argv), logging.getLogger(os.path.basename(sys.argv[0]) or "rpu")))
