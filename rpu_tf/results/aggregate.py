"""Aggregated results files: disentanglement_lib's ``results.json`` of many runs.

disentanglement_lib's ``aggregate_results_to_json(pattern, output_path)`` loads every
per-run result file matching a glob pattern (normally
``<run>/metrics/<representation>/<metric>/results/aggregate/evaluation.json``), adds a
``"path"`` key with the file's path, builds a ``pandas.DataFrame`` (one row per file) and
writes it with ``DataFrame.to_json`` (orient ``"columns"``)::

    {"evaluation_results.discrete_mig": {"0": 0.21, "1": 0.35},
     "train_config.model.name": {"0": "'beta_vae'", "1": "'rpu_vae'"},
     "path": {"0": "runs/a/metrics/mean/mig/results/aggregate/evaluation.json", ...}, ...}

Columns appear in the order of their first appearance; a key a row lacks is ``null``.
This module writes the same structure with the standard library (no pandas needed), so
``pandas.read_json(path, orient="columns")`` and disentanglement_lib's
``load_aggregated_json_results`` load it. One difference, lossless for readers: floats
keep full precision (pandas rounds them to 10 decimals).

Our result directories and disentanglement_lib's have the same layout and keys, so one
pattern list may mix both (and the model zoo's unpacked runs).
"""

from __future__ import annotations

import glob
import gzip
import json
import logging
import math
import os
from typing import Any, Iterable, Mapping, Optional, Sequence

from rpu_tf.utils.files import atomic_write_text

logger = logging.getLogger(__name__)

#: What a pattern that names a folder is expanded with: every evaluation result below it.
RESULT_FILE_IN_FOLDER = os.path.join("**", "results", "aggregate", "evaluation.json")
#: disentanglement_lib's default pattern (``dlib_aggregate_results``), our ``runs/`` folder.
DEFAULT_PATTERN = os.path.join("runs", "*", "metrics", "*", "*", "results", "aggregate",
                               "evaluation.json")


class AggregatedFormatError(ValueError):
    """A file is not an aggregated results file, or lacks the columns a reader needs."""


def find_result_files(patterns: Sequence[str]) -> list[str]:
    """Files matching any of ``patterns`` (globs, ``**`` allowed), sorted, without duplicates.

    A pattern that names an existing folder stands for every
    ``results/aggregate/evaluation.json`` below it.

    Raises:
      FileNotFoundError: a pattern matches nothing (the message names it).
    """
    if isinstance(patterns, str):
        patterns = [patterns]
    if not patterns:
        raise ValueError("Give at least one result file pattern.")
    found: list[str] = []
    for pattern in patterns:
        if os.path.isdir(pattern):
            matches = glob.glob(os.path.join(pattern, RESULT_FILE_IN_FOLDER), recursive=True)
        else:
            matches = [m for m in glob.glob(pattern, recursive=True) if os.path.isfile(m)]
        if not matches:
            raise FileNotFoundError(
                f"No result files match {pattern!r}. Expected files such as "
                "<run>/metrics/<mean|sampled>/<metric>/results/aggregate/evaluation.json "
                "(written by rpu_evaluate or disentanglement_lib), or a folder containing them.")
        found.extend(matches)
    return sorted(dict.fromkeys(found))


def load_result_file(path: str) -> dict[str, Any]:
    """One per-run result file (a flat JSON object) plus its ``"path"``, as dlib loads it."""
    with open(path, encoding="utf-8") as f:
        try:
            result = json.load(f)
        except json.JSONDecodeError as error:
            raise AggregatedFormatError(f"{path} is not valid JSON: {error}.") from None
    if not isinstance(result, dict):
        raise AggregatedFormatError(
            f"{path} holds a JSON {type(result).__name__}, not the flat object of a result "
            "file (results/aggregate/<step>.json).")
    result["path"] = path
    return result


def aggregate_results(patterns: Sequence[str]) -> list[dict[str, Any]]:
    """The rows (one dict per result file) that :func:`aggregate_results_to_json` writes."""
    files = find_result_files(patterns)
    logger.info("Aggregating %d result files.", len(files))
    return [load_result_file(path) for path in files]


def _json_safe(value: Any) -> Any:
    """Non-finite floats become ``null`` (as pandas writes them); containers recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def rows_to_columns(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """``[{key: value}]`` -> ``{key: {"row index": value}}`` (pandas orient ``"columns"``)."""
    columns: dict[str, dict[str, Any]] = {}
    for row in rows:
        for key in row:
            columns.setdefault(str(key), {})
    for index, row in enumerate(rows):
        for key, column in columns.items():
            column[str(index)] = _json_safe(row.get(key))
    return columns


def write_aggregated_json(rows: Sequence[Mapping[str, Any]], output_path: str) -> None:
    """Writes ``rows`` as an aggregated results file (atomically)."""
    text = json.dumps(rows_to_columns(rows), separators=(",", ":"), allow_nan=False)
    atomic_write_text(output_path, text)


def aggregate_results_to_json(patterns: Sequence[str], output_path: str) -> list[dict[str, Any]]:
    """disentanglement_lib's ``aggregate_results_to_json`` for a list of patterns.

    Args:
      patterns: glob patterns of result files (or folders, see :func:`find_result_files`),
        e.g. ``runs/*/metrics/*/*/results/aggregate/evaluation.json``.
      output_path: the aggregated JSON file to write (``results.json``).

    Returns:
      The rows written.
    """
    rows = aggregate_results(patterns)
    write_aggregated_json(rows, output_path)
    logger.info("Wrote %d rows to %s.", len(rows), output_path)
    return rows


def _row_order(index: str) -> tuple:
    return (0, int(index), "") if index.lstrip("-").isdigit() else (1, 0, index)


def columns_to_rows(columns: Mapping[str, Any], source: str = "the file") -> list[dict[str, Any]]:
    """Inverse of :func:`rows_to_columns`; every row has every column (``None`` if absent)."""
    if not isinstance(columns, Mapping):
        raise AggregatedFormatError(
            f"{source} holds a JSON {type(columns).__name__}; an aggregated results file is a "
            'JSON object {column: {row: value}} (pandas orient "columns", as written by '
            "disentanglement_lib's aggregate_results and rpu_aggregate).")
    if columns and not any(isinstance(v, Mapping) for v in columns.values()):
        raise AggregatedFormatError(
            f"{source} is a single result file (a flat object of one run), not an aggregated "
            "results file. Aggregate such files with: rpu_aggregate "
            "--result_file_pattern='<runs>/*/metrics/*/*/results/aggregate/evaluation.json' "
            "--output_path=results.json")
    not_columns = [k for k, v in columns.items() if not isinstance(v, Mapping)]
    if not_columns:
        raise AggregatedFormatError(
            f"{source}: the values of {not_columns[:5]} are not {{row: value}} objects, so "
            'it is not an aggregated results file (pandas orient "columns").')
    index = sorted({str(i) for column in columns.values() for i in column}, key=_row_order)
    return [{key: column.get(i) for key, column in columns.items()} for i in index]


def load_aggregated_results(path: str) -> list[dict[str, Any]]:
    """Rows of an aggregated results file (ours, dlib's ``results.json``, ``.json.gz``).

    Returns one dict per row, in row-index order, each with every column (``None`` where
    the row has no value). ``pandas.read_json(path, orient="columns")`` gives the same table
    as a DataFrame.
    """
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            columns = json.load(f)
    except json.JSONDecodeError as error:
        raise AggregatedFormatError(f"{path} is not valid JSON: {error}.") from None
    return columns_to_rows(columns, source=path)


def require_columns(rows: Sequence[Mapping[str, Any]], required: Iterable[str],
                    source: str = "the aggregated results",
                    alternatives: Optional[Mapping[str, Sequence[str]]] = None) -> None:
    """Raises :class:`AggregatedFormatError` naming the ``required`` columns ``rows`` lack.

    Args:
      alternatives: ``{what: [column, ...]}``: at least one of the columns must be present.
    """
    present = set()
    for row in rows:
        present.update(row)
    missing = [key for key in required if key not in present]
    for what, options in (alternatives or {}).items():
        if not any(option in present for option in options):
            missing.append(f"{what} (one of {', '.join(options)})")
    if missing:
        sample = sorted(present)[:12]
        raise AggregatedFormatError(
            f"{source} lacks the keys: {', '.join(missing)}. Expected disentanglement_lib's "
            "aggregated evaluation results (rpu_aggregate or dlib_aggregate_results over "
            "<run>/metrics/*/*/results/aggregate/evaluation.json); "
            f"found {len(present)} columns, e.g. {', '.join(sample) or 'none'}.")
