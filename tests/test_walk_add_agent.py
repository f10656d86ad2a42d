"""The walk "add an agent", done for real in a fresh interpreter: one new module plus one registry line.

The new module is served from its source below (as if saved as agents/greedy_mean.py) and the one line
is added to ``AGENT_CLASSES`` in agents/registry.py; nothing else changes. The registry, ``make_agent``,
``banditsim list``'s description, the run config's agent check and a run of the simulator take it.
"""

import textwrap

from tests.walked_modules import run_walked

NEW_MODULE = textwrap.dedent('''
    """Greedy on the empirical mean, with an optimistic start."""
    from typing import Any, ClassVar

    import numpy as np

    from banditsim.agents._state.arm_stats import ArmStats, per_row
    from banditsim.agents._validation import check_float
    from banditsim.agents.base import IndexAgent


    class GreedyMeanAgent(IndexAgent):
        name = "greedy_mean"
        test_params: ClassVar[dict[str, Any]] = {"optimism": 1.0}

        def __init__(self, n_arms, *, optimism: float = 1.0, **kwargs):
            super().__init__(n_arms, **kwargs)
            self.optimism = check_float("optimism", optimism, 0.0)
            self._stats = ArmStats(self.n_replicas, self.n_arms)

        def _index_parts(self, rows):
            n = per_row(self._stats.counts, rows.replica)
            mean = (per_row(self._stats.sums, rows.replica) + self.optimism) / (n + 1.0)
            return mean, np.zeros_like(mean), mean

        def _learn(self, rows, arms, reward, kind):
            self._stats.add(rows.replica, arms, reward)
''')

REGISTRY_LINE = ('    "private_beta_ts:PrivateBetaTSAgent",\n',
                 '    "private_beta_ts:PrivateBetaTSAgent",\n    "greedy_mean:GreedyMeanAgent",\n')

#: banditsim.agents.registry: the one line added after the last entry of AGENT_CLASSES
EDITS = {"banditsim.agents.registry": [REGISTRY_LINE]}
NEW = {"banditsim.agents.greedy_mean": NEW_MODULE}

CHECKS = textwrap.dedent('''
    import json, tempfile
    import numpy as np

    from banditsim.agents import AGENTS, Context, Feedback, describe_agents, make_agent
    assert "greedy_mean" in AGENTS and describe_agents()["greedy_mean"]["optimism"] == 1.0
    agent = make_agent("greedy_mean", 5, optimism=2.0, n_replicas=2, random_state=0)
    ctx = Context(replica=np.array([0, 1, 1]))
    decision = agent.act(ctx)
    assert decision.actions.shape == (3,) and np.all(decision.propensities > 0)
    agent.update(ctx, decision, Feedback(reward=np.array([1.0, 0.0, 0.5])))
    try:
        make_agent("greedy_mean", 5, temperature=1.0)
        raise SystemExit("an unknown parameter was accepted")
    except ValueError as e:
        assert "unknown parameter 'temperature' for agent 'greedy_mean'" in str(e)

    from banditsim.sim.config.run_config import RunConfig
    from banditsim.sim.run.runner import run_experiment
    cfg = RunConfig.model_validate({
        "name": "walk", "catalog": {"source": "notebooks/data/podcasts.csv", "text_columns": ["title"]},
        "population": {"kind": "clusters", "n_users": 50, "n_clusters": 3},
        "world": {"n_users": 8}, "run": {"horizon": 15, "seeds": 1, "workers": 1},
        "agents": [{"name": "greedy_mean", "params": {"optimism": 0.5}}, {"name": "random"}]})
    result = run_experiment(cfg, tempfile.mkdtemp(), progress=False)
    summary = json.loads((result.out_dir / "summary.json").read_text())
    assert set(summary["agents"]) == {"greedy_mean", "random"}, summary["agents"].keys()
    assert summary["agents"]["greedy_mean"]["cumulative_regret"]["mean"] >= 0
    print("walked")
''')


def test_adding_an_agent_is_one_module_plus_one_registry_line():
    done = run_walked(CHECKS, EDITS, NEW, timeout=600)
    assert done.returncode == 0 and done.stdout.strip().endswith("walked"), done.stderr[-3000:]
