"""The walk "add a feedback kind", done for real in a fresh interpreter: the one edit below is all it takes.

One entry at the end of the kind table (banditsim/feedback_kinds.py). This kind's cut point sits at a new
offset, which the entry declares with its default and help text; the FeedbackModel field, the config key
world.feedback.subscribe_offset with its `banditsim config` line, and the ordering check follow, as do the
world, the agents, the metrics, the configs, the delays and the log scores.
"""

import textwrap

from tests.walked_modules import run_walked

SUBSCRIBE = ('    FeedbackKind("subscribe", 2.0, "positive", ("pos", "subscribe_offset"), 4.0, offset_default=4.0,\n'
             '                 offset_help="temperatures above tau_pos of the subscribe cut point"),\n')

#: module → its (old text, new text) edits; "\n)\n" is the closing line of FEEDBACK_KINDS
WALK = {"banditsim.feedback_kinds": [("\n)\n", "\n" + SUBSCRIBE + ")\n")]}

#: the same entry without its offset declaration
UNDECLARED = {"banditsim.feedback_kinds": [("\n)\n", "\n" + SUBSCRIBE.split(", offset_default")[0] + "),\n)\n")]}

CHECKS = textwrap.dedent('''
    from banditsim.feedback_kinds import KINDS, N_KINDS
    assert KINDS[-1] == "subscribe" and N_KINDS == 9
    from banditsim.envs.feedback import FeedbackModel
    from banditsim.envs.feedback_kinds import reward_vector
    from banditsim.envs.world import World
    from banditsim.envs.world_config import WorldConfig
    from banditsim.envs.world_errors import WorldConfigError
    from tests.sim.tiny_world import tiny_items, tiny_population

    assert FeedbackModel().subscribe_offset == 4.0
    x = tiny_items(12)
    world = World(x, tiny_population(x), n_users=4000, seed=3,
                  config=WorldConfig(reward_map={"subscribe": 2.0}, feedback=FeedbackModel(subscribe_offset=3.5)))
    world.reset()
    res = world.step(world.best_items()[0])
    sub = res.kind == KINDS.index("subscribe")
    assert sub.sum() > 20 and (res.reward[sub] == 2.0).all(), "the best items draw some subscribe answers"
    assert reward_vector({"subscribe": 2.5}).tolist()[-2:] == [1.0, 2.5]
    try:
        FeedbackModel(subscribe_offset=2.5)
        raise AssertionError("a subscribe cut below share's was accepted")
    except WorldConfigError as exc:
        assert str(exc) == "subscribe_offset must be above share_offset", exc

    from banditsim.agents import KIND_NAMES, KIND_VALUES
    assert KIND_NAMES[-1] == "subscribe" and KIND_VALUES[-1] == 2.0
    from banditsim.envs.ratings_log import KIND_SCORES
    assert KIND_SCORES["subscribe"] == 4.0
    from banditsim.sim.metrics import METRICS
    assert METRICS["subscribe_rate"].higher_is_better
    from banditsim.sim.config import ConfigError, default_config_text
    from banditsim.sim.config.run_config import RunConfig, validate_config
    cfg = RunConfig.model_validate({"world": {"reward_map": {"subscribe": 3.0}, "feedback": {"subscribe_offset": 5.0}},
                                    "feedback_delay": {"subscribe": {"dist": "fixed", "steps": 2}}})
    assert cfg.world.reward_map["subscribe"] == 3.0
    assert cfg.world.to_envs().feedback == FeedbackModel(subscribe_offset=5.0)
    try:
        validate_config({"world": {"feedback": {"subscribe_offset": 2.5}}})
        raise AssertionError("the config accepted a subscribe cut below share's")
    except ConfigError as exc:
        assert "config: world.feedback: subscribe_offset must be above share_offset" in str(exc), exc
    printed = default_config_text()
    assert "    subscribe_offset: 4.0  # temperatures above tau_pos of the subscribe cut point" in printed, printed
    from banditsim.sim.run.play import KIND_NAMES as LOGGED
    assert LOGGED[-1] == "subscribe"
    print("walked")
''')


def _walked(walk, script):
    """Runs ``script`` in a fresh interpreter whose modules carry the ``walk``'s edits."""
    return run_walked(script, walk)


def test_adding_a_kind_with_its_own_offset_is_one_table_entry():
    done = _walked(WALK, CHECKS)
    assert done.returncode == 0 and done.stdout.strip() == "walked", done.stderr[-3000:]


def test_an_offset_no_kind_declares_is_named_at_import():
    done = _walked(UNDECLARED, "import banditsim.feedback_kinds")
    assert done.returncode != 0
    assert ("feedback kind 'subscribe' cuts at 'subscribe_offset', which no kind declares "
            "(give the entry offset_default and offset_help)") in done.stderr, done.stderr[-3000:]
