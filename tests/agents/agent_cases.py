"""Every registered agent with small parameters, plus the shared-model variants."""

from __future__ import annotations

import numpy as np

from banditsim.agents import AGENTS, KIND_VALUES, Context, Feedback

CASES = [(name, dict(cls.test_params)) for name, cls in sorted(AGENTS.items())] + [
    ("linucb", {"mode": "shared"}),
    ("lin_ts", {"mode": "shared", "n_propensity_draws": 32}),
    ("logistic_ts", {"mode": "shared", "n_propensity_draws": 32}),
    ("discounted_linucb", {"mode": "shared", "gamma": 0.9}),
    ("discounted_lin_ts", {"mode": "shared", "n_propensity_draws": 32, "gamma": 0.9}),
]
CASE_IDS = [f"{name}-{params.get('mode', 'default')}" for name, params in CASES]

N_ARMS, D_USER, D_ITEM = 6, 3, 2
ARM_FEATURES = np.random.default_rng(123).normal(size=(N_ARMS, D_ITEM))


def make_context(n_rows: int, rng: np.random.Generator, replica=None, mask=None) -> Context:
    x = rng.normal(size=(n_rows, D_USER))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return Context(features=x, arm_features=ARM_FEATURES, mask=mask, replica=replica)


def random_feedback(n_rows: int, rng: np.random.Generator, slate_size: int = 1) -> Feedback:
    kind = rng.integers(0, len(KIND_VALUES), n_rows)
    position = rng.integers(-1, slate_size, n_rows) if slate_size > 1 else None
    return Feedback(reward=np.asarray(KIND_VALUES)[kind], kind=kind, position=position)
