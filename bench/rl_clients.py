"""RL clients next to the bandit agents on one world: ``python -m bench.rl_clients``.

Every method gets ``--steps`` environment steps on ``banditsim/Recommend-v0`` to learn from
(PPO and MaskablePPO through SB3's ``make_vec_env`` with 4 envs; the bandit agents online on one
env), then plays the same ``--episodes`` evaluation episodes (reset seeds 10_000 + i). Bandit
agents keep learning while they are evaluated (that is what they are); the PPO policies are frozen
and sample their actions. Reported per method: mean episode reward (± s.e.), mean exact regret
per step and per episode (``info["regret"]``), share of disallowed picks (plain PPO only can make
them: each earns the ``block`` penalty and changes nothing), and seconds.

``--world small`` (default) is a 60-item clustered world; ``--world movielens`` the default
MovieLens world (1682 items; minutes).
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def _world(name: str) -> dict:
    if name == "movielens":
        return {"max_steps": 20}
    from envs.clusters import cluster_population

    x = np.random.default_rng(0).normal(size=(60, 16)).astype(np.float32)
    return {"item_vectors": x, "population": cluster_population(x, 40, n_clusters=5, seed=0), "max_steps": 20}


def _episodes(env, act, learn, n: int, seed0: int = 10_000) -> dict:
    """Play ``n`` episodes with ``act(obs, env) -> action``; ``learn(obs, action, reward, info)`` after each step."""
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
    return {"reward": r.mean(), "se": r.std(ddof=1) / np.sqrt(n), "regret_ep": float(np.mean(regrets)),
            "regret_step": float(np.sum(regrets) / steps), "disallowed": bad / steps}


def _bandit(name: str, kw: dict, n_steps: int, n_eval: int, seed: int) -> dict:
    import gymnasium as gym

    from agents.registry import make_agent
    from agents.types import Context, Feedback
    from envs.feedback_kinds import reward_vector

    env = gym.make("banditsim/Recommend-v0", **kw)
    x = env.unwrapped.item_vectors.astype(np.float64)
    rng = np.random.default_rng(seed)
    if name == "random":
        act = lambda obs, e: int(rng.choice(np.flatnonzero(obs["mask"])))  # noqa: E731
        learn = lambda *a: None  # noqa: E731
    else:
        agent = make_agent(name, len(x), random_state=rng, kind_values=reward_vector(None).tolist())

        def ctx(obs):
            return Context(features=obs["user"][None].astype(np.float64), arm_features=x, mask=obs["mask"][None] > 0)

        def act(obs, e):
            return int(agent.act(ctx(obs)).actions[0])

        def learn(obs, a, r, info):
            c = ctx(obs)
            agent.update(c, agent_decision(a), Feedback(reward=[r], kind=[info["kind_code"]], position=[0]))

        from agents.types import Decision

        def agent_decision(a):
            return Decision(actions=np.array([a]), propensities=np.array([1.0]))

    t = time.perf_counter()
    played = 0
    obs, _ = env.reset(seed=seed)
    while played < n_steps:  # learning phase: the same number of env steps as the RL clients
        a = act(obs, env)
        nxt, r, term, trunc, info = env.step(a)
        learn(obs, a, r, info)
        obs, played = nxt, played + 1
        if term or trunc:
            obs, _ = env.reset()
    out = _episodes(env, act, learn, n_eval)
    out["seconds"] = time.perf_counter() - t
    return out


def _sb3(masked: bool, kw: dict, n_steps: int, n_eval: int, seed: int) -> dict:
    import gymnasium as gym
    from stable_baselines3.common.env_util import make_vec_env

    t = time.perf_counter()
    venv = make_vec_env("banditsim/Recommend-v0", n_envs=4, seed=seed, env_kwargs=kw)
    if masked:
        from sb3_contrib import MaskablePPO as Algo
    else:
        from stable_baselines3 import PPO as Algo
    model = Algo("MultiInputPolicy", venv, n_steps=128, batch_size=128, learning_rate=1e-3, seed=seed, verbose=0)
    model.learn(n_steps)
    env = gym.make("banditsim/Recommend-v0", **kw)

    def act(obs, e):
        extra = {"action_masks": e.unwrapped.action_masks()} if masked else {}
        return int(model.predict(obs, deterministic=False, **extra)[0])

    out = _episodes(env, act, lambda *a: None, n_eval)
    out["seconds"] = time.perf_counter() - t
    return out


def main(argv=None) -> None:
    """Print the comparison table (markdown)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--world", choices=["small", "movielens"], default="small")
    p.add_argument("--steps", type=int, default=4096)
    p.add_argument("--episodes", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--methods", default="random,beta_ts,linucb,PPO,MaskablePPO",
                   help="comma-separated subset of random, beta_ts, linucb, PPO, MaskablePPO")
    args = p.parse_args(argv)
    if args.steps < 1 or args.episodes < 2:
        p.error(f"--steps must be >= 1 and --episodes >= 2, got {args.steps} and {args.episodes}")
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = sorted(set(methods) - {"random", "beta_ts", "linucb", "PPO", "MaskablePPO"})
    if unknown:
        p.error(f"unknown method(s): {', '.join(unknown)}")
    import torch

    import envs  # noqa: F401  (registers the ids)

    torch.set_num_threads(1)
    kw = _world(args.world)
    rows = {}
    for name in methods:
        if name in ("PPO", "MaskablePPO"):
            rows[name] = _sb3(name == "MaskablePPO", kw, args.steps, args.episodes, args.seed)
        else:
            rows[name] = _bandit(name, kw, args.steps, args.episodes, args.seed)
    print(f"world={args.world} steps={args.steps} episodes={args.episodes} seed={args.seed} (max_steps=20)\n")
    print("| method | mean episode reward (± s.e.) | regret / episode | regret / step | disallowed picks | s |")
    print("|---|---|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['reward']:.3f} ± {r['se']:.3f} | {r['regret_ep']:.3f} | {r['regret_step']:.4f} | "
              f"{r['disallowed']:.1%} | {r['seconds']:.1f} |")


if __name__ == "__main__":
    main()
