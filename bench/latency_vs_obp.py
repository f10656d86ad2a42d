"""Single-user latency (issue #18 goal 3): one stream of Thompson, ε-greedy and LinUCB against obp.

``python -m bench.latency_vs_obp``: each agent at its defaults, one row per ``act`` and ``update``,
K = 100 arms (LinUCB: d = 10 unit-norm contexts, at K = 100 and at the sharp problem's K = 20),
against obp's BernoulliTS, EpsilonGreedy (ε = 0.1) and LinUCB (α = 1) on the same problem.  Each
round times a chunk of ours, then a chunk of obp's, so a change of machine load hits both; the
seconds counted are those inside act + update (select_action + update_params), building the
Context and Feedback included for us.  Two clocks: wall time (``perf_counter``) and this thread's
CPU time (``thread_time``, which a loaded machine disturbs far less).  Then the Python calls per
act + update (cProfile's count, our calls only, over 200 steps after 200 untimed ones).

Last, the floor of a Python step (:func:`floor`), timed the same way against obp's ε-greedy: an agent
whose ``act`` returns a ready Decision and whose ``update`` does nothing (the loop, the two calls and
the ``Feedback`` built each step), and the numpy calls no ε-greedy step can drop (two uniforms from
the agent's Generator, an argmax over the K means).
"""

from __future__ import annotations

import cProfile
import os
import pstats
import time

import numpy as np
from threadpoolctl import threadpool_limits

from banditsim.agents import Context, Decision, Feedback, make_agent

DIM = 10


def _contexts(n: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, DIM))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def ours(name: str, n_arms: int, steps: int):
    """A function n -> (wall s, CPU s) running n more steps of our agent at its defaults."""
    return stream(make_agent(name, n_arms, random_state=0), n_arms, steps, contextual=name == "linucb")


def stream(agent, n_arms: int, steps: int, contextual: bool = False):
    """A function n -> (wall s, CPU s) running n more steps of ``agent`` (act and update, one row)."""
    rates = np.random.default_rng(0).uniform(0.01, 0.10, n_arms)
    rng, x = np.random.default_rng(1), _contexts(steps, 2) if contextual else None
    one, t = Context(n_rows=1), [0]

    def run(n: int):
        wall = cpu = 0.0
        for _ in range(n):
            i = t[0] = t[0] + 1
            w0, c0 = time.perf_counter(), time.thread_time()
            ctx = one if x is None else Context(features=x[i:i + 1])
            d = agent.act(ctx)
            a = int(d.actions[0])
            w1, c1 = time.perf_counter(), time.thread_time()
            r = float(rng.random() < rates[a])
            w2, c2 = time.perf_counter(), time.thread_time()
            agent.update(ctx, d, Feedback(reward=np.array([r])))
            wall += w1 - w0 + time.perf_counter() - w2
            cpu += c1 - c0 + time.thread_time() - c2
        return wall, cpu

    return run


def obp(name: str, n_arms: int, steps: int):
    """The same for obp's policy."""
    from obp.policy import BernoulliTS, EpsilonGreedy, LinUCB

    policy = {"beta_ts": lambda: BernoulliTS(n_actions=n_arms, random_state=0),
              "epsilon_greedy": lambda: EpsilonGreedy(n_actions=n_arms, epsilon=0.1, random_state=0),
              "linucb": lambda: LinUCB(dim=DIM, n_actions=n_arms, epsilon=1.0, random_state=0)}[name]()
    rates = np.random.default_rng(0).uniform(0.01, 0.10, n_arms)
    rng, x = np.random.default_rng(1), _contexts(steps, 2) if name == "linucb" else None
    t = [0]

    def run(n: int):
        wall = cpu = 0.0
        for _ in range(n):
            i = t[0] = t[0] + 1
            w0, c0 = time.perf_counter(), time.thread_time()
            a = int(policy.select_action()[0] if x is None else policy.select_action(x[i:i + 1])[0])
            w1, c1 = time.perf_counter(), time.thread_time()
            r = float(rng.random() < rates[a])
            w2, c2 = time.perf_counter(), time.thread_time()
            if x is None:
                policy.update_params(action=a, reward=r)
            else:
                policy.update_params(action=a, reward=r, context=x[i:i + 1])
            wall += w1 - w0 + time.perf_counter() - w2
            cpu += c1 - c0 + time.thread_time() - c2
        return wall, cpu

    return run


def calls_per_step(name: str, n_arms: int, steps: int = 200) -> float:
    """cProfile's count of Python calls inside our act + update, per step."""
    agent = make_agent(name, n_arms, random_state=0)
    rng = np.random.default_rng(0)
    x = _contexts(2 * steps, 2) if name == "linucb" else None
    ctxs = [Context(n_rows=1) if x is None else Context(features=x[i:i + 1]) for i in range(2 * steps)]
    fbs = [Feedback(reward=np.array([float(v)])) for v in rng.random(2 * steps) < 0.3]

    def step(i):
        agent.update(ctxs[i], agent.act(ctxs[i]), fbs[i])

    for i in range(steps):
        step(i)
    prof = cProfile.Profile()
    prof.enable()
    for i in range(steps, 2 * steps):
        step(i)
    prof.disable()
    stats = pstats.Stats(prof).stats
    return sum(v[1] for k, v in stats.items() if k[2] not in ("step", "<method 'disable' of '_lsprof.Profiler' objects>")) / steps


def compare(name: str, n_arms: int, rounds: int = 20, chunk: int = 200) -> dict:
    """Alternating chunks of ours and obp's; prints and returns decisions/s and ratios."""
    steps = rounds * chunk + 2 * chunk
    mine, peer = ours(name, n_arms, steps), obp(name, n_arms, steps)
    mine(chunk), peer(chunk)  # first calls, caches: untimed
    w = np.zeros(2)
    c = np.zeros(2)
    for _ in range(rounds):
        w0, c0 = mine(chunk)
        w1, c1 = peer(chunk)
        w += (w0, w1)
        c += (c0, c1)
    n = rounds * chunk
    row = {"agent": name, "n_arms": n_arms, "ours_per_s": n / w[0], "obp_per_s": n / w[1], "ratio_wall": w[1] / w[0],
           "ratio_cpu": c[1] / c[0], "ours_cpu_us": c[0] / n * 1e6, "obp_cpu_us": c[1] / n * 1e6,
           "calls_per_step": calls_per_step(name, n_arms), "load": os.getloadavg()[0]}
    print(f"{name:15s} K={n_arms:4d}: ours {row['ours_per_s']:8,.0f}/s, obp {row['obp_per_s']:8,.0f}/s, "
          f"ratio {row['ratio_wall']:5.2f}x wall, {row['ratio_cpu']:5.2f}x CPU ({row['ours_cpu_us']:.1f} vs "
          f"{row['obp_cpu_us']:.1f} us CPU a step); {row['calls_per_step']:.0f} Python calls per act+update"
          f"  (load {row['load']:.2f})", flush=True)
    return row


class EmptyAgent:
    """``act`` and ``update`` with an agent's signature and nothing inside: what the loop, the two
    calls and the ``Feedback`` built each step cost."""

    def __init__(self) -> None:
        self._decision = Decision(actions=np.array([0]), propensities=np.array([1.0]))

    def act(self, context=None) -> Decision:
        """The same ready Decision every time."""
        return self._decision

    def update(self, context, decision, feedback) -> None:
        """Learns nothing."""


def minimum_numpy(n_arms: int):
    """A function n -> (wall s, CPU s) of n steps of the numpy calls no ε-greedy step can drop: two
    uniforms from a Generator (explore or not, the tie pick) and an argmax over the K means."""
    rng, means = np.random.default_rng(0), np.random.default_rng(1).random(n_arms)

    def run(n: int):
        w0, c0 = time.perf_counter(), time.thread_time()
        for _ in range(n):
            rng.random()
            rng.random()
            means.argmax()
        return time.perf_counter() - w0, time.thread_time() - c0

    return run


def floor(n_arms: int = 100, rounds: int = 20, chunk: int = 200) -> dict:
    """The floor of a Python step against obp's ε-greedy, in alternating chunks; prints and returns µs."""
    runs = {"empty": stream(EmptyAgent(), n_arms, rounds * chunk + chunk),
            "numpy": minimum_numpy(n_arms),
            "obp": obp("epsilon_greedy", n_arms, rounds * chunk + chunk)}
    cpu = dict.fromkeys(runs, 0.0)
    for run in runs.values():
        run(chunk)  # first calls, caches: untimed
    for _ in range(rounds):
        for key, run in runs.items():
            cpu[key] += run(chunk)[1]
    us = {k: v / (rounds * chunk) * 1e6 for k, v in cpu.items()}
    row = {"empty_us": us["empty"], "numpy_us": us["numpy"], "obp_us": us["obp"],
           "floor_us": us["empty"] + us["numpy"], "load": os.getloadavg()[0]}
    print(f"floor           K={n_arms:4d}: empty act+update with Feedback {us['empty']:.1f} us CPU, + numpy's "
          f"minimum (2 uniforms, 1 argmax) {us['numpy']:.1f} = {row['floor_us']:.1f} us; obp's ε-greedy "
          f"{us['obp']:.1f} us, so 2x obp needs <= {us['obp'] / 2:.1f}  (load {row['load']:.2f})", flush=True)
    return row


def main() -> int:
    with threadpool_limits(1):
        print("load at start", os.getloadavg())
        for name, n_arms in (("beta_ts", 100), ("epsilon_greedy", 100), ("linucb", 100), ("linucb", 20)):
            compare(name, n_arms)
        floor()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
