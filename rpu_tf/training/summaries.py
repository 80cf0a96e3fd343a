"""Training curves as TensorBoard event files (``tensorboard --logdir RUN``).

Scalars are written with ``tf.summary.write`` and the scalars plugin's metadata, so writing
needs only TensorFlow; viewing needs the ``tensorboard`` package (``pip install -e
".[viz]"``). Where they go:

- a single model: ``RUN/tensorboard/`` -- the loss terms (``loss``, ``reconstruction_loss``,
  ``kl_loss``, ``regularizer``, ``supervised_loss``; means over the last logging window) at
  each global step, and the model's hyperparameters, learning rate and batch size;
- a PBT run: ``PBT_RUN/tensorboard/member_XXXX/`` -- per generation (the step), the member's
  score, hyperparameters (β, learning rate, batch size) and training loss terms, and
  ``PBT_RUN/tensorboard/population/`` the generation's best and median score. For rPU-VAE,
  every stage is a PBT run (``RUN/stages/<stage>/``, ``RUN/`` for the final stage).
"""

from __future__ import annotations

import os
from typing import Mapping, Optional

import numpy as np
import tensorflow as tf

_SCALAR_METADATA: Optional[bytes] = None


def _scalar_metadata() -> bytes:
    """``SummaryMetadata`` of TensorBoard's scalars plugin (content: ScalarPluginData v0)."""
    global _SCALAR_METADATA
    if _SCALAR_METADATA is None:
        from tensorflow.core.framework import summary_pb2

        metadata = summary_pb2.SummaryMetadata()
        metadata.plugin_data.plugin_name = "scalars"
        _SCALAR_METADATA = metadata.SerializeToString()
    return _SCALAR_METADATA


class ScalarWriter:
    """Appends scalars to the event file of ``logdir`` (created on first use)."""

    def __init__(self, logdir: str):
        self.logdir = logdir
        self._writer = None

    def write(self, step: int, values: Mapping[str, float]) -> None:
        """Writes each finite ``values[tag]`` at ``step`` and flushes (a killed run keeps
        what was written)."""
        values = {tag: float(v) for tag, v in values.items() if v is not None and np.isfinite(float(v))}
        if not values:
            return
        if self._writer is None:
            os.makedirs(self.logdir, exist_ok=True)
            self._writer = tf.summary.create_file_writer(self.logdir)
        with self._writer.as_default():
            for tag, value in values.items():
                tf.summary.write(tag, tf.constant(value, tf.float32), step=int(step), metadata=_scalar_metadata())
        self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def read_scalars(logdir: str) -> dict[str, list[tuple[int, float]]]:
    """``{tag: [(step, value), ...]}`` of every event file under ``logdir`` (no TensorBoard
    needed; for tests and scripts)."""
    from tensorflow.core.util import event_pb2

    out: dict[str, list[tuple[int, float]]] = {}
    for folder, _, files in os.walk(logdir):
        for name in sorted(f for f in files if ".tfevents." in f):
            for record in tf.data.TFRecordDataset(os.path.join(folder, name)):
                event = event_pb2.Event.FromString(record.numpy())
                for value in event.summary.value:
                    number = float(tf.make_ndarray(value.tensor)) if value.HasField("tensor") else value.simple_value
                    out.setdefault(value.tag, []).append((int(event.step), number))
    return out


class GenerationCurves:
    """A PBT controller's ``on_generation`` callback: writes each member's score,
    hyperparameters and training metrics (``member_XXXX/``) and the population's best and
    median score (``population/``) at step = generation, under ``logdir``."""

    def __init__(self, logdir: str):
        self.logdir = logdir
        self._writers: dict[str, ScalarWriter] = {}

    def _writer(self, name: str) -> ScalarWriter:
        if name not in self._writers:
            self._writers[name] = ScalarWriter(os.path.join(self.logdir, name))
        return self._writers[name]

    def __call__(self, generation: int, records: list) -> None:
        scores = [r["score"] for r in records if r.get("score") is not None]
        for record in records:
            values = {"score": record.get("score")}
            values.update({f"hyperparameters/{k}": v for k, v in (record.get("hyperparameters") or {}).items()})
            values.update({f"train/{k}": v for k, v in (record.get("metrics") or {}).items()
                           if isinstance(v, (int, float))})
            self._writer(f"member_{int(record['member_id']):04d}").write(generation, values)
        if scores:
            self._writer("population").write(generation, {"best_score": max(scores),
                                                          "median_score": float(np.median(scores))})

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()
