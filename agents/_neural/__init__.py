"""``neural_linear_ts``'s machinery (torch).

* ``net``: the per-replica MLPs, their features of every (row, item) pair, rows grouped by replica;
* ``draws``: score draws from the net and last layer frozen at act time, and the lazy Monte-Carlo propensities;
* ``inputs``: host arrays to float32 tensors, the item matrix converted once.
"""
