"""Shared-mode LinUCB keeps the items' pair products between acts, and drops them for other items."""

import numpy as np

from banditsim.agents import Context, Feedback
from banditsim.agents.linucb import LinUCBAgent


def _trained(seed: int):
    """A shared LinUCB after one update, the items it learned on, and a generator for more inputs."""
    rng = np.random.default_rng(seed)
    agent = LinUCBAgent(n_arms=6, mode="shared", arm_dim=3, random_state=0)
    items = rng.normal(size=(6, 5))
    ctx = Context(features=rng.normal(size=(8, 2)), arm_features=items)
    agent.update(ctx, rng.integers(6, size=8), Feedback(reward=rng.normal(size=8)))
    return agent, items, rng


def _scores(agent, x, items):
    return agent._index_parts(agent._resolve(Context(features=x, arm_features=items)))


def test_scores_on_new_items_ignore_the_pairs_of_the_old_ones():
    agent, items, rng = _trained(3)
    fresh, _, _ = _trained(3)
    x = rng.normal(size=(4, 2))
    other = items + rng.normal(size=items.shape)
    _scores(agent, x, items)  # keeps the pairs of ``items``
    after = _scores(agent, x, other)
    _scores(fresh, x, items)  # the same PCA basis (fitted on the first items seen) ...
    fresh._item_pairs_cache = None  # ... and pairs computed from ``other`` itself
    expected = _scores(fresh, x, other)
    for a, b in zip(after, expected):
        assert a.tobytes() == b.tobytes()


def test_the_same_items_reuse_their_pairs():
    agent, items, rng = _trained(4)
    x = rng.normal(size=(4, 2))
    first = _scores(agent, x, items)
    pairs = agent._item_pairs_cache[2]
    again = _scores(agent, x, items)
    assert agent._item_pairs_cache[2] is pairs
    assert all(a.tobytes() == b.tobytes() for a, b in zip(first, again))
