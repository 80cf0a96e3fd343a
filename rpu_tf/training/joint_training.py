"""Several replica groups trained together: one compiled step runs all their steps.

PBT trains a generation's members one after another; members that share a batch size can
instead train side by side (``local_executor.members_together``): each member keeps its own
:class:`~rpu_tf.training.replica_group.ReplicaGroup` (weights, optimizer, step counter, data
streams and noise), and :class:`JointTrainer` runs their train steps as sub-graphs of one
``tf.function`` (:func:`rpu_tf.training.train_step.build_joint_train_step`). Every group
computes exactly what its own ``train`` would: the same ops on the same inputs, with its own
failure check, so a member whose loss turns NaN fails alone, as it would alone. What changes
is how busy the machine is: on 2 CPU cores K-replica members leave it idle between their
small ops, and a GPU gets one launch sequence for all of them.
"""

from __future__ import annotations

import time
from typing import Callable, Mapping, Optional, Sequence, Union

import numpy as np

from rpu_tf.training import train_step
from rpu_tf.training.data_stream import JointStreams
from rpu_tf.training.nonfinite import NonFiniteLossError
from rpu_tf.training.loss_window import LossWindow
from rpu_tf.training.replica_group import ReplicaGroup

#: What training one group gave: its metrics (as ``ReplicaGroup.train`` returns them) or the
#: error it would have raised.
Outcome = Union[dict, NonFiniteLossError]
#: ``(global step, {term: (K,) means over the window})``, as ``ReplicaGroup.train``'s ``on_window``.
WindowCallback = Callable[[int, Mapping[str, np.ndarray]], None]


class JointTrainer:
    """Trains a fixed list of replica groups together (see the module docstring).

    Args:
      groups: two or more groups with the same batch size when trained (built once; the
        joint step is traced on first use and reused while the groups live).
    """

    def __init__(self, groups: Sequence[ReplicaGroup]):
        if len(groups) < 2:
            raise ValueError(f"JointTrainer needs at least 2 groups, got {len(groups)}.")
        self.groups = list(groups)
        self._step_fn = None

    def train(self, num_steps: int, seeds: Sequence[Optional[int]],
              on_window: Optional[Sequence[Optional[WindowCallback]]] = None, window_every: int = 0) -> list[Outcome]:
        """Trains every group ``num_steps`` steps; ``seeds[m]`` redraws group ``m``'s streams
        first (as ``ReplicaGroup.train(num_steps, seed)``; None: they continue).
        ``on_window[m]`` (when given and not None) is group ``m``'s curve callback, called as
        ``ReplicaGroup.train`` calls its ``on_window`` (after the first step, every
        ``window_every`` steps and after the last; not after the group failed).

        Returns per group its metrics (``ReplicaGroup.train``'s keys; ``images_per_second``
        counts that group's images over the joint wall time, so the groups' figures add up to
        the joint throughput) or the :class:`NonFiniteLossError` its own training would have
        raised (its state is then that before the failed update; the others train on).
        """
        num_steps = int(num_steps)
        sizes = {g.batch_size for g in self.groups}
        if len(sizes) != 1:
            raise ValueError(f"Groups trained together need one batch size, got {sorted(sizes)}.")
        if len(seeds) != len(self.groups):
            raise ValueError(f"train needs one seed per group ({len(self.groups)}), got {len(seeds)}.")
        for group, seed in zip(self.groups, seeds):
            if seed is not None:
                group.reseed(seed)
        if self._step_fn is None:
            self._step_fn = train_step.build_joint_train_step([g._step_parts() for g in self.groups])
        windows = [LossWindow() for _ in self.groups]
        callbacks = list(on_window) if on_window is not None else [None] * len(self.groups)
        curves = [LossWindow() if callback is not None else None for callback in callbacks]
        failures: list[Optional[NonFiniteLossError]] = [None] * len(self.groups)
        start = time.perf_counter()
        # One producer draws every group's batches in turn (data sets need not be thread-safe).
        with JointStreams([g._stream for g in self.groups]).prefetch(self.groups[0].batch_size, num_steps) as batches:
            for done, inputs in enumerate(batches, start=1):
                for m, (terms, status) in enumerate(self._step_fn(*inputs)):
                    if failures[m] is not None:
                        continue  # failed alone: what it trains now is discarded, as its state is
                    values = {k: v.numpy() for k, v in terms.items()}
                    try:
                        self.groups[m]._check_status(int(status), values)
                    except NonFiniteLossError as error:
                        failures[m] = error
                        continue
                    windows[m].add(values)
                    if curves[m] is not None:
                        curves[m].add(values)
                        if done == 1 or done % max(1, window_every) == 0 or done == num_steps:
                            callbacks[m](self.groups[m].step, curves[m].take()[0])
        elapsed = time.perf_counter() - start
        return [failure if failure is not None else group._train_summary(window, num_steps, elapsed)
                for group, window, failure in zip(self.groups, windows, failures)]
