"""``rpu_aggregate``: many runs' results in one JSON table, as disentanglement_lib writes it.

Examples::

    rpu_aggregate --result_file_pattern='runs/*/metrics/*/*/results/aggregate/evaluation.json' \\
        --output_path=results.json
    rpu_aggregate --result_file_pattern=runs --result_file_pattern=zoo/dlib_models \\
        --output_path=all.json

Each pattern is a glob (``**`` allowed) of per-run result files, or a folder standing for
every ``results/aggregate/evaluation.json`` below it; ours and disentanglement_lib's result
directories (e.g. the model zoo's unpacked runs) mix freely. The output is pandas JSON
(orient "columns") with a ``path`` column; load it with ``pandas.read_json(path)``,
disentanglement_lib's ``load_aggregated_json_results`` or
``rpu_tf.results.load_aggregated_results``.
"""

from __future__ import annotations

import logging
import os
from typing import Sequence

from absl import flags

from rpu_tf.cli.flag_parsing import parse_command_line, run_main
from rpu_tf.results.aggregate import DEFAULT_PATTERN, AggregatedFormatError, aggregate_results_to_json

logger = logging.getLogger("rpu_aggregate")


def define_flags(values: flags.FlagValues) -> None:
    flags.DEFINE_multi_string("result_file_pattern", [], "Glob of result files, or a folder "
                              f"(default: {DEFAULT_PATTERN}).", flag_values=values)
    flags.DEFINE_string("output_path", "results.json", "Aggregated JSON file to write.",
                        flag_values=values)
    flags.DEFINE_boolean("overwrite", False, "Replace an existing --output_path.",
                         flag_values=values)


def main(argv: Sequence[str]) -> int:
    values = parse_command_line(argv, define_flags, __doc__, logger)
    if isinstance(values, int):
        return values
    if os.path.exists(values.output_path) and not values.overwrite:
        logger.error("%s already exists; pass --overwrite to replace it.", values.output_path)
        return 1
    patterns = values.result_file_pattern or [DEFAULT_PATTERN]
    try:
        rows = aggregate_results_to_json(patterns, values.output_path)
    except (FileNotFoundError, AggregatedFormatError, ValueError) as error:
        logger.error("%s", error)
        return 1
    logger.info("Aggregated %d result files into %s.", len(rows), values.output_path)
    return 0


def run() -> None:
    """Console entry point."""
    run_main(main)


if __name__ == "__main__":
    run()
