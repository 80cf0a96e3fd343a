"""TensorBoard's hyperparameters view (the HPARAMS tab): a session's start summary, encoded
with protobuf's wire format alone, so writing it needs TensorFlow only (viewing needs the
``tensorboard`` package).

A *session* is one run folder that holds a ``_hparams_/session_start_info`` summary: its
hyperparameters (numbers, strings, booleans) and a group name. TensorBoard lists one row per
session group, with the last value of each scalar tag in the session's folder as its
metrics (e.g. a PBT member's ``score``). The bytes are tensorboard's
``plugins/hparams/plugin_data.proto`` message ``HParamsPluginData`` (version 0) holding a
``SessionStartInfo`` whose values are ``google.protobuf.Value``; the tests parse them back
with tensorboard's own classes.
"""

from __future__ import annotations

import math
import struct
from typing import Mapping, Union

#: The tag and plugin TensorBoard's hparams plugin reads a session's start from.
SESSION_START_TAG = "_hparams_/session_start_info"
PLUGIN_NAME = "hparams"

HParamValue = Union[float, int, str, bool]


def _varint(number: int) -> bytes:
    out = bytearray()
    while True:
        low, number = number & 0x7F, number >> 7
        out.append(low | (0x80 if number else 0))
        if not number:
            return bytes(out)


def _bytes_field(field: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2): strings and nested messages."""
    return _varint(field << 3 | 2) + _varint(len(payload)) + payload


def _double_field(field: int, value: float) -> bytes:
    """A ``double`` field (wire type 1, little-endian)."""
    return _varint(field << 3 | 1) + struct.pack("<d", float(value))


def _value(value: HParamValue) -> bytes:
    """``google.protobuf.Value``: number_value = 2, string_value = 3, bool_value = 4."""
    if isinstance(value, bool):
        return _varint(4 << 3) + _varint(int(value))
    if isinstance(value, str):
        return _bytes_field(3, value.encode("utf-8"))
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"A hyperparameter must be finite, got {value!r}.")
    return _double_field(2, number)


def session_start_content(hparams: Mapping[str, HParamValue], group_name: str, start_time_secs: float) -> bytes:
    """``SummaryMetadata.plugin_data.content`` of a session start: ``hparams`` (``{name:
    number, string or bool}``; numpy scalars are read as numbers), ``group_name`` (sessions
    sharing one are one row: give each session its own) and its start time (seconds since
    the epoch)."""
    entries = b"".join(
        _bytes_field(1, _bytes_field(1, str(name).encode("utf-8")) + _bytes_field(2, _value(value)))
        for name, value in sorted(hparams.items()))  # map<string, Value> hparams = 1
    info = entries + _bytes_field(4, group_name.encode("utf-8")) + _double_field(5, start_time_secs)
    return _bytes_field(3, info)  # HParamsPluginData.session_start_info = 3; version 0 is not written
