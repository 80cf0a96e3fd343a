"""Independent, reproducible training-data streams for K replicas, prefetched in a thread.

Replica ``k`` draws its batches with ``data.sample_observations(batch_size, random_state_k)``
from its own ``numpy.random.RandomState``; the streams' states are part of a replica group's
state (saved, loaded and copied with the weights). Batches are stacked to
``(K, batch_size) + observation_shape`` float32 arrays. With a
:class:`~rpu_tf.training.supervision.LabelledSet`, each replica's stream also draws, right
after its images, a batch of labelled images with their targets and mask (same
``RandomState``, so the streams' state still fixes everything).
"""

from __future__ import annotations

import queue
import threading
from typing import Any, Iterator, Optional, Sequence

import numpy as np
import tensorflow as tf

from rpu_tf.data.ground_truth_data import GroundTruthData
from rpu_tf.training.supervision import LabelledSet

RandomStateTuple = tuple[str, np.ndarray, int, int, float]


class ReplicaBatchStream:
    """K data streams over one :class:`GroundTruthData`, one ``RandomState`` per replica.

    Args:
      data: the data set; observations must be float32-convertible of ``observation_shape``.
      seeds: one integer seed (0 .. 2**32 - 1) per replica.
      labelled: labelled images of ``data`` (a finite data set) to draw as well, or None.
      labelled_batch_size: labelled images per replica and batch (with ``labelled``).
    """

    def __init__(self, data: GroundTruthData, seeds: Sequence[int], labelled: Optional[LabelledSet] = None,
                 labelled_batch_size: int = 0):
        if len(seeds) < 1:
            raise ValueError("ReplicaBatchStream needs at least one seed (one per replica).")
        if labelled is not None and int(labelled_batch_size) < 1:
            raise ValueError(f"labelled_batch_size must be >= 1 with labelled images, got {labelled_batch_size}.")
        self.data = data
        self.labelled = labelled
        self.labelled_batch_size = int(labelled_batch_size)
        self.observation_shape = tuple(int(s) for s in data.observation_shape)
        self.random_states = [np.random.RandomState(int(s) % 2**32) for s in seeds]

    @property
    def num_replicas(self) -> int:
        return len(self.random_states)

    def next_batch(self, batch_size: int) -> np.ndarray:
        """The next ``(K, batch_size) + observation_shape`` float32 batch (advances all streams;
        with labelled images use :meth:`next_inputs`, which draws those too)."""
        return self.next_inputs(batch_size)[0]

    def next_inputs(self, batch_size: int) -> tuple[np.ndarray, ...]:
        """The next step's inputs: ``(images,)``, or with labelled images ``(images,
        labelled_images, targets, mask)`` of shapes ``(K, batch_size) + observation_shape``,
        ``(K, labelled_batch_size) + observation_shape``, ``(K, labelled_batch_size, C)`` twice."""
        batches, labelled = [], []
        for random_state in self.random_states:
            obs = np.asarray(self.data.sample_observations(batch_size, random_state), dtype=np.float32)
            if obs.shape != (batch_size,) + self.observation_shape:
                raise ValueError(
                    f"{getattr(self.data, 'name', type(self.data).__name__)}.sample_observations"
                    f"({batch_size}) returned shape {obs.shape}, expected "
                    f"{(batch_size,) + self.observation_shape}.")
            batches.append(obs)
            if self.labelled is not None:
                rows = random_state.randint(self.labelled.num_labelled, size=self.labelled_batch_size)
                images = self.data.observations_from_indices(self.labelled.indices[rows], random_state)
                labelled.append((np.asarray(images, np.float32), self.labelled.targets[rows],
                                 self.labelled.mask[rows]))
        if self.labelled is None:
            return (np.stack(batches),)
        return (np.stack(batches),) + tuple(np.stack(part) for part in zip(*labelled))

    def get_state(self) -> list[RandomStateTuple]:
        """The streams' ``RandomState.get_state()`` tuples, one per replica."""
        return [rs.get_state() for rs in self.random_states]

    def set_state(self, states: Sequence[Any]) -> None:
        """Restores :meth:`get_state` output (one state per replica)."""
        if len(states) != self.num_replicas:
            raise ValueError(f"Expected {self.num_replicas} data-stream states, got {len(states)}.")
        for rs, state in zip(self.random_states, states):
            rs.set_state(tuple(state))

    def prefetch(self, batch_size: int, num_batches: int, depth: int = 2) -> "_Prefetcher":
        """Iterator over exactly ``num_batches`` step inputs (tuples of tensors, see
        :meth:`next_inputs`), produced ``depth`` ahead.

        Use it as a context manager (``with stream.prefetch(...) as batches:``) so the
        producer thread is stopped if the consumer stops early; batches produced ahead but
        not consumed have still advanced the streams.
        """
        return _Prefetcher(self, batch_size, num_batches, depth)


class JointStreams:
    """Several groups' streams drawn in turn by one producer (no data set is read by two
    threads at once; built-in data sets cache rendering templates lazily). Each stream draws
    what it would alone: ``next_inputs`` is every stream's inputs, concatenated in order."""

    def __init__(self, streams: Sequence[ReplicaBatchStream]):
        self.streams = list(streams)

    def next_inputs(self, batch_size: int) -> tuple:
        return tuple(a for stream in self.streams for a in stream.next_inputs(batch_size))

    def prefetch(self, batch_size: int, num_batches: int, depth: int = 2) -> "_Prefetcher":
        """As :meth:`ReplicaBatchStream.prefetch`, for all streams in one producer thread."""
        return _Prefetcher(self, batch_size, num_batches, depth)


class _Prefetcher:
    """Background producer of a fixed number of batches (a bounded queue, one thread)."""

    _DONE = object()

    def __init__(self, stream: ReplicaBatchStream, batch_size: int, num_batches: int, depth: int):
        self._stream = stream
        self._batch_size = int(batch_size)
        self._remaining = int(num_batches)
        self._queue: "queue.Queue[Any]" = queue.Queue(maxsize=max(1, int(depth)))
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def _produce(self) -> None:
        try:
            for _ in range(self._remaining):
                if self._stop.is_set():
                    return
                item = tuple(tf.convert_to_tensor(a) for a in self._stream.next_inputs(self._batch_size))
                while not self._stop.is_set():
                    try:
                        self._queue.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
        except BaseException as error:  # handed to the consumer, re-raised there
            self._queue.put(error)
            return
        self._queue.put(self._DONE)

    def __enter__(self) -> Iterator[tuple[tf.Tensor, ...]]:
        self._thread = threading.Thread(target=self._produce, name="rpu-data", daemon=True)
        self._thread.start()
        return self._iterate()

    def _iterate(self) -> Iterator[tuple[tf.Tensor, ...]]:
        while True:
            item = self._queue.get()
            if item is self._DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def __exit__(self, *exc) -> None:
        self._stop.set()
        while self._thread is not None and self._thread.is_alive():
            try:
                self._queue.get(timeout=0.05)
            except queue.Empty:
                pass
        self._thread = None
