"""Part (s) of ``python -m bench``: one user's stream, as a user of obp or MABWiser runs it.

One replica, one decision per step, ``act`` then ``update`` every step, every agent at its
default parameters.  Problems: K = 100 and K = 1,000 Bernoulli arms (rates U[0.01, 0.10], as
part (a)), Thompson sampling alone at K = 1,682 (the MovieLens catalog's size) and a sharp linear problem (d = 10 unit-norm contexts, K = 20 unit-norm θ_k, reward
x·θ_k + N(0, 0.1²): little noise, so exploring too much costs regret).  Peers get the same policy
with the parameter that means the same thing set to our default (ε = 0.1, LinUCB α = 1, MABWiser
LinTS α = our noise scale 0.5; obp's LinTS has none); the table says so.  Decisions/s count the
seconds inside act + update only (no reward simulation), for us and for the peers alike; each
policy runs the same pre-drawn stream for T steps or until its time budget is spent.  Our
Thompson rows are timed twice: propensities not read (the peers compute none) and read inside
the timed act, as a logged run reads them.
"""

from __future__ import annotations

import time

import numpy as np

from banditsim.agents import Context, Feedback, make_agent
from bench.peers import MabwiserPolicy, ObpPolicy
from bench.timing import load

SHARP_NOISE = 0.1
WARM_UP = 20  # untimed steps of a throwaway run before each timed one (ours and peers alike)
PROBLEMS = {
    "k100": "(s) one stream, K=100 Bernoulli",
    "k1000": "(s) one stream, K=1,000 Bernoulli",
    "k1682": "(s) one stream, K=1,682 Bernoulli",
    "sharp": "(s) one stream, sharp linear d=10 K=20",
}
OURS = {"k100": {"thompson": "beta_ts", "epsilon_greedy": "epsilon_greedy", "ucb1": "ucb1"},
        "sharp": {"linucb": "linucb", "lin_ts": "lin_ts", "epsilon_greedy": "epsilon_greedy"}}
OURS["k1000"] = OURS["k100"]
OURS["k1682"] = {"thompson": "beta_ts"}
ARMS = {"k100": 100, "k1000": 1000, "k1682": 1682}


def _obp(problem: str, policy: str, seed: int, n_arms: int, dim: int):
    from obp.policy import BernoulliTS, EpsilonGreedy, LinTS, LinUCB

    table = {"thompson": lambda: ObpPolicy(BernoulliTS(n_actions=n_arms, random_state=seed), False),
             "epsilon_greedy": lambda: ObpPolicy(EpsilonGreedy(n_actions=n_arms, epsilon=0.1, random_state=seed),
                                                 False),
             "linucb": lambda: ObpPolicy(LinUCB(dim=dim, n_actions=n_arms, epsilon=1.0, random_state=seed), True),
             "lin_ts": lambda: ObpPolicy(LinTS(dim=dim, n_actions=n_arms, random_state=seed), True)}
    return table.get(policy)


def _mabwiser(problem: str, policy: str, seed: int, n_arms: int, dim: int):
    from mabwiser.mab import MAB
    from mabwiser.mab import LearningPolicy as LP

    lp = {"thompson": LP.ThompsonSampling, "epsilon_greedy": lambda: LP.EpsilonGreedy(epsilon=0.1),
          "ucb1": lambda: LP.UCB1(alpha=1.0), "linucb": lambda: LP.LinUCB(alpha=1.0),
          "lin_ts": lambda: LP.LinTS(alpha=0.5)}.get(policy)
    if lp is None:
        return None
    contextual = problem == "sharp" and policy != "epsilon_greedy"
    return lambda: MabwiserPolicy(MAB(arms=list(range(n_arms)), learning_policy=lp(), seed=seed), n_arms, seed,
                                  contextual)


PEERS = {"obp": _obp, "mabwiser": _mabwiser}


def stream(problem: str, steps: int, seed: int = 0):
    """(contexts or None, expected rewards (T, K), reward draws (T, K)) of the problem."""
    rng = np.random.default_rng(seed)
    if problem in ARMS:
        n_arms = ARMS[problem]
        rates = np.random.default_rng(0).uniform(0.01, 0.10, n_arms)
        u = rng.random(steps)
        return None, np.broadcast_to(rates, (steps, n_arms)), (u[:, None] < rates).astype(np.float64)
    theta = np.random.default_rng(0).normal(size=(20, 10))
    theta /= np.linalg.norm(theta, axis=1, keepdims=True)
    x = rng.normal(size=(steps, 10))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    mean = x @ theta.T
    return x, mean, mean + SHARP_NOISE * rng.normal(size=mean.shape)


def _loop(act, update, x, mean, reward, budget: float):
    """Run until the stream ends or ``budget`` seconds were spent in act + update;
    returns (decisions/s, steps, cumulative regret)."""
    spent, regret, t = 0.0, 0.0, 0
    best = mean.max(axis=1)
    while t < mean.shape[0] and (t < 3 or spent < budget):
        xt = None if x is None else x[t]
        t0 = time.perf_counter()
        a = act(xt)
        t1 = time.perf_counter()
        r = float(reward[t, a])
        t2 = time.perf_counter()
        update(xt, a, r)
        spent += (t1 - t0) + (time.perf_counter() - t2)
        regret += best[t] - mean[t, a]
        t += 1
    return t / spent, t, regret


def run_ours(problem: str, agent_name: str, steps: int, budget: float, read: bool):
    """Our agent at its defaults on one stream (one replica, one row a step)."""
    x, mean, reward = stream(problem, steps)
    agent = make_agent(agent_name, mean.shape[1], random_state=0)
    one = Context(n_rows=1)
    held = [one]

    def act(xt):
        held[0] = ctx = one if xt is None else Context(features=xt[None, :])
        d = agent.act(ctx)
        if read:
            d.propensities
        return int(d.actions[0])

    def update(xt, a, r):
        agent.update(held[0], np.array([a]), Feedback(reward=np.array([r])))

    return _loop(act, update, x, mean, reward, budget)


def run_peer(make, problem: str, steps: int, budget: float):
    """A peer's policy (``make() -> .act(x), .update(x, a, r)``) on the same stream."""
    x, mean, reward = stream(problem, steps)
    policy = make()
    dummy = np.zeros(1)
    return _loop(lambda xt: policy.act(dummy if xt is None else xt),
                 lambda xt, a, r: policy.update(dummy if xt is None else xt, a, r), x, mean, reward, budget)


def run_single_stream(steps: dict, budget: float, peers: list[str], log=print) -> list[dict]:
    """Rows of part (s): ours, then each installed peer, with the ratio and the load."""
    rows = []
    for problem, label in PROBLEMS.items():
        horizon = steps[problem]
        x, mean, _ = stream(problem, 1)
        n_arms, dim = mean.shape[1], 0 if x is None else x.shape[1]
        for policy, name in OURS[problem].items():
            reads = (False, True) if name in ("beta_ts", "lin_ts") else (False,)
            ours = {}
            for read in reads:
                run_ours(problem, name, WARM_UP, float("inf"), read)  # imports, first-call caches: untimed
                rate, t, regret = run_ours(problem, name, horizon, budget, read)
                ours[read] = {"problem": label, "policy": policy, "impl": "banditsim", "agent": name, "params": {},
                              "decisions_per_s": rate, "seeds": 1, "steps": t, "regret": regret,
                              "regret_sem": None, "load": load(),
                              "note": "defaults; propensities " + ("read (as a logged run)" if read else "not read")}
                rows.append(ours[read])
                log(f"  {label:38s} {policy:15s} banditsim{' (read)' if read else '       '} {rate:12,.0f} dec/s  "
                    f"regret {regret:8.1f} @T={t:,}  (load {ours[read]['load']:.2f})", flush=True)
            for peer in peers:
                try:
                    factory = PEERS[peer](problem, policy, 0, n_arms, dim) if peer in PEERS else None
                except ImportError:
                    factory = None
                if factory is None:
                    continue
                run_peer(factory, problem, WARM_UP, float("inf"))
                rate, t, regret = run_peer(factory, problem, horizon, budget)
                base = ours[False]
                row = {"problem": label, "policy": policy, "impl": peer, "decisions_per_s": rate, "seeds": 1,
                       "steps": t, "regret": regret, "regret_sem": None, "load": load(),
                       "ratio": base["decisions_per_s"] / rate,
                       "ours_regret_same_T": base["regret"] if t == base["steps"] else _ours_regret_at(problem, name, t),
                       "note": "same policy, parameters matched to our defaults"
                               + ("" if t == horizon else f"; stopped at T={t:,} (time budget)")}
                if True in ours:
                    row["ratio_read"] = ours[True]["decisions_per_s"] / rate
                rows.append(row)
                log(f"  {label:38s} {policy:15s} {peer:16s} {rate:12,.0f} dec/s  ours/peer {row['ratio']:6.2f}x"
                    + (f" (read {row['ratio_read']:.2f}x)" if "ratio_read" in row else "")
                    + f"  regret {regret:8.1f} vs ours {row['ours_regret_same_T']:8.1f} @T={t:,}"
                    f"  (load {row['load']:.2f})", flush=True)
    return rows


def _ours_regret_at(problem: str, name: str, steps: int) -> float:
    """Our agent's regret over the first ``steps`` steps of the same stream (untimed rerun)."""
    return run_ours(problem, name, steps, float("inf"), False)[2]
