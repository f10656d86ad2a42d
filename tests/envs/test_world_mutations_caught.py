"""Planted bugs in the world's feedback make the distribution checks fail (monkeypatched per test)."""

from __future__ import annotations

import numpy as np
import pytest
from feedback_reference import check_cascade_positions, check_kind_frequencies

import banditsim.envs.world.single_path as world_module
from banditsim.envs.feedback_kinds import NEUTRAL
from banditsim.envs.slate_choice import CascadeChoice

ORIGINAL = world_module.sample_kinds_scaled


def test_halved_feedback_noise_is_caught(monkeypatch):
    # latent = y + ε/2: the same as comparing 2y + ε with the doubled cut points
    monkeypatch.setattr(world_module, "sample_kinds_scaled", lambda y, ct, u: ORIGINAL(2 * y, 2 * ct, u))
    with pytest.raises(AssertionError):
        check_kind_frequencies()


def test_one_point_moved_from_neutral_to_click_is_caught(monkeypatch):
    rng = np.random.default_rng(99)

    def shifted(y, ct, u):
        kinds = ORIGINAL(y, ct, u)
        move = (kinds == NEUTRAL) & (rng.random(kinds.shape) < 0.02)  # ≈ 0.49 × 0.02 = 1 point
        return np.where(move, NEUTRAL + 1, kinds)

    monkeypatch.setattr(world_module, "sample_kinds_scaled", shifted)
    with pytest.raises(AssertionError):
        check_kind_frequencies()


def test_cascade_examining_every_position_is_caught(monkeypatch):
    monkeypatch.setattr(CascadeChoice, "examination_probs", lambda self, k: np.ones(k))
    with pytest.raises(AssertionError):
        check_cascade_positions()


def test_cascade_with_shifted_examination_is_caught(monkeypatch):
    original = CascadeChoice.examination_probs
    monkeypatch.setattr(CascadeChoice, "examination_probs", lambda self, k: np.r_[original(self, k)[1:], 0.2])
    with pytest.raises(AssertionError):
        check_cascade_positions()
