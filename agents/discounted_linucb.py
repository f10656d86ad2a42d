"""Discounted LinUCB (D-LinUCB) for drifting tastes: exponentially weighted ridge statistics."""

from __future__ import annotations

from typing import Any, ClassVar

from banditsim.agents._linear.model import LinearModelMixin
from banditsim.agents._validation import check_float
from banditsim.agents.base import IndexAgent
from banditsim.agents.linucb import LinUCBAgent
from banditsim.agents._linear.discounted import DiscountedLinearMixin, init_discount


class DiscountedLinUCBAgent(DiscountedLinearMixin, LinearModelMixin, IndexAgent):
    """LinUCB's index x·μ + alpha·sqrt(xᵀΣx) on statistics that fade by ``gamma`` per decision step.

    A = ridge·I + Σ γ^(T−s)·φφᵀ and b = Σ γ^(T−s)·y·φ over the rows learned, s each row's decision
    step and T the replica's clock, the newest such step (``banditsim.agents._linear.discounted``,
    ``banditsim.agents._state.step_clock``: rows carry ``feedback.step``; without it each ``update`` call is one
    step); Σ = A⁻¹, μ = Σb.  Batched, delayed or chunked updates give the same model.  ``mode``
    'disjoint' or 'shared' as in ``linucb``; numpy only.  ``gamma=1`` is ``linucb`` (same decisions, same state).

    Examples
    --------
    >>> import numpy as np
    >>> from banditsim.agents import Context, Feedback
    >>> agent = DiscountedLinUCBAgent(n_arms=2, gamma=0.9, random_state=0)
    >>> ctx = Context(features=np.array([[1.0, 0.0], [0.0, 1.0]]))
    >>> agent.update(ctx, np.array([0, 1]), Feedback(reward=[1.0, -1.0]))
    >>> agent.act(Context(features=np.array([[1.0, 0.0]]))).actions.tolist()
    [0]
    """

    name = "discounted_linucb"
    test_params: ClassVar[dict[str, Any]] = {"alpha": 1.0, "gamma": 0.9}

    def __init__(self, n_arms, *, gamma: float = 0.99, alpha: float = 1.0, mode: str = "disjoint",
                 ridge: float = 1.0, fit_intercept: bool = True, arm_dim: int | None = 16, **kwargs):
        super().__init__(n_arms, **kwargs)
        init_discount(self, gamma)
        self.alpha = check_float("alpha", alpha, 0.0)
        self._init_linear(mode, ridge, fit_intercept, arm_dim)

    # LinUCB's index (xᵀμ + α·width) on this agent's statistics: one definition, in linucb
    _index = LinUCBAgent._index
    _index_parts = LinUCBAgent._index_parts
