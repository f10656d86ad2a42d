"""The private agents' machinery (``private_lin_ts``, ``private_linucb``).

* ``linear``: the (ε, δ)-joint differential-privacy guarantee, its noise and regulariser, and the
  per-arm models read from the released statistics;
* ``tree_mechanism``: the binary-tree mechanism that releases private running sums.
"""
