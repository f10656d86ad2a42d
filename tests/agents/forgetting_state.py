"""Comparing two forgetting agents' states (shared by the step-clock and log-training tests)."""

from __future__ import annotations

import numpy as np

from tests.reliability.test_determinism import _float_state


def assert_same_state(name, a, b):
    """Every float array of the two agents' states: bit for bit for the sliding window, else within 1e-9."""
    sa, sb = _float_state(a), _float_state(b)
    assert sa.keys() == sb.keys() and sa
    for key in sa:
        if name == "sliding_window_ucb":
            np.testing.assert_array_equal(sa[key], sb[key], err_msg=key)
        else:
            np.testing.assert_allclose(sa[key], sb[key], rtol=1e-9, atol=1e-12, err_msg=key)
    np.testing.assert_array_equal(a.clock, b.clock)
