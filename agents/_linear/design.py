"""The design vectors the linear models learn on: user rows [x, 1] and item rows [z, 1]."""

from __future__ import annotations

import numpy as np

from banditsim.agents.types import Context


def user_design(rows: Context, fit_intercept: bool) -> np.ndarray:
    """Per-row feature vectors for disjoint models: user features (+1), or just [1]."""
    if rows.features is None:
        return np.ones((rows.n_rows, 1))
    if not fit_intercept:
        return rows.features
    return np.concatenate([rows.features, np.ones((rows.n_rows, 1))], axis=1)


def item_design(arm_features: np.ndarray, fit_intercept: bool) -> np.ndarray:
    """Item vectors z̃ = [z, 1] (or z) used by the shared model."""
    if not fit_intercept:
        return arm_features
    return np.concatenate([arm_features, np.ones((arm_features.shape[0], 1))], axis=1)
