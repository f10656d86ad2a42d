"""The walk "add a feedback kind", done for real in a fresh interpreter: the edits below are all it takes.

One entry in the kind table (banditsim/feedback_kinds.py) — plus, because this kind's cut point sits at a
new offset, that offset on envs.feedback.FeedbackModel (a field, its parameter entry, its place in the
ordering check). The world, the agents, the metrics, the configs, the delays and the log scores follow.
"""

import subprocess
import sys
import textwrap

WALK = {
    "banditsim.feedback_kinds": [(
        '    FeedbackKind("share", 1.0, "positive", ("pos", "share_offset"), 3.0),\n',
        '    FeedbackKind("share", 1.0, "positive", ("pos", "share_offset"), 3.0),\n'
        '    FeedbackKind("subscribe", 2.0, "positive", ("pos", "subscribe_offset"), 4.0),\n')],
    "banditsim.envs.feedback": [
        ("    share_offset: float = 3.0\n", "    share_offset: float = 3.0\n    subscribe_offset: float = 4.0\n"),
        ("    parameters: ClassVar[dict[str, Param]] = {\n",
         '    parameters: ClassVar[dict[str, Param]] = {\n'
         '        "subscribe_offset": Param("temperatures above tau_pos of the subscribe cut point", gt=0),\n'),
        ("    def offsets(self)",
         "        if not self.share_offset < self.subscribe_offset:\n"
         "            raise WorldConfigError('subscribe_offset must be above share_offset')\n\n"
         "    def offsets(self)"),
    ],
}

SCRIPT = textwrap.dedent('''
    import importlib.abc, importlib.util, sys
    import numpy as np

    WALK = {walk!r}

    class Walked(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        """Serves the modules of WALK from their own source with the walk's edits applied."""

        def find_spec(self, name, path, target=None):
            if name not in WALK:
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
            src = open(module.__spec__.origin).read()
            for old, new in WALK[module.__name__]:
                assert src.count(old) == 1, (module.__name__, old)
                src = src.replace(old, new)
            exec(compile(src, module.__spec__.origin, "exec"), module.__dict__)

    sys.meta_path.insert(0, Walked())

    from banditsim.feedback_kinds import KINDS, N_KINDS
    assert KINDS[-1] == "subscribe" and N_KINDS == 9
    from banditsim.envs.feedback import FeedbackModel
    from banditsim.envs.feedback_kinds import reward_vector
    from banditsim.envs.world import World
    from banditsim.envs.world_config import WorldConfig
    from tests.sim.tiny_world import tiny_items, tiny_population

    x = tiny_items(12)
    world = World(x, tiny_population(x), n_users=4000, seed=3,
                  config=WorldConfig(reward_map={{"subscribe": 2.0}}, feedback=FeedbackModel(subscribe_offset=3.5)))
    world.reset()
    res = world.step(world.best_items()[0])
    sub = res.kind == KINDS.index("subscribe")
    assert sub.sum() > 20 and (res.reward[sub] == 2.0).all(), "the best items draw some subscribe answers"
    assert reward_vector({{"subscribe": 2.5}}).tolist()[-2:] == [1.0, 2.5]

    from banditsim.agents import KIND_NAMES, KIND_VALUES
    assert KIND_NAMES[-1] == "subscribe" and KIND_VALUES[-1] == 2.0
    from banditsim.envs.ratings_log import KIND_SCORES
    assert KIND_SCORES["subscribe"] == 4.0
    from banditsim.sim.metrics import METRICS
    assert METRICS["subscribe_rate"].higher_is_better
    from banditsim.sim.config.run_config import RunConfig
    cfg = RunConfig.model_validate({{"world": {{"reward_map": {{"subscribe": 3.0}}, "feedback": {{"subscribe_offset": 5.0}}}},
                                    "feedback_delay": {{"subscribe": {{"dist": "fixed", "steps": 2}}}}}})
    assert cfg.world.reward_map["subscribe"] == 3.0
    from banditsim.sim.run.play import KIND_NAMES as LOGGED
    assert LOGGED[-1] == "subscribe"
    print("walked")
''')


def test_adding_a_kind_is_one_table_entry_plus_its_offset():
    done = subprocess.run([sys.executable, "-c", SCRIPT.format(walk=WALK)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "walked", done.stderr[-3000:]
