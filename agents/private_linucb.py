"""Jointly differentially private LinUCB (Shariff & Sheffet 2018, tree-based aggregation)."""

from __future__ import annotations

from typing import Any, ClassVar

from banditsim.agents._linear.model import LinearModelMixin
from banditsim.agents._validation import check_float
from banditsim.agents.base import IndexAgent
from banditsim.agents.linucb import LinUCBAgent
from banditsim.agents._private.linear import PrivateLinearMixin


class PrivateLinUCBAgent(PrivateLinearMixin, LinearModelMixin, IndexAgent):
    """``linucb`` (disjoint) learning only from tree-mechanism releases: (ε, δ)-jointly DP.

    Ranks items by x·μ + alpha·sqrt(xᵀΣx) with Σ = (G̃ + (ridge + shift)·I)⁻¹, μ = Σũ from the
    released statistics; the guarantee and its assumptions are in ``banditsim.agents._private.linear``.

    Examples
    --------
    >>> import numpy as np
    >>> from banditsim.agents import Context, Feedback
    >>> agent = PrivateLinUCBAgent(n_arms=2, epsilon=1e9, alpha=0.5, random_state=0)
    >>> ctx = Context(features=np.array([[1.0, 0.0], [0.0, 1.0]]))
    >>> agent.update(ctx, np.array([0, 1]), Feedback(reward=[1.0, -1.0]))
    >>> agent.act(Context(features=np.array([[1.0, 0.0]]))).actions.tolist()
    [0]
    """

    name = "private_linucb"
    test_params: ClassVar[dict[str, Any]] = {"epsilon": 2.0}

    def __init__(self, n_arms, *, epsilon: float = 1.0, delta: float = 1e-5, horizon: int = 1024,
                 alpha: float = 1.0, ridge: float = 1.0, fit_intercept: bool = True, feature_bound: float = 1.0,
                 reward_bound: float = 1.0, **kwargs):
        super().__init__(n_arms, **kwargs)
        self.alpha = check_float("alpha", alpha, 0.0)
        self._init_private(epsilon, delta, horizon, ridge, fit_intercept, feature_bound, reward_bound)

    # LinUCB's index (xᵀμ + α·width) on this agent's statistics: one definition, in linucb
    _index = LinUCBAgent._index
    _index_parts = LinUCBAgent._index_parts
