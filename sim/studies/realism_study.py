"""The production-realism study: exact regret against feedback delay, update cadence,
taste drift and the privacy budget ε, with 95% intervals over seeds.

One definition of the world, the variants and the agents, used by ``notebooks/production_realism.ipynb``
(figures) and ``python -m bench.production_realism`` (the README's tables). The world: the 30
podcasts of ``notebooks/data``, 500 listeners around 6 taste clusters, ``n_users`` served at once
for ``horizon`` steps; each point is the cumulative regret per user at the horizon, one value per
seed. Every variant plays the same users (common random numbers: the world's, the agents' and the
delays' streams are separate), so the paired differences over seeds are exact comparisons.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from banditsim.sim.stats.intervals import mean_ci
from banditsim.sim.config.notebook_size import pick

DATA = Path(__file__).resolve().parents[2] / "notebooks" / "data"
DRAWS = 16
"""Monte-Carlo propensity draws of the Thompson agents."""
GAMMA, WINDOW = 0.95, 20
"""The forgetting agents' discount (memory ≈ 20 decision steps) and sliding window (steps)."""
DELAY_MIX = "clicks geometric (mean 2), saves and shares log-normal (median 20, σ 1), others at once"
LIN_TS_FIXED = "lin_ts (noise 0.5)"
"""``lin_ts`` with the fixed noise scale 0.5 of ``discounted_lin_ts`` and ``private_lin_ts`` (their γ = 1
and ε → ∞ model); the default ``lin_ts`` estimates its noise scale (``noise_std='auto'``)."""
BETA_TS_BITS = "beta_ts (binarize)"
"""``beta_ts`` learning a Bernoulli bit of each mapped reward, ``private_beta_ts``'s ε → ∞ form (randomised
response needs one bit per answer; the default ``beta_ts`` adds the fractional reward itself)."""
PRIVATE = {"private_lin_ts": LIN_TS_FIXED, "private_linucb": "linucb", "private_beta_ts": BETA_TS_BITS}
"""Each private agent and its non-private counterpart, its ε → ∞ form (``private_references``)."""
FORGETTING = {"discounted_beta_ts": "beta_ts", "discounted_lin_ts": LIN_TS_FIXED,
              "discounted_linucb": "linucb", "sliding_window_ucb": "ucb1"}
"""Each forgetting agent and its stationary counterpart (its γ = 1 or endless-window form)."""


@dataclass(frozen=True)
class Point:
    """Cumulative regret per user at the horizon of one agent in one variant, one value per seed."""

    variant: str
    agent: str
    per_seed: tuple[float, ...]

    @property
    def interval(self) -> tuple[float, float, float]:
        """Mean and 95% Student-t interval over seeds (``banditsim.sim.stats.intervals.mean_ci``)."""
        return mean_ci(self.per_seed)


def learners(draws: int = DRAWS) -> dict[str, dict]:
    """The agents of the delay and cadence sections (and the non-private reference row)."""
    return {"lin_ts": {"name": "lin_ts", "params": {"n_propensity_draws": draws}},
            "linucb": {"name": "linucb"},
            "beta_ts": {"name": "beta_ts", "params": {"n_propensity_draws": draws}}}


def private_references(draws: int = DRAWS) -> dict[str, dict]:
    """The non-private counterparts of ``PRIVATE`` (``lin_ts`` with the private agent's noise scale, ``beta_ts``
    on one bit per answer)."""
    return {LIN_TS_FIXED: {"name": "lin_ts", "params": {"n_propensity_draws": draws, "noise_std": 0.5}},
            "linucb": {"name": "linucb"},
            BETA_TS_BITS: {"name": "beta_ts", "params": {"n_propensity_draws": draws, "binarize": True}}}


def delay_variants(size: str | None = None) -> dict[str, dict]:
    """Every answer late by d steps (a fixed delay), then the realistic mix ``DELAY_MIX``."""
    out = {f"{d}": {"feedback_delay": {"default": {"dist": "fixed", "steps": d}}}
           for d in pick(ci=[0, 5], full=[0, 1, 2, 5, 10, 20, 40], size=size)}
    slow = {"dist": "lognormal", "median": 20, "sigma": 1}
    out[DELAY_MIX] = {"feedback_delay": {"click": {"dist": "geometric", "mean": 2}, "save": slow, "share": slow}}
    return out


def cadence_variants(size: str | None = None) -> dict[str, dict]:
    """``run.update_every: N``."""
    return {f"{n}": {"run": {"update_every": n}} for n in pick(ci=[1, 5], full=[1, 2, 5, 10, 25, 50], size=size)}


DRIFTS = {"drift off": {"world": {"drift": {"enabled": False}}},
          "drift 0.05 (default)": {"world": {"drift": {"enabled": True, "rate": 0.05}}},
          "drift 0.3 (strong)": {"world": {"drift": {"enabled": True, "rate": 0.3}}},
          "trend 0.1 / 25 steps": {"world": {"drift": {"enabled": True, "trend_rate": 0.1, "trend_period": 25}}},
          "trend 0.3 / 25 steps": {"world": {"drift": {"enabled": True, "trend_rate": 0.3, "trend_period": 25}}}}
"""World drift variants: off, the default and a strong answer-driven drift, and a population trend."""


def drift_agents(draws: int = DRAWS) -> dict[str, dict]:
    """Each stationary agent next to its forgetting version (γ = ``GAMMA``, window ``WINDOW``); ``lin_ts``
    both at its default and with ``discounted_lin_ts``'s fixed noise scale (its γ = 1 form)."""
    tsp = {"n_propensity_draws": draws}
    return {"beta_ts": {"name": "beta_ts", "params": tsp},
            "discounted_beta_ts": {"name": "discounted_beta_ts", "params": {**tsp, "gamma": GAMMA}},
            "lin_ts": {"name": "lin_ts", "params": tsp},
            LIN_TS_FIXED: {"name": "lin_ts", "params": {**tsp, "noise_std": 0.5}},
            "discounted_lin_ts": {"name": "discounted_lin_ts", "params": {**tsp, "gamma": GAMMA}},
            "linucb": {"name": "linucb"},
            "discounted_linucb": {"name": "discounted_linucb", "params": {"gamma": GAMMA}},
            "ucb1": {"name": "ucb1"},
            "sliding_window_ucb": {"name": "sliding_window_ucb", "params": {"window": WINDOW}}}


def epsilons(size: str | None = None) -> list[float]:
    """Privacy budgets of the privacy-utility curve."""
    return pick(ci=[1.0, 100.0], full=[0.1, 0.3, 1.0, 3.0, 10.0, 100.0, 1000.0], size=size)


def private_agents(eps: float, draws: int = DRAWS) -> dict[str, dict]:
    """The private agents at budget ``eps`` (every ε: randomised response keeps a bit with probability
    e^ε/(1 + e^ε), computed as expit(ε), which stays finite for any ε)."""
    out = {"private_lin_ts": {"name": "private_lin_ts", "params": {"epsilon": eps, "n_propensity_draws": draws}},
           "private_linucb": {"name": "private_linucb", "params": {"epsilon": eps}},
           "private_beta_ts": {"name": "private_beta_ts", "params": {"epsilon": eps, "n_propensity_draws": draws}}}
    return out


def merged(base: dict, extra: dict) -> dict:
    """``base`` with ``extra``'s keys set (nested sections merged; a ``feedback_delay`` section replaced).

    >>> merged({"run": {"horizon": 5, "seeds": 2}}, {"run": {"seeds": 3}})
    {'run': {'horizon': 5, 'seeds': 3}}
    """
    out = dict(base)
    for key, value in extra.items():
        out[key] = merged(out.get(key, {}), value) if isinstance(value, dict) and key != "feedback_delay" else value
    return out


def run_config(base: dict, extra: dict, agents: dict[str, dict]):
    """The validated ``RunConfig`` of variant ``extra`` over ``base`` with ``agents`` (labels: their keys)."""
    from banditsim.sim.config.run_config import RunConfig

    specs = [{**spec, "label": label} for label, spec in agents.items()]
    return RunConfig.model_validate(merged(base, {**extra, "agents": specs}))


class RealismStudy:
    """The prepared world of the study at size ``size`` (``"ci"`` or ``"full"``; default: the
    notebooks' ``$BANDITSIM_NOTEBOOK_SIZE``); ``regret(variants, agents)`` plays them."""

    def __init__(self, size: str | None = None) -> None:
        from banditsim.sim.config.run_config import RunConfig
        from banditsim.sim.run.prepare import prepare

        self.size = size
        self.n_users, self.horizon, self.seeds = (pick(ci=8, full=32, size=size), pick(ci=20, full=100, size=size),
                                                  pick(ci=2, full=6, size=size))
        self.base = {
            "name": "production-realism",
            "catalog": {"source": str(DATA / "podcasts.csv"), "text_columns": ["title", "description"],
                        "category_column": "tags"},
            "population": {"kind": "clusters", "n_users": 500, "n_clusters": 6},
            # no user-history context: the study measures delay, cadence, drift and privacy on the
            # visible features alone, as the README's 'Production realism' tables do
            "world": {"n_users": self.n_users, "history_k": 0},
            "agents": [{"name": "random"}],
            "run": {"horizon": self.horizon, "seeds": self.seeds},
            "log": {"enabled": False},
        }
        self.prep = prepare(RunConfig.model_validate(self.base), progress=False)
        self._keep: list = []  # play's template world is keyed by id(prep): keep every variant alive

    def regret(self, variants: dict[str, dict], agents: dict[str, dict]) -> list[Point]:
        """One ``Point`` per (variant, agent), variants outer, in the order given."""
        from banditsim.sim.run.cells import Cell
        from banditsim.sim.run.play import play_cell

        points = []
        for v_label, extra in variants.items():
            cfg = run_config(self.base, extra, agents)
            prep = dataclasses.replace(self.prep, config=cfg)
            self._keep.append(prep)
            for i, a_label in enumerate(agents):
                per_seed = tuple(float(play_cell(prep, Cell(agent_index=i, seed_index=s, agent_label=a_label))
                                       ["metrics"].column("cumulative_regret").to_numpy()[-1])
                                 for s in range(self.seeds))
                points.append(Point(v_label, a_label, per_seed))
        return points


def paired_differences(points: list[Point], pairs: dict[str, str]) -> list[Point]:
    """``a − b`` per seed for each (a, b) of ``pairs`` in each variant (same seeds, same users)."""
    by = {(p.variant, p.agent): p for p in points}
    variants = list(dict.fromkeys(p.variant for p in points))
    return [Point(v, f"{code(a)} − {code(b)}", tuple(np.subtract(by[v, a].per_seed, by[v, b].per_seed)))
            for a, b in pairs.items() for v in variants if (v, a) in by and (v, b) in by]


def code(label: str) -> str:
    """An agent label for markdown: its name as code, the rest as text.

    >>> code("lin_ts (noise 0.5)"), code("`a` − `b`")
    ('`lin_ts` (noise 0.5)', '`a` − `b`')
    """
    if label.startswith("`"):
        return label
    head, _, tail = label.partition(" ")
    return f"`{head}` {tail}" if tail else f"`{head}`"


def cell(point: Point | None, signed: bool = False) -> str:
    """``mean [low, high]`` with one decimal (a sign when ``signed``); ``(not run)`` for None.

    >>> cell(Point("v", "a", (1.0, 2.0, 3.0)))
    '2.0 [-0.5, 4.5]'
    """
    if point is None:
        return "(not run)"
    spec = "+.1f" if signed else ".1f"
    m, lo, hi = point.interval
    text = f"{m:{spec}} [{lo:{spec}}, {hi:{spec}}]"
    return text.replace("-", "−") if signed else text


def markdown(points: list[Point], corner: str, rows: str = "variant", signed: bool = False,
             row_labels: dict[str, str] | None = None) -> str:
    """A markdown table of ``points``: one row per variant (``rows="variant"``) or per agent, the
    other as columns, in first-seen order; ``row_labels`` renames rows.

    >>> print(markdown([Point("0", "a", (1.0, 1.0))], "delay"))
    | delay | `a` |
    |---|---|
    | 0 | 1.0 [1.0, 1.0] |
    """
    by = {(p.variant, p.agent): p for p in points}
    variants = list(dict.fromkeys(p.variant for p in points))
    agents = list(dict.fromkeys(p.agent for p in points))
    row_keys, col_keys = (variants, agents) if rows == "variant" else (agents, variants)
    heads = [code(c) for c in col_keys] if rows == "variant" else col_keys
    lines = [f"| {corner} | " + " | ".join(heads) + " |", "|" + "---|" * (len(col_keys) + 1)]
    for r in row_keys:
        cells = [cell(by.get((r, c) if rows == "variant" else (c, r)), signed) for c in col_keys]
        label = (row_labels or {}).get(r, r if rows == "variant" else code(r))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
