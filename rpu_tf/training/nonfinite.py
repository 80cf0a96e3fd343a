"""Exceptions of the training layer."""

from __future__ import annotations

from typing import Mapping, Optional


class NonFiniteLossError(FloatingPointError):
    """A training step produced a NaN or Inf loss (or gradient); the update was not applied.

    A ``FloatingPointError``, so PBT marks the member failed instead of crashing.

    Attributes:
      step: the global step (number of completed updates) at which the step failed.
      hyperparameters: the hyperparameters the step ran with.
      losses: the loss terms of that step, ``{name: [value per replica]}`` (may be empty).
    """

    def __init__(self, step: int, hyperparameters: Mapping[str, float],
                 losses: Optional[Mapping[str, list]] = None):
        self.step = int(step)
        self.hyperparameters = dict(hyperparameters)
        self.losses = dict(losses or {})
        hp = ", ".join(f"{k}={v:g}" for k, v in self.hyperparameters.items())
        loss = self.losses.get("loss")
        detail = f"; loss per replica: {loss}" if loss is not None else ""
        super().__init__(
            f"non-finite loss or gradient at step {self.step} ({hp}){detail}. The update was "
            "not applied; lower the learning rate or the regulariser weight, or treat this "
            "member as failed.")
