"""The seeds of a replica group's replicas, derived from one integer in a fixed order."""

from __future__ import annotations

import dataclasses

import numpy as np

MAX_SEED = 2**31 - 1


@dataclasses.dataclass(frozen=True)
class ReplicaSeeds:
    """Per-replica seeds: weight initialisation, data stream, sampling noise."""

    init: list[int]
    data: list[int]
    noise: list[int]


def derive_seeds(seed: int, num_replicas: int, with_init: bool = True) -> ReplicaSeeds:
    """Per-replica seeds from one integer, in a fixed order (init, data, noise)."""
    rs = np.random.RandomState(int(seed) % 2**32)
    init = [int(s) for s in rs.randint(MAX_SEED, size=num_replicas)] if with_init else []
    data = [int(s) for s in rs.randint(2**32 - 1, size=num_replicas, dtype=np.int64)]
    noise = [int(s) for s in rs.randint(MAX_SEED, size=num_replicas)]
    return ReplicaSeeds(init, data, noise)
