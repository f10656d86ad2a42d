"""What each agent recommends to a few example users as it learns.

:func:`trace_recommendations` plays one (agent, seed) cell of a run config exactly as the
runner does (same world, same agent, same seeds) and, at chosen steps, asks the agent what
it would show each example user right now. Each answer is scored against that user's true
tastes (the simulator's ground truth, read only for this report, never by the agent): its
percentile in the user's own ranking of the catalog (100 = their favourite item).
"""

from __future__ import annotations

import numpy as np


def _percentiles(utility: np.ndarray) -> np.ndarray:
    """Per row: percentile (0..100) of every item in that row's ranking (100 = best)."""
    n = utility.shape[1]
    ranks = np.argsort(np.argsort(-utility, axis=1, kind="stable"), axis=1)
    return 100.0 * (1.0 - ranks / max(n - 1, 1))


def trace_recommendations(prep, agent_index: int, users, checkpoints, *, seed_index: int = 0,
                          user_names: list[str] | None = None) -> list[dict]:
    """Rows ``{agent, step, user, user_name, item, title, percentile, p_positive}``.

    ``prep`` is :func:`banditsim.sim.run.prepare.prepare`'s output, ``agent_index`` an index into
    ``prep.config.agents``, ``users`` population rows of the example users and ``checkpoints``
    the steps (0 = before any feedback) at which to ask. Items held back for a cold start are
    not offered until their release step. The agent's answers for the example users are not
    shown to anyone and never reach ``update``.

    Examples
    --------
    >>> from banditsim.sim.config.run_config import RunConfig
    >>> from banditsim.sim.run.prepare import Prepared
    >>> from banditsim.envs.clusters import cluster_population
    >>> from banditsim.envs.population import unit_rows
    >>> x = unit_rows(np.random.default_rng(0).normal(size=(30, 8))).astype(np.float32)
    >>> cfg = RunConfig.model_validate({"world": {"n_users": 8}, "run": {"horizon": 6, "seeds": 1},
    ...                                  "agents": [{"name": "epsilon_greedy"}]})
    >>> prep = Prepared(cfg, x, cluster_population(x, 20, n_clusters=3, seed=0), [str(i) for i in range(30)],
    ...                 [f"item {i}" for i in range(30)], np.zeros((30, 0), bool), [], np.arange(30), 30, {})
    >>> rows = trace_recommendations(prep, 0, [0, 1], [0, 5])
    >>> len(rows), sorted(rows[0])
    (4, ['agent', 'item', 'p_positive', 'percentile', 'step', 'title', 'user', 'user_name'])
    """
    from banditsim.agents.types import Context, Feedback
    from banditsim.sim.run.feedback_delay import FeedbackSchedule
    from banditsim.sim.run.play import build_agent, start_world

    cfg = prep.config
    users = np.asarray(users, dtype=np.int64)
    names = user_names or [f"user {u}" for u in users]
    if len(names) != users.size:
        raise ValueError(f"{len(names)} user names for {users.size} users")
    checkpoints = sorted({int(c) for c in checkpoints})
    horizon = cfg.run.horizon
    if checkpoints and not 0 <= checkpoints[-1] <= horizon:
        raise ValueError(f"checkpoints must lie in [0, {horizon}] (the run's horizon)")
    world, obs = start_world(prep, seed_index)
    agent = build_agent(prep, agent_index, seed_index)
    schedule = FeedbackSchedule.from_config(cfg, seed_index)
    label = cfg.agents[agent_index].label
    n_total = len(prep.item_ids)
    release = cfg.cold_start.release_step if prep.n_initial < n_total else None
    arm_features = prep.item_vectors.astype(np.float64)
    pct = _percentiles(prep.population.utility(prep.item_vectors, users))
    p_pos = prep.population.p_positive(prep.item_vectors, users)
    feats = prep.population.features[users]
    hist_dim = obs.features.shape[1] - feats.shape[1]  # world.history_k > 0: asked as new people, empty history
    feats = np.pad(feats, ((0, 0), (0, hist_dim)))
    rows: list[dict] = []

    def ask(t: int) -> None:
        released = release is not None and t >= release
        mask = np.zeros((users.size, n_total), dtype=bool)
        mask[:, : n_total if (released or release is None) else prep.n_initial] = True
        decision = agent.act(Context(features=feats, arm_features=arm_features, mask=mask))
        items = decision.actions.reshape(users.size, -1)[:, 0]
        for k, item in enumerate(items):
            rows.append({"agent": label, "step": t, "user": int(users[k]), "user_name": names[k],
                         "item": int(item), "title": prep.titles[item],
                         "percentile": float(pct[k, item]), "p_positive": float(p_pos[k, item])})

    todo = list(checkpoints)
    for t in range(horizon + 1):
        while todo and todo[0] == t:
            ask(todo.pop(0))
        if not todo or t == horizon:
            break
        if release is not None and t == release:
            bias = None
            if prep.population.item_bias is not None:
                bias = prep.population.item_bias_for(n_total)[prep.n_initial:]
            world.add_items(prep.item_vectors[prep.n_initial:], item_bias=bias)
        mask = obs.mask
        if mask.shape[1] < n_total:
            full = np.zeros((mask.shape[0], n_total), dtype=bool)
            full[:, : mask.shape[1]] = mask
            mask = full
        ctx = Context(features=obs.features, arm_features=arm_features, mask=mask)
        decision = agent.act(ctx)
        res = world.step(decision.actions)
        fb = Feedback(reward=res.reward, kind=res.kind, position=res.position)
        _, update = schedule.step(t, ctx, decision, fb)  # delays and update_every, as the runner
        if update is not None:
            agent.update(*update)
        obs = res.observation
    return rows


def plot_trace(rows: list[dict], title: str = ""):
    """One panel per example user: percentile of the recommended item in the user's true ranking
    (100 = their favourite) against the step at which the agent was asked, one line per agent.
    Returns a matplotlib ``Figure``."""
    from matplotlib.figure import Figure

    users = list(dict.fromkeys(r["user_name"] for r in rows))
    agents = list(dict.fromkeys(r["agent"] for r in rows))
    fig = Figure(figsize=(4.2 * len(users), 3.8))
    axes = fig.subplots(1, len(users), squeeze=False, sharey=True)[0]
    for ax, user in zip(axes, users):
        for i, agent in enumerate(agents):
            sub = [r for r in rows if r["user_name"] == user and r["agent"] == agent]
            ax.plot([r["step"] for r in sub], [r["percentile"] for r in sub], marker="o", ms=4,
                    color=f"C{i}", label=agent)
        ax.axhline(50, color="grey", ls=":", lw=1)
        ax.set_title(user)
        ax.set_xlabel("step (feedback the agent has seen)")
        ax.set_ylim(-2, 102)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("recommended item's percentile\nin the user's true ranking (100 = favourite)")
    axes[0].legend(fontsize=8, loc="lower right")
    fig.suptitle(title or "What each agent recommends to example users as it learns (dotted: a random item)")
    fig.tight_layout()
    return fig


def trace_table(rows: list[dict], step: int | None = None, width: int = 38) -> str:
    """Plain-text table of the recommendations at ``step`` (default: the last checkpoint).

    >>> print(trace_table([{"agent": "a", "step": 3, "user_name": "u", "title": "Heat (1995)",
    ...                     "percentile": 97.5, "p_positive": 0.61}]))
    step 3      agent  recommended item                         percentile  P(positive)
    u           a      Heat (1995)                                    97.5         0.61
    """
    if not rows:
        return "(no recommendations)"
    step = max(r["step"] for r in rows) if step is None else step
    sub = [r for r in rows if r["step"] == step]
    aw = max(5, *(len(r["agent"]) for r in sub))
    lines = [f"{'step ' + str(step):<11} {'agent':<{aw}}  {'recommended item':<{width}} percentile  P(positive)"]
    for r in sub:
        lines.append(f"{r['user_name'][:11]:<11} {r['agent']:<{aw}}  {r['title'][:width]:<{width}}"
                     f" {r['percentile']:>10.1f} {r['p_positive']:>12.2f}")
    return "\n".join(lines)
