"""The batched world: B users answer recommendations at once (numpy or torch).

Each of the B *slots* holds one person (a copy of a population user with their own state).
``World.step`` takes one item per slot, shape (B,), or one slate per slot, shape (B, k), and returns
a :class:`StepResult` whose arrays are numpy on every backend. Sessions that end are restarted in
place (same person returning, or a fresh person), so the batch always stays full. All randomness
comes from one ``numpy.random.Generator`` seeded by ``seed``; draws per step are fixed in number
and order, so the numpy and torch backends give the same numbers.

Per step, in order: (1) the exact expected reward of the chosen action and of the best action are
computed from the current state by the one float64 formula that ``expected_rewards`` uses too, so
regret is never negative; (2) feedback is drawn; (3) state updates: fatigue recovers one step then
the shown (examined) items add fatigue, blocks, drift, patience; (4) ended sessions return or churn.

The parts, after RecSim's user state / user model / choice model split:

- :mod:`~banditsim.envs.world.core`: ``World`` itself: construction, ``add_items``, action checks, ``step``;
- :mod:`~banditsim.envs.world.item_tables`: the tables built once from the catalog and the population;
- :mod:`~banditsim.envs.world.sessions`: the slots' people, sessions, patience, return and churn;
- :mod:`~banditsim.envs.world.cosines` and :mod:`~banditsim.envs.world.utility`: taste cosines, utilities and the one
  exact-value formula;
- :mod:`~banditsim.envs.world.oracle` (with :mod:`~banditsim.envs.world.candidates` and :mod:`~banditsim.envs.world.gram_cache`):
  the exact best items and slates from per-slot candidates certified by a bound, O(B·(d + K)) a step;
- :mod:`~banditsim.envs.world.single_path` and :mod:`~banditsim.envs.world.slate_path` (the cascade): a step's answers;
- :mod:`~banditsim.envs.world.answer_effects` and :mod:`~banditsim.envs.world.drift_update`: fatigue, blocks, drift;
- :mod:`~banditsim.envs.world.refused_rows`: rows a step leaves untouched (``active``);
- :mod:`~banditsim.envs.world.results`: ``Observation`` and ``StepResult``.
"""

from banditsim.envs.world.core import World
from banditsim.envs.world.results import Observation, StepResult

__all__ = ["Observation", "StepResult", "World"]
