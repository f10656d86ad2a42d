"""Problems (a) and (b) and our batched agents on them.

(a) K=100 Bernoulli arms, rates U[0.01, 0.10]; (b) d=64 unit-norm contexts, 50 arms,
reward Bernoulli with p = sigmoid(3·x·θ_k − 2).  Our agents run all seeds at once as
replicas; decisions/s = steps × seeds / seconds spent inside ``act`` + ``update`` (the
reward simulation is not counted, for us or for the peers).  The problem definitions are
those of ``bench/agents_bench.py``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from banditsim.agents import Context, Feedback, make_agent
from bench.agents_bench import bernoulli_problem, linear_problem, sigmoid
from bench.timing import load

# Canonical policy name -> (our agent name, its parameters): the defaults.  Peers map the same
# names, with the parameter that means the same thing set to our default (bench/peers.py).
POLICIES_A = {"thompson": ("beta_ts", {}), "ucb1": ("ucb1", {}), "epsilon_greedy": ("epsilon_greedy", {})}
POLICIES_B = {"linucb": ("linucb", {}), "lin_ts": ("lin_ts", {}), "epsilon_greedy": ("epsilon_greedy", {})}
# ``--tuned``: the settings earlier tables used, run in addition and labelled "(tuned)"
TUNED_A = {"thompson": {"n_propensity_draws": 1}, "epsilon_greedy": {"epsilon": 0.05}}
TUNED_B = {"linucb": {"alpha": 0.5}, "lin_ts": {"noise_std": 0.25, "n_propensity_draws": 1},
           "epsilon_greedy": {"epsilon": 0.05}}
SAMPLING = {"beta_ts", "lin_ts"}

PROBLEM_A = "(a) K=100 Bernoulli"
PROBLEM_B = "(b) d=64 linear, K=50"


@dataclass
class Run:
    """Throughput and regret of one policy on one problem (``curve``: mean cumulative regret)."""

    decisions_per_s: float
    seeds: int
    steps: int
    regret: float
    regret_sem: float
    curve: np.ndarray = field(repr=False)

    def regret_at(self, steps: int) -> float:
        """Mean cumulative regret after ``steps`` steps."""
        return float(self.curve[min(steps, len(self.curve)) - 1])


def _finish(spent: float, per_step: np.ndarray, total: np.ndarray) -> Run:
    """Close a run; ``per_step`` may be cut short by the time budget (then so is ``total``)."""
    n = total.size
    sem = float(total.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    return Run(per_step.size * n / spent, n, per_step.size, float(total.mean()), sem, np.cumsum(per_step))


def ours_bernoulli(agent: str, params: dict, rates: np.ndarray, horizon: int, seeds: int,
                   budget: float = float("inf"), read_propensities: bool = False) -> Run:
    """Our agent on problem (a), all ``seeds`` as replicas of one batched agent; stops early
    once ``budget`` seconds were spent in the agent."""
    pol = make_agent(agent, len(rates), n_replicas=seeds, random_state=0, **params)
    rng = np.random.default_rng(1)
    ctx = Context(replica=np.arange(seeds))
    best, spent = rates.max(), 0.0
    per_step, total = np.empty(horizon), np.zeros(seeds)
    for t in range(horizon):
        t0 = time.perf_counter()
        decision = pol.act(ctx)
        if read_propensities:  # what a logged run pays: Thompson agents draw them on first read
            decision.propensities
        t1 = time.perf_counter()
        a = decision.actions
        reward = (rng.random(seeds) < rates[a]).astype(np.float64)
        t2 = time.perf_counter()
        pol.update(ctx, decision, Feedback(reward=reward))
        spent += (t1 - t0) + (time.perf_counter() - t2)
        inst = best - rates[a]
        total += inst
        per_step[t] = inst.mean()
        if spent > budget:
            return _finish(spent, per_step[: t + 1], total)
    return _finish(spent, per_step, total)


def ours_linear(agent: str, params: dict, theta: np.ndarray, horizon: int, seeds: int,
                budget: float = float("inf"), read_propensities: bool = False) -> Run:
    """Our agent on problem (b); each replica sees its own context stream; stops early once
    ``budget`` seconds were spent in the agent."""
    n_arms, dim = theta.shape
    pol = make_agent(agent, n_arms, n_replicas=seeds, random_state=0, **params)
    rng = np.random.default_rng(1)
    rows, spent = np.arange(seeds), 0.0
    per_step, total = np.empty(horizon), np.zeros(seeds)
    for t in range(horizon):
        x = rng.normal(size=(seeds, dim))
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        p = sigmoid(3.0 * x @ theta.T - 2.0)
        ctx = Context(features=x, replica=rows)
        t0 = time.perf_counter()
        decision = pol.act(ctx)
        if read_propensities:  # what a logged run pays: Thompson agents draw them on first read
            decision.propensities
        t1 = time.perf_counter()
        a = decision.actions
        reward = (rng.random(seeds) < p[rows, a]).astype(np.float64)
        t2 = time.perf_counter()
        pol.update(ctx, decision, Feedback(reward=reward))
        spent += (t1 - t0) + (time.perf_counter() - t2)
        inst = p.max(axis=1) - p[rows, a]
        total += inst
        per_step[t] = inst.mean()
        if spent > budget:
            return _finish(spent, per_step[: t + 1], total)
    return _finish(spent, per_step, total)


def run_ours(part: str, horizon: int, seeds: int, propensity_draws: int | None, budget: float = float("inf"),
             log=print, read_propensities: bool = False, tuned: bool = False, agents=None) -> dict:
    """All our policies on problem ``part`` ('a' or 'b'), or those of our ``agents`` names:
    {policy: (row dict, Run)}.

    Every policy runs at its defaults; ``propensity_draws`` (not None) overrides the Thompson
    agents' draws and labels those rows "(tuned)"; ``tuned`` adds the TUNED_* settings as
    "<policy> (tuned)" rows.  With a finite ``budget`` (seconds per policy) a run may stop before
    ``horizon``; the row says at which T, and the peers are then compared at (at most) that T.
    The rows of sampling agents say whether the timed act read the propensities."""
    policies, tunings, problem, runner, arg = (
        (POLICIES_A, TUNED_A, PROBLEM_A, ours_bernoulli, bernoulli_problem()) if part == "a"
        else (POLICIES_B, TUNED_B, PROBLEM_B, ours_linear, linear_problem()))
    plan = []
    for policy, (agent, params) in policies.items():
        if agents is not None and agent not in agents:
            continue
        params = dict(params)
        label = policy
        if propensity_draws is not None and agent in SAMPLING:
            params["n_propensity_draws"] = propensity_draws
            label = f"{policy} (tuned)"
        plan.append((label, agent, params))
        if tuned and policy in tunings:
            plan.append((f"{policy} (tuned)", agent, {**params, **tunings[policy]}))
    out = {}
    for policy, agent, params in plan:
        run = runner(agent, params, arg, horizon, seeds, budget, read_propensities)
        row = {"problem": problem, "policy": policy, "impl": "banditsim", "agent": agent, "params": params,
               "decisions_per_s": run.decisions_per_s, "seeds": run.seeds, "steps": run.steps,
               "regret": run.regret, "regret_sem": run.regret_sem, "load": load(),
               "note": f"{seeds} seeds batched as replicas; " + (f"tuned {params}" if "tuned" in policy else "defaults")
                       + (_read_note(read_propensities) if agent in SAMPLING else "")
                       + ("" if run.steps == horizon else f"; stopped at T={run.steps:,} (time budget)")}
        read = (" (read)" if read_propensities else " (not read)") if agent in SAMPLING else ""
        log(f"  {problem:22s} {policy + read:26s} banditsim {run.decisions_per_s:14,.0f} dec/s  "
            f"regret {run.regret:9.1f} ± {run.regret_sem:.1f}  (load {row['load']:.2f})")
        out[policy] = (row, run)
    return out


def _read_note(read: bool) -> str:
    return "; propensities read (as a logged run)" if read else "; propensities not read"
