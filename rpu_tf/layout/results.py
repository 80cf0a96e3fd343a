"""Writes result directories exactly as disentanglement_lib's ``utils/results.py`` does.

For a pipeline step ``step`` (``train``, ``postprocess``, ``evaluation``) a result directory
holds::

    gin/{step}.gin                 the operative gin config
    json/{step}_config.json        that config as {"scope.param": "value string"}
    json/{step}_results.json       the step's results plus a "uuid"
    aggregate/{step}.json          every json/*.json merged, keys prefixed by the file
                                   stem: "train_config.model.batch_size", "train_results.loss"

Gin values are kept as the strings gin prints (``"'sprites'"``, ``"64"``, ``"@beta_tc_vae()"``),
as disentanglement_lib's aggregation expects.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import uuid
from typing import Any, Mapping, Optional

import gin
import numpy as np

from rpu_tf.layout import paths
from rpu_tf.utils import checksums
from rpu_tf.utils.files import REPAIR, atomic_write_text, damaged


def _json_default(obj: Any):
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def save_dict(path: str, values: Mapping[str, Any]) -> None:
    """Writes ``values`` as indented JSON (numpy scalars and arrays converted), atomically."""
    atomic_write_text(path, json.dumps(dict(values), indent=2, default=_json_default))


def save_gin(path: str) -> None:
    """Writes gin's operative config (the bindings actually used so far) to ``path``, with its
    checksum record (:func:`read_config_text` checks it)."""
    checksums.write_checked_text(path, gin.operative_config_str())


def gin_dict(config_path: Optional[str] = None) -> dict[str, str]:
    """``{"scope.param": "value"}`` from a gin file (or the operative config if None)."""
    if config_path is None:
        text = gin.operative_config_str()
    else:
        with open(config_path, encoding="utf-8") as f:
            text = f.read()
    result = {}
    for line in text.split("\n"):
        if not line.startswith("#") and " = " in line:
            key, value = line.split(" = ", 1)
            result[key] = value
    return result


def namespaced_dict(base_dict: Optional[Mapping[str, Any]] = None,
                    **named_dicts: Mapping[str, Any]) -> dict[str, Any]:
    """Merges dicts into one, prefixing each key with ``"{name}."``."""
    result = {} if base_dict is None else copy.deepcopy(dict(base_dict))
    for outer, inner in named_dicts.items():
        for key, value in inner.items():
            result[f"{outer}.{key}"] = value
    return result


def aggregate_json_results(json_dir: str) -> dict[str, Any]:
    """Every ``*.json`` dict in ``json_dir`` merged with file-stem prefixes."""
    named = {}
    pattern = re.compile(r"(.*)\.json$")
    for filename in sorted(os.listdir(json_dir)):
        match = pattern.match(filename)
        if match:
            with open(os.path.join(json_dir, filename), encoding="utf-8") as f:
                named[match.group(1)] = json.load(f)
    return namespaced_dict(**named)


def update_result_directory(result_directory: str, step_name: str,
                            results_dict: dict[str, Any],
                            old_result_directory: Optional[str] = None,
                            gin_text: Optional[str] = None) -> dict[str, Any]:
    """disentanglement_lib's one-stop update of a result directory; returns the aggregate.

    Copies ``old_result_directory`` (if given) into ``result_directory``, adds a ``uuid`` to
    ``results_dict``, writes ``gin/{step}.gin`` (gin's operative config, or ``gin_text`` when
    given: a config captured earlier), ``json/{step}_config.json``,
    ``json/{step}_results.json`` and ``aggregate/{step}.json``; the gin file gets a checksum
    record beside it (``gin/{step}.gin.sha256``, :mod:`rpu_tf.utils.checksums`).
    """
    if old_result_directory is not None:
        shutil.copytree(old_result_directory, result_directory, dirs_exist_ok=True)
    os.makedirs(result_directory, exist_ok=True)
    results_dict["uuid"] = str(uuid.uuid4())
    gin_path = paths.step_gin(result_directory, step_name)
    if gin_text is None:
        save_gin(gin_path)
    else:
        checksums.write_checked_text(gin_path, gin_text)
    save_dict(paths.step_config_json(result_directory, step_name), gin_dict(gin_path))
    results_json = paths.step_results_json(result_directory, step_name)
    save_dict(results_json, results_dict)
    aggregate = aggregate_json_results(os.path.dirname(results_json))
    save_dict(paths.step_aggregate_json(result_directory, step_name), aggregate)
    return aggregate


def _bracket_depth(text: str) -> int:
    """Open minus closed brackets in ``text``, ignoring those inside quoted strings."""
    depth, quote, escaped = 0, None, False
    for char in text:
        if quote is not None:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
    return depth


def read_gin_bindings(path: str) -> dict[str, str]:
    """``{"scope.param": "value"}`` of a gin file, with values that span several lines.

    :func:`gin_dict` is disentanglement_lib's reader (one line per binding, which is what
    its JSON configs hold); gin's operative config wraps long values (``key = \\`` and an
    indented value, or a bracketed value over several lines), which this joins, so every
    value parses back with ``gin.parse_config(f"{key} = {value}")``.
    """
    with open(path, encoding="utf-8") as f:
        return parse_gin_bindings(f.read())


def parse_gin_bindings(text: str) -> dict[str, str]:
    """:func:`read_gin_bindings` of a gin config's text (e.g. ``gin.operative_config_str()``)."""
    lines = text.split("\n")
    result: dict[str, str] = {}
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if line.startswith("#") or " = " not in line or line[:1].isspace():
            continue
        key, value = line.split(" = ", 1)
        value = value.rstrip()
        while i < len(lines) and (value.endswith("\\") or _bracket_depth(value) > 0):
            value = value[:-1].rstrip() if value.endswith("\\") else value
            value = (value + " " + lines[i].strip()).strip()
            i += 1
        result[key.strip()] = value
    return result


def read_config_text(path: str, repair: str = REPAIR) -> str:
    """The text of an operative gin config a run wrote (``results/gin/train.gin``,
    ``checkpoint/train.gin``), checked: against its checksum record; a file without one (a kill
    between the file and its record) for being non-empty UTF-8 that ends with the newline gin
    ends every config with (most truncations cut a line; a cut exactly after a newline goes
    unnoticed there).
    ``DamagedFileError`` naming the file, what is wrong and ``repair``."""
    recorded = checksums.expected_digest(path, repair) is not None
    data = checksums.read_checked(path, repair)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise damaged(path, f"not UTF-8 text (byte {error.start})", repair) from None
    if not recorded and not text.strip():
        raise damaged(path, "empty", repair)
    if not recorded and not text.endswith("\n"):
        raise damaged(path, f"ends in the middle of a line ({text.splitlines()[-1][-40:]!r})", repair)
    return text


def read_config_bindings(path: str, repair: str = REPAIR) -> dict[str, str]:
    """:func:`read_gin_bindings` of a run's operative config, checked (:func:`read_config_text`)."""
    return parse_gin_bindings(read_config_text(path, repair))
