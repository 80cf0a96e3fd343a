"""What a PBT run leaves behind: its result, its generation log, its settings check, its seeds."""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Any

import numpy as np

from rpu_tf.pbt.trainable import State
from rpu_tf.utils import state_files


class ConfigMismatchError(ValueError):
    """The run directory holds a run with other settings."""


def derive_seed(*numbers: int) -> int:
    """A 31-bit seed derived from integers (stable across processes and platforms)."""
    return int(np.random.SeedSequence([int(n) for n in numbers]).generate_state(1)[0] & 0x7FFFFFFF)


@dataclasses.dataclass
class PBTResult:
    """How a finished run ended and where its best member is."""

    stop_reason: str
    generations: int
    best_member_id: int
    best_score: float
    best_details: dict
    best_hyperparameters: dict
    best_checkpoint: str
    best_scores: list

    def load_best_state(self) -> State:
        return state_files.load_state(self.best_checkpoint)

    def to_json(self, run_dir: str) -> dict:
        """``result.json``'s content: the best checkpoint relative to ``run_dir``, so a moved
        or copied run directory reads its own checkpoint."""
        values = dataclasses.asdict(self)
        values["best_checkpoint"] = os.path.relpath(self.best_checkpoint, run_dir)
        return values

    @classmethod
    def from_json(cls, values: dict, run_dir: str) -> "PBTResult":
        """The result of ``result.json`` in ``run_dir``. An absolute checkpoint path (written
        by rpu_tf before it stored relative ones) is read as the same file inside ``run_dir``."""
        values = dict(values)
        checkpoint = values["best_checkpoint"]
        if os.path.isabs(checkpoint):
            parts = os.path.normpath(checkpoint).split(os.sep)
            if "checkpoints" not in parts:
                raise ValueError(f"{run_dir}: result.json names the checkpoint {checkpoint}, outside any "
                                 "checkpoints/ folder; rerun the PBT with --overwrite.")
            checkpoint = os.path.join(*parts[len(parts) - 1 - parts[::-1].index("checkpoints"):])
        values["best_checkpoint"] = os.path.join(run_dir, checkpoint)
        return cls(**values)


def finite_or_none(x: float):
    """``x`` as a float, or None when it is missing or not finite (JSON has no NaN)."""
    return float(x) if x is not None and math.isfinite(x) else None


def dict_diff(a: Any, b: Any, prefix: str = "") -> list[str]:
    """Lines ``key: stored a, given b`` for every leaf where two nested dicts differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            out += dict_diff(a.get(key, "<missing>"), b.get(key, "<missing>"), f"{prefix}{key}.")
        return out
    return [] if a == b else [f"  {prefix.rstrip('.')}: stored {a!r}, given {b!r}"]
