"""Truncation selection: who copies whom (PBT's exploit)."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np


def rank_members(member_ids: Sequence[int], scores: Sequence[float]) -> list[int]:
    """Member ids from best to worst; NaN scores (failed members) rank last; ties by id."""
    def key(pair):
        member_id, score = pair
        bad = score is None or not math.isfinite(score)
        return (bad, 0.0 if bad else -score, member_id)

    return [m for m, _ in sorted(zip(member_ids, scores), key=key)]


def truncation_plan(member_ids: Sequence[int], scores: Sequence[float], cutoff: float,
                    random_state: np.random.RandomState) -> dict[int, int]:
    """Exploit plan ``{loser_id: donor_id}``.

    Each of the bottom ``ceil(cutoff * N)`` members copies a member drawn uniformly from the
    top ``ceil(cutoff * N)`` (one ``randint`` per loser, from worst to best). Failed
    members (NaN scores) always copy: they are added to the losers if the cut misses them.
    """
    check_cutoff(cutoff)
    ranked = rank_members(member_ids, scores)
    n = len(ranked)
    k = math.ceil(cutoff * n)
    score_of = dict(zip(member_ids, scores))
    failed = [m for m in ranked if score_of[m] is None or not math.isfinite(score_of[m])]
    top = [m for m in ranked[:k] if m not in failed]
    losers = list(reversed(ranked[n - k:]))
    losers += [m for m in reversed(failed) if m not in losers]
    if not top:
        return {}  # every member failed: nothing to copy from
    return {loser: top[random_state.randint(len(top))] for loser in losers if loser not in top}


def check_cutoff(cutoff: float) -> None:
    if not 0.0 < cutoff <= 0.5:
        raise ValueError(f"pbt.cutoff must be in (0, 0.5] (paper: 0.2), got {cutoff}.")
