"""World.step's feedback: the frequency of every kind, and of every (position, kind) of a cascade,
against exact probabilities computed in the test (``feedback_reference``), by chi-square at a fixed seed."""

from __future__ import annotations

import numpy as np
from feedback_reference import check_cascade_positions, check_kind_frequencies, single_item_step
from scipy import stats


def test_feedback_kinds_follow_their_exact_probabilities():
    check_kind_frequencies()


def test_cascade_positions_and_kinds_follow_their_exact_probabilities():
    check_cascade_positions()


def test_the_step_is_big_enough_to_resolve_a_one_point_shift():
    """Power: moving one point of probability from neutral to click (the halved-noise bug moved
    neutral 6 points) gives a chi-square noncentrality far beyond the 1e-3 test's reach."""
    _, probs = single_item_step()
    p = probs.sum(axis=0) / len(probs)
    shift = np.zeros(len(p))
    shift[3], shift[4] = -0.01, 0.01
    noncentrality = len(probs) * np.sum(shift**2 / p)
    df = len(p) - 1
    power = stats.ncx2.sf(stats.chi2.isf(1e-3, df), df, noncentrality)
    assert power > 0.999, (noncentrality, power)
