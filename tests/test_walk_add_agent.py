"""The walk "add an agent", done for real in a fresh interpreter: one new module plus one registry line.

The new module is served from its source below (as if saved as agents/greedy_mean.py) and the one line
is added to ``AGENT_CLASSES`` in agents/registry.py; nothing else changes. The registry, ``make_agent``,
``banditsim list``'s description, the run config's agent check and a run of the simulator take it.
"""

import subprocess
import sys
import textwrap

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

SCRIPT = textwrap.dedent('''
    import importlib.abc, importlib.util, sys, tempfile
    import numpy as np

    NEW, (OLD_LINE, NEW_LINE) = {new!r}, {line!r}

    class Walked(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        """Serves banditsim.agents.greedy_mean from NEW and the registry with its one new line."""

        def find_spec(self, name, path, target=None):
            if name == "banditsim.agents.greedy_mean":
                return importlib.util.spec_from_loader(name, self, origin="agents/greedy_mean.py")
            if name != "banditsim.agents.registry":
                return None
            sys.meta_path.remove(self)
            try:
                origin = importlib.util.find_spec(name).origin
            finally:
                sys.meta_path.insert(0, self)
            return importlib.util.spec_from_file_location(name, origin, loader=self)

        def create_module(self, spec):
            return None

        def exec_module(self, module):
            if module.__name__ == "banditsim.agents.greedy_mean":
                src = NEW
            else:
                src = open(module.__spec__.origin).read()
                assert src.count(OLD_LINE) == 1
                src = src.replace(OLD_LINE, NEW_LINE)
            exec(compile(src, module.__spec__.origin or module.__name__, "exec"), module.__dict__)

    sys.meta_path.insert(0, Walked())

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
    cfg = RunConfig.model_validate({{
        "name": "walk", "catalog": {{"source": "{catalog}", "text_columns": ["title"]}},
        "population": {{"kind": "clusters", "n_users": 50, "n_clusters": 3}},
        "world": {{"n_users": 8}}, "run": {{"horizon": 15, "seeds": 1, "workers": 1}},
        "agents": [{{"name": "greedy_mean", "params": {{"optimism": 0.5}}}}, {{"name": "random"}}]}})
    import json
    result = run_experiment(cfg, tempfile.mkdtemp(), progress=False)
    summary = json.loads((result.out_dir / "summary.json").read_text())
    assert set(summary["agents"]) == {{"greedy_mean", "random"}}, summary["agents"].keys()
    assert summary["agents"]["greedy_mean"]["cumulative_regret"]["mean"] >= 0
    print("walked")
''')


def test_adding_an_agent_is_one_module_plus_one_registry_line(tmp_path):
    from pathlib import Path

    catalog = Path(__file__).resolve().parents[1] / "notebooks" / "data" / "podcasts.csv"
    script = SCRIPT.format(new=NEW_MODULE, line=REGISTRY_LINE, catalog=catalog)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600,
                          cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.strip().endswith("walked"), done.stderr[-3000:]
