"""SB3 learners next to the bandit agents on one world, scored by the exact regret in ``info``.

Every method gets ``steps`` environment steps on ``banditsim/Recommend-v0`` to learn from (PPO and
MaskablePPO through SB3's ``make_vec_env`` with 4 envs; the bandit agents online on one env), then
plays the same ``episodes`` evaluation sessions (reset seeds ``10_000 + i``). Bandit agents keep
learning while they are evaluated (that is what they are); the PPO policies are frozen and sample
their actions. Used by ``python -m bench.rl_clients`` and ``notebooks/rl_clients.ipynb``; needs
``stable-baselines3`` and ``sb3-contrib`` (the ``test`` extra) for the PPO rows.
"""

from __future__ import annotations

import time

import numpy as np

METHODS = ("random", "beta_ts", "linucb", "PPO", "MaskablePPO")
EVAL_SEED0 = 10_000


def small_world(max_steps: int = 20) -> dict:
    """The env kwargs of the 60-item clustered world (16-dim items, 40 people in 5 clusters)."""
    from banditsim.envs.clusters import cluster_population

    x = np.random.default_rng(0).normal(size=(60, 16)).astype(np.float32)
    return {"item_vectors": x, "population": cluster_population(x, 40, n_clusters=5, seed=0),
            "max_steps": max_steps}


def play_episodes(env, act, learn, n: int, seed0: int = EVAL_SEED0) -> dict:
    """Play ``n`` sessions with ``act(obs, env) -> action``, calling ``learn(obs, action, reward, info)``
    after each step. Returns the mean session reward and its standard error, the mean exact regret
    per session and per step, and the share of disallowed picks."""
    rewards, regrets, steps, bad = [], [], 0, 0
    for ep in range(n):
        obs, info = env.reset(seed=seed0 + ep)
        done, total, reg = False, 0.0, 0.0
        while not done:
            a = act(obs, env)
            nxt, r, term, trunc, info = env.step(a)
            learn(obs, a, r, info)
            total, reg, steps, bad = total + r, reg + info["regret"], steps + 1, bad + info["disallowed"]
            obs, done = nxt, term or trunc
        rewards.append(total)
        regrets.append(reg)
    r = np.asarray(rewards)
    return {"reward": float(r.mean()), "se": float(r.std(ddof=1) / np.sqrt(n)),
            "regret_episode": float(np.mean(regrets)), "regret_step": float(np.sum(regrets) / steps),
            "disallowed": bad / steps}


def _bandit_policy(name: str, env, seed: int):
    """(act, learn) for a bandit agent of :mod:`banditsim.agents.registry` (or uniform over allowed items)."""
    from banditsim.agents.registry import make_agent
    from banditsim.agents.types import Context, Decision, Feedback
    from banditsim.envs.feedback_kinds import reward_vector

    rng = np.random.default_rng(seed)
    if name == "random":
        return (lambda obs, e: int(rng.choice(np.flatnonzero(obs["mask"])))), (lambda *a: None)
    x = env.unwrapped.item_vectors.astype(np.float64)
    agent = make_agent(name, len(x), random_state=rng, kind_values=reward_vector(None).tolist())

    def ctx(obs):
        return Context(features=obs["user"][None].astype(np.float64), arm_features=x, mask=obs["mask"][None] > 0)

    def act(obs, e):
        return int(agent.act(ctx(obs)).actions[0])

    def learn(obs, a, r, info):
        agent.update(ctx(obs), Decision(actions=np.array([a]), propensities=np.array([1.0])),
                     Feedback(reward=[r], kind=[info["kind_code"]], position=[0]))

    return act, learn


def run_bandit(name: str, kw: dict, steps: int, episodes: int, seed: int = 0) -> dict:
    """A bandit agent (``random``, ``beta_ts``, ``linucb``, …): ``steps`` online steps, then the evaluation."""
    import gymnasium as gym

    import banditsim.envs  # noqa: F401  (registers the ids)

    env = gym.make("banditsim/Recommend-v0", **kw)
    act, learn = _bandit_policy(name, env, seed)
    t = time.perf_counter()
    obs, _ = env.reset(seed=seed)
    for _ in range(steps):  # learning: the same number of env steps as the RL clients get
        a = act(obs, env)
        nxt, r, term, trunc, info = env.step(a)
        learn(obs, a, r, info)
        obs = nxt
        if term or trunc:
            obs, _ = env.reset()
    out = play_episodes(env, act, learn, episodes)
    out["seconds"] = time.perf_counter() - t
    return out


def run_sb3(masked: bool, kw: dict, steps: int, episodes: int, seed: int = 0) -> dict:
    """PPO (``masked`` False) or sb3-contrib's MaskablePPO trained for ``steps``, then the evaluation."""
    import gymnasium as gym
    from stable_baselines3.common.env_util import make_vec_env

    import banditsim.envs  # noqa: F401  (registers the ids)

    if masked:
        from sb3_contrib import MaskablePPO as Algo
    else:
        from stable_baselines3 import PPO as Algo
    t = time.perf_counter()
    venv = make_vec_env("banditsim/Recommend-v0", n_envs=4, seed=seed, env_kwargs=kw)
    model = Algo("MultiInputPolicy", venv, n_steps=128, batch_size=128, learning_rate=1e-3, seed=seed, verbose=0)
    model.learn(steps)
    env = gym.make("banditsim/Recommend-v0", **kw)

    def act(obs, e):
        extra = {"action_masks": e.unwrapped.action_masks()} if masked else {}
        return int(model.predict(obs, deterministic=False, **extra)[0])

    out = play_episodes(env, act, lambda *a: None, episodes)
    out["seconds"] = time.perf_counter() - t
    return out


def compare(methods, kw: dict, steps: int, episodes: int, seed: int = 0) -> dict:
    """``{method: row}`` for ``methods`` (a subset of :data:`METHODS`) at the same steps and seeds."""
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        raise ValueError(f"unknown method(s): {', '.join(unknown)} (choose from {', '.join(METHODS)})")
    rows = {}
    for name in methods:
        if name in ("PPO", "MaskablePPO"):
            rows[name] = run_sb3(name == "MaskablePPO", kw, steps, episodes, seed)
        else:
            rows[name] = run_bandit(name, kw, steps, episodes, seed)
    return rows


def markdown_table(rows: dict) -> str:
    """The rows of :func:`compare` as a markdown table."""
    lines = ["| method | mean session reward (± s.e.) | regret / session | regret / step | disallowed picks | s |",
             "|---|---|---|---|---|---|"]
    for name, r in rows.items():
        lines.append(f"| {name} | {r['reward']:.3f} ± {r['se']:.3f} | {r['regret_episode']:.3f} | "
                     f"{r['regret_step']:.4f} | {r['disallowed']:.1%} | {r['seconds']:.1f} |")
    return "\n".join(lines)
