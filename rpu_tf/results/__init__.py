"""Aggregated results and score summaries (the result-directory layout is :mod:`rpu_tf.layout.results`).

No TensorFlow here: aggregation and comparison tables run anywhere numpy runs.
"""

from rpu_tf.results.aggregate import (
    AggregatedFormatError,
    aggregate_results,
    aggregate_results_to_json,
    find_result_files,
    load_aggregated_results,
    require_columns,
    write_aggregated_json,
)
from rpu_tf.results.scores import Score, Summary, extract_scores, summarise, to_csv, to_markdown
from rpu_tf.layout.results import (
    aggregate_json_results,
    gin_dict,
    namespaced_dict,
    save_dict,
    save_gin,
    update_result_directory,
)

__all__ = ["AggregatedFormatError", "Score", "Summary", "aggregate_json_results",
           "aggregate_results", "aggregate_results_to_json", "extract_scores",
           "find_result_files", "gin_dict", "load_aggregated_results", "namespaced_dict",
           "require_columns", "save_dict", "save_gin", "summarise", "to_csv", "to_markdown",
           "update_result_directory", "write_aggregated_json"]
