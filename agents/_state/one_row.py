"""The switch of the one-row fast paths.

A single stream acts and learns one row at a time, where the fixed cost of each numpy call, not the
arithmetic, is the price of a step.  Some agents therefore take a path for one row that does the
same arithmetic on the same random stream in fewer calls (``banditsim.agents._thompson.beta_ladder``,
``banditsim.agents._selection.ranking.top1_one_row``, ``banditsim.agents.epsilon_greedy``, ``banditsim.agents.beta_ts``).  Each must give
bit for bit the actions, propensities and state of the general path: the tests
(tests/agents/test_one_row_paths.py) set ``ENABLED = False`` and compare.
"""

ENABLED = True
"""False sends one-row calls through the general (batched) paths."""
