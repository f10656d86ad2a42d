"""What agents keep between calls, and how they keep it.

* ``arm_stats``: per-(replica, arm) pull counts and reward sums;
* ``step_clock``: per-replica decision-step clocks of the agents that forget;
* ``scratch``: reused buffers for large temporaries;
* ``one_row``: the switch of the one-row fast paths (tests turn it off and compare).
"""
