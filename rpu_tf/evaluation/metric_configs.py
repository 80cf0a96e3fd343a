"""Metric configs and study lists: which gin files one ``rpu_evaluate`` call runs.

Each metric config is one gin file (disentanglement_lib's
``unsupervised_study_v1/metric_configs/<metric>.gin``); its file name without ``.gin`` names
the metric's output folder (``metrics/<representation>/<metric>``) and is bound as
``evaluation.name``, as ``dlib_evaluate --gin_evaluation_config_glob`` does. A study list
(``.txt``) names metric configs, one per line, relative to the list's folder; blank lines and
``#`` comments are ignored. ``gin_configs/metrics/study.txt`` lists the study's nine.
"""

from __future__ import annotations

import dataclasses
import glob
import os
from typing import Sequence

from rpu_tf.utils.gin_files import resolve_gin_config


@dataclasses.dataclass(frozen=True)
class MetricConfig:
    """One metric config file and the metric name it is stored under."""

    name: str
    path: str


def _available(folder: str) -> str:
    names = sorted(os.path.basename(p) for p in glob.glob(os.path.join(folder or ".", "*.gin")))
    names += sorted(os.path.basename(p) for p in glob.glob(os.path.join(folder or ".", "*.txt")))
    return ", ".join(names) or "none"


def _check_exists(path: str, listed_in: str = "") -> None:
    if not os.path.isfile(path):
        where = f" (listed in {listed_in})" if listed_in else ""
        raise FileNotFoundError(
            f"Metric config {path}{where} not found; configs in {os.path.dirname(path) or '.'}: "
            f"{_available(os.path.dirname(path))}.")


def read_study_list(path: str) -> list[str]:
    """The gin files a study list names (paths resolved against the list's folder)."""
    folder = os.path.dirname(path)
    entries = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            entry = line.split("#", 1)[0].strip()
            if entry:
                entries.append(os.path.normpath(os.path.join(folder, entry)))
    if not entries:
        raise ValueError(f"Study list {path} names no metric configs.")
    return entries


def expand_metric_configs(paths: Sequence[str]) -> list[MetricConfig]:
    """Metric configs from gin files and study lists, in order.

    Raises:
      FileNotFoundError: a file is missing (the message lists the folder's configs).
      ValueError: two configs would write the same metric folder, or a list is empty.
    """
    if not paths:
        raise ValueError("Give at least one metric config (--gin_config=gin_configs/metrics/mig.gin "
                         "or the study list gin_configs/metrics/study.txt).")
    configs: list[MetricConfig] = []
    for path in map(resolve_gin_config, paths):  # metrics/mig.gin from any folder
        _check_exists(path)
        if path.endswith(".txt"):
            for entry in read_study_list(path):
                _check_exists(entry, listed_in=path)
                configs.append(MetricConfig(_name(entry), entry))
        else:
            configs.append(MetricConfig(_name(path), path))
    names = [c.name for c in configs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"Several metric configs are named {', '.join(duplicates)}; each metric "
                         "is stored under its file name, so the names must differ.")
    return configs


def _name(path: str) -> str:
    base = os.path.basename(path)
    return base[:-len(".gin")] if base.endswith(".gin") else base
