"""Direction: where the visible features say nothing and tastes come in clusters of the items, the
user-history context lets LinUCB (shared model) serve each person what resembles what they liked."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from banditsim.agents.registry import make_agent
from banditsim.agents.types import Context, Feedback
from banditsim.envs.clusters import cluster_population
from banditsim.envs.population import unit_rows
from banditsim.envs.world import World
from banditsim.envs.world_config import WorldConfig

torch.set_num_threads(1)


def _regret(history: bool, seed: int, steps: int = 150, b: int = 32) -> float:
    rng = np.random.default_rng(0)
    x = unit_rows(rng.normal(size=(80, 16))).astype(np.float32)
    pop = cluster_population(x, 300, n_clusters=6, noise=0.3, seed=1)
    pop = dataclasses.replace(pop, features=rng.normal(size=(300, 2)), feature_names=())  # noise only
    world = World(x, pop, n_users=b, config=WorldConfig(history_k=5, history_dim=8), seed=seed)
    obs = world.reset()
    agent = make_agent("linucb", 80, mode="shared", arm_dim=8, random_state=seed)
    arms = x.astype(np.float64)
    total = 0.0
    for _ in range(steps):
        feats = obs.features if history else obs.features[:, :2]
        ctx = Context(features=feats.astype(np.float64), arm_features=arms, mask=obs.mask)
        d = agent.act(ctx)
        res = world.step(d.actions)
        agent.update(ctx, d.actions, Feedback(reward=res.reward, kind=res.kind, position=res.position))
        total += float(res.regret.mean())
        obs = res.observation
    return total


def test_history_lowers_linucb_regret_where_it_carries_signal():
    on = [_regret(True, s) for s in (0, 1)]
    off = [_regret(False, s) for s in (0, 1)]
    assert all(a < b for a, b in zip(on, off)), (on, off)
    assert sum(on) < 0.8 * sum(off), (on, off)  # measured: 104 vs 175
