"""agents may not import envs, so agents.feedback_kinds is a copy of the one kind table: it must equal it."""

from banditsim.agents.feedback_kinds import KIND_NAMES, KIND_VALUES
from banditsim.envs.feedback_kinds import DEFAULT_REWARDS, FEEDBACK_KINDS, KINDS


def test_agents_copy_equals_the_envs_table():
    assert KIND_NAMES == KINDS == tuple(k.name for k in FEEDBACK_KINDS)
    assert KIND_VALUES == DEFAULT_REWARDS
