"""banditsim.sim.studies.rl_compare / python -m bench.rl_clients: bad input is one clear error; the rows add up."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

import banditsim.envs  # noqa: F401  (registers the ids)
from bench.rl_clients import main
from banditsim.sim.studies.rl_compare import compare, play_episodes, small_world

torch.set_num_threads(1)


@pytest.mark.parametrize("argv,msg", [(["--methods", "random,ddpg"], "unknown method(s): ddpg"),
                                      (["--methods", " , "], "--methods names no method"),
                                      (["--steps", "0"], "--steps must be >= 1"),
                                      (["--episodes", "1"], "--episodes >= 2"),
                                      (["--world", "huge"], "invalid choice")])
def test_bench_bad_input_is_one_error_line(argv, msg, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and "error: " in err[-1] and msg in err[-1], err


def test_compare_refuses_unknown_methods():
    with pytest.raises(ValueError, match="unknown method.*PPO2"):
        compare(["random", "PPO2"], small_world(), 10, 2)


def test_play_episodes_adds_up_what_the_env_reports():
    env = gym.make("banditsim/Recommend-v0", **small_world(max_steps=6))
    seen = []  # (session, reward, regret, disallowed) step by step, recorded by the learn callback

    def act(obs, e):  # item 0; once blocked, every other step (refused), else the first allowed item
        if obs["mask"][0] or (seen and not seen[-1][2]):
            return 0
        return int(np.flatnonzero(obs["mask"])[0])

    def learn(obs, a, r, info):
        seen.append((r, info["regret"], info["disallowed"]))

    out = play_episodes(env, act, learn, 3)
    r, g, d = (np.array(v, dtype=float) for v in zip(*seen))
    assert out["regret_step"] == pytest.approx(g.sum() / len(g))
    assert out["regret_episode"] == pytest.approx(g.sum() / 3) and out["reward"] == pytest.approx(r.sum() / 3)
    assert out["disallowed"] == pytest.approx(d.mean()) and d.any()
