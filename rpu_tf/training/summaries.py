"""Training curves, texts, images and hyperparameter sessions as TensorBoard event files
(``tensorboard --logdir RUN``).

Everything is written with ``tf.summary.write`` and the plugins' metadata (scalars, text,
images, hparams), so writing needs only TensorFlow; viewing needs the ``tensorboard``
package (``pip install -e ".[viz]"``). Where they go:

- a single model: ``RUN/tensorboard/`` -- the loss terms (``train/loss``,
  ``train/reconstruction_loss``, ``train/kl_loss``, ``train/regularizer``,
  ``train/supervised_loss``; means over the last window, about 200 points per run) at each
  global step, and the model's hyperparameters, learning rate and batch size; models trained
  together (``rpu_train_together``) each in their own run's folder, with their own losses;
- a PBT run: ``PBT_RUN/tensorboard/member_XXXX/`` per member and ``population/``
  (:mod:`rpu_tf.rpu.population_board`); for rPU-VAE every stage is a PBT run
  (``RUN/stages/<stage>/``, ``RUN/`` for the final stage) and its figures are images in
  ``RUN/stages/<stage>/tensorboard/figures/``.
"""

from __future__ import annotations

import glob
import os
import struct
import time
from typing import Mapping, Optional

import numpy as np
import tensorflow as tf

from rpu_tf.training import hparams_summary

_METADATA: dict[str, bytes] = {}

#: Suffix of the event file that holds a folder's hyperparameter session (written once).
SESSION_SUFFIX = ".hparams"


def _metadata(plugin: str, content: bytes = b"") -> bytes:
    """``SummaryMetadata`` of TensorBoard's plugin ``plugin`` (``scalars``, ``text``,
    ``images``, ``hparams``) with ``content`` (serialised once per plugin when empty)."""
    if content or plugin not in _METADATA:
        from tensorflow.core.framework import summary_pb2

        metadata = summary_pb2.SummaryMetadata()
        metadata.plugin_data.plugin_name = plugin
        metadata.plugin_data.content = content
        if content:
            return metadata.SerializeToString()
        _METADATA[plugin] = metadata.SerializeToString()
    return _METADATA[plugin]


def png_size(png: bytes) -> tuple[int, int]:
    """``(width, height)`` of a PNG file's bytes (its IHDR chunk)."""
    if png[:8] != b"\x89PNG\r\n\x1a\n" or len(png) < 24:
        raise ValueError("Not a PNG image.")
    return struct.unpack(">II", png[16:24])


class SummaryWriter:
    """Appends summaries to the event file of ``logdir`` (created on first use); each write
    is flushed, so a killed run keeps what was written."""

    def __init__(self, logdir: str):
        self.logdir = logdir
        self._writer = None

    def _write(self, step: int, tag: str, tensor, metadata: bytes) -> None:
        if self._writer is None:
            os.makedirs(self.logdir, exist_ok=True)
            self._writer = tf.summary.create_file_writer(self.logdir)
        with self._writer.as_default():
            tf.summary.write(tag, tensor, step=int(step), metadata=metadata)

    def write(self, step: int, values: Mapping[str, float]) -> None:
        """Writes each finite ``values[tag]`` as a scalar at ``step``."""
        self.write_points([(step, values)])

    def write_points(self, points) -> None:
        """Writes ``[(step, {tag: value}), ...]`` (finite values only), then flushes once."""
        wrote = False
        for step, values in points:
            for tag, value in values.items():
                if value is not None and np.isfinite(float(value)):
                    self._write(step, tag, tf.constant(float(value), tf.float32), _metadata("scalars"))
                    wrote = True
        if wrote:
            self._writer.flush()

    def write_text(self, step: int, tag: str, text: str) -> None:
        """Writes ``text`` (Markdown) to the TEXT tab at ``step``."""
        self._write(step, tag, tf.constant(text), _metadata("text"))
        self._writer.flush()

    def write_png(self, step: int, tag: str, png: bytes) -> None:
        """Writes a PNG file's bytes to the IMAGES tab at ``step``."""
        width, height = png_size(png)
        self._write(step, tag, tf.constant([str(width).encode(), str(height).encode(), png]), _metadata("images"))
        self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def has_session(logdir: str) -> bool:
    """Whether ``logdir`` holds a hyperparameter session (:func:`write_session`)."""
    return bool(glob.glob(os.path.join(glob.escape(logdir), f"*{SESSION_SUFFIX}")))


def write_session(logdir: str, hparams: Mapping[str, hparams_summary.HParamValue], group_name: str) -> None:
    """Makes ``logdir`` a session of TensorBoard's HPARAMS tab with ``hparams`` (its scalars
    are the session's metrics; :mod:`rpu_tf.training.hparams_summary`), in an event file of
    its own (TensorBoard reads a folder's first session start only: write it once)."""
    os.makedirs(logdir, exist_ok=True)
    writer = tf.summary.create_file_writer(logdir, filename_suffix=SESSION_SUFFIX)
    content = hparams_summary.session_start_content(hparams, group_name, time.time())
    with writer.as_default():
        tf.summary.write(hparams_summary.SESSION_START_TAG, tf.zeros([0], tf.float32), step=0,
                         metadata=_metadata(hparams_summary.PLUGIN_NAME, content))
    writer.close()


def read_scalars(logdir: str, tags: Optional[set] = None) -> dict[str, list[tuple[int, float]]]:
    """``{tag: [(step, value), ...]}`` of the numeric scalars in every event file under
    ``logdir`` (texts, images and sessions are skipped; ``tags``: only these). No TensorBoard
    needed; for tests and scripts."""
    from tensorflow.core.util import event_pb2

    out: dict[str, list[tuple[int, float]]] = {}
    for folder, _, files in os.walk(logdir):
        for name in sorted(f for f in files if ".tfevents." in f):
            for record in tf.data.TFRecordDataset(os.path.join(folder, name)):
                event = event_pb2.Event.FromString(record.numpy())
                for value in event.summary.value:
                    if tags is not None and value.tag not in tags:
                        continue
                    if value.HasField("tensor"):
                        array = tf.make_ndarray(value.tensor)
                        if array.shape != () or not np.issubdtype(array.dtype, np.number):
                            continue
                        number = float(array)
                    else:
                        number = value.simple_value
                    out.setdefault(value.tag, []).append((int(event.step), number))
    return out
