"""Common random numbers: for a given seed every agent of a sweep meets the same world.

The world's random stream is recorded (every value it draws, in order) while different agents
play the same seed through ``sim.play``; the README promises the world of seed s is the same for
every agent, so the recorded streams and the initial users must be identical across agents, and
differ between seeds.
"""

from __future__ import annotations

import numpy as np
import pytest

import banditsim.sim.run.play as play
from banditsim.sim.config.run_config import validate_config
from banditsim.sim.run.prepare import Prepared
from tests.sim.tiny_world import tiny_items, tiny_population

AGENTS = [{"name": "beta_ts", "params": {"n_propensity_draws": 4}}, {"name": "linucb"},
          {"name": "epsilon_greedy", "params": {"epsilon": 0.3}}, {"name": "random"}]


class RecordingGenerator:
    """Delegates to a numpy Generator and records every array or number it returns."""

    def __init__(self, rng: np.random.Generator, log: list):
        self._rng, self._log = rng, log

    def __getattr__(self, name):
        method = getattr(self._rng, name)

        def record(*args, **kwargs):
            out = method(*args, **kwargs)
            self._log.append((name, np.array(out, copy=True)))
            return out

        return record


def _prepared(world: dict) -> Prepared:
    x = tiny_items(24)
    cfg = validate_config({"agents": AGENTS, "world": {"n_users": 12, **world}, "run": {"horizon": 15, "seeds": 2},
                           "log": {"enabled": False}})
    return Prepared(config=cfg, item_vectors=x, population=tiny_population(x), item_ids=[str(i) for i in range(24)],
                    titles=[str(i) for i in range(24)], categories=np.zeros((24, 0), bool), category_names=[],
                    order=np.arange(24), n_initial=24, embedding_info={})


def world_streams(prep: Prepared, monkeypatch) -> dict:
    """{(agent, seed): (first observation, recorded draws, actions)} of every cell of ``prep``."""
    from banditsim.sim.run.cells import Cell

    out, current = {}, {}
    original_start = play.start_world

    def start_world(p, seed_index):
        world, obs = original_start(p, seed_index)
        current["log"] = []
        world._rng = RecordingGenerator(world._rng, current["log"])
        current["obs"] = obs
        return world, obs

    monkeypatch.setattr(play, "start_world", start_world)
    for seed in range(2):
        for agent in range(len(AGENTS)):
            result = play.play_cell(prep, Cell(agent_index=agent, seed_index=seed, agent_label=str(agent)))
            out[agent, seed] = (current["obs"], current["log"], result["metrics"].column("reward").to_numpy())
    return out


def _same_draws(a, b) -> bool:
    return len(a) == len(b) and all(x[0] == y[0] and np.array_equal(x[1], y[1]) for x, y in zip(a, b))


def check_common_random_numbers(streams: dict, whole_stream: bool) -> None:
    """Same seed: same first users and the same world draws; different seeds: different ones."""
    for seed in range(2):
        obs0, log0, _ = streams[0, seed]
        for agent in range(1, len(AGENTS)):
            obs, log, _ = streams[agent, seed]
            for field in ("user_ids", "population_index", "features"):
                np.testing.assert_array_equal(getattr(obs, field), getattr(obs0, field))
            if whole_stream:
                assert _same_draws(log, log0), (agent, seed)
            else:  # sessions end as the agents' choices make them: compare the first step's draws
                assert log[0][0] == log0[0][0] and np.array_equal(log[0][1], log0[0][1]), (agent, seed)
    assert not np.array_equal(streams[0, 0][0].features, streams[0, 1][0].features)
    assert not np.array_equal(streams[0, 0][1][0][1], streams[0, 1][1][0][1])


def test_every_agent_meets_the_same_world_for_a_seed(monkeypatch):
    # no patience, blocking or session limit: nobody leaves, so the whole stream is comparable
    prep = _prepared({"patience": {"enabled": False}, "blocking": {"enabled": False}})
    streams = world_streams(prep, monkeypatch)
    check_common_random_numbers(streams, whole_stream=True)
    assert len(streams[0, 0][1]) == 15  # one draw (feedback + return uniforms) per step
    rewards = [streams[a, 0][2] for a in range(len(AGENTS))]
    assert any(not np.array_equal(rewards[0], r) for r in rewards[1:])  # the agents did differ


def test_default_world_starts_the_same_for_every_agent(monkeypatch):
    streams = world_streams(_prepared({}), monkeypatch)
    check_common_random_numbers(streams, whole_stream=False)


def test_a_world_seeded_per_agent_is_caught(monkeypatch):
    """The planted bug: the world's seed derived from the agent's stream, as a cell-local seed would."""
    prep = _prepared({"patience": {"enabled": False}, "blocking": {"enabled": False}})
    original_build = play.build_agent
    state = {}

    def build_agent(p, agent_index, seed_index):
        state["agent"] = agent_index
        return original_build(p, agent_index, seed_index)

    def seeded_by_agent(p, seed_index):
        world = play.copy.deepcopy(play._template_world(p))
        obs = world.reset(seed=1000 * seed_index + state.get("agent", 0))
        return world, obs

    monkeypatch.setattr(play, "build_agent", build_agent)
    monkeypatch.setattr(play, "start_world", seeded_by_agent)
    # start_world runs before build_agent in play_cell: the agent index seen is the previous cell's
    streams = world_streams(prep, monkeypatch)
    with pytest.raises(AssertionError):
        check_common_random_numbers(streams, whole_stream=True)
