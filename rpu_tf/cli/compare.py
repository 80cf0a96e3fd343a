"""``rpu_compare``: the paper's Fig. 4 from aggregated results, and its numbers as tables.

Examples::

    rpu_compare --results=dlib_results.json --results=rPU-VAE=runs/rpu_results.json \\
        --output_path=figures/fig4.png

Each ``--results`` is an aggregated results file (``rpu_aggregate`` or
``dlib_aggregate_results``; the model zoo's), optionally prefixed with ``LABEL=`` to name
all its rows' method (``rPU-VAE``); otherwise a row's method is its
``train_config.model.name``. Writes the figure (``--output_path``; PNG, PDF or SVG) and,
next to it, the table as Markdown (``.md``) and CSV (``.csv``): per data set, metric and
method the number of models, median, interquartile range and quartiles.
"""

from __future__ import annotations

import logging
import os
from typing import Optional, Sequence

from absl import flags

from rpu_tf.cli.flag_parsing import parse_command_line, run_main
from rpu_tf.results.aggregate import AggregatedFormatError, load_aggregated_results
from rpu_tf.results.scores import SCORE_KEYS, extract_scores, summarise, to_csv, to_markdown
from rpu_tf.utils.files import atomic_write_text

logger = logging.getLogger("rpu_compare")


def define_flags(values: flags.FlagValues) -> None:
    flags.DEFINE_multi_string("results", [], "Aggregated results file, optionally LABEL=PATH.",
                              flag_values=values)
    flags.DEFINE_list("metrics", ["mig", "dci"], "Metrics (evaluation functions) to compare; "
                      f"known: {', '.join(sorted(SCORE_KEYS))}.", flag_values=values)
    flags.DEFINE_string("representation", "mean", "Postprocessing to compare (mean, sampled) "
                        "or 'all'.", flag_values=values)
    flags.DEFINE_list("datasets", [], "Only these data sets (default: all).", flag_values=values)
    flags.DEFINE_string("output_path", "comparison.png", "Figure to write; the tables go "
                        "next to it (.md, .csv).", flag_values=values)
    flags.DEFINE_string("title", None, "Figure title.", flag_values=values)
    flags.DEFINE_boolean("overwrite", False, "Replace existing outputs.", flag_values=values)


def parse_results_spec(spec: str) -> tuple[Optional[str], str]:
    """``"LABEL=PATH"`` -> (label, path); ``"PATH"`` -> (None, path)."""
    label, sep, path = spec.partition("=")
    if sep and label and os.sep not in label and not os.path.exists(spec):
        return label, path
    return None, spec


def outputs(output_path: str) -> list[str]:
    """The figure and the two tables written for ``output_path``."""
    stem = os.path.splitext(output_path)[0]
    return [output_path, stem + ".md", stem + ".csv"]


def main(argv: Sequence[str]) -> int:
    values = parse_command_line(argv, define_flags, __doc__, logger)
    if isinstance(values, int):
        return values
    if not values.results:
        logger.error("Give at least one --results=<aggregated results file>.")
        return 2
    existing = [p for p in outputs(values.output_path) if os.path.exists(p)]
    if existing and not values.overwrite:
        logger.error("%s already exist(s); pass --overwrite to replace.", ", ".join(existing))
        return 1
    representation = None if values.representation == "all" else values.representation
    scores = []
    try:
        for spec in values.results:
            label, path = parse_results_spec(spec)
            rows = load_aggregated_results(path)
            scores += extract_scores(rows, values.metrics, representation, label=label, source=path)
    except (OSError, AggregatedFormatError, ValueError) as error:
        logger.error("%s", error)
        return 1
    if values.datasets:
        scores = [s for s in scores if s.dataset in values.datasets]
    summaries = summarise(scores, values.metrics)
    from rpu_tf.visualize.method_comparison import plot_comparison
    from rpu_tf.visualize.dependencies import MissingDependencyError

    try:
        figure = plot_comparison(scores, values.output_path, values.metrics, values.title)
    except (MissingDependencyError, ValueError) as error:
        logger.error("%s", error)
        return 1
    figure_path, markdown_path, csv_path = outputs(figure)
    markdown = to_markdown(summaries)
    atomic_write_text(markdown_path, markdown)
    atomic_write_text(csv_path, to_csv(summaries))
    logger.info("Wrote %s, %s and %s (%d scores):\n%s", figure_path, markdown_path, csv_path,
                len(scores), markdown)
    return 0


def run() -> None:
    """Console entry point."""
    run_main(main)


if __name__ == "__main__":
    run()
