"""Scores per data set, metric and method from aggregated results, and their summaries.

Reads rows of aggregated results files (:mod:`rpu_tf.results.aggregate`; ours or
disentanglement_lib's, e.g. its model zoo's) and extracts one :class:`Score` per row and
compared metric, the numbers behind the paper's Fig. 4. A row's

- data set is ``train_config.dataset.name``;
- method is ``train_config.model.name`` (disentanglement_lib's study sets it: ``beta_vae``,
  ``factor_vae``, ``beta_tc_vae``, ``dip_vae_i``, ``dip_vae_ii``, ``annealed_vae``), else the
  model class from ``train_config.model.model`` (``@beta_tc_vae()``; DIP-VAEs get their
  ``dip_type``), unless the whole file is given a label (``rPU-VAE``);
- metric is the evaluation function ``evaluation_config.evaluation.evaluation_fn``
  (``@mig``), whose score key is :data:`SCORE_KEYS` (MIG: ``discrete_mig``, DCI:
  ``disentanglement``);
- representation is ``postprocess_config.postprocess.name`` (``'mean'``, ``'sampled'``),
  else derived from ``postprocess_fn``.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
from typing import Any, Iterable, Mapping, Optional, Sequence

import numpy as np

from rpu_tf.results.aggregate import require_columns

#: Evaluation function -> (label, column of the score) for the metrics a comparison can show.
SCORE_KEYS: dict[str, tuple[str, str]] = {
    "mig": ("MIG", "evaluation_results.discrete_mig"),
    "dci": ("DCI Disentanglement", "evaluation_results.disentanglement"),
    "sap_score": ("SAP", "evaluation_results.SAP_score"),
    "factor_vae_score": ("FactorVAE score", "evaluation_results.eval_accuracy"),
    "beta_vae_sklearn": ("BetaVAE score", "evaluation_results.eval_accuracy"),
    "modularity_explicitness": ("Modularity", "evaluation_results.modularity_score"),
    "irs": ("IRS", "evaluation_results.IRS"),
}
#: The six unsupervised baselines of disentanglement_lib's study, in the paper's order.
BASELINES: tuple[str, ...] = ("beta_vae", "annealed_vae", "factor_vae", "beta_tc_vae",
                              "dip_vae_i", "dip_vae_ii")
DISPLAY_NAMES: dict[str, str] = {
    "beta_vae": "β-VAE", "annealed_vae": "AnnealedVAE", "factor_vae": "FactorVAE",
    "beta_tc_vae": "β-TCVAE", "dip_vae_i": "DIP-VAE-I", "dip_vae_ii": "DIP-VAE-II",
}
DATASET_KEY = "train_config.dataset.name"
METRIC_KEY = "evaluation_config.evaluation.evaluation_fn"
METHOD_KEYS = ("train_config.model.name", "train_config.model.model")
REPRESENTATION_KEYS = ("postprocess_config.postprocess.name",
                       "postprocess_config.postprocess.postprocess_fn")


@dataclasses.dataclass(frozen=True)
class Score:
    """One model's score under one metric."""

    dataset: str
    method: str
    metric: str  # evaluation function name, a key of SCORE_KEYS
    value: float
    path: str = ""


@dataclasses.dataclass(frozen=True)
class Summary:
    """Median and interquartile range of a group of scores (numpy's linear quantiles)."""

    dataset: str
    method: str
    metric: str
    n: int
    median: float
    q1: float
    q3: float

    @property
    def iqr(self) -> float:
        return self.q3 - self.q1


def gin_value(value: Any) -> str:
    """A gin value string as a plain name: ``"'beta_vae'"`` -> ``beta_vae``, ``"@mig"`` ->
    ``mig``, ``"@beta_tc_vae()"`` -> ``beta_tc_vae``, ``"@rpu_tf.metrics.mig.mig"`` -> ``mig``."""
    text = str(value).strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    if text.startswith("@"):
        text = text[1:]
        if text.endswith("()"):
            text = text[:-2]
        return text.rsplit("/", 1)[-1].rsplit(".", 1)[-1]
    return text


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def method_of(row: Mapping[str, Any]) -> Optional[str]:
    """The method name of a row (see the module docstring), or None if it has none."""
    name = row.get("train_config.model.name")
    if _present(name) and gin_value(name) not in ("", "shared"):
        return gin_value(name)
    model = row.get("train_config.model.model")
    if not _present(model):
        return None
    model = gin_value(model)
    if model == "dip_vae":
        dip_type = row.get("train_config.dip_vae.dip_type")
        return f"dip_vae_{gin_value(dip_type)}" if _present(dip_type) else model
    return model


def representation_of(row: Mapping[str, Any]) -> Optional[str]:
    """``mean``/``sampled`` (or another postprocessing name) of a row, None if unknown."""
    name = row.get(REPRESENTATION_KEYS[0])
    if _present(name) and gin_value(name):
        return gin_value(name)
    fn = row.get(REPRESENTATION_KEYS[1])
    if _present(fn):
        return gin_value(fn).replace("_representation", "")
    return None


def extract_scores(rows: Sequence[Mapping[str, Any]], metrics: Sequence[str] = ("mig", "dci"),
                   representation: Optional[str] = "mean", label: Optional[str] = None,
                   source: str = "the aggregated results") -> list[Score]:
    """One :class:`Score` per row whose metric is in ``metrics`` and has a finite score.

    Args:
      rows: rows of an aggregated results file.
      metrics: evaluation function names (keys of :data:`SCORE_KEYS`).
      representation: keep rows of this postprocessing only (None: all).
      label: method name for every row (e.g. ``rPU-VAE``) instead of the row's own.
      source: names the rows in error messages.

    Raises:
      AggregatedFormatError: the rows lack a column this needs (the message lists them).
      ValueError: an unknown metric name.
    """
    unknown = [m for m in metrics if m not in SCORE_KEYS]
    if unknown:
        raise ValueError(f"Unknown metric(s) {', '.join(unknown)}; known: "
                         f"{', '.join(sorted(SCORE_KEYS))}.")
    alternatives = {} if label else {"the method": METHOD_KEYS}
    if representation is not None:
        alternatives["the representation"] = REPRESENTATION_KEYS
    require_columns(rows, [DATASET_KEY, METRIC_KEY], source, alternatives)
    scores = []
    for row in rows:
        metric = row.get(METRIC_KEY)
        if not _present(metric) or gin_value(metric) not in metrics:
            continue
        metric = gin_value(metric)
        if representation is not None and representation_of(row) != representation:
            continue
        value = row.get(SCORE_KEYS[metric][1])
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            continue
        method = label or method_of(row)
        dataset = row.get(DATASET_KEY)
        if method is None or not _present(dataset):
            continue
        scores.append(Score(gin_value(dataset), method, metric, float(value),
                            str(row.get("path") or "")))
    return scores


def method_order(methods: Iterable[str]) -> list[str]:
    """The six baselines first (paper order), then the other methods in order of appearance."""
    methods = list(dict.fromkeys(methods))
    return [m for m in BASELINES if m in methods] + [m for m in methods if m not in BASELINES]


def display_name(method: str) -> str:
    return DISPLAY_NAMES.get(method, method)


def summarise(scores: Sequence[Score], metrics: Sequence[str] = ("mig", "dci")) -> list[Summary]:
    """Median, quartiles and count per (data set, metric, method), in display order."""
    groups: dict[tuple[str, str, str], list[float]] = {}
    for s in scores:
        groups.setdefault((s.dataset, s.metric, s.method), []).append(s.value)
    methods = method_order(s.method for s in scores)
    out = []
    for dataset in sorted({s.dataset for s in scores}):
        for metric in metrics:
            for method in methods:
                values = groups.get((dataset, metric, method))
                if not values:
                    continue
                q1, median, q3 = np.percentile(np.asarray(values, np.float64), [25, 50, 75])
                out.append(Summary(dataset, method, metric, len(values), float(median),
                                   float(q1), float(q3)))
    return out


_HEADER = ("dataset", "metric", "method", "n", "median", "IQR", "Q1", "Q3")


def _cells(s: Summary) -> list[str]:
    return [s.dataset, SCORE_KEYS[s.metric][0], display_name(s.method), str(s.n),
            f"{s.median:.4f}", f"{s.iqr:.4f}", f"{s.q1:.4f}", f"{s.q3:.4f}"]


def to_markdown(summaries: Sequence[Summary]) -> str:
    """A Markdown table: data set, metric, method, n, median, IQR, Q1, Q3."""
    lines = ["| " + " | ".join(_HEADER) + " |",
             "|" + "|".join(["---"] * 3 + ["---:"] * 5) + "|"]
    lines += ["| " + " | ".join(_cells(s)) + " |" for s in summaries]
    return "\n".join(lines) + "\n"


def to_csv(summaries: Sequence[Summary]) -> str:
    """The same table as CSV (full float precision)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(_HEADER)
    for s in summaries:
        writer.writerow([s.dataset, SCORE_KEYS[s.metric][0], display_name(s.method), s.n,
                         repr(s.median), repr(s.iqr), repr(s.q1), repr(s.q3)])
    return buffer.getvalue()
