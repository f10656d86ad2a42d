"""Seeds for every (agent, seed) cell, derived from one root seed.

The world of seed ``s`` is seeded from ``SeedSequence(root, spawn_key=(s, 0))``
for every agent (common random numbers: all agents meet the same users), the
agent from ``spawn_key=(s, 1 + agent_index)``. A cell's numbers therefore
depend only on (root, seed index, agent index), never on how cells are split
between workers or machines.
"""

from __future__ import annotations

import numpy as np


def world_seed(root_seed: int, seed_index: int) -> np.random.SeedSequence:
    """Seed sequence of the world for seed index ``seed_index``.

    >>> int(world_seed(7, 0).generate_state(1)[0]) == int(world_seed(7, 0).generate_state(1)[0])
    True
    """
    return np.random.SeedSequence(root_seed, spawn_key=(seed_index, 0))


def agent_seed(root_seed: int, seed_index: int, agent_index: int) -> np.random.SeedSequence:
    """Seed sequence of agent ``agent_index`` in seed ``seed_index``.

    >>> a = agent_seed(7, 0, 0).generate_state(1)[0]; b = agent_seed(7, 0, 1).generate_state(1)[0]
    >>> bool(a != b)
    True
    """
    return np.random.SeedSequence(root_seed, spawn_key=(seed_index, 1 + agent_index))


def as_int_seed(seq: np.random.SeedSequence) -> int:
    """A 63-bit integer seed drawn from a seed sequence (for APIs that take ints)."""
    return int(seq.generate_state(2, dtype=np.uint64)[0] >> np.uint64(1))
