"""The winner of a completed slot for each row that reads it (``sparse_slots.allowed_argmax``)
is the masked argmax of the slot's draws, ties to the lowest arm, exactly as a full copy per row."""

from __future__ import annotations

import numpy as np
import pytest

from banditsim.agents._thompson.sparse_slots import allowed_argmax


def _full(draws, slot, mask, row):
    return np.where(mask[row], draws[slot], -np.inf).argmax(axis=1)


@pytest.mark.parametrize("n_arms", [1, 3, 8, 9, 40])
@pytest.mark.parametrize("allowed_share", [0.02, 0.5, 0.97])
@pytest.mark.parametrize("levels", [3, 1000])  # 3: ties everywhere, at the ranked cut too
def test_pick_matches_the_masked_argmax_of_a_full_copy(n_arms, allowed_share, levels):
    rng = np.random.default_rng(n_arms * 1000 + levels)
    n_slots, n_rows, n_pairs = 6, 30, 400
    draws = rng.integers(0, levels, (n_slots, n_arms)) / levels
    draws[0] = -np.inf  # a slot whose draws are all -inf: argmax's own answer, arm 0
    mask = rng.random((n_rows, n_arms)) < allowed_share
    mask[np.arange(n_rows), rng.integers(0, n_arms, n_rows)] = True  # every row allows an arm
    slot, row = rng.integers(0, n_slots, n_pairs), rng.integers(0, n_rows, n_pairs)
    np.testing.assert_array_equal(allowed_argmax(draws, slot, mask, row), _full(draws, slot, mask, row))
    np.testing.assert_array_equal(allowed_argmax(draws, slot, None, row), draws.argmax(axis=1)[slot])
