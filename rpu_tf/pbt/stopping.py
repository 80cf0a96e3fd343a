"""When a PBT run stops: generation budget, convergence of the best score, minimum score."""

from __future__ import annotations

import dataclasses
import math
from typing import Optional, Sequence

import gin


@gin.configurable("pbt_stopping")
@dataclasses.dataclass(frozen=True)
class StoppingRule:
    """Stopping criteria, checked after every generation's scoring.

    Attributes:
      max_generations: hard limit on generations.
      convergence_window: number of consecutive generation-to-generation changes of the
        best score that must all be small (paper's code: 6).
      convergence_tolerance: "small" means ``abs(change) < convergence_tolerance`` (0.005).
      min_score: stop when the best score is below this after ``min_score_generation``
        generations (the paper ends a leaf-run when the best UDR stays below a threshold);
        None disables it.
      min_score_generation: first generation (1-based count) at which ``min_score`` is checked.
    """

    max_generations: int = 100
    convergence_window: int = 6
    convergence_tolerance: float = 0.005
    min_score: Optional[float] = None
    min_score_generation: int = 6

    def __post_init__(self):
        if self.max_generations < 1:
            raise ValueError(f"pbt_stopping.max_generations must be >= 1, got {self.max_generations}.")
        if self.convergence_window < 1:
            raise ValueError(f"pbt_stopping.convergence_window must be >= 1, got {self.convergence_window}.")
        if self.convergence_tolerance < 0:
            raise ValueError("pbt_stopping.convergence_tolerance must be >= 0.")

    def check(self, best_scores: Sequence[float]) -> Optional[str]:
        """Reason to stop after the generations whose best scores are given, or None."""
        n = len(best_scores)
        if n >= self.convergence_window + 1:
            recent = best_scores[-(self.convergence_window + 1):]
            if all(math.isfinite(s) for s in recent) and all(
                    abs(b - a) < self.convergence_tolerance for a, b in zip(recent[:-1], recent[1:])):
                return "converged"
        if (self.min_score is not None and n >= self.min_score_generation
                and not (best_scores[-1] >= self.min_score)):
            return "below_min_score"
        if n >= self.max_generations:
            return "max_generations"
        return None
